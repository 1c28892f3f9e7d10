"""A bare MCP server on the SDK's low-level `Server`: the two benchmark tools, each one httpx GET
of the local upstream whose body is returned as one text block, no validation, no shaping, no
logging. It measures what any server built on this SDK pays per call (JSON-RPC, transport,
pydantic models), so the call benchmark can tell that cost apart from mcprt's and the peer's own.

    python bench/sdk_bare.py BASE_URL stdio
    python bench/sdk_bare.py BASE_URL http PORT
"""

from __future__ import annotations

import sys
from typing import Any

import anyio
import httpx
import mcp_types as types
from mcp.server import Server, ServerRequestContext

ROUTES = {"get_item": "/items/{id}", "get_item_history": "/items/{id}/history"}
SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}


def build(base_url: str) -> Server[Any]:
    client = httpx.AsyncClient(base_url=base_url)

    async def list_tools(ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
                         ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[types.Tool(name=name, input_schema=SCHEMA) for name in ROUTES])

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        path = ROUTES[params.name].format(id=int((params.arguments or {})["id"]))
        response = await client.get(path)
        return types.CallToolResult(content=[types.TextContent(type="text", text=response.text)],
                                    is_error=response.status_code >= 400)

    return Server("sdk-bare", on_list_tools=list_tools, on_call_tool=call_tool)


async def serve_stdio(server: Server[Any]) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def main() -> None:
    base_url, transport = sys.argv[1:3]
    server = build(base_url)
    if transport == "stdio":
        anyio.run(serve_stdio, server)
        return
    import uvicorn

    app = server.streamable_http_app(streamable_http_path="/mcp")
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
