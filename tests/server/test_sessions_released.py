"""What a session holds is released when it ends, through a real `mcprt up --transport http`.

The server is started with the memory probe (`MCPRT_DEBUG_TRACEMALLOC`, observability.memdebug): on
SIGUSR2 it collects garbage and writes its live objects counted by type. After sessions were closed
(DELETE), abandoned to the idle timeout, or dropped mid-stream, no SDK `Connection` may be left. The
lean path kept each session's runner in a WeakKeyDictionary keyed by the connection the runner itself
holds, so every session ever opened stayed in memory (found by bench/soak.py).
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.served import UpProcess, child_env, http_client, mcprt_http

TOOLS = '''\
__all__ = ["echo_text"]


def echo_text(text: str) -> dict:
    """Echo the text."""
    return {"text": text}
'''
HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UpProcess, Path]]:
    folder = tmp_path_factory.mktemp("sessions-released")
    (folder / "soak_tools.py").write_text(TOOLS)
    manifest = folder / "mcp.yaml"
    manifest.write_text("version: 1\nserver:\n  http: {session_idle_timeout: 1s}\n"
                        "sources:\n  tools: {python: soak_tools}\n")
    probe = folder / "probe"
    with mcprt_http(manifest, "--no-reload", env=child_env(MCPRT_DEBUG_TRACEMALLOC=str(probe))) as served:
        yield served, probe


def live_objects(up: UpProcess, probe: Path) -> dict[str, int]:
    """The server's live objects by type, after a full collection (the probe's newest count)."""
    before = set(probe.glob("*.types.json"))
    up.signal(signal.SIGUSR2)
    deadline = time.monotonic() + 30
    while True:
        written = set(probe.glob("*.types.json")) - before
        if written:
            path = written.pop()
            for _ in range(100):  # written in one call, but read it only once it parses
                try:
                    return json.loads(path.read_text())
                except ValueError:
                    time.sleep(0.05)
        assert time.monotonic() < deadline, up.log()
        time.sleep(0.05)


def open_session(url: str) -> dict[str, str]:
    """A raw handshake-era session; its headers for the next requests."""
    answer = httpx.post(url, headers=HEADERS, timeout=10, json={
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    headers = {**HEADERS, "mcp-session-id": answer.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
    httpx.post(url, headers=headers, timeout=10, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    return headers


def call(url: str, headers: dict[str, str]) -> None:
    answer = httpx.post(url, headers=headers, timeout=10, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo_text", "arguments": {"text": "x"}}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["structuredContent"] == {"text": "x"}


async def test_closed_expired_and_dropped_sessions_leave_nothing_behind(up: tuple[UpProcess, Path]) -> None:
    served, probe = up
    for _ in range(4):  # the SDK client: list, call, close (DELETE)
        async with http_client(served.url) as client:
            await client.list_tools()
            assert not (await client.call_tool("echo_text", {"text": "hi"})).is_error
    for _ in range(4):  # abandoned without DELETE: the idle timeout (1 s) ends them
        call(served.url, open_session(served.url))
    for _ in range(4):  # a GET stream dropped, then the session closed
        headers = open_session(served.url)
        call(served.url, headers)
        with httpx.stream("GET", served.url, headers={**headers, "accept": "text/event-stream"}, timeout=5):
            pass
        httpx.delete(served.url, headers=headers, timeout=10)
    deadline = time.monotonic() + 20
    while _sessions(served):  # closed, or expired after the idle timeout
        assert time.monotonic() < deadline, "sessions never ended"
        time.sleep(0.2)
    time.sleep(1.5)  # the idle sweep ends the last abandoned ones
    objects = live_objects(served, probe)
    assert objects.get("Connection", 0) == 0, {k: v for k, v in objects.items() if "Connection" in k}
    assert objects.get("JSONRPCDispatcher", 0) == 0


def _sessions(up: UpProcess) -> float:
    for line in httpx.get(f"{up.base}/metrics", timeout=10).text.splitlines():
        if line.startswith("mcprt_sessions "):
            return float(line.split()[1])
    return 0.0
