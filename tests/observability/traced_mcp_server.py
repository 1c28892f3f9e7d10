"""A stdio MCP server for the tracing and source-health tests (the SDK's MCPServer).

Tools: `meta` answers the trace context fields it received in `params._meta` as JSON;
`crash` ends the process (the proxying source must restart it).
"""

from __future__ import annotations

import json
import os

from mcp.server import MCPServer
from mcp.server.mcpserver import Context

server = MCPServer("traced", log_level="CRITICAL")


@server.tool(structured_output=False)
def meta(ctx: Context) -> str:
    """Trace context received in params._meta."""
    received = dict(ctx.request_context.meta or {})
    return json.dumps({k: received.get(k) for k in ("traceparent", "tracestate")})


@server.tool()
def crash() -> str:
    """End the server process."""
    os._exit(3)


if __name__ == "__main__":
    server.run("stdio")
