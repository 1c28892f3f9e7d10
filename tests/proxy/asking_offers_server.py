"""A stdio MCP server that asks its client a question (elicitation) while it serves a resource read, a prompt
and a completion, for tests/proxy/test_proxy_offer_questions.py. Built on the SDK's low-level server with its
defaults (it continues the trace context a request carries, SEP-414, as any SDK server does):

- `resources/read` of `ask://resource`, `prompts/get` of `ask`, `completion/complete` of `ask`'s argument
  `name`: each asks "Who are you?" and answers with the client's answer (`asked: accept {...}`);
- `resources/subscribe`: asks the same, and keeps what it got (the answer, or `refused: <why>`), which the tool
  `subscribe_answers` answers as a JSON list;
- `slow` (a tool): sleeps `seconds`, then answers `slept`.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


async def _ask(ctx: ServerRequestContext[Any]) -> str:
    request = types.ElicitRequest(params=types.ElicitRequestFormParams(message="Who are you?", requested_schema=SCHEMA))
    result = await ctx.session.send_request(request, types.ElicitResult)
    return f"asked: {result.action} {json.dumps(result.content)}"


async def list_tools(ctx: Any, params: Any) -> dict[str, Any]:
    return {"tools": [{"name": "slow", "description": "Sleeps.",
                       "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}}},
                      {"name": "subscribe_answers", "description": "What its subscribe questions got.",
                       "inputSchema": {"type": "object"}}]}


async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> dict[str, Any]:
    if params.name == "subscribe_answers":
        return {"content": [{"type": "text", "text": json.dumps(SUBSCRIBE_ANSWERS)}]}
    await anyio.sleep(float((params.arguments or {}).get("seconds", 0)))
    return {"content": [{"type": "text", "text": "slept"}]}


async def list_resources(ctx: Any, params: Any) -> dict[str, Any]:
    return {"resources": [{"uri": "ask://resource", "name": "asking", "description": "Asks who reads it."}]}


async def list_templates(ctx: Any, params: Any) -> dict[str, Any]:
    return {"resourceTemplates": []}


async def read_resource(ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams) -> dict[str, Any]:
    return {"contents": [{"uri": str(params.uri), "text": await _ask(ctx)}]}


async def subscribe(ctx: ServerRequestContext[Any], params: types.SubscribeRequestParams) -> dict[str, Any]:
    try:
        SUBSCRIBE_ANSWERS.append(await _ask(ctx))
    except Exception as exc:  # refused by mcprt: the reason, for `subscribe_answers`
        SUBSCRIBE_ANSWERS.append(f"refused: {getattr(exc, 'message', None) or exc}")
    return {}


SUBSCRIBE_ANSWERS: list[str] = []


async def list_prompts(ctx: Any, params: Any) -> dict[str, Any]:
    return {"prompts": [{"name": "ask", "description": "Asks who wants it.",
                         "arguments": [{"name": "name", "required": False}]}]}


async def get_prompt(ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": {"type": "text", "text": await _ask(ctx)}}]}


async def completion(ctx: ServerRequestContext[Any], params: types.CompleteRequestParams) -> dict[str, Any]:
    return {"completion": {"values": [await _ask(ctx)], "hasMore": False}}


async def main() -> None:
    server = Server("asking-offers", version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool,
                    on_list_resources=list_resources, on_list_resource_templates=list_templates,
                    on_read_resource=read_resource, on_subscribe_resource=subscribe, on_list_prompts=list_prompts,
                    on_get_prompt=get_prompt, on_completion=completion)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
