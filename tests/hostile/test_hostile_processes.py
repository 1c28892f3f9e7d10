"""Finding 7 of #13: after `kill -9` of mcprt, no proxied server and no grandchild keeps running —
neither a server that ignores stdin EOF and SIGTERM, nor the child of a well-behaved one."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

from tests.support.served import child_env, http_client, mcprt_http, text_of

HERE = Path(__file__).parent
FIXTURE = HERE.parent / "sources" / "fixtures" / "mcp_server.py"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2:].split()[0] not in ("Z", "X")


def test_servers_and_grandchildren_die_with_a_killed_mcprt(tmp_path: Path) -> None:
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(
        "version: 1\nsources:\n"
        f"  stubborn:\n    command: [{sys.executable}, {HERE / 'stubborn_server.py'}]\n    prefix: s_\n"
        f"  normal:\n    command: [{sys.executable}, {FIXTURE}]\n    prefix: n_\n"
    )
    with mcprt_http(manifest, "--no-reload", env=child_env(), startup_timeout=60) as up:
        async def pids() -> list[int]:
            async with http_client(up.url) as client:
                found = []
                for tool in ("s_whoami", "n_whoami"):
                    found.append(json.loads(text_of(await asyncio.wait_for(client.call_tool(tool, {}), 30)))["pid"])
                for tool in ("s_spawn_child", "n_spawn_child"):
                    found.append(int(text_of(await asyncio.wait_for(client.call_tool(tool, {}), 30))))
                return found

        started = asyncio.run(pids())
        assert all(_alive(pid) for pid in started)
        os.kill(up.pid, signal.SIGKILL)
        up.process.wait(10)
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in started if _alive(pid)]
        for pid in left:  # do not leave them behind for the next test either
            os.kill(pid, signal.SIGKILL)
        assert left == [], f"still running after mcprt was killed: {left} of {started}"
