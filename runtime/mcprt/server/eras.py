"""Results shaped for the protocol version a handshake-era client negotiated.

The SDK validates and sieves every result of a handshake-era connection with its 2025-11-25 models,
whatever version was negotiated, so a 2024-11-05 client was sent `title`, `annotations`, `icons`,
`outputSchema`, `structuredContent`, `_meta` on tools and content blocks, `resource_link` and
`audio` blocks: fields and content its version's schema does not define. `shape_result` is the one
place that takes a result down to what the negotiated version defines (the official
`schema/<version>/schema.json` of the MCP specification repository; a test validates every answer
of each version against that schema with unknown fields refused):

- a field is dropped when its definition has it only from a later version (`_ADDED`);
- content a version cannot carry degrades to a text block saying what it was, rather than
  vanishing: a `resource_link` (2025-06-18) names its URI, name, type and description — what a
  client needs to read it with `resources/read`; `audio` (2025-03-26) says its MIME type and size;
- `structuredContent` (2025-06-18) goes, and when the result has no content block at all its JSON
  becomes one text block (MCP 2025-06-18, server/tools "Structured Content": a tool returning
  structured content SHOULD also return it serialized in a TextContent block — mcprt's tools do).

Notifications mcprt composes ask `defines` (a progress `message` is 2025-03-26's). 2025-11-25 (the
SDK's own shape) and 2026-07-28 results pass unchanged. Pure JSON work, without the
SDK: `early.py` uses it before the SDK is imported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

# The handshake versions older than the SDK's result models (2025-11-25), oldest first.
OLDER_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18")
_ORDER = {version: index for index, version in enumerate(OLDER_VERSIONS + ("2025-11-25",))}

_V0326, _V0618, _V1125 = "2025-03-26", "2025-06-18", "2025-11-25"
_META_TITLE_ICONS = {"_meta": _V0618, "title": _V0618, "icons": _V1125}
_BLOCK_META = {"_meta": _V0618}

# definition → field → the first version whose schema defines it (each older schema lacks it).
_ADDED: dict[str, dict[str, str]] = {
    "Tool": {"annotations": _V0326, "title": _V0618, "outputSchema": _V0618, "_meta": _V0618,
             "icons": _V1125, "execution": _V1125},
    "Resource": _META_TITLE_ICONS,
    "ResourceTemplate": _META_TITLE_ICONS,
    "Prompt": _META_TITLE_ICONS,
    "PromptArgument": {"title": _V0618},
    "Implementation": {"title": _V0618, "icons": _V1125, "description": _V1125, "websiteUrl": _V1125},
    "ServerCapabilities": {"completions": _V0326, "tasks": _V1125},
    "CallToolResult": {"structuredContent": _V0618},
    "ContentBlock": {"_meta": _V0618, "icons": _V1125},  # icons: a resource_link's (ResourceLink extends Resource)
    "ResourceContents": _BLOCK_META,
    "Annotations": {"lastModified": _V0618},
    "ProgressNotification": {"message": _V0326},  # params.message
}
# content block type → the first version that defines it
_BLOCK_SINCE = {"audio": _V0326, "resource_link": _V0618}


def shape_result(method: str, version: str, result: Mapping[str, Any]) -> dict[str, Any]:
    """`result` (a JSON-RPC result object, wire form) of `method` as `version` defines it (module
    docstring); a new object when anything changes, else `result` itself. Never raises on
    unexpected shapes: what is not the expected JSON type is left as it is."""
    if version not in OLDER_VERSIONS or not isinstance(result, dict):
        return result  # type: ignore[return-value]
    shaper = _SHAPERS.get(method)
    return result if shaper is None else shaper(version, result)


def defines(definition: str, field: str, version: str) -> bool:
    """Whether `version`'s schema has `field` in `definition` (of those `_ADDED` knows; any other is)."""
    since = _ADDED[definition].get(field)
    return since is None or version not in OLDER_VERSIONS or not _before(version, since)


def _before(version: str, since: str) -> bool:
    return _ORDER[version] < _ORDER[since]


