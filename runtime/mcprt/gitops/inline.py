"""A tool schema with its local `$ref`s replaced by what they name, so `mcprt diff` compares content.

Compared as written, `{"$ref": "#/$defs/Note"}` is the same text on both sides while `Note` itself changed
(a field removed from a pydantic model, an upstream tool's `$defs`): the change was invisible. Each
local reference (`#/…`, RFC 6901 pointer into the schema's own root: JSON Schema 2020-12 §8.2.3.1) is
replaced by its target, sibling keywords kept beside it (as an `allOf` when they overlap: §10.2.1, a
`$ref` with siblings holds both). A reference met again inside its own expansion (a recursive schema)
stays a `$ref`: its target is compared at the outer level already. `$defs`/`definitions` are then left
out: what they hold is compared where it is used, and an unused definition changes nothing.

Bounded: at most `MAX_NODES` nodes are produced (a chain of definitions each used twice doubles per
level); past it the schema is returned as written, and its `$ref`/`$defs` changes are compared as
keywords (which the rule counts as possibly breaking: fail closed).
"""

from __future__ import annotations

from typing import Any

from ..schema.shapes import resolve_pointer

MAX_NODES = 20_000
_DEFINITIONS = ("$defs", "definitions")


class _TooBig(Exception):
    pass


def inline_refs(schema: Any) -> Any:
    """`schema` (a JSON Schema object or boolean) with local `$ref`s inlined and definitions dropped; the
    schema unchanged when it is not an object or would grow past `MAX_NODES`."""
    if not isinstance(schema, dict):
        return schema
    budget = [MAX_NODES]

    def walk(node: Any, busy: frozenset[str]) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooBig
        if isinstance(node, list):
            return [walk(item, busy) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        target = resolve_pointer(schema, ref) if isinstance(ref, str) and ref not in busy else None
        kept = {key: walk(value, busy) for key, value in node.items()
                if key not in _DEFINITIONS and not (target is not None and key == "$ref")}
        if target is None or not isinstance(target, dict | bool):
            return kept
        resolved = walk(target, busy | {ref})
        if not kept:
            return resolved
        if isinstance(resolved, dict) and not set(resolved) & set(kept):
            return {**resolved, **kept}
        return {"allOf": [resolved, kept]}

    try:
        return walk(schema, frozenset())
    except (_TooBig, RecursionError):
        return schema
