"""A handshake-era SDK (`MCPServer`) stdio server whose tool `connect` sends the user to a page (URL-mode
elicitation, `elicitationId` "conn-7"), then says the out-of-band interaction is done
(`notifications/elicitation/complete`, MCP 2025-11-25) before it answers."""

from __future__ import annotations

from mcp.server import MCPServer
from mcp.server.mcpserver import Context

server = MCPServer("url-complete", log_level="CRITICAL")


@server.tool(structured_output=False)
async def connect(ctx: Context) -> str:
    """Sends the user to a sign-in page and waits for it."""
    visited = await ctx.elicit_url("Sign in to continue", "https://auth.example/signin", "conn-7")
    await ctx.session.send_elicit_complete("conn-7")
    return f"signed in: {visited.action}"


if __name__ == "__main__":
    server.run("stdio")
