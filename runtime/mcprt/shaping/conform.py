"""A shortened structuredContent made valid again against the tool's outputSchema.

MCP (2025-06-18, "Output Schema"): a server that declares an outputSchema MUST send
structuredContent that conforms to it, and the SDK clients reject the whole result when it does
not. Shortening (`limits.shorten_to_fit`) drops list items and object keys from the end and cuts
long strings; for structuredContent it runs without list-item and key markers, but what is left
can still break a schema: a cut string against `enum`/`pattern`/`format`/`const`, a list cut
below `minItems`, an object that lost a `required` key. Each such node is put back as the
upstream sent it (a missing required key is added back, a list or object gets back as few items
or keys as `minItems`/`minProperties`/`contains` need, anything else is restored whole), so the
data never breaks the schema because of us; the note says what was kept whole. A node the
upstream itself sent invalid (the original fails the same subschema) is never restored: that is
the upstream's fault, not shortening's, and restoring it would only send more bytes.

Restoring is capped (`restore_cap` bytes in all: the tool's `max_result_bytes`, so a result is
at most about twice its limit): past the cap a node is dropped where its parent allows that (an
optional key goes; a list ends before the item), and when only the root is left, `CannotConform`
says the result cannot be shortened to fit its schema within the limit.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from .limits import json_size
from mcprt.wording import byte_count

_MAX_ROUNDS = 16  # each round restores or drops every failing node, one level up at least; schemas are not deeper
_MISSING = object()
_PARTIAL = ("required", "minItems", "minProperties", "contains")  # restored by part, the rest whole


class CannotConform(Exception):
    """The shortened result cannot conform to the outputSchema within the restore cap (message: why)."""


def conform(shortened: Any, original: Any, schema: dict[str, Any], restore_cap: int) -> tuple[Any, list[str]]:
    """(`shortened` with each node the schema refuses restored from `original`, notes on what was).

    `shortened` is `original` after `shorten_to_fit` (same keys in the same order, a prefix of each
    list; unchanged subtrees shared), so a path into one leads to the same node of the other. Nodes
    of `shortened` that differ from `original` are its own copies and are changed in place; shared
    ones never are. A schema the validator cannot use leaves `shortened` unchanged. At most
    `restore_cap` bytes (compact JSON) are put back in all; `CannotConform` when that is not enough.
    """
    validator = _validator(_key(schema))
    if validator is None:
        return shortened, []
    notes: list[str] = []
    left = restore_cap
    for _ in range(_MAX_ROUNDS):
        changed = False
        for error in sorted(validator.iter_errors(shortened), key=lambda e: len(e.absolute_path)):
            path = list(error.absolute_path)
            node, source = _at(shortened, path), _at(original, path)
            if node is _MISSING or source is _MISSING or node is source:
                continue  # already restored or dropped this round, or the upstream's own invalid value
            if error.validator not in _PARTIAL and not validator.evolve(schema=error.schema).is_valid(source):
                continue  # the upstream sent it invalid too: restoring cannot help, and may be huge
            restored, note = _restored(node, source, error, validator)
            cost = json_size(restored) - json_size(node)
            if cost > left:
                notes.append(_drop(shortened, path, restore_cap))
            elif path:
                _at(shortened, path[:-1])[path[-1]] = restored
                left -= cost
                notes.append(note)
            else:
                shortened = restored
                left -= cost
                notes.append(note)
            changed = True
        if not changed:
            return shortened, list(dict.fromkeys(notes))
    raise CannotConform(_cannot(restore_cap))


def _restored(node: Any, source: Any, error: Any, validator: Any) -> tuple[Any, str]:
    """The node with what `error` needs back from `source` (as little as its keyword needs), and the note."""
    where = _display(list(error.absolute_path))
    kind, wanted = error.validator, error.validator_value
    if kind == "required" and isinstance(node, dict) and isinstance(source, dict):
        back = {name: node.get(name, source[name]) for name in source if name in node or name in wanted}
        return back, f"{where}: its required fields are kept (the tool's outputSchema requires them)"
    if kind == "minProperties" and isinstance(node, dict) and isinstance(source, dict):
        extra = [name for name in source if name not in node][:max(wanted - len(node), 0)]
        back = {name: node.get(name, source[name]) for name in source if name in node or name in extra}
        return back, f"{where}: {len(back)} of {len(source)} keys kept (the tool's outputSchema's minProperties)"
    if kind == "minItems" and isinstance(node, list) and isinstance(source, list):
        back = [*node, *source[len(node):wanted]]
        return back, f"{where}: {len(back)} of {len(source)} items kept (the tool's outputSchema's minItems)"
    if kind == "contains" and isinstance(node, list) and isinstance(source, list) and isinstance(error.schema, dict):
        matching = validator.evolve(schema=error.schema.get("contains", {}))
        needed = error.schema.get("minContains", 1)
        found = sum(1 for item in node if matching.is_valid(item))
        end = len(node)
        for end, item in enumerate(source[len(node):], start=len(node) + 1):  # the shortest prefix that matches
            found += matching.is_valid(item)
            if found >= needed:
                break
        back = [*node, *source[len(node):end]]
        return back, f"{where}: {len(back)} of {len(source)} items kept (the tool's outputSchema's contains)"
    return source, f"{where}: kept whole (the tool's outputSchema does not allow it shortened: {kind})"


def _drop(shortened: Any, path: list[Any], restore_cap: int) -> str:
    """Drop the node at `path` from its parent (an object's key, or a list from that item on) and say
    so; the next round restores the parent if its schema needs the node. The root cannot be dropped."""
    if not path:
        raise CannotConform(_cannot(restore_cap))
    parent, step = _at(shortened, path[:-1]), path[-1]
    if isinstance(parent, list):
        del parent[step:]
    else:
        del parent[step]
    return (f"{_display(path)}: omitted (the tool's outputSchema does not allow it shortened, and whole it "
            f"would pass the result limit of {byte_count(restore_cap)})")


def _cannot(restore_cap: int) -> str:
    return (f"the result cannot be shortened to fit the tool's outputSchema within the result limit of "
            f"{byte_count(restore_cap)}; raise this tool's `max_result_bytes` in the manifest")


def _key(schema: dict[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, default=str)


@lru_cache(maxsize=256)
def _validator(schema_text: str) -> Any:
    """The outputSchema's validator (`schema.validator.result_validator`: no remote `$ref` is
    fetched), or None for a schema it refuses (the tool set checks schemas at load)."""
    from ..schema.validator import result_validator  # jsonschema: loaded only when a structured result is shortened

    return result_validator(json.loads(schema_text))


def _at(value: Any, path: list[Any]) -> Any:
    for step in path:
        if isinstance(value, dict) and isinstance(step, str) and step in value:
            value = value[step]
        elif isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value):
            value = value[step]
        else:
            return _MISSING
    return value


def _display(path: list[Any]) -> str:
    out = "$"
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if step.isidentifier() else f"[{json.dumps(step)}]")
    return out
