"""An SDK (`MCPServer`) server whose answers are ordinary JSON-RPC errors in the server-error range: `busy`
answers -32000 "database is locked" (JSON-RPC 2.0 §5.1: -32000 to -32099 are the server's own), the
resource `err://busy` -32000 "backend busy"; `slow` sleeps `seconds` and answers "slow done", the call
of another client in flight meanwhile. Run as `erring_server.py` (stdio) or `erring_server.py --http`
(streamable HTTP on 127.0.0.1; prints `PORT n`)."""

from __future__ import annotations

import socket
import sys

import anyio
from mcp.server import MCPServer
from mcp.shared.exceptions import MCPError

server = MCPServer("erring", log_level="CRITICAL")


@server.tool()
def busy() -> str:
    """Fails as a busy database does: JSON-RPC error -32000."""
    raise MCPError(code=-32000, message="database is locked")


@server.tool()
async def slow(seconds: float) -> str:
    """Answers after `seconds`."""
    await anyio.sleep(seconds)
    return "slow done"


@server.resource("err://busy")
def busy_resource() -> str:
    """Fails with JSON-RPC error -32000."""
    raise MCPError(code=-32000, message="backend busy")


@server.resource("err://fine")
def fine_resource() -> str:
    """Reads."""
    return "fine"


if __name__ == "__main__":
    if "--http" not in sys.argv:
        server.run("stdio")
        sys.exit(0)
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(server.streamable_http_app(host="localhost"), log_level="critical",
                                  lifespan="on")).run(sockets=[sock])
