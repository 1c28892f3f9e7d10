"""A server stopping while a source that a reload replaced still waits for its calls: the stop ends its
hot-reload task, whose clean-up closes that source — the subprocess and everything it started."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import sys
from pathlib import Path

from mcprt.pipeline import Runtime
from mcprt.reload import follow_upstream, reloader_for
from mcprt.server.serve import BACKGROUND_STOP_GRACE, BACKGROUND_STOP_WITHIN
from mcprt.settings import Settings
from mcprt.sources.mcp.process import group_members
from mcprt.stopping import stop_tasks

# raw JSON-RPC (no SDK: started in a fraction of the SDK's import time on a loaded machine)
RAW_SERVER = Path(__file__).resolve().parents[1] / "proxy" / "misbehaving_server.py"


def manifest(folder: Path, generation: str, *, straggler: bool) -> str:
    """Source `fx`: the raw server, leading a group where a `straggler` ignores SIGTERM (so closing it
    takes `TERM_GRACE`, then SIGKILL); the shell writes the group's id to pid-<generation>."""
    scenario = folder / "scenario.json"
    scenario.write_text(json.dumps({"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}))
    script = (f"echo $$ > pid-{generation}; " + ("trap '' TERM; sleep 300 & " if straggler else "") +
              f"exec {shlex.quote(sys.executable)} {shlex.quote(str(RAW_SERVER))} {shlex.quote(str(scenario))}")
    source = {"command": ["sh", "-c", script], "cwd": str(folder), "env": {"GENERATION": generation}}
    return json.dumps({"version": 1, "sources": {"fx": source}})  # JSON is YAML too


async def test_a_stop_lets_hot_reload_close_the_sources_it_replaced(tmp_path: Path) -> None:
    """`stop_tasks` cancelled a task again every 50 ms, and the second cancel landed in the task's
    `finally`: hot reload's `reloader.aclose()` → `Drainer.close_now()` → closing the replaced stdio
    server (stdin closed, its group sent SIGTERM, SIGKILL for what ignores that) was cut short, and
    `stop_tasks` still reported every task stopped. Now a task's own clean-up gets
    `BACKGROUND_STOP_GRACE` before any second cancel: the stop returns with the group gone."""
    path = tmp_path / "mcp.yaml"
    path.write_text(manifest(tmp_path, "1", straggler=True))
    runtime = Runtime(path, Settings(_env_file=None, cache_dir=tmp_path / "cache"))  # type: ignore[call-arg]
    await runtime.start()
    old = int((tmp_path / "pid-1").read_text())
    try:
        reloader = reloader_for(runtime)
        in_flight = runtime.holder.current  # held, as by a call still running on the old tool set
        path.write_text(manifest(tmp_path, "2", straggler=False))  # the source's env changed: reopened, the old one retired
        outcome = await reloader.reload()
        assert outcome.ok and outcome.opened == ["fx"], outcome.errors
        assert reloader.drainer.pending == 1 and len(group_members(old)) == 2  # the server and its straggler

        following = asyncio.create_task(follow_upstream(runtime))  # serve's task under --no-reload
        await asyncio.sleep(0.05)
        assert await stop_tasks([following], what="background tasks", within=BACKGROUND_STOP_WITHIN,
                                grace=BACKGROUND_STOP_GRACE)
        assert group_members(old) == [], "the replaced server's group outlived the stop"
        del in_flight
    finally:
        if group_members(old):  # what the old stop left: not this test's to leave running
            os.killpg(old, signal.SIGKILL)
        await runtime.aclose()
