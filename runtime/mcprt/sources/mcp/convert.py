"""Upstream MCP objects in mcprt's terms: a listed tool → an Operation, a call result → an UpstreamResult."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import mcp_types as types
from mcp.shared.inbound import find_invalid_x_mcp_header

from ..naming import SAFE_ARGUMENT, dedupe_names, served_argument, served_tool_name
from ...schema.shapes import shape_of
from ...contracts import Invoker, Operation, OperationMeta, UpstreamResult
from ...outbound.decoding import non_finite, non_finite_message


def tool_operations(tools: list[types.Tool], invoker_for: Any,
                    dropped: Callable[[str, str], None] | None = None,
                    renamed: Callable[[str, list[tuple[str, str]]], None] | None = None) -> list[Operation]:
    """One Operation per upstream tool; names made client-safe and unique, keys kept as upstream spells them.

    A tool whose `x-mcp-header` annotations break the spec's rules (empty, not an RFC 9110 token,
    duplicated, on a non-primitive or unreachable property) is left out and `dropped(name, reason)`
    told: 2026-07-28 clients MUST drop such a tool (MCP 2026-07-28 server/tools "Custom headers",
    SEP-2243), so serving it would only hide it from them without a word to the operator.

    A top-level argument name model APIs refuse (`名前`: outside `^[a-zA-Z0-9_.-]{1,64}$`; Claude's and Bedrock's
    APIs refuse the whole tool list for one) is served under the name Python and OpenAPI arguments get
    (`naming.served_argument`), the original said in its description, and sent upstream under its own name
    again; `renamed(tool, [(upstream name, served name)…])` is told. A tool where two would get one name is left
    out (`dropped`), as it could not be called right.
    """
    kept = []
    served: list[tuple[dict[str, Any], dict[str, str]]] = []
    for tool in tools:
        reason = find_invalid_x_mcp_header(tool.input_schema)
        if reason is not None:
            reason = f"its x-mcp-header annotation is invalid ({reason})"
        else:
            arguments = _served_arguments(_object_schema(tool.input_schema))
            if isinstance(arguments, str):
                reason = arguments
            else:
                kept.append(tool)
                served.append(arguments)
                if arguments[1] and renamed is not None:
                    renamed(tool.name, [(upstream, arg) for arg, upstream in arguments[1].items()])
                continue
        if dropped is not None:
            dropped(tool.name, reason)
    tools = kept
    # an upstream name mostly of letters a tool name cannot hold (`挨拶`) is `tool_<hash of it>`: stable whatever
    # the upstream lists before it (`naming.served_tool_name`), where `tool`, `tool_2`… moved with the order
    names = dedupe_names([served_tool_name(tool.name) for tool in tools])
    operations = []
    for tool, name, (schema, upstream_names) in zip(tools, names, served, strict=True):
        invoke: Invoker = invoker_for(tool.name)
        if upstream_names:
            invoke = _renaming(invoke, upstream_names)
        annotations = tool.annotations.model_dump(by_alias=True, mode="json", exclude_none=True) if tool.annotations else {}
        title = tool.title or annotations.get("title")
        operations.append(
            Operation(
                key=tool.name,
                name=name,
                description=tool.description or title or f"Tool {tool.name} of an MCP server.",
                input_schema=schema,
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


def _served_arguments(schema: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]] | str:
    """(`schema` with its unsafe top-level property names served safe, served name → upstream name), or the reason
    the tool cannot be served when two names would become one (`tool_operations`)."""
    properties = schema.get("properties")
    if not isinstance(properties, dict) or all(SAFE_ARGUMENT.fullmatch(key) for key in properties):
        return schema, {}
    taken: dict[str, str] = {}
    new_properties: dict[str, Any] = {}
    for key, sub in properties.items():
        arg = served_argument(key)
        if arg in taken:
            return (f"its arguments '{taken[arg]}' and '{key}' would both be served as '{arg}' (model APIs accept only "
                    "A-Z a-z 0-9 _ . - in argument names)")
        taken[arg] = key
        if arg != key and isinstance(sub, dict):
            said = f"The '{key}' argument."
            described = sub.get("description")
            sub = {**sub, "description": f"{said} {described}" if isinstance(described, str) and described else said}
        new_properties[arg] = sub
    upstream = {arg: key for arg, key in taken.items() if arg != key}
    served = _renamed_names({**schema, "properties": new_properties}, {key: arg for arg, key in upstream.items()})
    return served, upstream


# keywords whose subschemas speak of the same object's properties (JSON Schema 2020-12 §10.2.1-10.2.2)
_SAME_OBJECT = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else")


def _renamed_names(schema: dict[str, Any], back: dict[str, str]) -> dict[str, Any]:
    """`schema` with every place that names a top-level property by its upstream name (`back`: upstream → served)
    saying the served one: `required`, `dependentRequired` (keys and lists), `dependentSchemas` keys, and the
    `properties`/`required`… of the subschemas of `_SAME_OBJECT` (`anyOf: [{required: [名前]}]`), so a tool whose
    schema uses them can still be called."""
    out = dict(schema)
    rename = lambda key: back.get(key, key) if isinstance(key, str) else key  # noqa: E731
    if isinstance(out.get("required"), list):
        out["required"] = [rename(key) for key in out["required"]]
    if isinstance(out.get("dependentRequired"), dict):
        out["dependentRequired"] = {rename(key): [rename(k) for k in keys] if isinstance(keys, list) else keys
                                    for key, keys in out["dependentRequired"].items()}
    if isinstance(out.get("dependentSchemas"), dict):
        out["dependentSchemas"] = {rename(key): sub for key, sub in out["dependentSchemas"].items()}
    for keyword in _SAME_OBJECT:
        sub = out.get(keyword)
        if isinstance(sub, dict):
            out[keyword] = _renamed_nested(sub, back)
        elif isinstance(sub, list):
            out[keyword] = [_renamed_nested(item, back) if isinstance(item, dict) else item for item in sub]
    return out


def _renamed_nested(schema: dict[str, Any], back: dict[str, str]) -> dict[str, Any]:
    """A `_SAME_OBJECT` subschema renamed: its `properties` keys too (the top level's were renamed already)."""
    out = _renamed_names(schema, back)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {back.get(key, key): sub for key, sub in out["properties"].items()}
    return out


def _renaming(invoke: Invoker, upstream: dict[str, str]) -> Invoker:
    """`invoke`, sent each served argument name under the upstream's own (`_served_arguments`)."""

    async def renamed(arguments: dict[str, Any], context: Any) -> UpstreamResult:
        return await invoke({upstream.get(key, key): value for key, value in arguments.items()}, context)

    return renamed
