"""JSON on the per-call path: orjson where it is a drop-in, the standard library where it is not.

orjson parses and writes JSON several times faster than `json`, but differs in two ways that would
change what a client sent or receives, so those cases take the standard path:

- parsing: an integer beyond 64 bits becomes a float (`123456789012345678901234567890` →
  `1.2345678901234568e+29`); a body with a run of 19 or more digits is parsed by `json` instead
  (a digit run inside a string sends it there too: harmless, only slower);
- writing: a non-`str` key, an integer beyond 64 bits or a lone surrogate raises; those values are
  written by `json`.

`NaN`/`Infinity` literals and lone surrogates, which `json` accepts and orjson refuses, raise
`ValueError` here: callers treat that as "not for the fast path" and hand the body to the SDK,
which answers exactly as it always did.
"""

from __future__ import annotations

import json
import re
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - a declared dependency; the standard path still works
    orjson = None  # type: ignore[assignment]

_LONG_DIGITS = re.compile(rb"\d{19}")


def loads(body: bytes) -> Any:
    """Parse one JSON document; raises `ValueError` (JSON text that is not strict RFC 8259 included)."""
    if orjson is None or _LONG_DIGITS.search(body):
        return json.loads(body, parse_constant=_refuse_constant)
    return orjson.loads(body)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON (no spaces after separators), as the SDK writes it."""
    if orjson is not None:
        try:
            return orjson.dumps(value)
        except TypeError:  # a non-str key, an integer beyond 64 bits, a lone surrogate
            pass
    # ASCII with escapes: a lone surrogate (which `json.loads` lets through) still makes valid UTF-8.
    return json.dumps(value, separators=(",", ":")).encode()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 §6)")
