"""An upstream's ordinary JSON-RPC error -32000 is its answer, not a lost connection.

Found by a new-user trial: JSON-RPC 2.0 §5.1 gives servers -32000…-32099 for their own errors, and the
SDK's client spells a closed connection with the same -32000 (`CONNECTION_CLOSED`). mcprt read a server's
`-32000 "database is locked"` as "connection closed": it restarted the `command:` server (or dropped the
`url:` session), aborted another client's call in flight on the source ("may or may not have acted"),
answered "restarting" for seconds and backed off longer at each such error. Now a loss is told by what
happened to the connection (sources/mcp/lost.py), so the error reaches its caller, the other call
completes, and nothing restarts; a real loss still restarts (test_proxy_upstream_restart.py,
tests/sources/test_sources_mcp_stdio.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from tests.support.everything import fixture_http, url_source, write_manifest
from tests.support.served import UpProcess, http_client, mcprt_http, text_of
from tests.support.zygote import script_command_yaml

pytestmark = [pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
              pytest.mark.xdist_group("test_proxy_server_errors")]  # one gateway and upstream per run

SERVER = Path(__file__).with_name("erring_server.py")
SLOW = 3.0  # seconds the other client's call takes


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    with fixture_http(script=SERVER) as url:
        stdio = f"  ers:\n    command: {script_command_yaml(SERVER)}\n"
        manifest = write_manifest(tmp_path_factory.mktemp("errors"), stdio, url_source("erh", url, "prefix: h_\n"),
                                  server="defaults: {timeout: 20s}\n")
        with mcprt_http(manifest, "--no-reload") as up:
            yield up


def _sources(up: UpProcess) -> dict[str, Any]:
    return {s["name"]: s for s in httpx.get(f"{up.base}/status.json", timeout=10).json()["sources"]}


async def _refusal(client: Any, tool: str) -> str:
    """What the caller is told of the upstream's error, as a tool error or a JSON-RPC error."""
    try:
        result = await client.call_tool(tool, {})
    except MCPError as exc:
        return f"error {exc.code}: {exc.message}"
    assert result.is_error, result
    return text_of(result)


@pytest.mark.parametrize("prefix", ["", "h_"], ids=["command", "url"])
async def test_a_server_error_32000_leaves_the_source_and_other_calls_alone(served: UpProcess, prefix: str) -> None:
    mark = served.log_mark()
    source = "erh" if prefix else "ers"
    restarts = _sources(served)[source]["restarts"]
    slow: list[types.CallToolResult] = []
    async with http_client(served.url) as a, http_client(served.url) as b:

        async def slow_call() -> None:
            slow.append(await b.call_tool(f"{prefix}slow", {"seconds": SLOW}))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(slow_call)
            await anyio.sleep(0.5)  # b's call is out on the source
            refusal = await _refusal(a, f"{prefix}busy")
        assert "database is locked" in refusal
        assert "restarting" not in refusal and "ended" not in refusal, refusal
        [other] = slow
        assert not other.is_error and text_of(other) == "slow done", other
        after = await a.call_tool(f"{prefix}slow", {"seconds": 0})
        assert text_of(after) == "slow done", after
    log = served.log_since(mark)
    assert "is down" not in log and "connection ended" not in log and "new session" not in log, log
    status = _sources(served)[source]
    assert (status["restarts"], status["state"]) == (restarts, "up"), status


@pytest.mark.parametrize("prefix", ["", "h+"], ids=["command", "url"])
async def test_a_resource_read_answered_32000_is_the_servers_error(served: UpProcess, prefix: str) -> None:
    mark = served.log_mark()
    source = "erh" if prefix else "ers"
    restarts = _sources(served)[source]["restarts"]
    async with http_client(served.url) as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource(f"{prefix}err://busy")
        assert (raised.value.code, "backend busy" in raised.value.message) == (-32000, True), raised.value
        fine = await client.read_resource(f"{prefix}err://fine")
        assert fine.contents[0].text == "fine"  # type: ignore[union-attr]
    assert "connection ended" not in served.log_since(mark)
    assert _sources(served)[source]["restarts"] == restarts
