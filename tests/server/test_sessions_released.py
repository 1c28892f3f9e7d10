"""What a session holds is released when it ends, through a real `mcprt up --transport http`.

The server is started with the memory probe (`MCPRT_DEBUG_TRACEMALLOC`, observability.memdebug): on
SIGUSR2 it collects garbage and writes its live objects counted by type. After sessions were closed
(DELETE), abandoned to the idle timeout, dropped mid-stream, ended while a call was still running, or
ended by the per-client cap, no SDK `Connection`, dispatcher or runner may be left. The lean path kept
each session's runner in a WeakKeyDictionary keyed by the connection the runner itself holds, so every
session ever opened stayed in memory (found by bench/soak.py); then a lean call that outlived its session
tracked the closed connection again, for good.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.served import UpProcess, child_env, http_client, launch_command, mcprt_http

TOOLS = '''\
__all__ = ["echo_text", "slow"]
import time


def echo_text(text: str) -> dict:
    """Echo the text."""
    return {"text": text}


def slow(seconds: float) -> dict:
    """Sleep `seconds`, then answer."""
    time.sleep(seconds)
    return {"slept": seconds}
'''
# The probe's exact names (`module.qualname`): what one session holds.
HELD = ("mcp.server.connection.Connection", "mcp.shared.jsonrpc_dispatcher.JSONRPCDispatcher",
        "mcp.server.runner.ServerRunner")
HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


@contextmanager
def probed(folder: Path, http: str) -> Iterator[tuple[UpProcess, Path]]:
    """`mcprt up` over HTTP with the memory probe on, serving TOOLS with `server.http` set to `http`."""
    (folder / "soak_tools.py").write_text(TOOLS)
    manifest = folder / "mcp.yaml"
    manifest.write_text(f"version: 1\nserver:\n  http: {http}\nsources:\n  tools: {{python: soak_tools}}\n")
    probe = folder / "probe"
    with mcprt_http(manifest, "--no-reload", env=child_env(MCPRT_DEBUG_TRACEMALLOC=str(probe))) as served:
        yield served, probe


pytestmark = pytest.mark.xdist_group("test_sessions_released")  # one started server per run, not one per worker


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UpProcess, Path]]:
    with probed(tmp_path_factory.mktemp("sessions-released"), "{session_idle_timeout: 1s}") as served:
        yield served


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
    answer = _call(url, headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["structuredContent"] == {"text": "x"}


def _call(url: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url, headers=headers, timeout=10, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo_text", "arguments": {"text": "x"}}})


def used_session(url: str, idle_timeout: float) -> None:
    """A session opened and called once, then abandoned. On a loaded machine the idle timeout can pass
    between the two requests: the session then ended as it should (404), and another is opened — only
    when that much time did pass, so a session ended early still fails the test."""
    for _ in range(5):
        opened = time.monotonic()
        headers = open_session(url)
        answer = _call(url, headers)
        if answer.status_code == 404 and time.monotonic() - opened >= idle_timeout:
            continue
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"]["structuredContent"] == {"text": "x"}
        return
    raise AssertionError(f"five sessions ended before their first call (idle timeout {idle_timeout} s)")


async def test_closed_expired_and_dropped_sessions_leave_nothing_behind(up: tuple[UpProcess, Path]) -> None:
    served, probe = up
    for _ in range(4):  # the SDK client: list, call, close (DELETE)
        async with http_client(served.url) as client:
            await client.list_tools()
            assert not (await client.call_tool("echo_text", {"text": "hi"})).is_error
    for _ in range(4):  # abandoned without DELETE: the idle timeout (1 s) ends them
        used_session(served.url, 1.0)
    for _ in range(4):  # a GET stream dropped, then the session closed
        headers = open_session(served.url)
        call(served.url, headers)
        with httpx.stream("GET", served.url, headers={**headers, "accept": "text/event-stream"}, timeout=5):
            pass
        httpx.delete(served.url, headers=headers, timeout=10)
    assert_nothing_held(served, probe)


async def test_a_session_ended_during_a_call_leaves_nothing_behind(up: tuple[UpProcess, Path]) -> None:
    """A lean tools/call (answered in the request's task, not the session's) still running when the
    client DELETEs its session: the call's end tracked the closed connection again, for good (3 sessions
    left 3 connections, dispatchers and runners, and `mcprt_sessions` stayed 3)."""
    served, probe = up
    for _ in range(3):
        headers = open_session(served.url)
        answers: list[httpx.Response] = []
        caller = threading.Thread(target=lambda: answers.append(httpx.post(served.url, headers=headers, timeout=20, json={
            "jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "slow", "arguments": {"seconds": 1.0}}})))
        caller.start()
        time.sleep(0.3)
        assert httpx.delete(served.url, headers=headers, timeout=10).status_code == 200
        caller.join(30)
        assert answers, "the call never returned"
    assert_nothing_held(served, probe)  # the last call ends after its session: it waits for that


async def test_sessions_ended_by_the_per_client_cap_leave_nothing_behind(tmp_path: Path) -> None:
    """Past `max_sessions_per_client` an initialize ends the client's least recently used idle session."""
    with probed(tmp_path, "{session_idle_timeout: 1h, max_sessions_per_client: 2}") as (served, probe):
        for _ in range(6):
            call(served.url, open_session(served.url))
        assert _sessions(served) == 2
        objects = live_objects(served, probe)
        assert objects.get(HELD[0], 0) == 2, {k: v for k, v in objects.items() if k in HELD}


def assert_nothing_held(served: UpProcess, probe: Path) -> None:
    """No session left open (closed, or expired after the idle timeout), and nothing of one in memory."""
    deadline = time.monotonic() + 20
    while _sessions(served):
        assert time.monotonic() < deadline, "sessions never ended"
        time.sleep(0.2)
    # the idle sweep ends the last abandoned ones (1 s idle timeout): probe until they are gone, bounded
    deadline = time.monotonic() + 20
    while True:
        objects = live_objects(served, probe)
        assert "mcprt.server.notify.Notifier" in objects, "the probe counts by module-qualified name"
        held = {name: objects.get(name, 0) for name in HELD}
        if held == dict.fromkeys(HELD, 0) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert held == dict.fromkeys(HELD, 0)


def _sessions(up: UpProcess) -> float:
    for line in httpx.get(f"{up.base}/metrics", timeout=10).text.splitlines():
        if line.startswith("mcprt_sessions "):
            return float(line.split()[1])
    return 0.0


@pytest.mark.parametrize("transport", ["http", "stdio"])
def test_a_probe_folder_that_cannot_be_made_is_a_clear_error_at_start(transport: str, tmp_path: Path) -> None:
    """A path through a file ended the server with "internal error: NotADirectoryError" (exit 1), after
    it had started serving, and skipped its clean-up."""
    (tmp_path / "soak_tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  tools: {python: soak_tools}\n")
    (tmp_path / "afile").write_text("")
    done = subprocess.run(launch_command(manifest, "--transport", transport, "--port", "0", "--no-reload"),
                          env=child_env(MCPRT_DEBUG_TRACEMALLOC=str(tmp_path / "afile" / "probe")),
                          cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"MCPRT_DEBUG_TRACEMALLOC={tmp_path / 'afile' / 'probe'}: not a folder" in done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
