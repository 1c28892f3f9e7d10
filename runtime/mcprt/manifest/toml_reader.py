"""Reads TOML with tomllib, and recovers node positions with a small scanner.

tomllib gives data but no positions, so `_TomlScanner` walks the text once to find where each key
(table headers, dotted keys, inline tables, arrays) and each value stands. It does not validate
TOML — tomllib already did — it only has to agree with it on valid documents (TOML 1.0,
https://toml.io/en/v1.0.0). Two guards keep a scanner fault from costing more than positions: every
loop must move forward (else `_ScanDisagrees`), and the paths it found must be exactly the paths of
tomllib's data. When either fails, the manifest loads without positions (every diagnostic at the
file's 1:1, its message still naming the dotted path): never a hang, never an internal error.
"""

from __future__ import annotations

import bisect
import re
import tomllib
from typing import Any

from ..errors import Diagnostic
from .positions import Path, Position, PositionIndex

_TOML_ERROR_AT = re.compile(r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)\s*$", re.S)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# A number, boolean, date or time: everything up to what may follow a value (a date-time may hold a space).
_SCALAR = re.compile(r"[^,\]}\r\n#]+")
# One-line strings; the runs of a multi-line string's text that hold no quote (nor, in a basic one, backslash).
_BASIC = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_LITERAL = re.compile(r"'[^'\n]*'")
_ML_BASIC_PLAIN = re.compile(r'[^"\\]*')
_ML_LITERAL_PLAIN = re.compile(r"[^']*")
# A multi-line string whose text starts on the next line (TOML drops that first newline).
_BLOCK_START = re.compile(r"(\"\"\"|''')\r?\n")


