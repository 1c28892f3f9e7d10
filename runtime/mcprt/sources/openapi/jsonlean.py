"""Parse a JSON API description without keeping the parts no tool needs.

Large descriptions carry big sections that never reach a tool (GitHub: 1.5 MB of
`components/examples`, 0.6 MB of `x-webhooks`). `json.loads` builds all of it and only then could
we drop it, so peak memory includes it. Here the top level (and `components`) is walked member by
member with the stdlib's C scanner, and a skipped member is parsed and discarded at once, before
the rest is built. Any irregularity falls back to `json.loads`, which also gives the usual errors.

Text: a UTF-8 document with a single character above U+FFFF decodes to a str of 4 bytes per
character (GitHub: 52 MB for 13 MB of JSON). When the document has no `\\u` escapes above ASCII,
it is decoded as Latin-1 (1 byte per character) and each parsed string with non-ASCII characters
is re-decoded as UTF-8 (`latin1_text`, `_fix`): same result, a quarter of the memory.

`components/schemas` is the other big part (GitHub: 2.9 MB, mostly response models no tool input
uses): each schema is kept as its JSON text and parsed on first access (`LazySchemas`), so only
the schemas that `$ref`s actually reach become Python objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

from .refs import SCHEMA_EXTENSIONS

SKIPPED_TOP = frozenset({"webhooks", *SCHEMA_EXTENSIONS})
SKIPPED_COMPONENTS = frozenset({"examples"})
_WS = re.compile(r"[ \t\n\r]*")
_NON_ASCII_ESCAPE = re.compile(rb"\\u(?!00[0-7])")


def latin1_text(raw: bytes) -> str | None:
    """The document as Latin-1 text when that parse can be repaired exactly (else None)."""
    if raw.isascii() or raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return None
    if _has_non_ascii_escape(raw):
        return None
    return raw.decode("latin-1")


def _has_non_ascii_escape(raw: bytes) -> bool:
    """Whether the text holds a `\\uXXXX` escape above U+007F. A `\\u` is an escape only after an
    even run of backslashes before its own (`"\\\\u"` is a backslash, then a `u`): the fast search
    finds candidates, the run's length decides (a description quoting `\\u` in prose is no escape)."""
    for found in _NON_ASCII_ESCAPE.finditer(raw):
        start = run = found.start()
        while run > 0 and raw[run - 1] == 0x5C:  # backslash
            run -= 1
        if (start - run) % 2 == 0:
            return True
    return False


def _fix(value: Any) -> Any:
    if isinstance(value, str):
        return value if value.isascii() else value.encode("latin-1").decode("utf-8")
    if isinstance(value, list):
        return [_fix(v) for v in value]
    return value


def _fix_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {_fix(k): _fix(v) for k, v in pairs}


def _latin1_value(span: str) -> Any:
    """The JSON value in `span`, a piece of a document decoded as Latin-1: its characters are the
    document's UTF-8 bytes, so orjson parses them as UTF-8 (C speed, correct text); what orjson
    refuses (NaN, integers beyond 64 bits) is parsed by the stdlib and repaired (`_fix_pairs`)."""
    try:
        import orjson

        return orjson.loads(span.encode("latin-1"))
    except (ImportError, ValueError):  # orjson.JSONDecodeError is a ValueError
        value = json.loads(span, object_pairs_hook=_fix_pairs)
        return _fix(value)


def _latin1_scanner(plain: Callable[[str, int], tuple[Any, int]]) -> Callable[[str, int], tuple[Any, int]]:
    """A scanner for Latin-1 text giving correctly decoded values: `_latin1_value` parses the value's
    text, found by `_pretty_end` when the document is pretty-printed, else by the stdlib's C scanner
    (whose result, with undecoded text, is dropped). Two C parses cost less than one with a Python
    hook on every object."""

    def scan(text: str, index: int) -> tuple[Any, int]:
        end = _pretty_end(text, index)
        if end is not None:
            try:
                return _orjson_value(text[index:end]), end
            except (ImportError, ValueError):  # not where the value ends, or a value orjson refuses
                pass
        _, end = plain(text, index)
        return _latin1_value(text[index:end]), end

    return scan


def _pretty_end(text: str, index: int) -> int | None:
    """Where the object or array opening at `index` ends, if the document is pretty-printed: at the
    first closing bracket on a line of its own, indented as the line that opened it (a JSON string
    holds no raw line break, so only the structure can put one there). None when the opening line
    is not of that form. Only a guess: the caller parses exactly that text, and a wrong guess never
    parses (an object's text is complete exactly at its own closing bracket), so it falls back."""
    opener = text[index]
    if opener not in "{[":
        return None
    newline = text.find("\n", index + 1, index + 80)
    if newline < 0 or text[index + 1 : newline].strip(" \t\r"):
        return None
    line = text.rfind("\n", 0, index) + 1
    indent = len(text[line:index]) - len(text[line:index].lstrip(" \t"))
    if text[line + indent] != '"':  # a member's own line (`  "paths": {`), not `{"paths": {`
        return None
    close = text.find("\n" + text[line : line + indent] + ("}" if opener == "{" else "]"), newline)
    return None if close < 0 else close + indent + 2


def _orjson_value(span: str) -> Any:
    import orjson

    return orjson.loads(span.encode("latin-1"))


