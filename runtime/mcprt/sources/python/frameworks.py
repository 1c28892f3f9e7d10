"""What code written for another Python MCP framework carries, read by duck typing: FastMCP's and the MCP SDK's
`MCPServer` (its former `FastMCP`). Neither is a dependency of mcprt; their objects are known by the names and
attributes they have, so a module written for them can be a `python:` source as it is, or fails `validate` with
what to write instead — never at every call.

A trial migrating a FastMCP 4 module found each of these answered wrongly:
- `@mcp.tool(name="stock_level", description="…")` leaves the function in the module with a `__fastmcp__`
  record (`ToolMeta`: `type`, `name`, `description`, `title`, `annotations`; `ResourceMeta`, `PromptMeta`):
  read, so the tool, resource or prompt keeps what the decorator gave (`decorated`). The MCP SDK's
  `@server.tool(…)` leaves no record on the function: it cannot be read. A function recorded as a resource
  or prompt (`@mcp.resource`, `@mcp.prompt`) is no tool of a whole-module entry (`not_a_tool`); it is
  served where the manifest's `resources:` / `prompts:` name it.
- `ctx: Context` (FastMCP's, a dataclass; the SDK's, a pydantic model) became a model argument, its whole
  docstring in the input schema's `$defs`, and every call failed. mcprt's call context is another object
  (`mcprt.contracts.CallContext`), so such a parameter is refused with the mapping of its methods
  (`framework_context`).
- FastMCP's and the SDK's `Image` (`to_image_content()`) returned from a tool could not be sent as JSON: its
  image is sent as an MCP image content block, as image bytes are (`image_of`).
- `raise ToolError("Out of stock")` reached the model as `ToolError: Out of stock`, where those frameworks send
  the message as is: an exception whose class, or a base class, is named `ToolError` — their name for "this
  message is for the model" — is answered like `mcprt.errors.ToolCallError` (`is_tool_error`).
"""

from __future__ import annotations

import base64
import binascii
import inspect
import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

_FRAMEWORKS = {"fastmcp": "FastMCP's", "mcp": "the MCP SDK's"}  # top-level package → how a message names it
_TOOL_ERROR_NAMES = frozenset({"ToolError"})


def _record(fn: Any) -> Any:
    """FastMCP's decorator record on a function (`__fastmcp__`: a ToolMeta, ResourceMeta or PromptMeta), if any."""
    try:
        return inspect.getattr_static(fn, "__fastmcp__", None)
    except Exception:  # noqa: BLE001 — the user's object: an odd one has no record
        return None


@dataclass(frozen=True, slots=True)
class Decorated:
    """What a FastMCP decorator (`@mcp.tool`, `@mcp.resource`, `@mcp.prompt`) gave a function, each None when it
    gave nothing: `name`, `description`, `title`, and a tool's `annotations` in MCP's wire form
    (`{"readOnlyHint": true, …}`, MCP spec: ToolAnnotations)."""

    name: str | None = None
    description: str | None = None
    title: str | None = None
    annotations: dict[str, Any] | None = None


def decorated(fn: Any, kind: str = "tool") -> Decorated:
    """What FastMCP's `@mcp.<kind>(name=…, description=…, title=…, annotations=…)` gave `fn` (empty for a
    function no such decorator marked, or marked as another kind). The MCP SDK's `@server.tool(…)` leaves no
    trace on the function (it only registers it with its server), so it cannot be read: README says so."""
    record = _record(fn)
    if record is None or getattr(record, "type", None) != kind:
        return Decorated()

    def text(attribute: str) -> str | None:
        value = getattr(record, attribute, None)
        return value if isinstance(value, str) and value else None

    return Decorated(text("name"), text("description"), text("title"),
                     _wire_annotations(getattr(record, "annotations", None)))


def _wire_annotations(value: Any) -> dict[str, Any] | None:
    """A decorator's `annotations` (a ToolAnnotations model or a mapping) as MCP's camelCase wire object."""
    if value is None:
        return None
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        value = dump(by_alias=True, exclude_none=True, mode="json")
    if not isinstance(value, dict):
        return None
    return {str(key): item for key, item in value.items() if item is not None} or None


