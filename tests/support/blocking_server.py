"""A proxied MCP server (stdio) whose every answer waits: for tests of what a stopping mcprt answers.

    python blocking_server.py ARRIVALS

Offers a tool `wait`, a resource `slow://doc`, a resource template `slow://item/{id}` (with
completion) and a prompt `slow_prompt`. Each request appends its method to the file ARRIVALS
(one line, flushed, so a test knows the request reached this upstream) and then waits 120 s —
far past any drain — before answering.
"""

from __future__ import annotations

import sys

import anyio
import mcp_types as types
from mcp.server import MCPServer

WAIT = 120.0
server = MCPServer("blocking", log_level="CRITICAL")


async def _arrive(what: str) -> None:
    with open(sys.argv[1], "a") as arrivals:
        arrivals.write(what + "\n")
    await anyio.sleep(WAIT)


@server.tool()
async def wait() -> str:
    """Wait, then answer."""
    await _arrive("tools/call")
    return "waited"


@server.resource("slow://doc", mime_type="text/plain")
async def doc() -> str:
    """A document that takes long to read."""
    await _arrive("resources/read")
    return "the document"


@server.resource("slow://item/{id}", mime_type="text/plain")
async def item(id: str) -> str:
    """An item that takes long to read."""
    await _arrive("resources/read")
    return f"item {id}"


@server.prompt()
async def slow_prompt(topic: str) -> str:
    """A prompt that takes long to render."""
    await _arrive("prompts/get")
    return f"Write about {topic}."


@server.completion()
async def complete(ref: object, argument: types.CompletionArgument, context: object) -> types.Completion:
    await _arrive("completion/complete")
    return types.Completion(values=[argument.value + "1"])


if __name__ == "__main__":
    server.run("stdio")