class LazySchemas(dict):  # type: ignore[type-arg]
    """A mapping of schema name → schema, each parsed from its JSON text on first access."""

    def __init__(self, spans: dict[str, tuple[int, int]], text: str, latin1: bool) -> None:
        super().__init__(dict.fromkeys(spans))
        self._spans = spans
        self._latin1 = latin1
        self._text = text  # the `schemas` object's own text only, not the whole document

    def __getitem__(self, key: str) -> Any:
        value = dict.__getitem__(self, key)
        if value is None and key in self._spans:
            start, end = self._spans.pop(key)
            if self._latin1:
                value = _latin1_value(self._text[start:end])
            else:
                value = json.loads(self._text[start:end])
            dict.__setitem__(self, key, value)
            if not self._spans:
                self._text = ""
        return value

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return self[key] if key in self else default

    def values(self) -> Any:  # type: ignore[override]
        return [self[k] for k in self]

    def items(self) -> Any:  # type: ignore[override]
        return [(k, self[k]) for k in self]

    def __iter__(self) -> Any:
        return iter(list(dict.keys(self)))

    def __reduce__(self) -> Any:
        return (dict, (dict(self.items()),))


def _lazy_schemas(
    text: str, index: int, scan: Callable[[str, int], tuple[Any, int]], latin1: bool
) -> tuple[Any, int]:
    # `scan`: the plain scanner (its values are dropped; only the end of each schema is used)
    """Walk `components/schemas`, recording where each schema's text is; parse none of them."""
    if text[index] != "{":
        raise _Irregular
    start = index
    spans: dict[str, tuple[int, int]] = {}
    index = _WS.match(text, index + 1).end()  # type: ignore[union-attr]
    if text[index] == "}":
        return {}, index + 1
    while True:
        if text[index] != '"':
            raise _Irregular
        key, index = scanstring(text, index + 1)
        index = _WS.match(text, index).end()  # type: ignore[union-attr]
        if text[index] != ":":
            raise _Irregular
        index = _WS.match(text, index + 1).end()  # type: ignore[union-attr]
        try:
            _, end = scan(text, index)  # parsed only to find its end, and dropped at once
        except StopIteration:
            raise _Irregular from None
        spans[_fix(key) if latin1 else key] = (index - start, end - start)
        index = _WS.match(text, end).end()  # type: ignore[union-attr]
        if text[index] == ",":
            index = _WS.match(text, index + 1).end()  # type: ignore[union-attr]
            continue
        if text[index] == "}":
            return LazySchemas(spans, text[start : index + 1], latin1), index + 1
        raise _Irregular


class _Irregular(Exception):
    """The lean walk met something it does not handle; parse the plain way."""


def _members(
    text: str, index: int, scan: Callable[[str, int], tuple[Any, int]],
    skip: frozenset[str], nested: dict[str, Callable[[str, int], tuple[Any, int]]], latin1: bool,
    plain: Callable[[str, int], tuple[Any, int]] | None = None,
) -> tuple[dict[str, Any], int]:
    """The members of the object at `index`: `scan` gives a member's final value, `plain` (default
    `scan`) only finds where a skipped member ends."""
    if text[index] != "{":
        raise _Irregular
    result: dict[str, Any] = {}
    index = _WS.match(text, index + 1).end()  # type: ignore[union-attr]
    if text[index] == "}":
        return result, index + 1
    while True:
        if text[index] != '"':
            raise _Irregular
        key, index = scanstring(text, index + 1)
        if latin1:
            key = _fix(key)
        index = _WS.match(text, index).end()  # type: ignore[union-attr]
        if text[index] != ":":
            raise _Irregular
        index = _WS.match(text, index + 1).end()  # type: ignore[union-attr]
        parse = nested.get(key)
        if parse is not None and text[index] == "{":
            value, index = parse(text, index)
        else:
            try:
                value, index = (plain or scan)(text, index) if key in skip else scan(text, index)
            except StopIteration:
                raise _Irregular from None
        if key not in skip:
            result[key] = value
        del value
        index = _WS.match(text, index).end()  # type: ignore[union-attr]
        if text[index] == ",":
            index = _WS.match(text, index + 1).end()  # type: ignore[union-attr]
            continue
        if text[index] == "}":
            return result, index + 1
        raise _Irregular


def loads_lean(text: str, latin1: bool = False) -> tuple[Any, bool] | None:
    """(parsed document, whether sections were left out); None when Latin-1 text needs a real decode."""
    plain = json.JSONDecoder().scan_once
    scan = _latin1_scanner(plain) if latin1 else plain
    start = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("{", start):
        return None if latin1 else (json.loads(text), False)

    def schemas(t: str, i: int) -> tuple[Any, int]:
        return _lazy_schemas(t, i, plain, latin1)

    def components(t: str, i: int) -> tuple[Any, int]:
        return _members(t, i, scan, SKIPPED_COMPONENTS, {"schemas": schemas}, latin1, plain)

    try:
        value, end = _members(text, start, scan, SKIPPED_TOP, {"components": components}, latin1, plain)
        if _WS.match(text, end).end() != len(text):  # type: ignore[union-attr]
            raise _Irregular
    except (_Irregular, IndexError, ValueError, RecursionError):
        if latin1:
            return None
        return json.loads(text), False
    return value, True
