"""A stdio MCP server whose tools ask their client a question while they run (elicitation), for the
relay tests (`tests/proxy/test_proxy_relay_stdio.py`). Built on the SDK's low-level server with its
defaults, so it continues the trace context a request carries (SEP-414) as any SDK server does:

- `ask`: asks "Who are you?" within the call and answers `asked: <the client's answer>`;
- `ask_untied`: asks the same from inside a trace of its own (a question that names no call of the
  client's: as a server asking on behalf of something else would);
- `slow`: sleeps `seconds`, then answers `slept`.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from opentelemetry import context, trace

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
TOOLS = [
    {"name": "ask", "description": "Asks who you are.", "inputSchema": {"type": "object"}},
    {"name": "ask_untied", "description": "Asks who you are, from a trace of its own.", "inputSchema": {"type": "object"}},
    {"name": "slow", "description": "Sleeps.", "inputSchema": {"type": "object", "properties": {
        "seconds": {"type": "number"}}}},
]


async def list_tools(ctx: Any, params: Any) -> dict[str, Any]:
    return {"tools": TOOLS}


async def _ask(ctx: ServerRequestContext[Any]) -> str:
    request = types.ElicitRequest(params=types.ElicitRequestFormParams(message="Who are you?", requested_schema=SCHEMA))
    result = await ctx.session.send_request(request, types.ElicitResult)
    return f"asked: {result.action} {json.dumps(result.content)}"


async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> dict[str, Any]:
    args = params.arguments or {}
    if params.name == "ask":
        text = await _ask(ctx)
    elif params.name == "ask_untied":
        foreign = trace.SpanContext(trace_id=secrets.randbits(128) or 1, span_id=secrets.randbits(64) or 1,
                                    is_remote=False, trace_flags=trace.TraceFlags.get_default())
        token = context.attach(trace.set_span_in_context(trace.NonRecordingSpan(foreign)))
        try:
            text = await _ask(ctx)
        except Exception as exc:  # the relay refused: say so in the result
            text = f"refused: {getattr(exc, 'message', None) or exc}"
        finally:
            context.detach(token)
    elif params.name == "slow":
        await anyio.sleep(float(args.get("seconds", 1)))
        text = "slept"
    else:
        return {"content": [{"type": "text", "text": f"unknown tool {params.name}"}], "isError": True}
    return {"content": [{"type": "text", "text": text}]}


async def main() -> None:
    server = Server("asking-fixture", version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
