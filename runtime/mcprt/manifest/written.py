"""A manifest value shown the way a manifest writes it, for every error that quotes one.

A manifest is YAML or TOML, and tomllib and YAML give Python values: a message built with `repr`
shows `datetime.datetime(2026, 12, 2, 10, 0, tzinfo=datetime.timezone.utc)`, `True` or `None`,
which no manifest holds. `as_written` gives `2026-12-02T10:00:00Z`, `true`, `null` instead (forms
TOML 1.0 and YAML 1.2 share), and `kind_of` the name of its type in the manifest's words.
"""

from __future__ import annotations

import datetime
from typing import Any

_KINDS: dict[type, str] = {dict: "a mapping", list: "a list", str: "a string", int: "an integer", float: "a number",
                           bool: "a boolean", type(None): "null", datetime.datetime: "a date-time",
                           datetime.date: "a date", datetime.time: "a time"}


def as_written(value: Any) -> str:
    """`value` in manifest syntax: `'text'`, `5`, `5.0`, `true`, `null`, `1979-05-27`, `07:32:00`,
    `2026-12-02T10:00:00Z` (an offset of zero as `Z`, RFC 3339 §5.6); a mapping or list as
    `a mapping`/`a list` (their text can be long, and may hold what an error must not print)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return kind_of(value)
    return repr(value)


def kind_of(value: Any) -> str:
    """`a string`, `an integer`, `a number`, `a boolean`, `null`, `a date-time`, `a date`, `a time`, `a mapping`,
    `a list`: what a manifest calls the type of `value`."""
    for kind, name in _KINDS.items():
        if type(value) is kind:
            return name
    return type(value).__name__


def described(value: Any) -> str:
    """`a date-time 2026-12-02T10:00:00Z`, `an integer 5`, `a mapping`, `null`: the kind, then the value."""
    kind = kind_of(value)
    return kind if isinstance(value, (dict, list)) or value is None else f"{kind} {as_written(value)}"


def quoted(value: Any) -> str:
    """`'30 seconds'`, `1.5`, `null` as written; a date, time, mapping or list with its kind first
    (`a date 2024-01-01`: a bare `07:32:00` in a message reads as a time of day, not a value)."""
    if value is None or isinstance(value, (str, int, float)):
        return as_written(value)
    return described(value)


def in_words(message: str, value: Any) -> str:
    """`message` (a library's, e.g. jsonschema's `datetime.time(7, 32) is not of type 'integer'`) with each
    `repr(value)` in it shown `as_written`: `07:32:00 is not of type 'integer'`."""
    if isinstance(value, str):
        return message  # a string's repr, 'text', is already how YAML and TOML quote it
    return message.replace(repr(value), as_written(value))


def as_source(message: str, value: Any, source: str | None) -> str:
    """`message` quoting a number, boolean or date/time the way the file wrote it: `got a number 1.5e4`, not
    `15000.0`. `source`: that value's text in the file (a TOML manifest's, `PositionIndex.written`; None for
    YAML, where `as_written` stands). A string, mapping, list or null is left as it is: a string's quoted form is
    already how YAML and TOML write one, and the others are described by their kind."""
    if source is None or value is None or isinstance(value, (str, dict, list)):
        return message
    return message.replace(as_written(value), source, 1)


def integer_expected(value: float) -> str:
    """A float where an integer is meant: `expected an integer, got a number 5.0 (write 5)`. The one rule
    for every integer a manifest holds (`model.StrictModel`, `units.parse_size`, `toolset.build`'s argument
    values): YAML and TOML tell `5` from `5.0`, so a float is refused, never quietly made an integer."""
    return f"expected an integer, got a number {value!r}{integer_hint(value)}"


def integer_hint(value: float) -> str:
    """` (write 5)` for 5.0; empty for 1.5."""
    return f" (write {int(value)})" if value.is_integer() else ""
