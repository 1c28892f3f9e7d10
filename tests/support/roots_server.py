"""A stdio MCP server that reads its client's roots as `@modelcontextprotocol/server-filesystem` does,
and logs between calls as server-everything's simulated logging does, for
`tests/proxy/test_proxy_sole_client.py`. Built on the SDK's low-level server:

- after its handshake, and on every `notifications/roots/list_changed`, it asks `roots/list` (outside
  any call) and keeps the answer; a refusal keeps what it had (the filesystem server keeps its
  command-line directories);
- `roots`: answers the roots it keeps, one URI a line (`(none)` before any answer);
- `log_later`: answers at once, then 0.2 s later sends a log message `later` (no call in flight).
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

TOOLS = [
    {"name": "roots", "description": "The client's roots this server was given.", "inputSchema": {"type": "object"}},
    {"name": "log_later", "description": "Logs `later` after it answered.", "inputSchema": {"type": "object"}},
]
_kept: list[str] = []
_tasks: set[asyncio.Task[None]] = set()


def _soon(coro: Any) -> None:
    task = asyncio.ensure_future(coro)  # not awaited in the handler: the answer comes on this session
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _ask_roots(session: Any) -> None:
    try:
        result = await session.list_roots()
    except Exception:  # refused: keep what we had
        return
    _kept[:] = [str(root.uri) for root in result.roots]


async def _log_later(session: Any) -> None:
    await anyio.sleep(0.2)
    await session.send_log_message("info", "later", "roots-fixture")


async def list_tools(ctx: Any, params: Any) -> dict[str, Any]:
    return {"tools": TOOLS}


async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> dict[str, Any]:
    if params.name == "roots":
        return {"content": [{"type": "text", "text": "\n".join(_kept) or "(none)"}]}
    if params.name == "log_later":
        _soon(_log_later(ctx.session))
        return {"content": [{"type": "text", "text": "will log"}]}
    return {"content": [{"type": "text", "text": f"unknown tool {params.name}"}], "isError": True}


async def roots_changed(ctx: ServerRequestContext[Any], params: Any) -> None:
    _soon(_ask_roots(ctx.session))


async def main() -> None:
    server = Server("roots-fixture", version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool,
                    on_roots_list_changed=roots_changed)
    server.add_notification_handler("notifications/initialized", types.NotificationParams, roots_changed)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
