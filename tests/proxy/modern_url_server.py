"""A 2026-07-28-only stdio server (it refuses `initialize`) whose one tool, `connect`, asks a URL-mode
elicitation the 2026-07-28 way: inside an `InputRequiredResult` (`inputRequests`), without the
`elicitationId` that era removed. Retried with the client's answer, it says what it got back.
With argv[1] `form` it asks a form-mode elicitation instead (one string field, `name`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: the repository's tests package
from tests.support.stdio_refusing import serve_stdio_refusing  # noqa: E402

URL = "https://auth.example/connect?state=abc"
MODE = sys.argv[1] if len(sys.argv) > 1 else "url"
assert MODE in ("url", "form"), MODE


async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(tools=[types.Tool(name="connect", description="Sends the user to a page",
                                                   input_schema={"type": "object"})])


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> Any:
    if params.input_responses:
        answer = params.input_responses.get("login")
        action = getattr(answer, "action", None) if answer is not None else None
        if action is None and isinstance(answer, dict):
            action = answer.get("action")
        return types.CallToolResult(content=[types.TextContent(type="text", text=f"login: {action}")])
    if MODE == "form":
        question = types.ElicitRequest(params=types.ElicitRequestFormParams(
            message="Who are you?", requested_schema={"type": "object", "properties": {"name": {"type": "string"}}}))
    else:
        question = types.ElicitRequest(params=types.ElicitRequestURLParams(message="Sign in to continue", url=URL))
    return types.InputRequiredResult(input_requests={"login": question}, request_state="round-1")


server = Server("modern-url", version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool)


async def main() -> None:
    await serve_stdio_refusing(server, "initialize")  # a 2026-07-28-only server


anyio.run(main)
