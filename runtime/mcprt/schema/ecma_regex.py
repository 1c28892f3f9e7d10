"""JSON Schema `pattern`s as ECMA-262 regular expressions: a syntax check, and a translation for `regex`.

JSON Schema 2020-12 (Validation §6.3.3) says a `pattern` is an ECMA-262 regular expression, and the
validators of JavaScript clients compile it with the `u` flag (Unicode mode). API descriptions
contain both patterns Python's `re` cannot compile (Unicode property escapes `\\p{L}`, valid
ECMA-262 and used by every AWS description) and patterns no ECMA-262 engine accepts in Unicode mode
(`[\\d-_]`, `\\x{60}`, `(?i)`). So:

- `ecma_error(pattern)` parses the pattern by the ECMA-262 Unicode-mode grammar (ECMA-262 §22.2.1,
  with the `u`-flag static semantics) and returns why it is not valid, or None. A compiler keeps
  only valid patterns in the schemas it emits.
- `compile_pattern(pattern)` gives a compiled `regex` (the PyPI package, which knows `\\p{…}`) that
  matches as ECMA-262 does: `\\d`, `\\w` and `\\b` are ASCII, `.` excludes every line terminator,
  `$` is only the end of the string. A pattern that is not ECMA-262 falls back to `regex`'s own
  syntax; one neither understands gives None (the caller skips the check, it never raises).

Errors: none raised by either function.
"""

from __future__ import annotations

import functools
import re
from typing import Any

_SYNTAX = frozenset("^$\\.*+?()[]{}|")
_CONTROL = {"f": "\\f", "n": "\\n", "r": "\\r", "t": "\\t", "v": "\\x0b"}
_DIGITS = "0123456789"
_HEX = frozenset("0123456789abcdefABCDEF")
_WORD = "A-Za-z0-9_"
_CLASS_ESCAPES = {
    "d": ("[0-9]", "0-9"),
    "D": ("[^0-9]", None),
    "w": (f"[{_WORD}]", _WORD),
    "W": (f"[^{_WORD}]", None),
    "s": ("\\s", "\\s"),
    "S": ("\\S", "\\S"),
}
_ASCII_BOUNDARY = f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))"
_ASCII_NON_BOUNDARY = f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))"
_DOT = "[^\\n\\r\\u2028\\u2029]"


class _Invalid(Exception):
    pass


