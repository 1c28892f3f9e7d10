"""A shortened structuredContent made valid again against the tool's outputSchema.

MCP (2025-06-18, "Output Schema"): a server that declares an outputSchema MUST send
structuredContent that conforms to it, and the SDK clients reject the whole result when it does
not. Shortening (`limits.shorten_to_fit`) drops list items and object keys from the end and cuts
long strings; for structuredContent it runs without list-item and key markers, but what is left
can still break a schema: a cut string against `enum`/`pattern`/`format`/`const`, a list cut
below `minItems`, an object that lost a `required` key. Each such node is put back as the
upstream sent it (a missing required key is added back, anything else is restored whole), so the
data never breaks the schema because of us; the note says what was kept whole. A node the
upstream itself sent invalid (still the same object as in the original) is left as it is: that
is the upstream's fault, not shortening's.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import exceptions as schema_errors
from jsonschema import validators

_MAX_ROUNDS = 8  # each round restores every failing node at least one level up; schemas are not deeper in practice
_MISSING = object()


def conform(shortened: Any, original: Any, schema: dict[str, Any]) -> tuple[Any, list[str]]:
    """(`shortened` with each node the schema refuses restored from `original`, notes on what was).

    `shortened` is `original` after `shorten_to_fit` (same keys in the same order, a prefix of each
    list; unchanged subtrees shared), so a path into one leads to the same node of the other. Nodes
    of `shortened` that differ from `original` are its own copies and are changed in place; shared
    ones never are. A schema the validator cannot use leaves `shortened` unchanged.
    """
    validator = _validator(_key(schema))
    if validator is None:
        return shortened, []
    notes: list[str] = []
    for _ in range(_MAX_ROUNDS):
        changed = False
        for error in sorted(validator.iter_errors(shortened), key=lambda e: len(e.absolute_path)):
            path = list(error.absolute_path)
            node, source = _at(shortened, path), _at(original, path)
            if node is _MISSING or source is _MISSING or node is source:
                continue  # already restored this round, or the upstream's own invalid value
            where = _display(path)
            if error.validator == "required" and isinstance(node, dict) and isinstance(source, dict):
                for name in error.validator_value:
                    if name not in node and name in source:
                        node[name] = source[name]
                notes.append(f"{where}: its required fields are kept (the tool's outputSchema requires them)")
            elif error.validator == "minItems" and isinstance(node, list) and isinstance(source, list):
                node.extend(source[len(node):error.validator_value])  # as few items back as the schema needs
                notes.append(f"{where}: {len(node)} of {len(source)} items kept (the tool's outputSchema's minItems)")
            elif not path:
                return original, [*notes, "$: sent whole: the tool's outputSchema allows no shortened form"]
            else:
                _at(shortened, path[:-1])[path[-1]] = source
                notes.append(f"{where}: kept whole (the tool's outputSchema does not allow it shortened: "
                             f"{error.validator})")
            changed = True
        if not changed:
            break
    return shortened, list(dict.fromkeys(notes))


def _key(schema: dict[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, default=str)


@lru_cache(maxsize=256)
def _validator(schema_text: str) -> Any:
    """A validator for the schema (its `$schema` draft, else the latest), checking `format` too:
    some clients do. None for a schema the library refuses (the tool set checks schemas at load)."""
    schema = json.loads(schema_text)
    cls = validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except schema_errors.SchemaError:
        return None
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


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
