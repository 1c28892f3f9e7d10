"""A handshake-era SDK (`MCPServer`) stdio server that sends the user to pages (URL-mode elicitation) and
later says those out-of-band interactions are done (`notifications/elicitation/complete`, MCP 2025-11-25),
with ids the test chooses, so a test can make two sessions receive the same upstream id:

- `sign_in(elicitation_id)`: a URL-mode elicitation with that `elicitationId`; answers `sign_in: <action>`;
- `need_sign_in(elicitation_id)`: answers -32042 URLElicitationRequired, one URL-mode elicitation with that
  `elicitationId` (the error form of the same page);
- `finish(elicitation_ids)`: one completion notification per id, in order, on its session with mcprt
  (not tied to any call), then answers `finished: <n>`;
- `crash()`: the process exits at once (mcprt restarts it: a new connection, whose ids may repeat the old's).
"""

from __future__ import annotations

import os

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import UrlElicitationRequiredError
from mcp_types import ElicitRequestURLParams

server = MCPServer("url-complete", log_level="CRITICAL")


@server.tool(structured_output=False)
async def sign_in(elicitation_id: str, ctx: Context) -> str:
    """Sends the user to a sign-in page."""
    visited = await ctx.elicit_url("Sign in to continue", "https://auth.example/signin", elicitation_id)
    return f"sign_in: {visited.action}"


@server.tool(structured_output=False)
def need_sign_in(elicitation_id: str) -> str:
    """Needs the user to sign in first: -32042."""
    raise UrlElicitationRequiredError([ElicitRequestURLParams(
        message="Sign in to continue", url="https://auth.example/signin", elicitation_id=elicitation_id)])


@server.tool(structured_output=False)
async def finish(elicitation_ids: list[str], ctx: Context) -> str:
    """Says the interactions with these ids are done."""
    for elicitation_id in elicitation_ids:
        await ctx.session.send_elicit_complete(elicitation_id)
    return f"finished: {len(elicitation_ids)}"


@server.tool(structured_output=False)
async def crash() -> str:
    """Ends this server's process mid-call."""
    os._exit(3)


if __name__ == "__main__":
    server.run("stdio")
