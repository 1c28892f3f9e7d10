"""A Python prompt's typed parameters, given as MCP prompt arguments — which are strings.

MCP 2025-11-25 §server/prompts: `prompts/get` sends `arguments` as a map of strings, and
`prompts/list` describes each argument by name, description and `required` only. So:

- `decode(schema, arguments)`: a value for a parameter that takes no string (`list[str]`, a dict, a
  pydantic model, `Item | None`) is read as JSON (`'["a", "b"]'`, `'{"sku": "x"}'`); a string the JSON
  reading fails on is left for the argument check, which then says what it wanted. Numbers and
  booleans need no JSON (the check reads `"5"` and `"true"` itself), and a parameter that takes a
  string (`str`, `str | None`, a `Literal` of strings) gets the text as sent.
- `hint(spec, schema)`: the form such a value takes, for the argument's description (`true or
  false`, `one of: a, b`, `JSON: {"type":"array","items":{"type":"string"}}`), since the listing
  has no type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ...schema.shapes import declared_types

_REF_DEPTH = 8  # nested models inlined in a hint; deeper ones stay `{"$ref": …}`
_NOT_SHOWN = ("description", "default", "title")


def decode(schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments with JSON text read for every parameter that takes no string."""
    properties = schema.get("properties") or {}
    decoded = dict(arguments)
    for name, value in arguments.items():
        spec = properties.get(name)
        types = _types(spec, schema) if isinstance(spec, Mapping) else set()
        if isinstance(value, str) and types and "string" not in types:
            try:
                decoded[name] = json.loads(value)
            except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
                pass  # the argument check names the parameter and the form it wanted
    return decoded


def hint(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> str | None:
    """How to write a value for this parameter as a string, or None for a plain string."""
    types = _types(spec, schema)
    if isinstance(spec.get("enum"), list):
        return "one of: " + ", ".join(str(v) for v in spec["enum"])
    if not types or "string" in types:
        return None
    if types <= {"boolean", "null"}:
        return "true or false"
    if types <= {"integer", "null"}:
        return "an integer"
    if types <= {"number", "integer", "null"}:
        return "a number"
    shown = _inlined({k: v for k, v in spec.items() if k not in _NOT_SHOWN}, schema, _REF_DEPTH)
    return "JSON: " + json.dumps(shown, separators=(",", ":"), ensure_ascii=False)


def _types(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> set[str]:
    """Every JSON type a value of `spec` may have (through `anyOf`/`oneOf` and local `$ref`s); the
    empty set when it cannot tell (then the value is treated as a string)."""
    spec = _resolved(spec, schema)
    options = spec.get("anyOf") or spec.get("oneOf")
    if isinstance(options, list):
        found: set[str] = set()
        for option in options:
            types = _types(option, schema) if isinstance(option, Mapping) else set()
            if not types:
                return set()
            found |= types
        return found
    return set(declared_types(dict(spec)) or ())


def _resolved(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = spec.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = (schema.get("$defs") or {}).get(ref.removeprefix("#/$defs/"))
        if isinstance(target, Mapping):
            return target
    return spec


def _inlined(node: Any, schema: Mapping[str, Any], depth: int) -> Any:
    """`node` with local `$ref`s replaced by their definitions (titles dropped), `depth` levels deep."""
    if isinstance(node, Mapping):
        if "$ref" in node and depth > 0:
            target = _resolved(node, schema)
            if target is not node:
                return _inlined({k: v for k, v in target.items() if k != "title"}, schema, depth - 1)
        return {k: _inlined(v, schema, depth) for k, v in node.items() if k != "title"}
    if isinstance(node, list):
        return [_inlined(v, schema, depth) for v in node]
    return node
