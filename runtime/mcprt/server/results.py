"""Tool results on the wire: every tool problem is an `isError` result the model can read, never a
JSON-RPC error (a protocol error tells the model nothing it can act on) — but for a proxied server's own
JSON-RPC error, which the client gets as that error (app.py, upstream_errors.py: a gateway is faithful)."""

from __future__ import annotations

import logging
from typing import Any

import mcp_types as types
from pydantic import ValidationError

from ..observability.log import logger
from ..toolset.invoke import error_result
from ..contracts import ToolResult


def to_call_result(result: ToolResult, tool_name: str) -> types.CallToolResult | dict[str, Any]:
    """One shaped result for the SDK: its wire object when it is plainly a valid `CallToolResult`
    (text blocks, an object or nothing as structured content), else the SDK model; a malformed
    one becomes a readable error instead. The SDK validates and sieves either per protocol version
    (`ServerRunner._serialize`), so the answer is the same; the wire object skips one validation
    and one dump of the whole result (the plain case is what OpenAPI tools return)."""
    wire = result.to_wire()
    if _plainly_valid(wire):
        # The model's defaults, which its dump (`exclude_none`) writes: the same object for the SDK.
        wire.setdefault("isError", False)
        wire["resultType"] = "complete"
        return wire
    try:
        return types.CallToolResult.model_validate(wire, by_name=False)
    except ValidationError as exc:
        logger.log(logging.ERROR, "tool %s produced a result that is not valid MCP: %s", tool_name, exc)
        fallback = error_result(f"internal error in mcprt: the result of {tool_name} could not be encoded")
        return types.CallToolResult.model_validate(fallback.to_wire(), by_name=False)


def _plainly_valid(wire: dict[str, Any]) -> bool:
    """Whether `wire` certainly validates as a `CallToolResult` (MCP 2025-06-18 schema: `content`
    an array of blocks, `structuredContent` an object, `_meta` an object): only text blocks with
    nothing but `type` and `text` count; anything else takes the model's validation."""
    content = wire["content"]
    if type(content) is not list:
        return False
    for block in content:
        if type(block) is not dict or len(block) != 2 or block.get("type") != "text" or type(block.get("text")) is not str:
            return False
    return _object_or_none(wire.get("structuredContent")) and _object_or_none(wire.get("_meta"))


def _object_or_none(value: Any) -> bool:
    """`dict[str, Any] | None` as the model reads it (a Python tool's dict may have other keys)."""
    return value is None or (type(value) is dict and all(type(key) is str for key in value))

