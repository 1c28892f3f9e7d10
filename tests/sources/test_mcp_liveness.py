"""A proxied server that hangs is found out and restarted (sources/mcp/source.py `_watch_liveness`).

Found by an SRE trial: a stdio server frozen with SIGSTOP showed `up` everywhere (`mcprt_source_up` 1, `/readyz`
ready, `/status` up, 0 restarts) while every call timed out, for ever: its pipe stayed open, so nothing noticed.
Real `mcprt up`, a real stdio MCP server process, real SIGSTOP.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx

from mcprt.sources.mcp.stdio import STDIN_CLOSE_GRACE, TERM_GRACE
from tests.support.served import UpProcess, http_client, mcprt_http, text_of
from tests.support.zygote import script_command_yaml

SERVER = '''
import os
import pathlib
import time

from mcp.server.mcpserver import MCPServer

with pathlib.Path(__file__).with_name("pids.txt").open("a") as pids:
    pids.write(f"{os.getpid()}\\n")
mcp = MCPServer("helper")


@mcp.tool()
def echo(text: str) -> str:
    """Echo text back."""
    return "echo: " + text


@mcp.tool()
async def crunch(seconds: float) -> str:
    """CPU work in an async tool: this one-loop server answers nothing else meanwhile, a ping included."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return f"crunched {seconds:g}"


if __name__ == "__main__":
    mcp.run()