def read_toml(text: str, file: str) -> tuple[Any, PositionIndex, list[Diagnostic]]:
    """Parse TOML text; on a syntax error return no data and one diagnostic at the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_ERROR_AT.match(str(exc))
        if match:
            line, col = int(match["line"]), int(match["col"])
            message = match["msg"]
        else:
            line, col, message = 1, 1, str(exc)
        if message.startswith(("Cannot overwrite", "Cannot declare")):
            line, col, message = _at_duplicate(text, line, message)
        return None, PositionIndex(Position(file, 1, 1)), [Diagnostic(file, line, col, f"TOML syntax error: {message}")]
    index, values = toml_positions(text, file, data)
    for path, source in values.items():  # each scalar's text as written, which errors quote (`written`)
        index.nodes[path].written = source
    return data, index, []


def toml_positions(text: str, file: str, data: dict[str, Any]) -> tuple[PositionIndex, dict[Path, str]]:
    """Positions of every node of a valid TOML document, and each scalar value's text as written.

    `data` is `tomllib.loads(text)`. Returns (index, values): `values` maps the path of each string,
    number, boolean, date/time and empty array or inline table to its source text, e.g. `'''a'''` or
    `1979-05-27 07:32:00Z`. Should the scanner not agree with `data`, the index holds no nodes (every
    path resolves to the file's 1:1) and `values` is empty: positions help, the data is what counts.
    """
    index = PositionIndex(Position(file, 1, 1))
    scanner = _TomlScanner(text, file, index)
    try:
        scanner.scan()
    except _ScanDisagrees:
        return PositionIndex(Position(file, 1, 1)), {}
    if set(index.nodes) != set(_paths(data)):
        return PositionIndex(Position(file, 1, 1)), {}
    return index, scanner.values


def _paths(node: Any, prefix: Path = ()) -> list[Path]:
    """Every key and item path below `node` (tomllib's data), in the `Path` form the index uses."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    out: list[Path] = []
    for key, child in items:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


def _at_duplicate(text: str, line: int, message: str) -> tuple[int, int, str]:
    """tomllib reports a repeated key or table at the end of its line; point at the key instead."""
    lines = text.splitlines()
    source = lines[line - 1] if 1 <= line <= len(lines) else ""
    col = len(source) - len(source.lstrip()) + 1
    key = re.match(r"\s*(\[*[^=\]]*?\]*)\s*(=|$)", source)
    name = key.group(1).strip() if key else ""
    if not name:
        return line, col, message
    return line, col, f"duplicate {'table' if name.startswith('[') else 'key'} {name} ({message})"


class _ScanDisagrees(Exception):
    """The scanner met text it does not expect in a document tomllib accepted (a scanner bug)."""


class _TomlScanner:
    """Single pass over valid TOML text recording key and value positions by path.

    Every loop advances `pos` or stops: a string or comment ends at its closing delimiter or at the
    end of the text, and the document, array and inline-table loops check each turn consumed text.
    """

    def __init__(self, text: str, file: str, index: PositionIndex) -> None:
        self.text = text
        self.file = file
        self.index = index
        self.pos = 0
        self.array_tables: dict[Path, int] = {}  # `[[x]]` path (its parents' indexes included) → last index
        self.values: dict[Path, str] = {}
        self.line_starts = [0, *(match.end() for match in re.finditer("\n", text))]

    # -- helpers -----------------------------------------------------------------------------
    def _position(self, offset: int) -> Position:
        line = bisect.bisect_right(self.line_starts, offset)  # a lookup, not a count from the top per key
        return Position(self.file, line, offset - self.line_starts[line - 1] + 1)

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _expect(self, token: str) -> None:
        if not self.text.startswith(token, self.pos):
            raise _ScanDisagrees(f"expected {token!r} at offset {self.pos}")
        self.pos += len(token)

    def _skip_ws(self, newlines: bool = False) -> None:
        """Skip spaces, tabs, comments and (with `newlines`) line ends; a `\\r` only in `\\r\\n`."""
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t" or (newlines and (ch == "\n" or self.text.startswith("\r\n", self.pos))):
                self.pos += 1
            elif ch == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def _key_part(self) -> tuple[str, int]:
        start = self.pos
        if self._peek() in ('"', "'"):
            raw = self._string()
            try:  # a quoted key is a one-line string: tomllib decodes its escapes as it did for the data
                return tomllib.loads(f"k = {raw}")["k"], start
            except tomllib.TOMLDecodeError as exc:
                raise _ScanDisagrees(f"quoted key {raw!r}") from exc
        match = _BARE_KEY.match(self.text, self.pos)
        if not match:
            raise _ScanDisagrees(f"unexpected character in key at offset {self.pos}")
        self.pos = match.end()
        return match.group(0), start

    def _dotted_key(self) -> list[tuple[str, int]]:
        parts = [self._key_part()]
        while True:
            self._skip_ws()
            if self._peek() != ".":
                return parts
            self.pos += 1
            self._skip_ws()
            parts.append(self._key_part())

    def _string(self) -> str:
        """Move past the string at `pos` (any of TOML's four forms); return its source text."""
        start, quote = self.pos, self.text[self.pos]
        if not self.text.startswith(quote * 3, start):
            match = (_BASIC if quote == '"' else _LITERAL).match(self.text, start)
            if match is None:
                raise _ScanDisagrees("unterminated string")
            self.pos = match.end()
            return match.group(0)
        plain = _ML_BASIC_PLAIN if quote == '"' else _ML_LITERAL_PLAIN
        i = start + 3
        while True:  # each turn moves i forward by at least one character, or ends
            i = plain.match(self.text, i).end()  # type: ignore[union-attr]  # (matches the empty string too)
            if i >= len(self.text):
                raise _ScanDisagrees("unterminated multi-line string")
            if self.text[i] == "\\":  # only in a basic string: `plain` stops at no backslash in a literal one
                i += 2  # an escape (`\"` is a quote, not a delimiter) or a line-ending backslash
            elif self.text.startswith(quote * 3, i):
                run = 3
                while run < 5 and self.text.startswith(quote, i + run):
                    run += 1  # up to two quotes right before the delimiter belong to the string
                self.pos = i + run
                return self.text[start : self.pos]
            else:
                i += 1  # a quote or two, not a delimiter

    # -- grammar -----------------------------------------------------------------------------
    def scan(self) -> None:
        table: Path = ()
        while True:
            self._skip_ws(newlines=True)
            if self.pos >= len(self.text):
                return
            before = self.pos
            if self._peek() == "[":
                table = self._header()
            else:
                self._key_value(table)
            self._skip_ws()
            if self.pos < len(self.text):
                self._expect("\r\n" if self.text.startswith("\r\n", self.pos) else "\n")
            if self.pos <= before:
                raise _ScanDisagrees(f"no progress at offset {before}")

    def _header(self) -> Path:
        is_array = self.text.startswith("[[", self.pos)
        self.pos += 2 if is_array else 1
        self._skip_ws()
        parts = self._dotted_key()
        self._skip_ws()
        self._expect("]]" if is_array else "]")
        path: Path = ()
        for i, (name, offset) in enumerate(parts):
            path = (*path, name)
            here = self._position(offset)
            if path not in self.index.nodes:
                self.index.add(path, here, here)
            if i == len(parts) - 1 and is_array:
                n = self.array_tables.get(path, -1) + 1
                self.array_tables[path] = n
                path = (*path, n)
                self.index.add(path, here, here)
            elif path in self.array_tables:  # `[a.b]` after `[[a]]`: a table in a's last element
                path = (*path, self.array_tables[path])
        return path

    def _key_value(self, table: Path) -> None:
        parts = self._dotted_key()
        path = table
        for name, offset in parts[:-1]:
            path = (*path, name)
            if path not in self.index.nodes:
                here = self._position(offset)
                self.index.add(path, here, here)
        name, offset = parts[-1]
        path = (*path, name)
        self._skip_ws()
        self._expect("=")
        self._skip_ws()
        value_at = self._position(self.pos)
        # A multi-line string starting on the next line: its lines are the file's lines verbatim.
        block = _BLOCK_START.match(self.text, self.pos) is not None
        self.index.add(path, value_at, self._position(offset), block=block, verbatim=block)
        self._value(path)

    def _value(self, path: Path) -> None:
        start = self.pos
        ch = self._peek()
        if ch in ('"', "'"):
            self._string()
        elif ch == "{":
            if self._inline_table(path):
                return
        elif ch == "[":
            if self._array(path):
                return
        else:
            match = _SCALAR.match(self.text, self.pos)
            if not match:
                raise _ScanDisagrees(f"no value at offset {self.pos}")
            self.pos = match.end()
        self.values[path] = self.text[start : self.pos].rstrip(" \t")

    def _inline_table(self, path: Path) -> int:
        """Move past `{…}` recording its keys; return how many it has."""
        self.pos += 1
        count = 0
        while True:
            self._skip_ws(newlines=True)
            if self._peek() == "}":
                self.pos += 1
                return count
            before = self.pos
            self._key_value(path)
            count += 1
            self._skip_ws(newlines=True)
            if self._peek() == ",":
                self.pos += 1
            if self.pos <= before or self.pos >= len(self.text):
                raise _ScanDisagrees(f"inline table at offset {before}")

    def _array(self, path: Path) -> int:
        """Move past `[…]` recording its items; return how many it has."""
        self.pos += 1
        i = 0
        while True:
            self._skip_ws(newlines=True)
            if self._peek() == "]":
                self.pos += 1
                return i
            before = self.pos
            item = (*path, i)
            self.index.add(item, self._position(self.pos))
            self._value(item)
            i += 1
            self._skip_ws(newlines=True)
            if self._peek() == ",":
                self.pos += 1
            if self.pos <= before or self.pos >= len(self.text):
                raise _ScanDisagrees(f"array at offset {before}")
