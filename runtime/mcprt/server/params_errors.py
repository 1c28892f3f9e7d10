"""-32602 Invalid params that names the field and what was expected.

The SDK validates a request's `params` against the method's schema and answers any failure with
`-32602 "Invalid request parameters"` and `data: ""` (its `handler_exception_to_error_data`: "no pydantic
text on the wire"), so a client sending `"arguments": ["x"]`, no tool `name`, `"_meta": "x"` or
`"level": "nope"` learned nothing about which field was wrong (found by a pentest trial). This server
middleware turns that ValidationError into the same code with a message naming each field
(`params.arguments: expected an object, got an array`) and `data.errors` listing them, written here
in mcprt's words — never a value the client sent, and no pydantic link. JSON-RPC 2.0 §5.1: -32602
"Invalid method parameter(s)"; the `data` member "may be omitted" and is defined by the server.
"""

from __future__ import annotations

from typing import Any

from mcp.server import ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import ValidationError

MOST_FIELDS = 5  # a message names at most this many fields (a union's members are merged first)
_KINDS = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
          float: "a number", type(None): "null"}
_EXPECTED = {"dict_type": "an object", "model_type": "an object", "string_type": "a string", "int_type": "an integer",
             "int_parsing": "an integer", "float_type": "a number", "bool_type": "a boolean", "list_type": "an array",
             "missing": "present (it is required)"}


async def explain_invalid_params(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware: a request whose params fail the method's schema gets -32602 naming each field."""
    try:
        return await call_next(ctx)
    except ValidationError as exc:
        if not exc.title.endswith(("Request", "RequestParams")):  # a handler's own failure, not the params check:
            raise  # the SDK's answer, unchanged
        problems = describe(exc, ctx.params)
        message = f"Invalid params for {ctx.method}: " + "; ".join(
            f"{field}: {problem}" for field, problem in problems[:MOST_FIELDS])
        raise MCPError(code=INVALID_PARAMS, message=message,
                       data={"errors": [{"field": f, "problem": p} for f, p in problems]}) from None


def describe(error: ValidationError, params: Any) -> list[tuple[str, str]]:
    """(field, problem) for each failing place, its path read through `params` (a union member's label
    dropped: `_meta.progressToken` failing as `str` and as `int` is one field expecting either)."""
    merged: dict[str, list[str]] = {}
    got: dict[str, str] = {}
    for item in error.errors(include_url=False):
        path, node = _path(tuple(item["loc"]), {"params": params}, item["type"])
        expected = _EXPECTED.get(item["type"])
        wanted = f"expected {expected}" if expected and item["type"] != "missing" else (
            "missing (it is required)" if item["type"] == "missing" else str(item["msg"]))
        if wanted not in merged.setdefault(path, []):
            merged[path].append(wanted)
        if item["type"] != "missing":
            got[path] = _KINDS.get(type(node), type(node).__name__)
    problems = []
    for path, wanted in merged.items():
        text = " or ".join(wanted).replace(" or expected ", " or ")
        problems.append((path, f"{text}, got {got[path]}" if path in got and text.startswith("expected") else text))
    return problems


def _path(loc: tuple[Any, ...], data: Any, kind: str) -> tuple[str, Any]:
    """The dotted field a pydantic loc names in `data`, and the value there (what was sent)."""
    if loc[:1] != ("params",):  # a handler's own params model reports from inside params
        loc = ("params", *loc)
    parts: list[str] = []
    node = data
    for index, element in enumerate(loc):
        if isinstance(node, dict) and element in node:
            parts.append(str(element))
            node = node[element]
        elif isinstance(node, list) and isinstance(element, int) and element < len(node):
            parts.append(str(element))
            node = node[element]
        elif kind == "missing" and index == len(loc) - 1:
            parts.append(str(element))
        # else: a union member's label (`str`, `int`), not in the data
    return ".".join(parts) or "params", node