'''


def manifest(folder: Path, liveness: str, timeout: str = "2s", restart_delay: str = "100ms") -> Path:
    """The helper server forked from the suite's zygote (tests/support/zygote.py): its pid in pids.txt is the
    process holding the pipes, the one frozen below, and each start and restart skips ~1 s of SDK imports.
    Restarted 0.1 s after it is found hung (`restart_delay`), not the default 1 s: what is checked is that
    it is restarted, not when (a test that asserts the down state between the end and the restart gives itself a
    wider window: with 0.1 s a loaded machine restarted it before /metrics and /readyz were read)."""
    (folder / "server.py").write_text(SERVER)
    path = folder / "mcp.yaml"
    path.write_text("version: 1\nserver: {name: gw}\n"
                    "sources:\n"
                    f"  helper: {{command: {script_command_yaml(folder / 'server.py')}, timeout: {timeout}, restart_delay: {restart_delay}, {liveness}}}\n"
                    "  py: {python: [tools:add]}\n")
    (folder / "tools.py").write_text("def add(a: int, b: int) -> int:\n    \"\"\"Add.\"\"\"\n    return a + b\n")
    return path


def pids(folder: Path) -> list[int]:
    path = folder / "pids.txt"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def until(check: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return found


def helper(up: UpProcess) -> dict[str, Any]:
    sources = httpx.get(f"{up.base}/status.json", timeout=5).json()["sources"]
    return next(s for s in sources if s["name"] == "helper")


def metric(up: UpProcess, line_start: str) -> float:
    for line in httpx.get(f"{up.base}/metrics", timeout=5).text.splitlines():
        if line.startswith(line_start):
            return float(line.split()[-1])
    raise AssertionError(line_start)


def ended(pid: int) -> bool:
    """The process is gone (or a zombie: dead, not yet reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def _resume(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGCONT)  # whatever the test's outcome, leave no stopped process behind
    except ProcessLookupError:
        pass


async def test_a_frozen_server_is_pinged_marked_down_and_restarted(tmp_path: Path) -> None:
    with mcprt_http(manifest(tmp_path, "ping_every: 1s, ping_timeout: 1s", restart_delay="3s"), "--no-reload") as up:
        frozen = until(lambda: pids(tmp_path), what="the server's pid")[0]
        os.kill(frozen, signal.SIGSTOP)
        try:
            # /status, /metrics and /readyz agree while it is ended and restarted
            seen = until(lambda: (h := helper(up))["state"] == "restarting" and h, what="the hang on /status")
            found_hung = time.monotonic()
            assert "did not answer a ping within 1s" in seen["error"]
            # killed at once: it reads no EOF and cannot handle a SIGTERM, so the stop's graces (stdin closed,
            # then SIGTERM, SIGKILL after STDIN_CLOSE_GRACE + TERM_GRACE = 3 s) would only delay its restart
            until(lambda: ended(frozen), what="the hung process's end")
            assert time.monotonic() - found_hung < STDIN_CLOSE_GRACE + TERM_GRACE / 2
            assert metric(up, 'mcprt_source_up{source="helper"}') == 0.0
            ready = httpx.get(f"{up.base}/readyz", timeout=5)
            assert ready.status_code == 200 and ready.json()["status"] == "degraded"
            assert ready.json()["sources_down"] == 1
            assert "did not answer a ping" in up.wait_log("did not answer a ping")
            until(lambda: len(pids(tmp_path)) == 2 and helper(up)["state"] == "up", what="the restart")
        finally:
            _resume(frozen)
        assert helper(up)["restarts"] == 1
        assert metric(up, 'mcprt_source_restarts_total{source="helper"}') == 1.0
        assert httpx.get(f"{up.base}/readyz", timeout=5).json()["status"] == "ready"
        async with http_client(up.url) as client:
            assert text_of(await client.call_tool("echo", {"text": "back"})) == "echo: back"


async def test_a_call_that_times_out_pings_at_once(tmp_path: Path) -> None:
    # the periodic ping far away: only the timed-out call can have asked for the check
    with mcprt_http(manifest(tmp_path, "ping_every: 10m, ping_timeout: 1s"), "--no-reload") as up:
        frozen = until(lambda: pids(tmp_path), what="the server's pid")[0]
        os.kill(frozen, signal.SIGSTOP)
        try:
            async with http_client(up.url) as client:
                result = await client.call_tool("echo", {"text": "lost"})
                assert result.is_error and "did not answer within 2s" in text_of(result)
                until(lambda: helper(up)["state"] == "restarting", timeout=10, what="the check after the timeout")
                until(lambda: len(pids(tmp_path)) == 2 and helper(up)["state"] == "up", what="the restart")
                assert text_of(await client.call_tool("echo", {"text": "back"})) == "echo: back"
        finally:
            _resume(frozen)


async def test_a_responsive_server_is_left_alone(tmp_path: Path) -> None:
    with mcprt_http(manifest(tmp_path, "ping_every: 0.2s, ping_timeout: 1s"), "--no-reload") as up:
        until(lambda: pids(tmp_path), what="the server's pid")
        time.sleep(1.5)  # several pings, each answered
        assert helper(up)["state"] == "up" and helper(up)["restarts"] == 0 and len(pids(tmp_path)) == 1


async def test_a_busy_server_keeps_its_calls(tmp_path: Path) -> None:
    # Review of the liveness check: a one-loop server busy with a call inside its timeout missed one ping and
    # was restarted, and its call and another session's were both told "may or may not have acted". Busy for
    # 3s, with a check every 1.5s (two go unanswered): both calls get their answers, nothing is restarted.
    with mcprt_http(manifest(tmp_path, "ping_every: 0.5s, ping_timeout: 1s", timeout="30s"), "--no-reload") as up:
        until(lambda: pids(tmp_path), what="the server's pid")
        async with http_client(up.url) as first, http_client(up.url) as second, anyio.create_task_group() as tasks:
            results: dict[str, Any] = {}

            async def call(client: Any, name: str, arguments: dict[str, Any]) -> None:
                results[name] = await client.call_tool(name, arguments)

            tasks.start_soon(call, first, "crunch", {"seconds": 3})
            await anyio.sleep(0.3)
            tasks.start_soon(call, second, "echo", {"text": "waits its turn"})
        assert text_of(results["crunch"]) == "crunched 3", text_of(results["crunch"])
        assert text_of(results["echo"]) == "echo: waits its turn"
        assert "taken as busy" in up.wait_log("taken as busy")
        assert helper(up)["state"] == "up" and helper(up)["restarts"] == 0 and len(pids(tmp_path)) == 1


async def test_a_frozen_server_with_a_call_out_is_restarted_after_several_checks(tmp_path: Path) -> None:
    # the other side of the rule above: a call still inside its 30s, but the server answers nothing at all
    with mcprt_http(manifest(tmp_path, "ping_every: 0.3s, ping_timeout: 0.5s", timeout="30s"), "--no-reload") as up:
        frozen = until(lambda: pids(tmp_path), what="the server's pid")[0]
        os.kill(frozen, signal.SIGSTOP)
        try:
            async with http_client(up.url) as client:
                started = time.monotonic()
                result = await client.call_tool("echo", {"text": "lost"})
                assert result.is_error and "ended before it answered" in text_of(result), text_of(result)
                assert time.monotonic() - started < 15
            seen = helper(up)
            assert "did not answer a ping within 0.5s 3 times in a row" in (seen["error"] or ""), seen
            until(lambda: len(pids(tmp_path)) == 2 and helper(up)["state"] == "up", what="the restart")
        finally:
            _resume(frozen)
