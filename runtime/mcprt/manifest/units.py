"""Human units in manifests: durations (`30s`, `500ms`, `2m`) and sizes (`200kb`, `1.5mb`).

Both are parsed to plain numbers (seconds as float, bytes as int) so the rest of the code never
sees strings; the JSON Schema documents the accepted spellings.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from .written import as_written, integer_expected, quoted

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    None: 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3,
}


def parse_duration(value: Any, *, zero: bool = False) -> float:
    """`30s` → 30.0; a bare number means seconds. `zero`: 0 is allowed (a setting where 0 means "at once")."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '30s', '500ms', '2m'")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        unit = match.group(2).lower() if match.group(2) else None
        seconds = float(match.group(1)) * _DURATION_UNITS[unit]
    else:
        raise ValueError(f"invalid duration {quoted(value)}: use a number of seconds or '30s', '500ms', '2m', '1h'")
    if seconds < 0 or (seconds == 0 and not zero):
        raise ValueError(f"invalid duration {as_written(value)}: must be {'0 or more' if zero else 'greater than zero'}")
    return seconds


def parse_duration_or_zero(value: Any) -> float:
    return parse_duration(value, zero=True)


def parse_size(value: Any) -> int:
    """`200kb` → 200000; a bare number means bytes. kb/mb are decimal, kib/mib binary."""
    if isinstance(value, bool):
        raise ValueError("a size is a number of bytes or a string like '200kb', '1mb'")
    if isinstance(value, int):
        size = value
    elif isinstance(value, float):  # a count of bytes is an integer (as `model.StrictModel` rules for every integer)
        raise ValueError(integer_expected(value))  # the one wording (`model.integer_field` finds most first)
    elif isinstance(value, str) and (match := _SIZE.match(value)):
        unit = match.group(2).lower() if match.group(2) else None
        size = int(float(match.group(1)) * _SIZE_UNITS[unit])
    else:
        raise ValueError(f"invalid size {quoted(value)}: use a number of bytes or '200kb', '1mb', '64kib'")
    if size <= 0:
        raise ValueError(f"invalid size {as_written(value)}: must be greater than zero")
    return size


DURATION_PATTERN = r"(?i)^\s*\d+(\.\d+)?\s*(ms|s|m|h)?\s*$"


def _duration(zero: bool, examples: list[str], description: str) -> Any:
    """A duration type: seconds as a number or a string with a unit; `zero`: 0 is a value of its own."""
    bound = {"minimum": 0} if zero else {"exclusiveMinimum": 0}
    return Annotated[
        float,
        BeforeValidator(parse_duration_or_zero if zero else parse_duration),
        WithJsonSchema({"anyOf": [{"type": "number", **bound}, {"type": "string", "pattern": DURATION_PATTERN}],
                        "examples": examples}),
        Field(description=description),
    ]


Duration = _duration(False, ["30s", "500ms", "2m"],
                     "A duration: seconds as a number, or a string such as '30s', '500ms', '2m', '1h'.")
# A duration where 0 has a meaning of its own (`server.tasks.answer_within: 0`: a task at once).
DurationOrZero = _duration(True, ["500ms", "0"],
                           "A duration, 0 included: seconds as a number, or a string such as '500ms', '2s', '0'.")

ByteSize = Annotated[
    int,
    BeforeValidator(parse_size),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "exclusiveMinimum": 0},
                {"type": "string", "pattern": r"(?i)^\s*\d+(\.\d+)?\s*(b|kb|kib|mb|mib|gb|gib)?\s*$"},
            ],
            "examples": ["200kb", "1mb", 65536],
        }
    ),
    Field(description="A size: bytes as a number, or a string such as '200kb', '1.5mb', '64kib'."),
]
