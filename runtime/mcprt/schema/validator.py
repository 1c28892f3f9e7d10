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
Where the schema allows it, arguments are first tried by a check `fastjsonschema` compiles for the
schema (`schema.shortcut`, built with the validator on a tool's first call): when it says valid,
jsonschema's walk is skipped; anything else — a failure, a check that cannot tell, a schema with a
keyword the shortcut leaves out — goes through the full validator, so problems are always
jsonschema's own messages. `result_check(schema)` is the same for a tool's outputSchema, whose
validator checks `format` too (not with `formats=False`, a proxied server's own schema): its shortcut checks each format by the validator's own format checker,
so `format` is enforced whether or not a schema gets the shortcut. `result_validator(schema)` is that
full validator alone.
"""

from __future__ import annotations

import decimal
import logging
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError
from referencing import Registry

from .ecma_regex import compile_pattern
from .shortcut import valid_shortcut

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


def _no_retrieval(uri: str) -> Any:
    raise LookupError(f"mcprt resolves no remote $ref ({uri})")


# jsonschema's default retrieves a `$ref` to another document over the network (urllib, no time
# limit): a schema could make every call fetch a URL of its choosing. Only references into the
# schema itself resolve; another one is a keyword that cannot be evaluated (skipped, see _guarded).
_LOCAL_ONLY: Registry[Any] = Registry(retrieve=_no_retrieval)


class _Validator:
    """`iter_errors` without a walk when `shortcut` (fastjsonschema's compiled check) says valid."""

    __slots__ = ("full", "shortcut")

    def __init__(self, full: Any, shortcut: Callable[[Any], bool] | None) -> None:
        self.full = full
        self.shortcut = shortcut

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        if self.shortcut is not None and self.shortcut(instance):
            return iter(())
        return self.full.iter_errors(instance)

    def first_error(self, instance: Any) -> ValidationError | None:
        """The problem nearest the root (fewest `absolute_path` steps; of those, the first jsonschema
        yields) among the first `_ERRORS_READ` it yields, or None when `instance` conforms. Bounded, and
        done at a root-level error: reading every error of a large bad result took 1.7 s at 1.4 MB and
        9.3 s at 7.3 MB (review of carried, problem 10)."""
        nearest: ValidationError | None = None
        for error in islice(self.iter_errors(instance), _ERRORS_READ):
            if nearest is None or len(error.absolute_path) < len(nearest.absolute_path):
                nearest = error
                if not nearest.absolute_path:
                    break
        return nearest


_ERRORS_READ = 16  # errors read to find the one nearest the root (`first_error`)


def argument_validator(schema: dict[str, Any], *, shortcut: bool = True) -> Any:
    """A validator for `schema` whose `iter_errors` yields problems and never raises for the schema's sake.

    `shortcut=False` for a validator used once (a manifest value checked at load time): compiling
    fastjsonschema's check costs more than the one walk it could spare."""
    return _Validator(_ArgumentValidator(schema, registry=_LOCAL_ONLY), valid_shortcut(schema) if shortcut else None)


def result_validator(schema: dict[str, Any], *, formats: bool = True) -> Any | None:
    """A validator for a tool's outputSchema (JSON Schema 2020-12, MCP 2025-06-18 "Output Schema"),
    checking `format` too (some clients do) unless `formats=False` (then `format` is the annotation JSON
    Schema 2020-12 Validation §7.2.1 makes it by default, as the SDK clients check), resolving no remote `$ref` (`_LOCAL_ONLY`) and never
    raising for the schema's sake (as `argument_validator`). None for a schema the library refuses.
    jsonschema's own validator (`evolve`, `is_valid`); `result_check` is the same behind the shortcut."""
    try:
        _ArgumentValidator.check_schema(schema)
    except SchemaError:
        return None
    return _ArgumentValidator(schema, registry=_LOCAL_ONLY,
                              format_checker=_ArgumentValidator.FORMAT_CHECKER if formats else None)


def result_check(schema: dict[str, Any], *, formats: bool = True) -> _Validator | None:
    """`result_validator(schema, formats=formats)` behind fastjsonschema's "certainly valid" check (compiled
    here), for a schema every result of a tool is checked against: `iter_errors`, `first_error`. None as there."""
    full = result_validator(schema, formats=formats)
    return None if full is None else _Validator(full, valid_shortcut(schema, formats=_RESULT_FORMATS if formats else None))


def _conforms(name: str) -> Callable[[str], bool]:
    return lambda value: _FORMATS.conforms(value, name)


# What `result_validator` asserts of `format`: jsonschema's checkers whose libraries are installed (`date`,
# `email`, `ipv4`, …); others (OpenAPI's `int64`, `double`, …) are annotations to it, and to the shortcut.
_FORMATS = _ArgumentValidator.FORMAT_CHECKER
_RESULT_FORMATS = {name: _conforms(name) for name in _FORMATS.checkers}
