"""What a proxied server's list and call results must look like, item by item (MCP schema 2025-11-25).

A listing is checked one item at a time, so a malformed item costs that item, never the listing:
  - the item must validate as the negotiated protocol version's schema says (required fields,
    types: the same check the SDK makes on a whole result, `mcp_types.methods`);
  - its key — a tool's or prompt's `name`, a resource's `uri`, a template's `uriTemplate` — must be
    a non-empty string without control characters, names at most 128 characters (MCP 2025-11-25
    server/tools "Tool names"; prompt names are keys the same way), URIs at most 8,192;
  - a tool's `inputSchema` (and `outputSchema`, when given) must be an object schema
    (`"type": "object"`, MCP schema `Tool`) that is valid JSON Schema against the meta-schema
    (mcprt.schema.metaschema: its `$schema`, else draft 2020-12, the MCP default dialect, SEP-1613).
A `tools/call` result keeps what is usable: content blocks that are not valid blocks are left out,
a `structuredContent` that is not an object is dropped; a result with no usable content left, or
whose `content` is not a list, becomes a tool error that says so.

Every function reports each problem through `complain(text)`, one sentence naming the item and what
is wrong; the caller adds the source and logs it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import mcp_types as types
from mcp_types import methods as protocol
from pydantic import ValidationError

from ...schema.metaschema import schema_problem

Complain = Callable[[str], None]

MAX_NAME_CHARS = 128  # MCP 2025-11-25 server/tools "Tool names": 1 to 128 characters
MAX_URI_CHARS = 8192
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
DEFAULT_VERSION = "2025-11-25"

# method → (result field, what one item is called, the field that keys it)
LISTS: dict[str, tuple[str, str, str]] = {
    "tools/list": ("tools", "tool", "name"),
    "resources/list": ("resources", "resource", "uri"),
    "resources/templates/list": ("resourceTemplates", "resource template", "uriTemplate"),
    "prompts/list": ("prompts", "prompt", "name"),
}


def shown(value: Any, limit: int = 60) -> str:
    """A value as a log may show it: repr (control characters escaped), cut at `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


class MalformedPage(ValueError):
    """A list page whose own fields (not its items) break the schema, e.g. a 2026-07-28 page without
    `cacheScope`: the request fails with this message."""


def vet_listing(method: str, version: str | None, result: dict[str, Any], complain: Complain) -> dict[str, Any]:
    """`result` of one page of `method` with every malformed item left out (and said so).

    Raises MalformedPage when the page's own fields break the schema."""
    field, noun, _ = LISTS[method]
    items = result.get(field)
    vetted = dict(result)
    if not isinstance(items, list):
        complain(f"{method}: `{field}` is {_kind(items)}, not a list; the page counts as empty")
        items = []
    cursor = result.get("nextCursor")
    if cursor is not None and not isinstance(cursor, str):
        complain(f"{method}: `nextCursor` is {_kind(cursor)}, not a string; the listing ends at this page")
        vetted.pop("nextCursor")
    # Items are checked inside the page's own other fields (a 2026-07-28 page requires `cacheScope`),
    # and the schema check is skipped for all of them when the page as a whole passes it.
    base = {key: value for key, value in vetted.items() if key != field}
    whole_ok = _schema_problem(method, version or DEFAULT_VERSION, {**base, field: items}) is None
    if not whole_ok:
        page_problem = _schema_problem(method, version or DEFAULT_VERSION, {**base, field: []})
        if page_problem is not None:  # not any one item's fault: no item could be served from this page
            raise MalformedPage(f"the server's {method} answer is malformed ({page_problem})")
    kept = []
    for index, item in enumerate(items):
        problem = item_problem(method, version, item, base=None if whole_ok else base)
        if problem is None:
            kept.append(item)
        else:
            complain(f"{method}: {noun} {_label(method, item, index)} left out: {problem}")
    vetted[field] = kept
    return vetted


def item_problem(method: str, version: str | None, item: Any, *, base: dict[str, Any] | None) -> str | None:
    """What is wrong with one listed item, or None when it can be served; `base`: the rest of its page,
    to check the item against the schema in (None: the page passed that check already)."""
    field, _, key_field = LISTS[method]
    if not isinstance(item, dict):
        return f"it is {_kind(item)}, not an object"
    key = item.get(key_field)
    if not isinstance(key, str):
        return f"`{key_field}` is missing" if key is None else f"`{key_field}` is {_kind(key)}, not a string"
    problem = key_problem(key_field, key)
    if problem is not None:
        return problem
    if base is not None:
        problem = _schema_problem(method, version or DEFAULT_VERSION, {**base, field: [item]})
        if problem is not None:
            return problem
    if method == "tools/list":
        for schema_field in ("inputSchema", "outputSchema"):
            if schema_field in item:
                problem = object_schema_problem(item[schema_field])
                if problem is not None:
                    return f"`{schema_field}` {problem}"
    return None


def key_problem(key_field: str, key: str) -> str | None:
    """Why a name or URI cannot key an item: empty, control characters, too long."""
    if not key.strip():
        return f"`{key_field}` is empty"
    if _CONTROL.search(key):
        return f"`{key_field}` has control characters"
    limit = MAX_URI_CHARS if key_field in ("uri", "uriTemplate") else MAX_NAME_CHARS
    if len(key) > limit:
        return f"`{key_field}` is {len(key):,} characters long (at most {limit:,})"
    return None


def object_schema_problem(schema: Any) -> str | None:
    """Why `schema` is not an object schema that is valid JSON Schema (None when it is)."""
    if not isinstance(schema, dict):
        return f"is {_kind(schema)}, not a JSON Schema object"
    if schema.get("type") != "object":
        return f"has type {shown(schema.get('type'))}, not \"object\""
    problem = schema_problem(schema)
    return None if problem is None else f"is not valid JSON Schema {problem}"


def vet_call_result(version: str | None, result: Any, complain: Complain, server: str = "the server") -> dict[str, Any]:
    """A `tools/call` result a client can use: the usable part, or a tool error saying what was wrong
    (its text starts with `server`, e.g. "server 'weather'")."""
    if not isinstance(result, dict):  # pragma: no cover - the JSON-RPC envelope requires an object
        return _error_result(server, f"the result is {_kind(result)}, not an object", complain)
    if result.get("resultType") not in (None, "complete") or "inputRequests" in result:
        return result  # a 2026-07-28 input-required (or extension) result: the SDK's to read
    content = result.get("content")
    if not isinstance(content, list):
        return _error_result(server, f"`content` is {_kind(content)}, not a list of content blocks", complain)
    version = version or DEFAULT_VERSION
    if _schema_problem("tools/call", version, result) is None:
        return result
    vetted = dict(result)
    if "structuredContent" in vetted and not isinstance(vetted["structuredContent"], dict):
        complain(f"tools/call: `structuredContent` is {_kind(vetted['structuredContent'])}, not an object; dropped")
        vetted.pop("structuredContent")
    base = {key: value for key, value in vetted.items() if key != "content"}
    kept = []
    for index, block in enumerate(content):
        problem = _schema_problem("tools/call", version, {**base, "content": [block]})
        if problem is None:
            kept.append(block)
        else:
            kind = block.get("type") if isinstance(block, dict) else None
            what = f"of unknown type {shown(kind)}" if isinstance(kind, str) and kind not in _BLOCK_TYPES else problem
            complain(f"tools/call: content block {index} left out: {what}")
    if content and not kept and "structuredContent" not in vetted:
        return _error_result(server, "none of its content blocks is one a client can show", complain, logged=True)
    vetted["content"] = kept
    problem = _schema_problem("tools/call", version, vetted)
    if problem is not None:
        return _error_result(server, problem, complain)
    return vetted


ANSWERS = frozenset({"resources/read", "prompts/get", "completion/complete"})  # checked whole: result_problem


def result_problem(method: str, version: str | None, result: dict[str, Any]) -> str | None:
    """What is wrong with the answer to one of `ANSWERS` (its negotiated version's schema), or None."""
    try:
        protocol.validate_server_result(method, version or DEFAULT_VERSION, result)
    except KeyError:
        return None
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"{where}: {error['msg']}" if where else error["msg"]
    return None


_BLOCK_TYPES = {"text", "image", "audio", "resource_link", "resource"}


def _error_result(server: str, problem: str, complain: Complain, *, logged: bool = False) -> dict[str, Any]:
    if not logged:
        complain(f"tools/call: malformed result: {problem}")
    text = f"{server} returned a malformed result ({problem}); mcprt could not pass it on"
    return {"content": [{"type": "text", "text": text}], "isError": True}


def _schema_problem(method: str, version: str, result: dict[str, Any]) -> str | None:
    """The first schema violation of `result` (as `method` answers at `version`), in one line."""
    try:
        protocol.validate_server_result(method, version, result)
        _MONOLITH[method].model_validate(result, by_name=False)
    except KeyError:
        return None  # a version this SDK does not know: the SDK itself will say so
    except ValidationError as exc:
        return _describe(exc)
    return None


_MONOLITH: dict[str, Any] = {
    "tools/list": types.ListToolsResult,
    "resources/list": types.ListResourcesResult,
    "resources/templates/list": types.ListResourceTemplatesResult,
    "prompts/list": types.ListPromptsResult,
    "tools/call": types.CallToolResult,
}


def _describe(exc: ValidationError) -> str:
    """One pydantic error as `field.path: message`, without the list index of our one-item wrapper."""
    error = exc.errors(include_url=False)[0]
    path = [str(part) for part in error["loc"]]
    if len(path) >= 2 and path[1].isdigit():
        path = path[2:]  # ("tools", 0, "inputSchema") → inputSchema
    where = ".".join(path)
    return f"{where}: {error['msg']}" if where else error["msg"]


def _label(method: str, item: Any, index: int) -> str:
    key_field = LISTS[method][2]
    key = item.get(key_field) if isinstance(item, dict) else None
    return shown(key) if isinstance(key, str) and key else f"#{index}"


def _kind(value: Any) -> str:
    if value is None:
        return "missing"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


