"""A draining replica answers cheap reads and refuses only new work (server/lifecycle.py ANSWERED_WHILE_DRAINING).

Found by an SRE trial: the official SDK client's `call_tool` follows a result with its own `tools/list` when it has
not cached the tool's output schema (`ClientSession.validate_tool_result`). During a SIGTERM drain mcprt refused that
`tools/list`, so the client raised "this one was not started. Send it again" for a call that had completed (the
audit log said `ok`), and a side-effecting tool ran twice once it was sent again. Real `mcprt up`, real SIGTERM, the
SDK client over streamable HTTP, a Python tool that counts its runs in a file.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import anyio
import httpx
import pytest
from mcp.shared.exceptions import MCPError

from tests.support.served import http_client, mcprt_http, text_of

TOOLS = '''
import pathlib
import time

RUNS = pathlib.Path(__file__).with_name("runs.txt")


def act(seconds: float) -> str:
    """Do something that must happen once, slowly."""
    with RUNS.open("a") as runs:
        runs.write("started\\n")
    time.sleep(seconds)
    return "acted"
'''


def manifest(folder: Path) -> Path:
    (folder / "tools.py").write_text(TOOLS)
    path = folder / "mcp.yaml"
    path.write_text("version: 1\nserver:\n  name: draining\n  http: {drain_timeout: 8s}\n"
                    "sources:\n  py: {python: [tools:act]}\n")
    return path


# legacy: a session's requests; 2026-07-28: sessionless, the method alone decides; auto: the SDK Client's default,
# which settles on 2026-07-28 against mcprt (a review found the follow-up refused in both of these)
@pytest.mark.parametrize("mode", ["legacy", "auto", "2026-07-28"])
async def test_a_call_completing_during_the_drain_reaches_the_sdk_client_and_runs_once(tmp_path: Path,
                                                                                        mode: str) -> None:
    runs = tmp_path / "runs.txt"
    with mcprt_http(manifest(tmp_path), "--no-reload") as up:
        async with http_client(up.url, mode=mode) as caller, http_client(up.url, mode=mode) as idle:
            outcome: dict[str, object] = {}

            async def call() -> None:
                try:  # no list_tools first: the SDK sends its own after the result
                    outcome["result"] = await caller.call_tool("act", {"seconds": 2.0})
                except Exception as exc:  # noqa: BLE001 - what the trial's client raised; the test shows it
                    outcome["error"] = exc

            async with anyio.create_task_group() as group:
                group.start_soon(call)
                deadline = time.monotonic() + 20
                while not runs.exists():
                    assert time.monotonic() < deadline, up.log()
                    await anyio.sleep(0.02)
                up.signal(signal.SIGTERM)
                up.wait_log("draining")
                # another session's cheap reads are answered while draining; new work is refused
                assert [t.name for t in (await idle.list_tools()).tools] == ["act"]
                if mode == "legacy":  # 2026-07-28 has no ping
                    await idle.send_ping()
                # a new call on a connection the replica already had is served once early in the drain (an L4
                # balancer cannot retry it elsewhere: fleetfix), else refused as not started
                try:
                    await idle.call_tool("act", {"seconds": 0})
                    outcome["idle served"] = True
                except MCPError as exc:
                    assert "shutting down" in str(exc), exc
                fresh = httpx.post(up.url, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "late", "version": "1"}}},
                    headers={"Accept": "application/json, text/event-stream"}, timeout=5)
                assert fresh.status_code == 503 and fresh.json()["error"]["data"]["reason"] == "shutting_down"
        assert "error" not in outcome, outcome.get("error")
        assert text_of(outcome["result"]) == "acted"  # type: ignore[arg-type]
        assert up.process.wait(15) == 0
    # the first call once (its SDK follow-up did not run it again); a refused call never ran
    assert runs.read_text() == "started\n" * (2 if outcome.get("idle served") else 1)
    assert "answered=" in up.log() and "answered=0" not in up.log(), up.log()


async def test_cheap_reads_do_not_stretch_the_drain(tmp_path: Path) -> None:
    # Review: a session sending `tools/list` every 0.3 s kept a replica whose last call had ended at ~2.8 s up for
    # its whole drain_timeout. Answered reads no longer restart the quiet time: the replica stops once its call
    # is answered and the quiet time (0.5 s) passed, long before drain_timeout (8 s).
    runs = tmp_path / "runs.txt"
    accept = {"Accept": "application/json, text/event-stream"}
    with mcprt_http(manifest(tmp_path), "--no-reload") as up:
        async with httpx.AsyncClient(headers=accept, timeout=5) as http:  # the chatty session, plain JSON-RPC
            opened = await http.post(up.url, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "chatty", "version": "1"}}})
            session = {"Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18"}
            await http.post(up.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
            outcome: dict[str, object] = {}
            answered = 0

            async def call() -> None:
                async with http_client(up.url) as caller:  # closed (DELETE, taken while draining) once answered
                    outcome["result"] = await caller.call_tool("act", {"seconds": 1.0})

            async def poll() -> None:
                nonlocal answered
                while up.process.poll() is None:
                    try:
                        listed = await http.post(up.url, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                                                 headers=session)
                    except httpx.HTTPError:  # the replica is gone: polling is over
                        return
                    answered += listed.status_code == 200
                    await anyio.sleep(0.3)

            async with anyio.create_task_group() as group:
                group.start_soon(call)
                deadline = time.monotonic() + 20
                while not runs.exists():
                    assert time.monotonic() < deadline, up.log()
                    await anyio.sleep(0.02)
                up.signal(signal.SIGTERM)
                signalled = time.monotonic()
                group.start_soon(poll)
                await anyio.to_thread.run_sync(lambda: up.process.wait(20))
                stopped_after = time.monotonic() - signalled
        assert text_of(outcome["result"]) == "acted"  # type: ignore[arg-type]
        assert answered >= 2, up.log()  # reads were answered during the drain
        assert stopped_after < 5, (stopped_after, up.log())
