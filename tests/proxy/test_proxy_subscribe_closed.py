"""A session that closes while its `resources/subscribe` is still waiting on the upstream leaves no
upstream subscription behind (review of mendp26, problem 6).

mendp26 registers a listener only once the upstream accepts (so a refused subscribe leaves none); the
connection that had closed meanwhile was then simply dropped, and nothing ever unsubscribed upstream: the
upstream kept sending updates for a subscription no one held, and each later subscriber added another.
Real parts: `mcprt up` on streamable HTTP proxying `slow_subscribe_server.py` (its subscribe answers only
once the test opens a gate, and it logs what it receives), the SDK client, whose session is closed
(HTTP DELETE) while its subscribe waits."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import httpx
import pytest

from tests.support.served import mcprt_http
from tests.support.zygote import script_command_yaml

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

SERVER = Path(__file__).with_name("slow_subscribe_server.py")
HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream",
           "mcp-protocol-version": "2025-11-25"}


def _lines(folder: Path) -> list[str]:
    log = folder / "upstream.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def _wait_for(folder: Path, count: int, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(_lines(folder)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return _lines(folder)


async def test_a_session_closed_during_an_upstream_subscribe_leaves_no_upstream_subscription(tmp_path: Path) -> None:
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(f"version: 1\nsources:\n  notes:\n    command: {script_command_yaml(SERVER, str(tmp_path))}\n",
                        encoding="utf-8")
    with mcprt_http(manifest) as up:
        async with httpx.AsyncClient(timeout=60) as http:
            init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
            opened = await http.post(up.url, json=init, headers=HEADERS)
            session = {**HEADERS, "mcp-session-id": opened.headers["mcp-session-id"]}
            await http.post(up.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
            subscribe = {"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe", "params": {"uri": "notes://slow"}}
            with anyio.fail_after(60):
                async with anyio.create_task_group() as group:
                    group.start_soon(lambda: http.post(up.url, json=subscribe, headers=session))
                    assert await anyio.to_thread.run_sync(_wait_for, tmp_path, 1) == ["subscribe notes://slow"]
                    closed = await http.delete(up.url, headers=session)  # the session ends, its subscribe waiting
                    assert closed.status_code in (200, 204), closed
                    (tmp_path / "gate").touch()  # now the upstream accepts
            lines = await anyio.to_thread.run_sync(_wait_for, tmp_path, 2, 10)
    assert lines == ["subscribe notes://slow", "unsubscribe notes://slow"], lines
