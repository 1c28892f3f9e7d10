"""Resource not found reaches each client as its era defines it (server/not_found.py), whoever says it.

MCP 2025-11-25 answers a `resources/read` of a missing resource with -32002 and `data.uri`; MCP
2026-07-28 (SEP-2164) with -32602 Invalid params and `data.uri`. Before, a handshake-era upstream's
-32002 reached a 2026-07-28 client as -32002 without `data` (the conformance suite's
`sep-2164-resource-not-found` warned), a 2026-07-28 upstream's -32602 reached a 2025-11-25 client as a
bare -32602, and mcprt's own answer (no source serves the URI) was -32002 without `data` for both.

Real SDK clients over stdio — `mode="legacy"` (2025-11-25 handshake) and `mode="auto"` (2026-07-28,
`server/discover`) — against `mcprt up` proxying `not_found_server.py` of each era, its resources
exposed under a `prefix` (`old+notes://…`) so the client's URI differs from the upstream's."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from tests.support.modern_client import META
from tests.support.served import child_env, http_client, launch_command, mcprt_http
from tests.support.zygote import script_command_yaml

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

SERVER = Path(__file__).with_name("not_found_server.py")
CASES = {  # client mode → (protocol version, code of resource not found)
    "legacy": ("2025-11-25", -32002),
    "auto": ("2026-07-28", -32602),
}


def _manifest(folder: Path) -> Path:
    manifest = folder / "mcp.yaml"
    manifest.write_text(
        "version: 1\nsources:\n"
        f"  old:\n    command: {script_command_yaml(SERVER, 'handshake')}\n    prefix: old_\n"
        f"  new:\n    command: {script_command_yaml(SERVER, 'modern')}\n    prefix: new_\n", encoding="utf-8")
    return manifest


def _params(folder: Path) -> StdioServerParameters:
    manifest = _manifest(folder)
    launched = launch_command(manifest, "--no-reload")
    return StdioServerParameters(command=launched[0], args=launched[1:], env=child_env(), cwd=str(folder))


@pytest.mark.parametrize("mode", sorted(CASES))
async def test_resource_not_found_follows_the_clients_era(tmp_path: Path, mode: str) -> None:
    version, code = CASES[mode]
    answered: dict[str, tuple[int, str, object]] = {}
    async with Client(_params(tmp_path), mode=mode) as client:
        with anyio.fail_after(60):
            assert client.protocol_version == version
            templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
            assert len(templates) == 2, templates
            for source in ("old", "new"):
                known = [t for t in templates if source in t][0].replace("{name}", "known")
                read = await client.read_resource(known)
                assert read.contents[0].text == "known note"  # type: ignore[union-attr]
                missing = known.replace("known", "missing")
                with pytest.raises(MCPError) as caught:
                    await client.read_resource(missing)
                answered[source] = (caught.value.code, caught.value.message, caught.value.data)
            with pytest.raises(MCPError) as caught:  # no source serves it: mcprt's own answer
                await client.read_resource("nowhere://at/all")
            answered["mcprt"] = (caught.value.code, caught.value.message, caught.value.data)

    for source in ("old", "new"):
        missing = [t for t in templates if source in t][0].replace("{name}", "missing")
        assert answered[source][0] == code and answered[source][2] == {"uri": missing}, (source, answered)
        assert "no note at notes://missing" in answered[source][1]  # the upstream's own words
    assert answered["mcprt"] == (code, "Resource not found: nowhere://at/all", {"uri": "nowhere://at/all"})


async def test_over_streamable_http_each_era_gets_its_answer(tmp_path: Path) -> None:
    """Streamable HTTP: a 2026-07-28 request (no handshake; headers and `_meta` as that era sends them) gets
    HTTP 400 with -32602 and `data.uri`; a 2025-11-25 SDK client on a session gets -32002 and `data.uri`."""
    with mcprt_http(_manifest(tmp_path)) as up:
        for uri in ("old+notes://missing", "new+notes://missing", "nowhere://at/all"):
            headers = {"content-type": "application/json", "accept": "application/json, text/event-stream",
                       "mcp-protocol-version": "2026-07-28", "mcp-method": "resources/read", "mcp-name": uri}
            body = {"jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": {"uri": uri, "_meta": META}}
            response = httpx.post(up.url, json=body, headers=headers, timeout=60)
            error = response.json()["error"]
            assert (response.status_code, error["code"], error["data"]) == (400, -32602, {"uri": uri}), response.text
        async with http_client(up.url) as client:
            with anyio.fail_after(60):
                for uri in ("old+notes://missing", "new+notes://missing", "nowhere://at/all"):
                    with pytest.raises(MCPError) as caught:
                        await client.read_resource(uri)
                    assert (caught.value.code, caught.value.data) == (-32002, {"uri": uri})


async def test_subscribe_to_a_missing_resource_follows_the_clients_era_every_time(tmp_path: Path) -> None:
    """`resources/subscribe` answers "not found" as `resources/read` does (not_found.py): a handshake-era
    upstream's -32002 and an SDK-style -32602 with `data.uri` both reach a 2025-11-25 client as -32002 with
    the URI it asked for in `data.uri`. Before, the first came without `data.uri`, the second as a bare
    -32602, and a second subscribe to the same missing resource answered ok (its listener was registered
    before the upstream refused), promising updates that never come."""
    answered: list[tuple[str, int, object]] = []
    async with Client(_params(tmp_path), mode="legacy") as client:
        with anyio.fail_after(60):
            assert client.protocol_version == "2025-11-25"
            await client.subscribe_resource("old+notes://known")  # accepted upstream: ok
            for uri in ("old+notes://missing", "old+notes://missing", "old+notes://gone", "old+notes://gone"):
                with pytest.raises(MCPError) as caught:
                    await client.subscribe_resource(uri)
                answered.append((uri, caught.value.code, caught.value.data))
            await client.subscribe_resource("old+notes://known")  # still subscribed: ok again
    assert answered == [(uri, -32002, {"uri": uri}) for uri in (
        "old+notes://missing", "old+notes://missing", "old+notes://gone", "old+notes://gone")], answered
