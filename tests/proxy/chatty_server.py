"""A stdio MCP server whose one tool reports progress and logs at every step, for the cancel-isolation tests
(`tests/proxy/test_proxy_cancel_isolation.py`). Built on the SDK's `MCPServer`, as the soak trial's server was.

`work(who, steps, pause, shielded)`: for each step, progress `<who> step i` and the log message
`<who> step i of steps`, then a pause of `pause` seconds; `shielded` keeps it going when the request is
cancelled (a server that finishes what it started, as many do), so its late messages certainly arrive.
`die` ends the process at once (a crash: the source restarts it); resource `chatty://pid` is its pid.
"""

from __future__ import annotations

import os

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


@app.tool()
def die() -> str:
    """Ends the server process at once."""
    os._exit(3)


@app.resource("chatty://pid")
def pid() -> str:
    """The server's process id."""
    return str(os.getpid())


app.run()
