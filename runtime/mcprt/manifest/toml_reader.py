"""Reads TOML with tomllib, and recovers node positions with a small scanner.

tomllib gives data but no positions, so `_TomlScanner` walks the text once to find where each
key (table headers, dotted keys, inline tables, arrays) stands. It does not validate TOML —
tomllib already did — it only needs to agree with it on valid documents.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from ..errors import Diagnostic
from .positions import Path, Position, PositionIndex

_TOML_ERROR_AT = re.compile(r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)\s*$", re.S)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def read_toml(text: str, file: str) -> tuple[Any, PositionIndex, list[Diagnostic]]:
    """Parse TOML text; on a syntax error return no data and one diagnostic at the problem."""
    index = PositionIndex(Position(file, 1, 1))
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
        return None, index, [Diagnostic(file, line, col, f"TOML syntax error: {message}")]
    _TomlScanner(text, file, index).scan()
    return data, index, []


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


class _TomlScanner:
    """Single pass over TOML text recording key and value positions by path."""

    def __init__(self, text: str, file: str, index: PositionIndex) -> None:
        self.text = text
        self.file = file
        self.index = index
        self.pos = 0
        self.array_tables: dict[Path, int] = {}

    # -- helpers -----------------------------------------------------------------------------
    def _position(self, offset: int) -> Position:
        line = self.text.count("\n", 0, offset) + 1
        start = self.text.rfind("\n", 0, offset) + 1
        return Position(self.file, line, offset - start + 1)

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _skip_ws(self, newlines: bool = False) -> None:
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.pos += 1
            elif ch == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def _key_part(self) -> tuple[str, int]:
        start = self.pos
        ch = self._peek()
        if ch in "\"'":
            value = self._string()
            return value, start
        match = _BARE_KEY.match(self.text, self.pos)
        if not match:
            raise ValueError("unexpected character in key")
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
        quote = self.text[self.pos]
        triple = self.text.startswith(quote * 3, self.pos)
        if triple:
            end = self.text.find(quote * 3, self.pos + 3)
            while end >= 0 and self.text.startswith(quote, end + 3):
                end += 1  # up to two quotes may end a multi-line string
            raw = self.text[self.pos + 3 : end]
            self.pos = end + 3
            return raw
        i = self.pos + 1
        while i < len(self.text) and self.text[i] != quote:
            i += 2 if quote == '"' and self.text[i] == "\\" else 1
        raw = self.text[self.pos + 1 : i]
        self.pos = i + 1
        if quote == '"':
            try:
                return tomllib.loads(f'k = "{raw}"')["k"]
            except tomllib.TOMLDecodeError:
                return raw
        return raw

    # -- grammar -----------------------------------------------------------------------------
    def scan(self) -> None:
        table: Path = ()
        while self.pos < len(self.text):
            self._skip_ws(newlines=True)
            if self.pos >= len(self.text):
                break
            if self._peek() == "[":
                table = self._header()
            else:
                self._key_value(table)
            self._skip_ws()
            if self._peek() == "\n":
                self.pos += 1

    def _header(self) -> Path:
        is_array = self.text.startswith("[[", self.pos)
        self.pos += 2 if is_array else 1
        self._skip_ws()
        parts = self._dotted_key()
        self._skip_ws()
        self.pos += 2 if is_array else 1
        path: Path = ()
        for i, (name, offset) in enumerate(parts):
            path = (*path, name)
            if i == len(parts) - 1 and is_array:
                n = self.array_tables.get(path, -1) + 1
                self.array_tables[path] = n
                here = self._position(offset)
                if path not in self.index.nodes:
                    self.index.add(path, here, here)
                path = (*path, n)
                self.index.add(path, here, here)
            elif path not in self.index.nodes:
                here = self._position(offset)
                self.index.add(path, here, here)
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
        self.pos += 1  # '='
        self._skip_ws()
        value_at = self._position(self.pos)
        # A multi-line string whose text starts on the next line (TOML drops that first newline);
        # its lines are the file's lines verbatim, indentation included.
        block = re.match(r"(\"\"\"|''')\r?\n", self.text[self.pos : self.pos + 5]) is not None
        self.index.add(path, value_at, self._position(offset), block=block, verbatim=block)
        self._value(path)

    def _value(self, path: Path) -> None:
        ch = self._peek()
        if ch in "\"'":
            self._string()
        elif ch == "{":
            self._inline_table(path)
        elif ch == "[":
            self._array(path)
        else:
            match = re.compile(r"[^,\]\}\n#]+").match(self.text, self.pos)
            self.pos = match.end() if match else self.pos + 1

    def _inline_table(self, path: Path) -> None:
        self.pos += 1
        while True:
            self._skip_ws(newlines=True)
            if self._peek() in ("}", ""):
                self.pos += 1
                return
            self._key_value(path)
            self._skip_ws(newlines=True)
            if self._peek() == ",":
                self.pos += 1

    def _array(self, path: Path) -> None:
        self.pos += 1
        i = 0
        while True:
            self._skip_ws(newlines=True)
            if self._peek() in ("]", ""):
                self.pos += 1
                return
            item = (*path, i)
            self.index.add(item, self._position(self.pos))
            self._value(item)
            i += 1
            self._skip_ws(newlines=True)
            if self._peek() == ",":
                self.pos += 1
