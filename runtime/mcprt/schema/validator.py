"""A JSON Schema 2020-12 validator for tool arguments that never raises.

`jsonschema`'s own keyword functions can raise on schemas found in the wild: `pattern` and
`patternProperties` compile with Python's `re` (no `\\p{L}`, so *every* call failed), `multipleOf`
divides floats (OverflowError on huge numbers), a `$ref` may not resolve, a `type` may be unknown.
Here:
- `pattern`/`patternProperties` use `ecma_regex.compile_pattern` (ECMA-262 meaning, `regex`
  engine, a time limit per match);
- `multipleOf` is exact decimal arithmetic (`0.3` is a multiple of `0.1`; `1e400` is no multiple);
- every keyword is wrapped: one that still raises is skipped (logged once per schema keyword), so
  a schema mcprt cannot evaluate never turns a call into an internal error — the upstream decides.

`argument_validator(schema)` → an object with `iter_errors(instance)` (jsonschema's interface).
For the schemas most tools have (objects of scalars: `type`, `properties`, `required`,
`additionalProperties`, `enum`, bounds, `items`), arguments that plainly satisfy the schema are
recognised by a check compiled once (`plain_check`, ~1 µs where jsonschema's walk took ~40 µs of
a call); anything else — a failure, a value the check is unsure of, a keyword it does not know —
goes through the full validator, so problems are always jsonschema's own messages.
"""

from __future__ import annotations

import decimal
import logging
from collections.abc import Callable, Iterator
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from .ecma_regex import compile_pattern

_MATCH_SECONDS = 0.25  # per pattern match: a pathological pattern cannot stall a call
_log = logging.getLogger("mcprt")
_reported: set[str] = set()


def _search(pattern: str, text: str) -> bool | None:
    """Whether `pattern` matches somewhere in `text`; None when it cannot be evaluated."""
    compiled = compile_pattern(pattern)
    if compiled is None:
        return None
    try:
        return compiled.search(text, timeout=_MATCH_SECONDS) is not None
    except Exception:  # TimeoutError, or anything the engine raises: undecided
        return None


def _pattern(validator: Any, pattern: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not isinstance(pattern, str) or not validator.is_type(instance, "string"):
        return
    if _search(pattern, instance) is False:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not isinstance(patterns, dict) or not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if isinstance(pattern, str) and _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _multiple_of(validator: Any, factor: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "number") or not validator.is_type(factor, "number") or factor <= 0:
        return
    try:
        quotient = decimal.Decimal(str(instance)) / decimal.Decimal(str(factor))
        multiple = quotient.is_finite() and quotient == quotient.to_integral_value()
    except (decimal.DecimalException, ValueError):
        multiple = False
    if not multiple:
        yield ValidationError(f"{instance!r} is not a multiple of {factor}")


def _guarded(keyword: str, check: Callable[..., Any]) -> Callable[..., Iterator[ValidationError]]:
    def run(validator: Any, value: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
        try:
            yield from check(validator, value, instance, schema) or ()
        except Exception as exc:  # this keyword cannot be evaluated here: skip it, the upstream decides
            first_line = (str(exc).splitlines() or [""])[0]
            note = f"{keyword}: {type(exc).__name__}: {first_line}"[:300]
            if note not in _reported:
                _reported.add(note)
                _log.warning("argument check skipped the schema keyword %s", note)

    return run


_OWN = {"pattern": _pattern, "patternProperties": _pattern_properties, "multipleOf": _multiple_of}
_ArgumentValidator = validators.extend(
    Draft202012Validator,
    validators={k: _guarded(k, _OWN.get(k, v)) for k, v in Draft202012Validator.VALIDATORS.items()},
)


class _Validator:
    """`iter_errors` without a walk when `plain` (the compiled check) says the instance is valid."""

    __slots__ = ("full", "plain")

    def __init__(self, schema: dict[str, Any]) -> None:
        self.full = _ArgumentValidator(schema)
        self.plain = plain_check(schema)

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        if self.plain is not None and self.plain(instance):
            return iter(())
        return self.full.iter_errors(instance)


def argument_validator(schema: dict[str, Any]) -> Any:
    """A validator for `schema` whose `iter_errors` yields problems and never raises for the schema's sake."""
    return _Validator(schema)


# --- the plain check -----------------------------------------------------------------------------

Check = Callable[[Any], bool]

# JSON Schema 2020-12 §6.1.1 type names → the Python types a parsed JSON value of that type has
# (bool is not an integer here; an integral float is jsonschema's integer: left to it).
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "integer": (int,), "number": (int, float),
    "boolean": (bool,), "null": (type(None),),
}
_NUMBER_TYPES = (int, float)
# Keywords the 2020-12 validator evaluates that the plain check does not: their presence anywhere
# means no plain check ("format" asserts nothing without a format checker, which is not used here).
_PLAIN_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties", "enum", "const", "items",
                             "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
                             "maxLength", "minItems", "maxItems", "format"})
