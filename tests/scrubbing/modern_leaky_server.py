"""A 2026-07-28-only stdio server (it refuses `initialize`, as a server of that era alone does) whose one
tool, `ask`, asks its questions the 2026-07-28 way: inside an `InputRequiredResult` (`inputRequests`), an
elicitation and a sampling request quoting `$LEAKY_TOKEN` (a configured secret of mcprt's manifest) in
every field a client sees — message, schema default, sampling messages (text, tool use and tool result),
system prompt. The request state carries the token too: it goes back to this server only, as written."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: the repository's tests package
from tests.support.stdio_refusing import serve_stdio_refusing  # noqa: E402

TOKEN = os.environ["LEAKY_TOKEN"]


async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(tools=[types.Tool(name="ask", description="Asks through InputRequiredResult",
                                                   input_schema={"type": "object"})])


def _questions() -> dict[str, Any]:
    schema = {"type": "object", "properties": {"name": {"type": "string", "default": TOKEN}}}
    history = [
        types.SamplingMessage(role="user", content=types.TextContent(type="text", text=f"Summarise {TOKEN}")),
        types.SamplingMessage(role="assistant", content=[types.ToolUseContent(
            type="tool_use", id="u1", name="lookup", input={"key": TOKEN})]),
        types.SamplingMessage(role="user", content=[types.ToolResultContent(
            type="tool_result", tool_use_id="u1", content=[], structured_content={"found": TOKEN})]),
    ]
    return {
        "confirm": types.ElicitRequest(params=types.ElicitRequestFormParams(
            message=f"Confirm {TOKEN}?", requested_schema=schema)),
        "summary": types.CreateMessageRequest(params=types.CreateMessageRequestParams(
            messages=history, max_tokens=5, system_prompt=f"The key is {TOKEN}")),
    }


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> Any:
    if params.input_responses:
        state = "kept" if params.request_state == f"state {TOKEN}" else f"changed: {params.request_state!r}"
        return types.CallToolResult(content=[types.TextContent(type="text", text=f"answered; state {state}")])
    return types.InputRequiredResult(input_requests=_questions(), request_state=f"state {TOKEN}")


server = Server("modern-leaky", version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool)


async def main() -> None:
    await serve_stdio_refusing(server, "initialize")  # a 2026-07-28-only server


anyio.run(main)
