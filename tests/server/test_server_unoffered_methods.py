"""A method behind a capability mcprt does not advertise answers -32601 "Method not found".

Found by the 0.2 conformance suite's `sep-2575-server-declares-prompts-in-discover` against a plain
manifest: `server/discover` left `prompts` out (no source offers any) while `prompts/list` still
answered an empty list. The spec has a server answer a method gated behind a capability it did not
declare with -32601 (MCP 2026-07-28 schema, MethodNotFoundError; HTTP 404 in that era). Checked in
both protocol eras, with our own raw 2026-07-28 requests and the SDK's handshake-era client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from tests.support.adder import adder_up
from tests.support.served import UpProcess, http_client

MODERN = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"}}
UNOFFERED = {
    "prompts/list": {},
    "prompts/get": {"name": "anything"},
    "resources/list": {},
    "resources/templates/list": {},
    "resources/read": {"uri": "test://anything"},
    "completion/complete": {"ref": {"type": "ref/prompt", "name": "anything"},
                            "argument": {"name": "a", "value": ""}},
}


pytestmark = pytest.mark.xdist_group("test_server_unoffered_methods")  # one started server per run, not one per worker


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    yield from adder_up(tmp_path_factory, "unoffered")


def modern(up: UpProcess, method: str, params: dict[str, Any]) -> httpx.Response:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream",
               "mcp-protocol-version": MODERN, "mcp-method": method}
    name = params.get("name") if method == "prompts/get" else params.get("uri")
    if isinstance(name, str):
        headers["mcp-name"] = name
    body = {"jsonrpc": "2.0", "id": 3, "method": method, "params": {**params, "_meta": META}}
    return httpx.post(up.url, json=body, headers=headers, timeout=60)


def test_discover_advertises_only_tools(up: UpProcess) -> None:
    answer = modern(up, "server/discover", {}).json()
    capabilities = answer["result"]["capabilities"]
    assert "tools" in capabilities
    assert not {"prompts", "resources", "completions"} & set(capabilities), capabilities


@pytest.mark.parametrize("method", list(UNOFFERED))
def test_a_2026_request_for_an_unadvertised_method_is_404_and_32601(up: UpProcess, method: str) -> None:
    response = modern(up, method, UNOFFERED[method])
    answer = response.json()
    assert (response.status_code, answer["id"], answer["error"]["code"]) == (404, 3, -32601), answer


async def test_a_handshake_era_client_gets_32601_too(up: UpProcess) -> None:
    async with http_client(up.url) as client:
        assert client.server_capabilities.prompts is None
        for call in (client.list_prompts(), client.list_resources(), client.list_resource_templates(),
                     client.complete(types.PromptReference(type="ref/prompt", name="x"), {"name": "a", "value": ""})):
            with pytest.raises(MCPError) as refused:
                await call
            assert refused.value.code == types.METHOD_NOT_FOUND
        added = await client.call_tool("add", {"a": 2, "b": 3})  # the session goes on serving
        assert not added.is_error and added.content[0].text == "5"  # type: ignore[union-attr]