_EVALUATED = frozenset(Draft202012Validator.VALIDATORS)


class _NotPlain(Exception):
    pass


def plain_check(schema: Any) -> Check | None:
    """A function telling, for a parsed JSON value, whether it certainly satisfies `schema` (True) or
    the full validator must decide (False); None when `schema` uses anything the check does not
    cover. True implies jsonschema finds no error (tested with Hypothesis against it)."""
    try:
        return _compile(schema, 0)
    except _NotPlain:
        return None


def _number(value: Any) -> bool:
    return type(value) in _NUMBER_TYPES


def _compile(schema: Any, depth: int) -> Check:
    if schema is True or schema == {}:
        return _always
    if not isinstance(schema, dict) or depth > 20 or not _EVALUATED.isdisjoint(schema.keys() - _PLAIN_KEYWORDS):
        raise _NotPlain
    checks: list[Check] = []
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not names or not all(isinstance(n, str) and n in _TYPES for n in names):
            raise _NotPlain
        allowed = tuple({t for n in names for t in _TYPES[n]})
        checks.append(lambda v: type(v) in allowed)
    for keyword in ("enum", "const"):
        if keyword in schema:
            values = schema[keyword] if keyword == "enum" else [schema[keyword]]
            if not isinstance(values, list):
                raise _NotPlain
            # Same type and equal: never true where jsonschema's equality is false (1 is not True).
            scalars = [(type(e), e) for e in values if type(e) in (str, int, bool, type(None))]
            checks.append(lambda v, scalars=scalars: any(type(v) is t and v == e for t, e in scalars))
    for keyword, holds in (("minimum", lambda v, b: v >= b), ("maximum", lambda v, b: v <= b),
                           ("exclusiveMinimum", lambda v, b: v > b), ("exclusiveMaximum", lambda v, b: v < b)):
        if keyword in schema:
            bound = schema[keyword]
            if not _number(bound):
                raise _NotPlain
            checks.append(lambda v, bound=bound, holds=holds: not _number(v) or holds(v, bound))
    for keyword, kind, at_least in (("minLength", str, True), ("maxLength", str, False),
                                    ("minItems", list, True), ("maxItems", list, False)):
        if keyword in schema:
            bound = schema[keyword]
            if type(bound) is not int:
                raise _NotPlain
            checks.append(lambda v, bound=bound, kind=kind, at_least=at_least: type(v) is not kind or (
                len(v) >= bound if at_least else len(v) <= bound))
    if "items" in schema:
        item = _compile(schema["items"], depth + 1)
        checks.append(lambda v: type(v) is not list or all(item(x) for x in v))
    if {"properties", "required", "additionalProperties"} & schema.keys():
        checks.append(_object_check(schema, depth))
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    return lambda v: all(check(v) for check in checks)


def _object_check(schema: dict[str, Any], depth: int) -> Check:
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    extra = schema.get("additionalProperties", True)
    if not isinstance(properties, dict) or not isinstance(required, list) or not all(
            isinstance(n, str) for n in required):
        raise _NotPlain
    named = {name: _compile(sub, depth + 1) for name, sub in properties.items()}
    other: Check | None = None if extra is True else _compile(extra, depth + 1) if extra is not False else None
    closed = extra is False

    def check(value: Any) -> bool:
        if type(value) is not dict:
            return True  # object keywords say nothing about other types
        for name in required:
            if name not in value:
                return False
        for name, item in value.items():
            sub = named.get(name)
            if sub is not None:
                if not sub(item):
                    return False
            elif closed or (other is not None and not other(item)):
                return False
        return True

    return check


def _always(value: Any) -> bool:
    return True
