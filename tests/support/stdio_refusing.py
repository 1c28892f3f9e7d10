"""A stdio MCP test server that answers one method with an error before the SDK sees it.

`server/discover` refused makes a handshake-era server (clients fall back to `initialize`);
`initialize` refused makes a 2026-07-28-only server (clients use `server/discover`). Standalone
(SDK imports only): the fixture servers run as subprocess scripts and import it by path.
"""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage


def _refusal(method: str) -> types.ErrorData:
    if method == "server/discover":
        return types.ErrorData(code=types.METHOD_NOT_FOUND, message="Method not found")
    return types.ErrorData(code=types.UNSUPPORTED_PROTOCOL_VERSION, message="only 2026-07-28 is served",
                           data={"supported": ["2026-07-28"], "requested": "2025-11-25"})


async def serve_stdio_refusing(lowlevel: Any, method: str) -> None:
    """Serve the low-level SDK `Server` `lowlevel` over stdio, answering each `method` request with an error."""
    async with stdio_server() as (read, write):
        forward, forwarded = anyio.create_memory_object_stream[Any](16)

        async def pump() -> None:
            async with forward:
                async for item in read:
                    message = getattr(item, "message", None)
                    if isinstance(message, types.JSONRPCRequest) and message.method == method:
                        error = types.JSONRPCError(jsonrpc="2.0", id=message.id, error=_refusal(method))
                        await write.send(SessionMessage(error))
                        continue
                    await forward.send(item)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(pump)
            await lowlevel.run(forwarded, write, lowlevel.create_initialization_options())
            tasks.cancel_scope.cancel()
