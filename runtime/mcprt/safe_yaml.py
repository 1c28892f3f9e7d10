"""YAML text to plain data, without positions: API descriptions, recorded cases, the catalog's manifests.

ruamel's pure-Python parser (`YAML(typ="safe", pure=True)`) is the reference: mcprt reads YAML 1.2
as it does. Its libyaml-backed parser (the `ruamel.yaml.clib` extension: 5.5x less CPU on
Blockfrost's 500 KB description, 1,650 → 300 ms, see bench/yaml_spec.py) builds the nodes in C, but
the same Python resolver and constructor turn them into values, so `yes`, `0o17`, `1_000`, timestamps, merge
keys, tags and duplicate keys come out alike. libyaml is a YAML 1.1 scanner, though, and it differs
from the reference on a few inputs (each a case in tests/openapi/test_openapi_yaml_parsers.py):

- a `%YAML 1.1` directive: the reference then resolves `yes`/`on`/`017`/`1:20` as YAML 1.1 does, libyaml
  always as 1.2 (ruamel's C path does not pass the directive on);
- NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR: line breaks to libyaml, text to YAML 1.2 (§5.4);
- a byte order mark after the start: libyaml drops it, the reference keeps it in the text;
- an empty node tagged with the non-specific tag (`!` alone, or verbatim: `!<!>`, `!<%21>`): libyaml
  reads `""`, the reference null;
- a block scalar at the root, whose lines may start at column 0: libyaml ends it at a line starting
  with `#` or `...`, the reference reads them as its text;
- a block scalar header followed straight by `#` (`|#`): libyaml reads a comment, the reference (as
  YAML 1.2's `s-b-comment` says) wants white space first and refuses it.

Text with any of these is read by the reference parser (`_c_reads_alike`). Text libyaml refuses is
read again by the reference, so every error (and anything the reference accepts that libyaml does
not, e.g. `"\\ud83d"` escapes) is today's, word for word. What libyaml accepts and the reference
refused stays accepted, deliberately, as YAML 1.2 reads it too:

- tabs as separation white space (`key:\\tvalue`, a tab before a comment or at the end of a line), which
  YAML 1.2 allows (§6.1-6.2, `s-white`);
- a block scalar whose first lines hold only spaces, fewer than the first text line (`x: |`, then `"  "`,
  then `"    text"`): YAML 1.2 detects the indentation from the first non-empty line (§8.1.1.1) and reads
  the spaces-only line as an empty line (`"\\ntext\\n"`); the reference refused it ("more indented follow up
  line than first in a block scalar").

Errors raised while building the values (`!!int` on an empty scalar, `!!timestamp 2001-13-45`,
`!!float x`, an escape past U+10FFFF, a key holding a list: `[[a]]: 1`) are YAML errors too (BadValue
or ScannerError, with the line and column), never a bare ValueError, IndexError or TypeError.

Depth is bounded on both paths (MAX_DEPTH): libyaml composes nodes by C recursion, unchecked by
Python's recursion limit (`[` nested 100,000 deep: the process dies of SIGSEGV), and both scanners
walk every open flow level at each token (the pure one took 4-8 s of CPU to refuse 100,000 levels).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.parser import Parser as PureParser
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scanner import Scanner, ScannerError

MAX_DEPTH = 400
"""Nesting read at most (collections and the scalar inside, each one level), on both paths. Set below
what Python's recursion limit of 1000 lets the pure composer (two frames a level: it gave out near 490)
and the OpenAPI loader's `_plain` (two a level) reach, with ~200 frames left for the caller's stack, so
the same number is the limit whichever parser reads the text. JSON documents (json.loads: ~990) get
further, and no real API description comes near (Blockfrost's deepest: 20 levels, Stripe's 18)."""

# Python errors a constructor or the reference scanner lets out on bad values (`!!int` on an empty
# scalar: IndexError; `!!timestamp 2001-13-45`, `!!float x`, `"\\U0011FFFF"`: ValueError).
_VALUE_ERRORS = (ValueError, IndexError, TypeError, KeyError, OverflowError, AttributeError)

# The inputs where libyaml and the reference build different trees (see the module docstring). A
# false match only costs the C speed-up, never a difference.
_LINE_BREAKS_1_1 = ("\x85", "\u2028", "\u2029")
# `!` alone as a token: after a separator (or at the start) and before one. The `!` comes first so the
# search skips ahead to each `!` (0.2 ms on Blockfrost's 500 KB; a leading look-behind: 13 ms).
_BARE_TAG = re.compile(r"!(?<![^ \t\r\n\[{,\ufeff]!)(?=[ \t\r\n,\]}]|\Z)")
# The same tag written verbatim (YAML 1.2 §6.8.1, `c-verbatim-tag`), its `!` plain or URI-escaped.
_VERBATIM_BARE_TAG = re.compile(r"!<(?:!|%21)>")
# The root node starts with a block scalar indicator or node properties (tag, anchor): the first thing
# after blank, comment and directive lines and `---`. (A mapping or sequence at the root starts otherwise.)
_ROOT_SCALAR = re.compile(r"\A\ufeff?(?:(?:[ \t]*(?:#[^\r\n]*)?|%[^\r\n]*|---[ \t]*(?:#[^\r\n]*)?)(?:\r\n|\n|\r))*"
                          r"(?:---)?[ \t]*[|>!&]")
# `|#`, `>-#`, `|2+#`: a block scalar header (indicator, then up to two of indentation and chomping) and `#`.
_HEADER_COMMENT = re.compile(r"#(?:(?<=[|>]#)|(?<=[|>][-+1-9]#)|(?<=[|>][-+1-9][-+1-9]#))")


class TooDeep(YAMLError):
    """The text nests collections more than MAX_DEPTH deep (or, only when the caller's own stack is
    ~200 frames deep, deeper than the pure parser's recursion reaches)."""

    def __init__(self, limit: int | None = MAX_DEPTH) -> None:
        self.limit = limit  # None: the pure parser's recursion gave out first (a deep caller stack)
        self.detail = f" (more than {limit} levels)" if limit else ""
        super().__init__(f"the YAML is nested too deeply{self.detail}")


class BadValue(MarkedYAMLError):
    """A scalar its tag cannot be built from (`!!int` with no digits, `!!timestamp 2001-13-45`), or a
    mapping whose key cannot be one (`[[a]]: 1`, unhashable): the constructor's own ValueError,
    IndexError or TypeError, worded with the node's line and column."""


class _Constructor(SafeConstructor):
    """ruamel's safe constructor, whose Python errors on a bad value become BadValue at the node."""

    def construct_non_recursive_object(self, node: Any, tag: Any = None) -> Any:
        pending = len(self.state_generators)
        try:
            data = super().construct_non_recursive_object(node, tag)
        except _VALUE_ERRORS as exc:
            raise _bad_value(node, exc) from None
        # A collection is filled later, by a generator step outside this call: mark those steps too.
        self.state_generators[pending:] = [_marked(steps, node) for steps in self.state_generators[pending:]]
        return data


def _marked(steps: Iterator[Any], node: Any) -> Iterator[Any]:
    try:
        yield from steps
    except _VALUE_ERRORS as exc:  # `[[a]]: 1`, `!!omap [[a]: 1]`: a key holding a list is unhashable
        raise _bad_value(node, exc) from None


def _bad_value(node: Any, exc: Exception) -> BadValue:
    short = str(node.tag).replace("tag:yaml.org,2002:", "!!")
    if isinstance(node.value, str):
        return BadValue(None, None, f"{node.value[:40]!r} is not a valid {short} value ({exc})", node.start_mark)
    return BadValue(None, None, f"this {short} cannot be built ({exc})", node.start_mark)


class _DepthResolver(VersionedResolver):
    """ruamel's YAML 1.2 resolver that counts nesting as nodes are composed: both composers (the C one
    too) call `descend_resolver` before each node and `ascend_resolver` after it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._depth = 0

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise TooDeep()
        super().descend_resolver(current_node, current_index)

    def ascend_resolver(self) -> None:
        self._depth -= 1
        super().ascend_resolver()


class _Scanner(Scanner):
    """The reference scanner, bounded: it stops at a `[`/`{` past MAX_DEPTH (it walks every open flow
    level at each token: 4-8 s of CPU before its recursion gave out on 100,000 levels), and refuses a `%YAML 1.x` directive other
    than 1.1 or 1.2 as a YAML error (ruamel asserts on it: an AssertionError, or a KeyError under -O)."""

    def fetch_more_tokens(self) -> None:
        try:
            super().fetch_more_tokens()
        except _VALUE_ERRORS as exc:  # `"\\U0011FFFF"`: chr() past U+10FFFF
            raise ScannerError(None, None, f"invalid character ({exc})", self.reader.get_mark()) from None

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:
        if self.flow_level >= MAX_DEPTH:
            raise TooDeep()
        super().fetch_flow_collection_start(TokenClass, to_push)

    def scan_yaml_directive_value(self, start_mark: Any) -> Any:
        major, minor = super().scan_yaml_directive_value(start_mark)
        if major == 1 and minor not in (1, 2):  # another major version: the parser says it is incompatible
            raise ScannerError("while scanning a directive", start_mark,
                               f"unsupported YAML version {major}.{minor} (YAML 1.2 and 1.1 are read)",
                               start_mark)  # the problem is the directive, not where its number ended
        return major, minor


def c_parser_available() -> bool:
    """Whether ruamel found its libyaml extension (`ruamel.yaml.clib`): CPython wheels carry it; on
    other interpreters, or when installed without it, everything is read by the pure parser."""
    return YAML(typ="safe").Parser is not PureParser


def load(text: str) -> Any:
    """The single YAML document in `text` as Python values (dicts, lists, str, int, float, bool, None,
    datetime/date, bytes), as ruamel's pure YAML 1.2 parser reads it (see the module docstring for
    what differs).

    Errors: ruamel's YAMLError subclasses, as the pure parser raises them (MarkedYAMLError carries the
    line and column); BadValue (a MarkedYAMLError) for a scalar its tag cannot be built from; TooDeep
    (a YAMLError) past MAX_DEPTH, or when the caller's own stack leaves the pure parser too little
    recursion for it. MemoryError is let out as it is."""
    if _c_reads_alike(text):
        fast = YAML(typ="safe")
        fast.Resolver = _DepthResolver
        fast.Constructor = _Constructor
        try:
            return fast.load(text)
        except (TooDeep, MemoryError):  # the reference would only fail again, later (or take the rest of memory)
            raise
        except Exception:  # noqa: BLE001 - whatever libyaml refuses, the reference decides (and words the error)
            pass
    return _load_pure(text)


def _load_pure(text: str) -> Any:
    reference = YAML(typ="safe", pure=True)
    reference.Resolver = _DepthResolver
    reference.Scanner = _Scanner
    reference.Constructor = _Constructor
    try:
        return reference.load(text)
    except RecursionError:
        raise TooDeep(None) from None


def _c_reads_alike(text: str) -> bool:
    """Whether libyaml may read `text`: the extension is there and the text has none of the inputs on
    which it builds another tree than the reference."""
    if not _C_PARSER:
        return False
    if "%YAML" in text or any(ch in text for ch in _LINE_BREAKS_1_1) or text.find("\ufeff", 1) != -1:
        return False
    if _ROOT_SCALAR.match(text):
        return False
    if "!" in text and (_BARE_TAG.search(text) is not None or _VERBATIM_BARE_TAG.search(text) is not None):
        return False
    return "#" not in text or _HEADER_COMMENT.search(text) is None


_C_PARSER = c_parser_available()
