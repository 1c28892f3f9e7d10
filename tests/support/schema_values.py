"""Deterministic argument values from a tool's input schema (JSON Schema 2020-12), for sweeps.

`example(schema)` gives one value meant to satisfy the schema (first enum/const/example-like choice,
bounds respected, every property filled); `hostile(schema)` gives one meant to stress the request
builder: every property `null`, strings with reserved and non-ASCII characters, huge numbers.
Neither needs to be valid: a sweep asserts that no call ends in an internal error, whatever the
argument check or the upstream say.
"""

from __future__ import annotations

from typing import Any

_MAX_DEPTH = 6
_NASTY = "a/../b?c=d&e#f %2F é\u2028"


def _resolve(schema: Any, root: dict[str, Any]) -> Any:
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 16:
        ref = schema["$ref"]
        if not ref.startswith("#/$defs/"):
            return {}
        schema = (root.get("$defs") or {}).get(ref[len("#/$defs/"):], {})
        seen += 1
    return schema


def _first_type(schema: dict[str, Any]) -> str | None:
    t = schema.get("type")
    if isinstance(t, list):
        non_null = [x for x in t if x != "null"]
        return non_null[0] if non_null else "null"
    return t if isinstance(t, str) else None


def example(schema: Any, root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    root = root if root is not None else (schema if isinstance(schema, dict) else {})
    schema = _resolve(schema, root)
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return "x"
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return example(schema[key][0], root, depth + 1)
    if isinstance(schema.get("allOf"), list) and schema["allOf"]:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example(part, root, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
            elif not merged:
                return value
        return merged
    kind = _first_type(schema) or ("object" if "properties" in schema else "string")
    if kind == "object":
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        return {name: example(sub, root, depth + 1) for name, sub in props.items()}
    if kind == "array":
        low = schema.get("minItems", 1) if isinstance(schema.get("minItems"), int) else 1
        return [example(schema.get("items", {}), root, depth + 1) for _ in range(max(1, min(low, 3)))]
    if kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        return int(low) + (1 if "exclusiveMinimum" in schema else 0) if isinstance(low, (int, float)) else 1
    if kind == "number":
        low = schema.get("minimum", 1.5)
        return float(low) if isinstance(low, (int, float)) else 1.5
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    text = {"date-time": "2024-01-02T03:04:05Z", "date": "2024-01-02", "email": "a@example.com",
            "uri": "https://example.com/a", "uuid": "123e4567-e89b-12d3-a456-426614174000"}.get(
        str(schema.get("format")), "abc")
    low = schema.get("minLength") if isinstance(schema.get("minLength"), int) else 0
    return text + "x" * max(0, min(low, 64) - len(text))


def hostile(schema: Any) -> dict[str, Any]:
    """Arguments that stress the request builder: null, reserved characters, huge and odd numbers."""
    root = schema if isinstance(schema, dict) else {}
    props = root.get("properties") if isinstance(root.get("properties"), dict) else {}
    out: dict[str, Any] = {}
    for i, (name, sub) in enumerate(props.items()):
        kind = _first_type(_resolve(sub, root) if isinstance(sub, dict) else {})
        choice = i % 4
        if choice == 0:
            out[name] = None
        elif kind in ("integer", "number"):
            out[name] = 10**30 if choice == 1 else -1e300
        elif kind == "array":
            out[name] = [None, _NASTY, {"k": [1, {"z": None}]}]
        elif kind == "object":
            out[name] = {"": None, _NASTY: [_NASTY], "n": 1e308}
        else:
            out[name] = _NASTY
    return out
