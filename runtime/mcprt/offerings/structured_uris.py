"""A prefixed source's resource URIs inside a tool's structuredContent, as a client reads them through mcprt.

A source with a `prefix` serves its resources under a URI scheme prefix (`uris.py`: `err://fine` is read as
`h+err://fine`), and its tool results' `resource_link` and embedded `resource` blocks get it
(`OfferSet.exposed_block`). A structuredContent naming the same resource (`{"uri": "err://fine"}`) kept
the upstream's URI, so a client taking it from there read another source's resource, or none.

Rewritten: only string values that are URIs of that source's own resources — a URI it lists, or an
expansion of one of its served templates whose scheme is literal (`files://{path}`, not `{+uri}`, which any
URI would match) — never keys, never other strings (`OfferSet.owns_upstream_uri`). A value the tool's
outputSchema pins (`const`, `enum`, `pattern`, `maxLength` …) keeps its upstream form: structuredContent MUST
conform to the outputSchema (MCP 2025-11-25 server/tools "Output Schema"), and the schema is the upstream's
own contract, passed on unchanged. Which values those are is read from the validator's errors on the
rewritten value (the paths it refuses, and everything under them: an `anyOf` refuses at its parent), so a
schema of any shape is honoured; whatever still fails after `MAX_ROUNDS` keeps every value as sent.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from ..schema.structured_check import StructuredCheck

Path = tuple[str | int, ...]

# RFC 3986 §3.1: an absolute URI starts with its scheme and `:`; nothing else is a resource's URI
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S*\Z")
MAX_ROUNDS = 3  # validations of one result: each gives back every value the schema refused (an `anyOf` refusing
# a branch's object may need a second round), then one that finds none
_MAX_DEPTH = 64  # a structuredContent nested deeper is left alone (shaping refuses far less deep results)


def exposed_structured(structured: dict[str, Any], owns: Callable[[str], bool], exposed: Callable[[str], str],
                       schema: dict[str, Any] | None) -> dict[str, Any]:
    """`structured` with every string value `owns` (an upstream URI of the source's resources) replaced by
    `exposed(value)`, except those the outputSchema `schema` (None: none declared) refuses so replaced; the
    same object when nothing changes."""
    found: list[Path] = []
    _find(structured, (), owns, found, 0)
    if not found:
        return structured
    check = _check(schema) if schema is not None else None
    kept = list(found)
    for _ in range(MAX_ROUNDS):
        rewritten = _replaced(structured, kept, exposed)
        refused = check.error_paths(rewritten, limit=None) if check is not None else []
        if not refused:
            return rewritten
        remaining = [path for path in kept if not any(path[:len(at)] == at for at in refused)]
        if len(remaining) == len(kept):  # no refusal is at or above a replaced value: as sent, it has them too
            return rewritten
        if not remaining:
            return structured
        kept = remaining
    return structured


def _find(value: Any, path: Path, owns: Callable[[str], bool], found: list[Path], depth: int) -> None:
    if isinstance(value, str):
        if _ABSOLUTE.match(value) and owns(value):
            found.append(path)
    elif depth >= _MAX_DEPTH:
        return
    elif isinstance(value, dict):
        for key, item in value.items():
            _find(item, (*path, key), owns, found, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _find(item, (*path, index), owns, found, depth + 1)


def _replaced(value: Any, paths: list[Path], exposed: Callable[[str], str]) -> Any:
    """A copy of `value` with the string at each of `paths` exposed; containers off those paths shared."""
    if not paths:
        return value
    if () in paths:
        return exposed(value)
    steps: dict[str | int, list[Path]] = {}
    for path in paths:
        steps.setdefault(path[0], []).append(path[1:])
    if isinstance(value, dict):
        return {key: _replaced(item, steps[key], exposed) if key in steps else item for key, item in value.items()}
    return [_replaced(item, steps[index], exposed) if index in steps else item for index, item in enumerate(value)]


_CHECKS: dict[int, tuple[dict[str, Any], StructuredCheck]] = {}  # by the schema's id (the schema kept alive)
_CHECKS_MAX = 256
_LOCK = threading.Lock()


def _check(schema: dict[str, Any]) -> StructuredCheck:
    """The check of `schema` as a proxied server's own outputSchema is checked (`formats=False`: `format` an
    annotation, as the SDK clients read it), compiled once per schema object (a tool's, for its lifetime)."""
    with _LOCK:
        held = _CHECKS.get(id(schema))
        if held is not None and held[0] is schema:
            return held[1]
        if len(_CHECKS) >= _CHECKS_MAX:
            _CHECKS.clear()  # tool sets come and go with reloads: a few recompiles, never unbounded
        check = StructuredCheck(schema, formats=False)
        _CHECKS[id(schema)] = (schema, check)
        return check