def _fields(definition: str, version: str, value: Any) -> Any:
    """`value` without the fields of `definition` that `version` does not define."""
    if not isinstance(value, dict):
        return value
    added = _ADDED[definition]
    return {key: item for key, item in value.items() if key not in added or not _before(version, added[key])}


def _each(items: Any, shape: Callable[[Any], Any]) -> Any:
    return [shape(item) for item in items] if isinstance(items, list) else items


def _annotated(version: str, value: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value.get("annotations"), dict):
        value = {**value, "annotations": _fields("Annotations", version, value["annotations"])}
    return value


def _block(version: str, block: Any) -> Any:
    """One content block (tool result, prompt message) as `version` defines it."""
    if not isinstance(block, dict):
        return block
    kind = block.get("type")
    since = _BLOCK_SINCE.get(kind) if isinstance(kind, str) else None
    if since is not None and _before(version, since):
        block = {"type": "text", "text": _described(block), **({"annotations": block["annotations"]}
                                                                if "annotations" in block else {})}
    block = _annotated(version, _fields("ContentBlock", version, block))
    if block.get("type") == "resource" and isinstance(block.get("resource"), dict):
        block = {**block, "resource": _fields("ResourceContents", version, block["resource"])}
    return block


def _described(block: dict[str, Any]) -> str:
    """The text a block becomes for a client whose version lacks its type."""
    if block.get("type") == "resource_link":
        parts = [f"Resource link: {block.get('uri')}"]
        for label, key in (("name", "name"), ("title", "title"), ("type", "mimeType"), ("size", "size")):
            if block.get(key) is not None:
                parts.append(f"{label}: {block[key]}")
        text = "; ".join(parts)
        description = block.get("description")
        return f"{text}\n{description}" if isinstance(description, str) and description else text
    data = block.get("data")
    size = f", {len(data) * 3 // 4 - data[-2:].count('=')} bytes" if isinstance(data, str) else ""  # base64
    return f"[audio content ({block.get('mimeType')}{size}) not shown: this client's MCP version has no audio content]"


def _call_result(version: str, result: dict[str, Any]) -> dict[str, Any]:
    shaped = _fields("CallToolResult", version, result)
    content = _each(shaped.get("content"), lambda block: _block(version, block))
    if content == [] and "structuredContent" in result and "structuredContent" not in shaped:
        content = [{"type": "text", "text": json.dumps(result["structuredContent"], ensure_ascii=False)}]
    if "content" in shaped:
        shaped["content"] = content
    return shaped


def _listing(key: str, definition: str) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    def shape(version: str, result: dict[str, Any]) -> dict[str, Any]:
        def item(value: Any) -> Any:
            value = _fields(definition, version, value)
            if isinstance(value, dict):
                value = _annotated(version, value)
                if definition == "Prompt" and "arguments" in value:
                    value["arguments"] = _each(value["arguments"], lambda arg: _fields("PromptArgument", version, arg))
            return value
        return {**result, key: _each(result.get(key), item)} if key in result else result
    return shape


def _initialize(version: str, result: dict[str, Any]) -> dict[str, Any]:
    return {**result, **{key: _fields(definition, version, result[key])
                         for key, definition in (("serverInfo", "Implementation"), ("capabilities", "ServerCapabilities"))
                         if key in result}}


def _read(version: str, result: dict[str, Any]) -> dict[str, Any]:
    if "contents" not in result:
        return result
    return {**result, "contents": _each(result["contents"], lambda item: _fields("ResourceContents", version, item))}


def _prompt(version: str, result: dict[str, Any]) -> dict[str, Any]:
    def message(value: Any) -> Any:
        if isinstance(value, dict) and "content" in value:
            return {**value, "content": _block(version, value["content"])}
        return value
    return {**result, "messages": _each(result["messages"], message)} if "messages" in result else result


_SHAPERS: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "initialize": _initialize,
    "tools/list": _listing("tools", "Tool"),
    "tools/call": _call_result,
    "resources/list": _listing("resources", "Resource"),
    "resources/templates/list": _listing("resourceTemplates", "ResourceTemplate"),
    "resources/read": _read,
    "prompts/list": _listing("prompts", "Prompt"),
    "prompts/get": _prompt,
}
