"""Tool results on the wire: every tool problem is an `isError` result the model can read, never a
JSON-RPC error (a protocol error tells the model nothing it can act on)."""

from __future__ import annotations

import logging

import mcp_types as types
from pydantic import ValidationError

from ..identity.principal import Principal
from ..observability.log import logger
from ..toolset.invoke import error_result
from ..toolset.operation import ToolResult
from ..toolset.toolset import ToolSet


def to_call_result(result: ToolResult, tool_name: str) -> types.CallToolResult:
    """The SDK model for one shaped result; a malformed one becomes a readable error instead."""
    try:
        return types.CallToolResult.model_validate(result.to_wire(), by_name=False)
    except ValidationError as exc:
        logger.log(logging.ERROR, "tool %s produced a result that is not valid MCP: %s", tool_name, exc)
        fallback = error_result(f"internal error in mcprt: the result of {tool_name} could not be encoded")
        return types.CallToolResult.model_validate(fallback.to_wire(), by_name=False)


def unknown_tool_result(name: str, toolset: ToolSet, principal: Principal | None = None) -> types.CallToolResult:
    """Name close matches so the model can correct itself (tools may have been renamed on reload);
    tools hidden from `principal` are never named."""
    return to_call_result(error_result(toolset.unknown_tool_message(name, principal)), name)