class _Parser:
    """Recursive descent over one pattern; builds the `regex` translation as it goes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.groups = 0
        self.names: list[str] = []
        self.backrefs: list[int] = []
        self.named_refs: list[str] = []

    # --- helpers ---------------------------------------------------------------------------

    def peek(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.text[i] if i < len(self.text) else ""

    def take(self) -> str:
        ch = self.peek()
        if not ch:
            raise _Invalid("unexpected end of pattern")
        self.pos += 1
        return ch

    def fail(self, message: str) -> _Invalid:
        return _Invalid(f"{message} at offset {self.pos}")

    # --- grammar ---------------------------------------------------------------------------

    def parse(self) -> str:
        out = self.disjunction()
        if self.pos < len(self.text):
            raise self.fail(f"unmatched {self.peek()!r}")
        for number in self.backrefs:
            if number > self.groups:
                raise _Invalid(f"back-reference \\{number} names no group")
        for name in self.named_refs:
            if name not in self.names:
                raise _Invalid(f"\\k<{name}> names no group")
        return out

    def disjunction(self) -> str:
        parts = [self.alternative()]
        while self.peek() == "|":
            self.pos += 1
            parts.append(self.alternative())
        return "|".join(parts)

    def alternative(self) -> str:
        out: list[str] = []
        while self.peek() and self.peek() not in "|)":
            out.append(self.term())
        return "".join(out)

    def term(self) -> str:
        ch = self.peek()
        if ch == "^":
            self.pos += 1
            return "^"
        if ch == "$":
            self.pos += 1
            return "\\Z"
        if ch == "\\" and self.peek(1) in ("b", "B"):
            self.pos += 2
            return _ASCII_BOUNDARY if self.text[self.pos - 1] == "b" else _ASCII_NON_BOUNDARY
        if ch == "(" and self.peek(1) == "?" and (self.peek(2) in ("=", "!")
                                                 or (self.peek(2) == "<" and self.peek(3) in ("=", "!"))):
            # Lookarounds are assertions: in Unicode mode they take no quantifier.
            head = "(?" + self.peek(2) + (self.peek(3) if self.peek(2) == "<" else "")
            self.pos += len(head)
            inner = self.disjunction()
            if self.peek() != ")":
                raise self.fail("unterminated group")
            self.pos += 1
            return head + inner + ")"
        atom = self.atom()
        return atom + self.quantifier()

    def quantifier(self) -> str:
        ch = self.peek()
        if ch in ("*", "+", "?"):
            self.pos += 1
            q = ch
        elif ch == "{":
            start = self.pos
            self.pos += 1
            low = self.digits()
            if low is None:
                raise self.fail("'{' must start a quantifier {n}, {n,} or {n,m} (escape it as \\{)")
            high: int | None = low
            if self.peek() == ",":
                self.pos += 1
                high = self.digits()
            if self.peek() != "}":
                raise self.fail("unterminated quantifier")
            self.pos += 1
            if high is not None and high < low:
                raise self.fail("quantifier range out of order")
            q = self.text[start:self.pos]
        else:
            return ""
        if self.peek() == "?":
            self.pos += 1
            q += "?"
        if self.peek() in ("*", "+", "?", "{"):
            raise self.fail("nothing to repeat")
        return q

    def digits(self) -> int | None:
        start = self.pos
        while self.peek() and self.peek() in _DIGITS:
            self.pos += 1
        return int(self.text[start:self.pos]) if self.pos > start else None

    def atom(self) -> str:
        ch = self.take()
        if ch == ".":
            return _DOT
        if ch == "(":
            return self.group()
        if ch == "[":
            return self.char_class()
        if ch == "\\":
            return self.atom_escape()
        if ch in ("*", "+", "?"):
            raise self.fail("nothing to repeat")
        if ch in _SYNTAX:  # ) ] { } | ^ $ cannot stand alone in Unicode mode
            raise self.fail(f"lone {ch!r} (escape it as \\{ch})")
        return _literal(ch)

    def group(self) -> str:
        head = "("
        if self.peek() == "?":
            if self.peek(1) == ":":
                self.pos += 2
                head = "(?:"
            elif self.peek(1) == "<":
                self.pos += 2
                name = self.group_name()
                if name in self.names:
                    raise self.fail(f"duplicate group name {name!r}")
                self.names.append(name)
                self.groups += 1
                head = f"(?P<{name}>"
            else:
                raise self.fail("invalid group: '(?' must be followed by ':', '=', '!', '<=', '<!' or '<name>'")
        else:
            self.groups += 1
        inner = self.disjunction()
        if self.peek() != ")":
            raise self.fail("unterminated group")
        self.pos += 1
        return head + inner + ")"

    def group_name(self) -> str:
        start = self.pos
        while self.peek() and self.peek() != ">":
            self.pos += 1
        name = self.text[start:self.pos]
        if self.peek() != ">" or not name or not (name[0].isalpha() or name[0] in "$_") \
                or not all(c.isalnum() or c in "$_" for c in name):
            raise self.fail("invalid group name")
        self.pos += 1
        return name

    def atom_escape(self) -> str:
        ch = self.peek()
        if ch and ch in "123456789":
            number = self.digits()
            assert number is not None
            self.backrefs.append(number)
            return f"(?:\\{number})"
        if ch == "k":
            self.pos += 1
            if self.peek() != "<":
                raise self.fail("\\k must be followed by <name>")
            self.pos += 1
            name = self.group_name()
            self.named_refs.append(name)
            return f"(?P={name})"
        if ch in _CLASS_ESCAPES:
            self.pos += 1
            return _CLASS_ESCAPES[ch][0]
        if ch in ("p", "P"):
            return self.property_escape()
        return _literal(self.character_escape(in_class=False))

    def property_escape(self) -> str:
        kind = self.take()
        if self.peek() != "{":
            raise self.fail(f"\\{kind} must be followed by {{Property}}")
        end = self.text.find("}", self.pos)
        if end < 0:
            raise self.fail("unterminated property escape")
        body = self.text[self.pos + 1:end]
        name, _, value = body.partition("=")
        if not name or not all(c.isalnum() or c == "_" for c in name + value) or (_ and not value):
            raise self.fail(f"invalid property escape \\{kind}{{{body}}}")
        self.pos = end + 1
        return f"\\{kind}{{{body}}}"

    def character_escape(self, in_class: bool) -> str:
        """One escaped character (the text after the backslash is consumed)."""
        ch = self.take()
        if ch in _CONTROL:
            return _decode(_CONTROL[ch])
        if ch == "c":
            letter = self.peek()
            if letter.isascii() and letter.isalpha():
                self.pos += 1
                return chr(ord(letter) % 32)
            raise self.fail("\\c must be followed by a letter")
        if ch == "0":
            if self.peek() and self.peek() in _DIGITS:
                raise self.fail("octal escapes are not allowed in Unicode mode")
            return "\0"
        if ch == "x":
            hex_text = self.text[self.pos:self.pos + 2]
            if len(hex_text) != 2 or not set(hex_text) <= _HEX:
                raise self.fail("\\x must be followed by two hex digits")
            self.pos += 2
            return chr(int(hex_text, 16))
        if ch == "u":
            return self.unicode_escape()
        if ch in _SYNTAX or ch == "/" or (in_class and ch == "-"):
            return ch
        raise self.fail(f"\\{ch} is not a valid escape in Unicode mode")

    def unicode_escape(self) -> str:
        if self.peek() == "{":
            end = self.text.find("}", self.pos)
            body = self.text[self.pos + 1:end] if end > 0 else ""
            if not body or not set(body) <= _HEX or int(body, 16) > 0x10FFFF:
                raise self.fail("\\u{…} must hold a code point up to 10FFFF")
            self.pos = end + 1
            return chr(int(body, 16))
        code = self.hex4()
        if 0xD800 <= code <= 0xDBFF and self.text[self.pos:self.pos + 2] == "\\u":
            save = self.pos
            self.pos += 2
            try:
                low = self.hex4()
            except _Invalid:
                self.pos = save
                return chr(code)
            if 0xDC00 <= low <= 0xDFFF:
                return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))
            self.pos = save
        return chr(code)

    def hex4(self) -> int:
        hex_text = self.text[self.pos:self.pos + 4]
        if len(hex_text) != 4 or not set(hex_text) <= _HEX:
            raise self.fail("\\u must be followed by four hex digits or {code point}")
        self.pos += 4
        return int(hex_text, 16)

    def char_class(self) -> str:
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        items: list[str] = []
        while True:
            if not self.peek():
                raise self.fail("unterminated character class")
            if self.peek() == "]":
                self.pos += 1
                break
            first = self.class_atom()
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.pos += 1
                second = self.class_atom()
                if isinstance(first, tuple) or isinstance(second, tuple):
                    raise self.fail("a class escape such as \\d cannot bound a range in Unicode mode")
                if ord(first) > ord(second):
                    raise self.fail("character class range out of order")
                items.append(_literal(first, True) + "-" + _literal(second, True))
            else:
                items.append(first[1] if isinstance(first, tuple) else _literal(first, True))
        if not items:
            return "[\\s\\S]" if negated else "(?!)"  # [^] is any character, [] none
        return "[" + ("^" if negated else "") + "".join(items) + "]"

    def class_atom(self) -> str | tuple[str, str]:
        """A character, or ("escape", translation) for a class escape like \\d or \\p{L}."""
        ch = self.take()
        if ch != "\\":
            return ch
        nxt = self.peek()
        if nxt == "b":
            self.pos += 1
            return "\b"
        if nxt in _CLASS_ESCAPES:
            self.pos += 1
            inside = _CLASS_ESCAPES[nxt][1]
            if inside is None:  # \D, \W inside a class: a nested negated set (regex V1 syntax)
                inside = "\\x00-/:-\\U0010ffff" if nxt == "D" else "\\x00-/:-@\\[-^`{-\\U0010ffff"
            return ("escape", inside)
        if nxt in ("p", "P"):
            return ("escape", self.property_escape())
        return self.character_escape(in_class=True)


def _decode(escape: str) -> str:
    return escape.encode().decode("unicode_escape")


def _literal(ch: str, in_class: bool = False) -> str:
    """One character written safely for `regex` (escaped when it means something there)."""
    special = "\\]^-[" if in_class else "\\.^$*+?()[]{}|"
    if ch in special or ch in " #&~":
        return "\\" + ch
    if not ch.isprintable():
        return f"\\U{ord(ch):08x}" if ord(ch) > 0xFFFF else f"\\u{ord(ch):04x}"
    return ch


def ecma_error(pattern: str) -> str | None:
    """Why `pattern` is not an ECMA-262 regular expression in Unicode mode, or None when it is."""
    try:
        translated = _Parser(pattern).parse()
    except _Invalid as exc:
        return str(exc)
    except RecursionError:
        return "nested too deeply"
    if not _compiles_with_re(translated) and _compile_regex(translated) is None:
        return "uses a Unicode property this engine does not know"
    return None


def _compiles_with_re(translated: str) -> bool:
    """Whether the standard library compiles the translation: then `regex`, a superset of `re`'s
    syntax, does too (a test checks it), and a compile need not load `regex` (~0.01 s) to accept
    the patterns of a description; only those `re` refuses (`\\p{…}`) are left to `regex`."""
    try:
        re.compile(translated)
    except (re.error, OverflowError, ValueError, RecursionError):
        return False
    return True


@functools.lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> Any:
    """A compiled `regex` for `pattern` with ECMA-262 meaning, or None when nothing can compile it."""
    try:
        translated: str | None = _Parser(pattern).parse()
    except (_Invalid, RecursionError):
        translated = None
    if translated is not None:
        compiled = _compile_regex(translated)
        if compiled is not None:
            return compiled
    return _compile_regex(pattern)  # not ECMA-262: the pattern's author may have meant another dialect


def _compile_regex(text: str) -> Any:
    import regex

    try:
        return regex.compile(text, regex.VERSION0)
    except Exception:  # regex raises error, OverflowError, ValueError… for what it cannot compile
        return None
