"""A stdio MCP server that reads its client's roots as `@modelcontextprotocol/server-filesystem` does,
and logs between calls as server-everything's simulated logging does, for
`tests/proxy/test_proxy_sole_client.py`. Built on the SDK's low-level server:

- after its handshake, and on every `notifications/roots/list_changed`, it asks `roots/list` (outside
  any call) and keeps the answer; a refusal keeps what it had (the filesystem server keeps its
  command-line directories);
- `roots`: answers the roots it keeps, one URI a line (`(none)` before any answer);
- `roots_refusal`: how its last `roots/list` was refused (`(none)` before any refusal), with the
  seconds the answer took;
- `ask_roots_later`: answers at once, then 0.2 s later asks `roots/list` (no call in flight);
- `log_later`: answers at once, then 0.2 s later sends a log message `later` (no call in flight);
- `log_levels_later`: answers at once, then 0.2 s later logs `debug`, `info` and `error` (data: the level);
- `exit_later`: answers at once, then ends the process 0.2 s later (its client sees it restart).

`ROOTS_FIXTURE_LIST_DELAY` (seconds, env): every `tools/list` answers that much later (a slow start,
after the roots were asked).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

TOOLS = [
    {"name": "roots", "description": "The client's roots this server was given.", "inputSchema": {"type": "object"}},
    {"name": "roots_refusal", "description": "How roots/list was last refused.", "inputSchema": {"type": "object"}},
    {"name": "ask_roots_later", "description": "Asks roots/list after it answered.", "inputSchema": {"type": "object"}},
    {"name": "log_later", "description": "Logs `later` after it answered.", "inputSchema": {"type": "object"}},
    {"name": "log_levels_later", "description": "Logs at three levels after it answered.",
     "inputSchema": {"type": "object"}},
    {"name": "exit_later", "description": "Ends the process after it answered.", "inputSchema": {"type": "object"}},
]
LIST_DELAY = float(os.environ.get("ROOTS_FIXTURE_LIST_DELAY", "0"))
_kept: list[str] = []
_refused: list[str] = []
_tasks: set[asyncio.Task[None]] = set()


def _soon(coro: Any) -> None:
    task = asyncio.ensure_future(coro)  # not awaited in the handler: the answer comes on this session
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _ask_roots(session: Any, delay: float = 0.0) -> None:
    await anyio.sleep(delay)
    started = time.monotonic()
    try:
        result = await session.list_roots()
    except Exception as exc:  # refused: keep what we had
        _refused[:] = [f"{exc} (after {time.monotonic() - started:.1f}s)"]
        return
    _kept[:] = [str(root.uri) for root in result.roots]


async def _later(seconds: float, then: Any) -> None:
    await anyio.sleep(seconds)
    await then()


async def _exit() -> None:
    os._exit(0)  # as a crash would: no goodbye on the wire


async def _log_levels(session: Any) -> None:
    for level in ("debug", "info", "error"):
        await session.send_log_message(level, level, "roots-fixture")


async def _log_later(session: Any) -> None:
    await anyio.sleep(0.2)
    await session.send_log_message("info", "later", "roots-fixture")


async def list_tools(ctx: Any, params: Any) -> dict[str, Any]:
    await anyio.sleep(LIST_DELAY)
    return {"tools": TOOLS}


async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> dict[str, Any]:
    if params.name == "roots":
        return {"content": [{"type": "text", "text": "\n".join(_kept) or "(none)"}]}
    if params.name == "roots_refusal":
        return {"content": [{"type": "text", "text": "\n".join(_refused) or "(none)"}]}
    if params.name == "ask_roots_later":
        _soon(_ask_roots(ctx.session, 0.2))
        return {"content": [{"type": "text", "text": "will ask"}]}
    if params.name == "log_later":
        _soon(_log_later(ctx.session))
        return {"content": [{"type": "text", "text": "will log"}]}
    if params.name == "log_levels_later":
        _soon(_later(0.2, lambda: _log_levels(ctx.session)))
        return {"content": [{"type": "text", "text": "will log"}]}
    if params.name == "exit_later":
        _soon(_later(0.2, _exit))
        return {"content": [{"type": "text", "text": "will exit"}]}
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
