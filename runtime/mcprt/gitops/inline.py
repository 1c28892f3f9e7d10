"""A tool schema with its local `$ref`s replaced by what they name, so `mcprt diff` compares content.

Compared as written, `{"$ref": "#/$defs/Note"}` is the same text on both sides while `Note` itself changed
(a field removed from a pydantic model, an upstream tool's `$defs`): the change was invisible. Each
local reference (`#` or `#/…`, an RFC 6901 pointer into the schema's own root: JSON Schema 2020-12
§8.2.3.1) is replaced by its target. Only schema positions are walked (`schema.keywords`): a property
*named* `definitions` or `$ref` is a name, and `enum`/`const`/`default`/`examples` values are data, both
kept exactly. The root's `$defs`/`definitions` are then left out: what they hold is compared where it is
used, and an unused definition changes nothing; a nested one is walked like any map of schemas.

A `$ref` with sibling keywords holds both (§10.2.1): the siblings beside the target in an
`allOf: [target, siblings]`, since merging them into the target changes what some mean
(`additionalProperties` and `unevaluated*` see only their own object's properties, §10.3.2.3, §11).
The target is marked `REFERENCED` there, and in the `allOf: [{$ref}, siblings]` the OpenAPI compiler
writes for every such `$ref` (its target a `$defs` entry), so `schemas` reports a change of either part at the `$ref`'s own pointer, in the referenced
schema's fields.
Siblings that assert nothing (annotations: `description`, `title`, …) are merged, the use site's winning.
A reference met again inside its own expansion (a recursive schema) stays a `$ref`: its target is
compared at the outer level already.

The schema is compared as written (its `$ref`/`$defs` changes then count as keywords the rule does not
understand: possibly breaking, fail closed) when inlining could hide or change meaning: a `$ref` that is
not a local pointer to an object or boolean schema (a remote one, an anchor, one that resolves to
nothing or to data), `$dynamicRef`/`$recursiveRef`, a nested `$id` (it moves what `#` means), or more
than `MAX_NODES` nodes produced (a chain of definitions each used twice doubles per level).
"""

from __future__ import annotations

from typing import Any

from ..schema.keywords import DEFINITIONS, NAMED_SCHEMAS, ONE_SCHEMA, SCHEMA_LISTS
from ..schema.shapes import resolve_pointer
from .schemas import ANNOTATIONS, REFERENCED

MAX_NODES = 20_000
_UNFOLLOWED = ("$dynamicRef", "$recursiveRef")


class _AsWritten(Exception):
    """Inlining this schema could hide or change what it means, or grow it past `MAX_NODES`."""


def _referenced(target: Any, ref: Any) -> Any:
    """The inlined `target` of a `$ref` that has sibling keywords, marked `REFERENCED` (`schemas` then words a
    change of it, or of the siblings, at the `$ref`'s own pointer); a recursive reference left as it is."""
    return {**target, REFERENCED: ref} if isinstance(target, dict) and "$ref" not in target else target


def _ref_with_siblings(parts: list[Any]) -> bool:
    """Whether an `allOf`'s `parts` are a `$ref` and its sibling keywords, as a compiler writes `{$ref, …}`
    (§10.2.1): a lone `$ref`, then an object of other keywords. Two references (`[{$ref: A}, {$ref: B}]`)
    are two schemas, not a reference and its siblings."""
    return (len(parts) == 2 and isinstance(parts[0], dict) and set(parts[0]) == {"$ref"}
            and isinstance(parts[1], dict) and "$ref" not in parts[1])


def inline_refs(schema: Any) -> Any:
    """`schema` (a JSON Schema object or boolean) with local `$ref`s inlined and the root's definitions
    dropped; `schema` itself (unchanged) when it is not an object or is compared as written (see above)."""
    if not isinstance(schema, dict):
        return schema
    budget = [MAX_NODES]

    def walk(node: Any, busy: frozenset[str]) -> Any:
        """One schema position: a boolean (or malformed value) as it is, an object walked by keyword."""
        budget[0] -= 1
        if budget[0] < 0:
            raise _AsWritten
        if not isinstance(node, dict):
            return node
        if any(key in node for key in _UNFOLLOWED) or (node is not schema and "$id" in node):
            raise _AsWritten
        # a key spelled like mcprt's mark, written by a user, is dropped: only `_referenced` writes the mark
        out = {key: keyword(key, value, busy) for key, value in node.items()
               if not (node is schema and key in DEFINITIONS) and key != REFERENCED}
        ref = node.get("$ref")
        if ref is None or (isinstance(ref, str) and ref in busy):
            return out  # no reference, or a recursive one: compared as the name it is
        target = resolve_pointer(schema, ref) if isinstance(ref, str) and (ref == "#" or ref.startswith("#/")) else None
        if not isinstance(target, dict | bool):
            raise _AsWritten
        resolved = walk(target, busy | {ref})
        siblings = {key: value for key, value in out.items() if key != "$ref"}
        if not siblings:
            return resolved
        if isinstance(resolved, dict) and set(siblings) <= ANNOTATIONS:
            return {**resolved, **siblings}
        return {"allOf": [_referenced(resolved, ref), siblings]}

    def keyword(key: str, value: Any, busy: frozenset[str]) -> Any:
        """A keyword's value: its subschemas walked, anything else (data, annotations) as written."""
        if key in NAMED_SCHEMAS and isinstance(value, dict):
            return {name: walk(child, busy) for name, child in value.items()}
        if key in ONE_SCHEMA or key in SCHEMA_LISTS:
            if not isinstance(value, list):
                return walk(value, busy)
            items = [walk(item, busy) for item in value]
            if key == "allOf" and _ref_with_siblings(value):
                items[0] = _referenced(items[0], value[0]["$ref"])
            return items
        return value

    try:
        return walk(schema, frozenset())
    except (_AsWritten, RecursionError):
        return schema
