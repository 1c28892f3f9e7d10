"""A prefixed source's resource URIs in structuredContent lead back to it, as its resource links do.

Found in the proxy/discovery pass: with `prefix: u_`, a tool's resource link `docs://readme` came back as
`u+docs://readme`, but the same URI in its structuredContent stayed `docs://readme`, so a client taking it
from there could not read it through mcprt (or read another source's). Now the URIs of that source's own
resources (listed, or expanding one of its templates with a literal scheme) are prefixed in structuredContent
(offerings/structured_uris.py), and its text copy with them; no other string changes, and a value the
outputSchema pins (`pattern`, `const`) keeps its upstream form, so the result still conforms.

Real `mcprt up` in discovery mode, over stdio and streamable HTTP, the MCP SDK client (which checks
structuredContent against the listed outputSchema), and a proxied stdio SDK server (tests/proxy/uri_server.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.support.served import UpProcess, client_over, mcprt_http, text_of
from tests.support.zygote import script_command_yaml

pytestmark = [pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
              pytest.mark.xdist_group("test_proxy_structured_uris")]  # one gateway per run

SERVER = Path(__file__).with_name("uri_server.py")
LONG, LIMIT = "averyveryverylongprefix", 50_000  # a prefix that grows each URI by 24 bytes, a result limit


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("structured_uris")
    (folder / "mcp.yaml").write_text(
        "version: 1\nserver: {name: uris, expose: discovery}\nsources:\n"
        f"  u:\n    prefix: u_\n    command: {script_command_yaml(SERVER)}\n"
        f"  long:\n    prefix: {LONG}_\n    command: {script_command_yaml(SERVER)}\n"
        f"    tools:\n      many: {{max_result_bytes: {LIMIT}}}\n")
    return folder / "mcp.yaml"


@pytest.fixture(scope="module")
def served(manifest: Path) -> Iterator[UpProcess]:
    with mcprt_http(manifest, "--no-reload") as up:
        yield up


def _client(transport: str, manifest: Path, served: UpProcess) -> AbstractAsyncContextManager[Client]:
    return client_over(transport, manifest, served.url)


async def _call(client: Client, way: str, tool: str) -> Any:
    if way == "direct":
        await client.list_tools()  # the SDK client checks structuredContent against a listed outputSchema
        return await client.call_tool(tool, {})
    return await client.call_tool("call_tool", {"name": tool, "arguments": {}})


async def _text(client: Client, uri: str) -> str:
    return (await client.read_resource(uri)).contents[0].text  # type: ignore[union-attr]


WAYS = ["direct", "call_tool"]
TRANSPORTS = ["stdio", "http"]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_the_sources_resource_uris_in_structured_content_are_prefixed_and_read_back(
        transport: str, way: str, manifest: Path, served: UpProcess) -> None:
    async with _client(transport, manifest, served) as client:
        result = await _call(client, way, "u_where")
        assert not result.is_error, result
        structured = result.structured_content
        assert structured == {
            "uri": "u+docs://readme",  # a listed resource
            "file": "u+files://a.txt",  # an expansion of its template files://{name}
            "web": "https://example.com/docs://readme",  # no URI of its resources
            "sentence": "docs://readme is the readme",  # a string holding one is no URI
            "unknown": "other://readme",
            "by_uri": {"docs://readme": "u+files://b.txt"},  # keys are never rewritten
            "nested": [{"link": "u+files://c.txt"}],
        }, structured
        assert json.loads(text_of(result)) == structured  # the text copy says the same
        assert await _text(client, structured["uri"]) == "readme (uris)"
        assert await _text(client, structured["nested"][0]["link"]) == "file c.txt (uris)"


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_value_the_output_schema_pins_keeps_its_upstream_form(transport: str, way: str, manifest: Path,
                                                                      served: UpProcess) -> None:
    async with _client(transport, manifest, served) as client:
        result = await _call(client, way, "u_pinned")  # the SDK client would refuse a result breaking the schema
        assert not result.is_error, result
        assert result.structured_content == {"uri": "docs://readme", "file": "u+files://a.txt",
                                             "fixed": "files://fixed.txt"}, result.structured_content
        assert json.loads(text_of(result)) == result.structured_content


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_compact_text_copy_stays_compact_beside_the_link(transport: str, manifest: Path,
                                                                 served: UpProcess) -> None:
    async with _client(transport, manifest, served) as client:
        result = await client.call_tool("u_listed", {})
        link, text = result.content
        assert str(link.uri) == "u+docs://readme"  # type: ignore[union-attr]
        assert result.structured_content == {"uris": ["u+docs://readme", "u+files://x.txt"]}
        assert text.text == '{"uris":["u+docs://readme","u+files://x.txt"]}'  # type: ignore[union-attr]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_large_result_is_rewritten_whole(transport: str, manifest: Path, served: UpProcess) -> None:
    """Over 64 KiB sent, the rewrite runs in a worker thread (shaping/exposed_uris.py): the same answer."""
    async with _client(transport, manifest, served) as client:
        await client.list_tools()
        result = await client.call_tool("u_many", {"count": 3000})
        assert not result.is_error, result
        uris = result.structured_content["uris"]  # type: ignore[index]
        assert len(json.dumps(result.structured_content)) > 64 * 1024
        assert uris == [f"u+files://f{i:05}.txt" for i in range(3000)]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_the_prefixes_a_result_gains_count_against_its_size_limit(transport: str, manifest: Path,
                                                                        served: UpProcess) -> None:
    """Review of proxyleft #5: the URIs were rewritten after the result was fitted to `max_result_bytes`, so
    5,000 URIs under a 24-character prefix went out as 95,320 bytes of structuredContent (and as many of text)
    past a limit of 50,000. The rewrite runs before the limit now: the result fits, every URI prefixed."""
    async with _client(transport, manifest, served) as client:
        await client.list_tools()  # the SDK client checks structuredContent against the listed outputSchema
        result = await client.call_tool(f"{LONG}_many", {"count": 5000})
        assert not result.is_error, result
        uris = result.structured_content["uris"]  # type: ignore[index]
        assert len(json.dumps(result.structured_content, separators=(",", ":")).encode()) <= LIMIT
        assert all(len(block.text.encode()) <= LIMIT for block in result.content)  # type: ignore[union-attr]
        assert 1000 < len(uris) < 5000, len(uris)  # shortened by whole items, not left out
        assert uris == [f"{LONG}+files://f{i:05}.txt" for i in range(len(uris))]
