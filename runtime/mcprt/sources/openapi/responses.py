"""Success-response schemas → compact *shape* schemas (a JSON Schema 2020-12 subset).

A shape keeps only what says where data is: `type` (3.0 `nullable` / Swagger `x-nullable` add
`"null"`), `properties`, `items`, `additionalProperties` (when the document states it) and
`anyOf` (from `oneOf`/`anyOf`; `allOf` parts are merged). Everything a real response is known to
break — `required`, `enum`, `format`, `pattern`, bounds — is dropped, so a shape describes the
documented fields without rejecting a response that leaves one out or carries a new enum value.

`$ref`s are resolved inline and memoized (shared objects: treat shapes as immutable); a reference
met again while it is being converted (recursion), or nesting beyond `MAX_DEPTH`, becomes `{}`
(anything), which is always correct, only less precise.
"""

from __future__ import annotations

from typing import Any

from mcprt.errors import SpecError

from .model import SchemaRef
from .refs import Resolver

MAX_DEPTH = 24
ANY: dict[str, Any] = {}
_SCALARS = frozenset({"string", "number", "integer", "boolean", "null", "array", "object"})


class ResponseShapes:
    """Converts success-response schemas of one document set (memoized by `$ref` target)."""

    def __init__(self, resolver: Resolver, version: str) -> None:
        self.resolver = resolver
        self.version = version
        self._memo: dict[str, Any] = {}
        self._busy: set[str] = set()

    def convert(self, ref: SchemaRef | None) -> dict[str, Any] | None:
        """The shape of a response schema, or None without one (or when it cannot be read)."""
        if ref is None:
            return None
        try:
            shape = self._node(ref.node, ref.uri, ref.pointer, 0)
        except (SpecError, RecursionError, TypeError, ValueError, KeyError, AttributeError, IndexError):
            return None
        return shape if isinstance(shape, dict) else None

    # `ptr` is where the converted schema starts (the response's schema, or a `$ref` target), not
    # each node's own pointer: it only names the place in a SpecError, and `convert` turns every
    # error into "no shape", so building a pointer for each of the thousands of nodes is skipped.
    def _node(self, node: Any, uri: str, ptr: str, depth: int) -> dict[str, Any]:
        if not isinstance(node, dict) or depth > MAX_DEPTH:
            return ANY
        if "$ref" in node:
            return self._ref(node, uri, ptr, depth)
        out: dict[str, Any] = {}
        types = _types(node, self.version)
        deeper = depth + 1
        props = node.get("properties")
        if isinstance(props, dict):
            out["properties"] = {str(k): self._node(v, uri, ptr, deeper) for k, v in props.items()}
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            out["additionalProperties"] = self._node(extra, uri, ptr, deeper)
        elif isinstance(extra, bool):
            out["additionalProperties"] = extra
        items = node.get("items")
        if isinstance(items, dict):
            out["items"] = self._node(items, uri, ptr, deeper)
        parts = node.get("allOf")
        if isinstance(parts, list):
            for part in parts:
                _merge(out, self._node(part, uri, ptr, deeper))
        options: list[dict[str, Any]] = []
        for keyword in ("oneOf", "anyOf"):
            parts = node.get(keyword)
            if isinstance(parts, list):
                options += [self._node(p, uri, ptr, deeper) for p in parts]
        if options:
            if any(o == ANY for o in options):
                return ANY if types is None and not out else _with_types(out, types)
            out["anyOf"] = _dedupe(options)
        out = _with_types(out, types)
        if _nullable(node) and "type" in out:  # `nullable` beside an allOf that brought the type
            out["type"] = _add_null(out["type"])
        return out

    def _ref(self, node: dict[str, Any], uri: str, ptr: str, depth: int) -> dict[str, Any]:
        target_uri, target_ptr, target = self.resolver.resolve(node["$ref"], uri, ptr)
        key = f"{target_uri}#{target_ptr}"
        found = self._memo.get(key)
        if found is not None:
            return found
        if key in self._busy:
            return ANY  # recursion: anything is correct, only less precise
        self._busy.add(key)
        try:
            found = self._node(target, target_uri, target_ptr, depth)
        finally:
            self._busy.discard(key)
        self._memo.setdefault(key, found)
        return found


def _types(node: dict[str, Any], version: str) -> list[str] | None:
    raw = node.get("type")
    if isinstance(raw, str) and raw in _SCALARS:
        types = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(t, str) and t in _SCALARS for t in raw):
        types = list(dict.fromkeys(raw))
    else:
        return None
    if _nullable(node) and "null" not in types:
        types.append("null")
    if node.get("enum") and None in node.get("enum", []) and "null" not in types:
        types.append("null")
    return types


def _nullable(node: dict[str, Any]) -> bool:
    return node.get("nullable") is True or node.get("x-nullable") is True


def _add_null(types: Any) -> Any:
    listed = [types] if isinstance(types, str) else list(types)
    return listed if "null" in listed else [*listed, "null"]


def _with_types(out: dict[str, Any], types: list[str] | None) -> dict[str, Any]:
    if types is None:
        return out
    if "type" in out:  # from allOf parts: keep the parts' type, add null only if this node allows it
        return out
    return {"type": types[0] if len(types) == 1 else types, **out}


def _merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    """allOf: an instance satisfies every part, so each part's own description of a field holds."""
    if "type" in part and "type" not in into:
        into["type"] = part["type"]
    if "properties" in part:
        merged = dict(into.get("properties", {}))
        for name, shape in part["properties"].items():
            merged[name] = _merged(merged[name], shape) if name in merged else shape
        into["properties"] = merged
    if "items" in part:
        into["items"] = _merged(into["items"], part["items"]) if "items" in into else part["items"]
    extra = part.get("additionalProperties")
    if extra is not None and extra is not False and "additionalProperties" not in into:
        into["additionalProperties"] = extra
    if "anyOf" in part and "anyOf" not in into:
        into["anyOf"] = part["anyOf"]


def _merged(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Both shapes hold for one value (allOf): the first, plus what the second adds."""
    if first == ANY:
        return second
    if second == ANY or first is second:
        return first
    combined = dict(first)
    _merge(combined, second)
    return combined


def _dedupe(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    unique: list[dict[str, Any]] = []
    for option in options:
        if not any(option is u or option == u for u in unique):
            unique.append(option)
    return unique
