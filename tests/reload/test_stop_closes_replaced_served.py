"""The same stop as tests/reload/test_stop_closes_replaced.py, through a real `mcprt up`: SIGTERM while a
source a reload replaced still waits for a call on the old tool set. Serve's own stop
(`stopping.stop_tasks` with `BACKGROUND_STOP_GRACE`) lets the hot-reload task's clean-up close it, so
its process group is gone when mcprt exits — before the reaper (which ends what mcprt left, 1 s after
its SIGTERM) could have done it."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx

from mcprt.sources.mcp.process import group_members
from tests.reload.test_stop_closes_replaced import manifest as fx_manifest
from tests.support.served import mcprt_http

SLOW = 'import asyncio\n\n\nasync def slow() -> str:\n    """Wait."""\n    await asyncio.sleep(60)\n    return "done"\n'


def _manifest(folder: Path, generation: str, *, straggler: bool) -> str:
    """`fx` (see test_stop_closes_replaced) beside a Python tool whose call holds the old tool set."""
    text = fx_manifest(folder, generation, straggler=straggler)
    return text.replace('"sources": {', '"server": {"http": {"drain_timeout": "1s"}}, "sources": {"py": '
                        '{"python": "slow_tools"}, ', 1)


def test_sigterm_while_a_replaced_source_drains_closes_it_before_exit(tmp_path: Path) -> None:
    (tmp_path / "slow_tools.py").write_text(SLOW)
    path = tmp_path / "mcp.yaml"
    path.write_text(_manifest(tmp_path, "1", straggler=True))
    old = 0
    try:
        with mcprt_http(path) as up:
            old = int((tmp_path / "pid-1").read_text())
            headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
                       "MCP-Protocol-Version": "2025-06-18"}
            init = httpx.post(up.url, headers=headers, timeout=30, json={
                "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
            session = {**headers, "Mcp-Session-Id": init.headers["mcp-session-id"]}
            httpx.post(up.url, headers=session, timeout=30,
                       json={"jsonrpc": "2.0", "method": "notifications/initialized"})
            call = threading.Thread(target=lambda: httpx.post(up.url, headers=session, timeout=60, json={
                "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "slow", "arguments": {}}}),
                daemon=True)
            call.start()
            time.sleep(0.5)  # the call runs on the first tool set
            mark = up.log_mark()
            path.write_text(_manifest(tmp_path, "2", straggler=False))  # fx reopened; the old one retired
            up.wait_log("reload applied")
            assert "fx" in up.log_since(mark) and len(group_members(old)) == 2, up.log()
            up.process.send_signal(signal.SIGTERM)
            code = up.process.wait(30)
            left = group_members(old)  # at once: the reaper's SIGKILL comes 1 s after mcprt's exit
        assert code == 0, up.log()
        assert left == [], f"the replaced server's group outlived mcprt's stop: {left}\n{up.log()}"
    finally:
        if old and group_members(old):
            os.killpg(old, signal.SIGKILL)