def not_a_tool(fn: Any) -> str | None:
    """What FastMCP's decorator made `fn` when that is not a tool (`"resource"`, `"prompt"`, …), else None."""
    record = _record(fn)
    kind = getattr(record, "type", None) if record is not None else None
    return kind if isinstance(kind, str) and kind != "tool" else None


def left_out_advice(fn: Any, target: str) -> str | None:
    """For a function FastMCP marked as a resource or prompt that the manifest does not name: what to write to
    serve it (FastMCP's decorator alone serves nothing in mcprt); None for any other function."""
    kind = not_a_tool(fn)
    if kind is None:
        return None
    record = _record(fn)
    uri = getattr(record, "uri", None)
    if "resource" in kind and isinstance(uri, str) and uri:
        line = f'`resources: {{"{uri}": {target}}}`'
    elif kind == "prompt":
        line = f"`prompts: [{target}]`"
    else:
        return f"'{target}' is FastMCP's @mcp.{kind}, which mcprt does not serve; it is no tool"
    return f"'{target}' is FastMCP's @mcp.{kind}: the decorator alone serves nothing here; add {line} to serve it"


def framework_context(annotation: Any) -> str | None:
    """For a parameter typed as FastMCP's or the MCP SDK's `Context` (or a subclass, `Optional` of one, …): the
    problem to report, saying what to write instead; None for any other annotation."""
    for cls in _classes_in(annotation):
        for base in inspect.getmro(cls):
            top = getattr(base, "__module__", "").partition(".")[0]
            if base.__name__ == "Context" and top in _FRAMEWORKS:
                return (f"is typed {_FRAMEWORKS[top]} Context ({base.__module__}.{base.__qualname__}), which mcprt "
                        "does not pass: type it `mcprt.contracts.CallContext` — `await ctx.progress(done, total, "
                        "message)` for `report_progress`, `await ctx.peer.log({\"level\": \"info\", \"data\": …})` "
                        "for `ctx.info` (`ctx.peer` is None without an MCP client), `await ctx.peer.request("
                        "\"elicitation/create\", params)` for `elicit`, `ctx.principal` for who calls")
    return None


def image_of(value: Any) -> tuple[bytes, str] | None:
    """(bytes, media type) of an image-like value — FastMCP's or the SDK's `Image`, whose `to_image_content()`
    gives an MCP ImageContent (`data` base64, `mimeType`) — else None. A value whose conversion fails is None
    too (the caller's JSON attempt then names its type)."""
    convert = getattr(type(value), "to_image_content", None)
    if not callable(convert):
        return None
    content = convert(value)
    data = getattr(content, "data", None)
    media_type = getattr(content, "mime_type", None) or getattr(content, "mimeType", None)
    if not isinstance(data, str) or not isinstance(media_type, str):
        return None
    try:
        return base64.b64decode(data, validate=True), media_type
    except (binascii.Error, ValueError):
        return None


def is_image_type(annotation: Any) -> bool:
    """Whether the return annotation is an image-like class (`image_of` converts its values)."""
    return any(callable(getattr(cls, "to_image_content", None)) for cls in _classes_in(annotation))


def is_tool_error(exc: BaseException) -> bool:
    """Whether `exc`'s class or a base class is named `ToolError` (FastMCP's, the MCP SDK's MCPServer's): its
    message is the model's answer as is, as `mcprt.errors.ToolCallError`'s is."""
    return any(cls.__name__ in _TOOL_ERROR_NAMES for cls in type(exc).__mro__)


def _classes_in(annotation: Any) -> list[type]:
    """The classes an annotation names at its top: itself, a union's members, `Annotated`'s type."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _classes_in(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [cls for arg in get_args(annotation) for cls in _classes_in(arg)]
    return [annotation] if inspect.isclass(annotation) else []
