"""A stdio MCP server whose one tool reports progress and logs at every step, for the cancel-isolation tests
(`tests/proxy/test_proxy_cancel_isolation.py`). Built on the SDK's `MCPServer`, as the soak trial's server was.

Over stdio by default; `--http PORT` serves streamable HTTP on 127.0.0.1:PORT/mcp instead.

`work(who, steps, pause, shielded)`: for each step, progress `<who> step i` and the log message
`<who> step i of steps`, then a pause of `pause` seconds; `shielded` keeps it going when the request is
cancelled (a server that finishes what it started, as many do), so its late messages certainly arrive.
`fire(who)` answers at once and leaves a background job that logs `<who> late i` (i = 0..4, 50 ms apart) on the
session, naming no request (as a server's periodic or background work does; over HTTP on its GET stream).
`die` ends the process at once (a crash: the source restarts it); resource `chatty://pid` is its pid.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context

app = MCPServer("chatty")


@app.tool()
async def work(who: str, steps: int, ctx: Context, pause: float = 0.1, shielded: bool = False) -> str:
    """Reports progress and logs each step as `<who> step i of steps`."""
    with anyio.CancelScope(shield=shielded):
        for step in range(1, steps + 1):
            await ctx.report_progress(step, steps, f"{who} step {step}")
            await ctx.info(f"{who} step {step} of {steps}")
            await anyio.sleep(pause)
    return f"{who} did {steps} steps"


_jobs: set[Any] = set()  # the background jobs `fire` left (kept from the garbage collector)


@app.tool()
async def fire(who: str, ctx: Context) -> str:
    """Answers at once; a background job then logs `<who> late i` five times on the session."""
    session = ctx.request_context.session

    async def later() -> None:
        for i in range(5):
            await asyncio.sleep(0.05)
            await session.send_log_message("info", f"{who} late {i}")

    job = asyncio.get_running_loop().create_task(later())
    _jobs.add(job)
    job.add_done_callback(_jobs.discard)
    return "fired"


@app.tool()
def die() -> str:
    """Ends the server process at once."""
    os._exit(3)


@app.resource("chatty://pid")
def pid() -> str:
    """The server's process id."""
    return str(os.getpid())


if len(sys.argv) == 3 and sys.argv[1] == "--http":  # `--http PORT`: streamable HTTP on 127.0.0.1 (a url: source)
    app.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
else:
    app.run()
