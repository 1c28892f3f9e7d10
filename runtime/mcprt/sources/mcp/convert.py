"""Upstream MCP objects in mcprt's terms: a listed tool → an Operation, a call result → an UpstreamResult."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import mcp_types as types
from mcp.shared.inbound import find_invalid_x_mcp_header

from ..naming import dedupe_names, fit_tool_name, sanitize_tool_name
from ...schema.shapes import shape_of
from ...contracts import Invoker, Operation, OperationMeta, UpstreamResult
from ...outbound.decoding import non_finite, non_finite_message


def tool_operations(tools: list[types.Tool], invoker_for: Any,
                    dropped: Callable[[str, str], None] | None = None) -> list[Operation]:
    """One Operation per upstream tool; names made client-safe and unique, keys kept as upstream spells them.

    A tool whose `x-mcp-header` annotations break the spec's rules (empty, not an RFC 9110 token,
    duplicated, on a non-primitive or unreachable property) is left out and `dropped(name, reason)`
    told: 2026-07-28 clients MUST drop such a tool (MCP 2026-07-28 server/tools "Custom headers",
    SEP-2243), so serving it would only hide it from them without a word to the operator.
    """
    kept = []
    for tool in tools:
        reason = find_invalid_x_mcp_header(tool.input_schema)
        if reason is None:
            kept.append(tool)
        elif dropped is not None:
            dropped(tool.name, reason)
    tools = kept
    names = dedupe_names([fit_tool_name(sanitize_tool_name(tool.name)) for tool in tools])
    operations = []
    for tool, name in zip(tools, names, strict=True):
        invoke: Invoker = invoker_for(tool.name)
        annotations = tool.annotations.model_dump(by_alias=True, mode="json", exclude_none=True) if tool.annotations else {}
        title = tool.title or annotations.get("title")
        operations.append(
            Operation(
                key=tool.name,
                name=name,
                description=tool.description or title or f"Tool {tool.name} of an MCP server.",
                input_schema=_object_schema(tool.input_schema),
                invoke=invoke,
                title=title,
                output_schema=dict(tool.output_schema) if tool.output_schema else None,
                # the shape a `prune` is checked against and its outputSchema projected from, as an OpenAPI
                # response's or a Python return type's (toolset.build): one rule for what a pruned tool declares
                response_schema=shape_of(tool.output_schema) if tool.output_schema else None,
                annotations=annotations,
                meta=OperationMeta(summary=title or "", words=(tool.name,)),
                extra=_unmodelled(tool),
                client_requests=True,  # a proxied server may ask the client or log during any call
            )
        )
    return operations


def listing_signature(tools: list[types.Tool]) -> str:
    """Identity of a listing: changes exactly when what we would expose changes."""
    return json.dumps(
        [t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in tools], sort_keys=True, default=str
    )


def to_upstream(result: types.CallToolResult) -> UpstreamResult:
    """Pass the content blocks through as wire dicts; count the upstream result's JSON size."""
    content = [block.model_dump(by_alias=True, mode="json", exclude_none=True) for block in result.content]
    raw = result.model_dump_json(by_alias=True, exclude_none=True)
    structured = result.structured_content if isinstance(result.structured_content, dict) else None
    where = next(non_finite(structured, "structuredContent"), None) if structured else None
    if where is not None:  # the SDK read NaN/Infinity/1e999 as floats: one rule for every source kind
        message = non_finite_message("the server sent", where)
        return UpstreamResult(kind="text", body=message, is_error=True, raw_bytes=len(raw.encode("utf-8")))
    return UpstreamResult(
        kind="content",
        content=content,
        structured=structured,
        is_error=bool(result.is_error),
        raw_bytes=len(raw.encode("utf-8")),
        result_meta=_own_meta(result.meta),
    )


# Keys under the spec's reserved prefix describe one protocol hop (e.g. 2026-07-28's
# `io.modelcontextprotocol/serverInfo` envelope names the upstream server): they stay on that hop.
_RESERVED = "io.modelcontextprotocol/"


def _own_meta(meta: Any) -> dict[str, Any] | None:
    """The result's own `_meta` (what the tool said), without the upstream hop's protocol envelope."""
    if not meta:
        return None
    own = {key: value for key, value in dict(meta).items() if not key.startswith(_RESERVED)}
    return own or None


# Tool fields mcprt builds itself (from overrides); every other field passes through unchanged.
_MODELLED = {"name", "title", "description", "inputSchema", "outputSchema", "annotations"}


def _unmodelled(tool: types.Tool) -> dict[str, Any]:
    wire = tool.model_dump(by_alias=True, mode="json", exclude_none=True)
    return {key: value for key, value in wire.items() if key not in _MODELLED}


def _object_schema(schema: Any) -> dict[str, Any]:
    plain = dict(schema) if isinstance(schema, dict) else {}
    plain["type"] = "object"
    return plain
