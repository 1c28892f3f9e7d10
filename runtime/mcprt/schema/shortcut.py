"""A "certainly valid" shortcut for tool arguments, compiled by `fastjsonschema`.

`valid_shortcut(schema)` → a function `(instance) -> bool` that returns True only where the
schema is satisfied, and False where it is not *or* where it cannot tell (anything raised while
checking, e.g. a recursion too deep). None when the schema gets no shortcut. The caller
(`schema.validator`) runs jsonschema's full validator whenever the shortcut does not say True, so
every problem a model reads is jsonschema's message; the shortcut only spares the walk for the
common valid call (one compiled function call instead of jsonschema's per-keyword generators).

fastjsonschema implements drafts 4/6/7 (its newest generator, "2019", is draft 7 plus two
formats); mcprt's input schemas are JSON Schema 2020-12. So a schema gets the shortcut only when
every keyword in it is on `_SAME_MEANING` (evaluated the same way by both: JSON Schema 2020-12
Validation §6 and Core §10.2/§10.3.2 against fastjsonschema's draft-06/07 generators) or is an
annotation neither evaluates. Left out on purpose, so the whole schema goes to jsonschema:
- `pattern`, `patternProperties`: ECMA-262 meaning with a time limit per match
  (`schema.ecma_regex`); fastjsonschema uses Python's `re` with `$` rewritten, and no limit;
- `multipleOf`: mcprt's is exact decimal arithmetic, fastjsonschema divides floats;
- `contentEncoding`/`contentMediaType` (annotations in 2020-12, assertions there), `dependencies`,
  `additionalItems`, an array `items` (draft-7 forms) and every 2019/2020 keyword it does not know
  (`prefixItems`, `unevaluated*`, `dependentRequired`, `dependentSchemas`, `min/maxContains` — so
  `contains` too, `$anchor`, `$dynamicRef`, `$id`, …);
- a `$ref` beside other assertions (2020-12 evaluates both; fastjsonschema only the reference), one
  that is not to a definition of the root schema (`#/$defs/NAME`, `#/definitions/NAME`: no
  fetching, ever), and two references whose targets fastjsonschema would name alike (it names one
  generated function per target from the pointer's letters and digits, lower-cased:
  `#/$defs/a-b` and `#/$defs/A_b` would share one).
`format` asserts what the caller's validator asserts: nothing for arguments (jsonschema runs without
a format checker; `use_formats=False`); for a tool's result, each format jsonschema's checker knows,
by that checker's own function (`formats`: fastjsonschema calls it where the schema names it, and only
those names enter its source); any other `format` stays an annotation to both;
`default` is not applied (`use_default=False`: the arguments are never changed).

Code from a schema: fastjsonschema writes Python source and `exec`s it. Property names, enum and
const values, required names and patterns enter that source as `repr()` literals or through its
`unicode_escape` quoting, and variable names keep only `[a-zA-Z0-9]` of a property name; numbers
enter as `str()` of a number. The tests call a real tool whose property names, enum values and
patterns are hostile Python.

Compiled lazily: the caller builds a tool's validator on its first call, never at start-up.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote

Check = Callable[[Any], bool]

# Assertions and applicators whose meaning is the same in JSON Schema 2020-12 and in
# fastjsonschema's generator (given the checks on their values in `_subschemas`).
_SAME_MEANING = frozenset({
    "type", "enum", "const", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minItems", "maxItems", "uniqueItems", "items", "minProperties", "maxProperties",
    "required", "properties", "additionalProperties", "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
    "propertyNames", "$ref",
})
# Evaluated by neither (2020-12 meta-data, format-annotation, content and core vocabularies).
_ANNOTATIONS = frozenset({
    "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "$comment",
    "format", "contentSchema", "$defs", "definitions", "$schema",
})
# The only references admitted: a definition of the root schema, whose keywords the gate checks.
_LOCAL_DEFINITION = re.compile(r"#/(?:\$defs|definitions)/[^/]+")
# fastjsonschema's generator is not documented as thread-safe: every compile in mcprt holds this one lock
COMPILE_LOCK = threading.Lock()


class _NoShortcut(Exception):
    pass


def valid_shortcut(schema: Any, *, formats: Mapping[str, Callable[[str], bool]] | None = None) -> Check | None:
    """The compiled "certainly valid" check for `schema`, or None (see the module docstring).

    `formats`: for a caller whose validator asserts `format` (JSON Schema 2020-12 Validation §7.2.2,
    format-assertion), each format it asserts → that validator's own check of a string, so the
    shortcut says valid only where the validator's format check does. Never raises: a schema fastjsonschema cannot compile (a definition it refuses, source Python
    cannot compile, a recursion limit) gets no shortcut."""
    if not isinstance(schema, dict):
        return None
    try:
        definition = json.loads(json.dumps(schema))  # its own copy: fastjsonschema rewrites `$ref`s in place
        refs = _gate(definition)
    except (_NoShortcut, ValueError, TypeError, RecursionError):
        return None
    if not _names_distinct(refs):
        return None
    definition.pop("$schema", None)  # its generator is chosen by `$schema`; jsonschema reads it as 2020-12 anyway
    try:
        import fastjsonschema  # lazily: only serving calls tools

        with COMPILE_LOCK:
            compiled = fastjsonschema.compile(definition, handlers=_NO_FETCH, formats=dict(formats or {}),
                                              use_default=False, use_formats=bool(formats),
                                              detailed_exceptions=False)
    except Exception:  # a definition fastjsonschema refuses, or generated source Python cannot compile
        return None
    return _checker(compiled)


def _checker(compiled: Callable[[Any], Any]) -> Check:
    def check(instance: Any) -> bool:
        try:
            compiled(instance)
        except Exception:  # invalid, or undecided (RecursionError, …): jsonschema decides
            return False
        return True

    return check


def _gate(schema: Any) -> list[str]:
    """Every `$ref` in `schema`; raises _NoShortcut for anything outside the allow-list.

    Rewrites `const: X` as `enum: [X]` in place (2020-12 Validation §6.1.3: the same assertion;
    fastjsonschema 2.22.3 cannot compile `const` without its detailed exceptions, which double the
    compile time)."""
    refs: list[str] = []
    stack: list[tuple[Any, int]] = [(schema, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, bool):
            continue
        if not isinstance(node, dict) or depth > 64:
            raise _NoShortcut
        for key in node:
            if key not in _SAME_MEANING and key not in _ANNOTATIONS and not key.startswith("x-"):
                raise _NoShortcut
        if "const" in node:
            same = {"enum": [node.pop("const")]}
            if "enum" in node:  # both assert: the second one as a conjunct
                conjuncts = node.get("allOf", [])
                if not isinstance(conjuncts, list):
                    raise _NoShortcut
                node["allOf"] = [*conjuncts, same]
            else:
                node.update(same)
        if "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not _LOCAL_DEFINITION.fullmatch(ref) or not _SAME_MEANING.isdisjoint(
                    node.keys() - {"$ref"}):
                raise _NoShortcut
            refs.append(ref)
        stack.extend((sub, depth + 1) for sub in _subschemas(node))
    return refs


def _subschemas(node: dict[str, Any]) -> Iterator[Any]:
    for key in ("properties", "$defs", "definitions"):
        if key in node:
            if not isinstance(node[key], dict):
                raise _NoShortcut
            yield from node[key].values()
    for key in ("items", "additionalProperties", "not", "if", "then", "else", "propertyNames"):
        if key in node:
            yield node[key]  # a list `items` (draft 7 tuple form) is no schema: refused by the walk
    for key in ("allOf", "anyOf", "oneOf"):
        if key in node:
            if not isinstance(node[key], list) or not node[key]:
                raise _NoShortcut
            yield from node[key]
    if "enum" in node and not isinstance(node["enum"], list):
        raise _NoShortcut


def _names_distinct(refs: list[str]) -> bool:
    """Whether no two distinct reference targets would get one generated function: fastjsonschema
    names it from the pointer (percent-decoded, `~0`/`~1` as `_`) with every other character than
    `[a-zA-Z0-9]` as `_`, lower-cased; dropping those characters instead is coarser, so a clash
    there covers every clash in its names."""
    seen: dict[str, str] = {}
    for ref in set(refs):
        key = re.sub(r"[^a-zA-Z0-9]", "", unquote(ref).replace("~1", "_").replace("~0", "_")).lower()
        if seen.setdefault(key, ref) != ref:
            return False
    return True


class _NoFetch(dict[str, Callable[[str], Any]]):
    """fastjsonschema's `handlers`: every URI scheme maps to a refusal (it would otherwise fetch a
    remote `$ref` with urllib). The gate admits only `#/…` references; this holds regardless."""

    def __contains__(self, scheme: object) -> bool:
        return True

    def __getitem__(self, scheme: str) -> Callable[[str], Any]:
        return _refuse


def _refuse(uri: str) -> Any:
    raise ValueError(f"no remote $ref: {uri}")


_NO_FETCH = _NoFetch()
