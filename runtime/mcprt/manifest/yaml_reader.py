"""Reads YAML with ruamel.yaml in round-trip mode so that every node keeps its line and column.

Returns plain Python data (dict/list/str/int/float/bool/None) plus a PositionIndex; the
round-trip node types never leave this module.
"""

from __future__ import annotations

import datetime as _dt
import functools
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString
from ruamel.yaml.scanner import RoundTripScanner

from ..errors import Diagnostic
from .limits import MAX_DEPTH, LimitExceeded, NodeBudget
from .positions import Path, Position, PositionIndex


def plain_reads_as_string(text: str) -> bool:
    """Whether `text`, written as a plain (unquoted) YAML scalar, is read back by `read_yaml` as that
    same string: not as an int (`1_000_000`, `0x1F`), float (`1e3`, `.inf`), bool (`true`), null
    (`null`, `~`) or date (`2024-01-01`) — ruamel's resolver decides, the one `read_yaml` uses
    (YAML 1.2 core schema plus its `_` digit separators and timestamps). Writers of manifests
    (`mcprt init`) quote every other string."""
    return _resolver().resolve(ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str"


@functools.lru_cache(maxsize=1)
def _resolver() -> Any:
    return YAML(typ="rt").resolver


class _TooDeep(Exception):
    def __init__(self, line: int, column: int) -> None:
        super().__init__(line, column)
        self.line, self.column = line, column  # 0-based, of the `[` or `{` past the limit


class _FlowDepthScanner(RoundTripScanner):
    """ruamel's round-trip scanner that stops at a `[` or `{` opened more than MAX_DEPTH flow levels deep.

    Why: the scanner keeps one possible simple key per open flow level and walks all of them at each
    token, so `[` nested 5,000 deep cost ~8 s CPU before the parser's recursion gave up (a manifest
    saved in a pull request, or while `mcprt up` watches it). Nothing refused here could be accepted:
    data nested deeper than MAX_DEPTH is refused when built (`_plain`), and each open flow level is
    one level of the data."""

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:
        if self.flow_level >= MAX_DEPTH + 1:  # this one would be level MAX_DEPTH + 2: past `_plain`'s limit too
            mark = self.reader.get_mark()
            raise _TooDeep(mark.line, mark.column)
        super().fetch_flow_collection_start(TokenClass, to_push)


def read_yaml(text: str, file: str) -> tuple[Any, PositionIndex, list[Diagnostic]]:
    """Parse YAML text; on a syntax error return no data and one diagnostic at the problem.

    Flow collections nested past MAX_DEPTH are refused at a bracket just past the limit, in time
    linear in the text (`_FlowDepthScanner`)."""
    yaml = YAML(typ="rt")
    yaml.Scanner = _FlowDepthScanner
    yaml.allow_duplicate_keys = False
    index = PositionIndex(Position(file, 1, 1))
    try:
        node = yaml.load(text)
    except _TooDeep as exc:
        return None, index, [Diagnostic(file, exc.line + 1, exc.column + 1,
                                        f"the manifest nests deeper than {MAX_DEPTH} levels")]
    except MarkedYAMLError as exc:
        return None, index, [_syntax_error(exc, file, text)]
    except YAMLError as exc:  # errors without a mark
        return None, index, [Diagnostic(file, 1, 1, f"YAML syntax error: {exc}")]
    except RecursionError:
        return None, index, [Diagnostic(file, 1, 1, f"the YAML nests too deeply (more than {MAX_DEPTH} levels)")]
    if isinstance(node, (CommentedMap, CommentedSeq)):
        index.root = Position(file, node.lc.line + 1, node.lc.col + 1)
    budget = NodeBudget()
    try:
        return _plain(node, (), index, file, budget), index, []
    except LimitExceeded as exc:
        line, col = budget.where
        return None, index, [Diagnostic(file, line + 1, col + 1, str(exc))]


# An opener that is never closed is reported where the parser gave up (often the end of the file);
# the useful place is the opener itself.
_UNCLOSED = {
    "while scanning a quoted scalar": "this quoted string is never closed",
    "while parsing a flow mapping": "this `{` is never closed",
    "while parsing a flow sequence": "this `[` is never closed",
}


def _syntax_error(exc: MarkedYAMLError, file: str, text: str = "") -> Diagnostic:
    """One diagnostic for a YAML syntax error, at the most useful of the parser's two marks, with a
    hint where the usual cause can be told from the text (`_mapping_hint`)."""
    mark = exc.problem_mark or exc.context_mark
    problem = str(exc.problem or exc.context or "invalid YAML")
    context = str(exc.context or "")
    unclosed = _UNCLOSED.get(context)
    if unclosed and exc.context_mark and exc.problem_mark and exc.problem_mark.line > exc.context_mark.line:
        mark = exc.context_mark
        problem = f"{unclosed} ({problem})"
    elif "duplicate key" in problem or "duplicate key" in str(exc):
        problem = f"duplicate key {_duplicate_key(str(exc))}".rstrip()
    elif "'\\t'" in problem:
        problem = f"{problem} (indent with spaces, not tabs)"
    elif problem == "mapping values are not allowed here" and mark is not None:
        problem += _mapping_hint(text.splitlines(), mark.line)
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Diagnostic(file, line, col, f"YAML syntax error: {problem}")


def _mapping_hint(lines: list[str], at: int) -> str:
    """Why a `key:` is "not allowed here" (0-based line `at`), for the two causes one can see:

    - it is indented deeper than the `key: value` line above it, so YAML reads it as more of that
      value (a plain scalar may span lines) — one of the two lines is mis-indented;
    - its own line holds a second `: ` inside an unquoted value (`description: Note: …`).
    Nothing when neither shows (the bare message is then the honest one)."""
    if not 0 <= at < len(lines):
        return ""
    current = lines[at]
    indent = len(current) - len(current.lstrip(" "))
    for above in range(at - 1, -1, -1):
        previous = lines[above]
        stripped = previous.strip()
        if not stripped or stripped.startswith("#"):
            continue
        previous_indent = len(previous) - len(previous.lstrip(" "))
        key, colon, value = stripped.partition(": ")
        if previous_indent < indent and colon and value.strip() and not value.lstrip().startswith(("|", ">", "#")):
            return (f" (this line is indented deeper than line {above + 1} ({key}: …), so it reads as more of "
                    f"that value: one of the two lines is mis-indented; keys of one mapping share a column)")
        break
    if current.strip().partition(": ")[2].count(": "):
        return " (a value containing ': ' must be quoted)"
    return ""


def _duplicate_key(message: str) -> str:
    for line in message.splitlines():
        if "found duplicate key" in line:
            return line.split("found duplicate key", 1)[1].split(" with value")[0].strip()
    return ""


def _key_value_marks(node: CommentedMap, key: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """0-based (line, col) of a key and its value; a key merged in with `<<: *anchor` is found in
    the anchored mapping, where its text actually is."""
    try:
        return node.lc.key(key), node.lc.value(key)
    except KeyError:
        for merged in getattr(node, "merge", None) or ():
            source = merged[1] if isinstance(merged, tuple) else merged  # (index, map) before ruamel 0.19
            if isinstance(source, CommentedMap) and key in source:
                return _key_value_marks(source, key)
        mark = (node.lc.line, node.lc.col)
        return mark, mark


def _plain(node: Any, path: Path, index: PositionIndex, file: str, budget: NodeBudget) -> Any:
    """Convert round-trip nodes to plain data, recording each child's key and value positions.

    Every value built is counted against `budget` (aliases are expanded here, so this is where a
    "billion laughs" would explode); the position of the container being built is kept for the error.
    """
    budget.spend(len(path))
    if isinstance(node, (CommentedMap, CommentedSeq)):
        budget.where = (node.lc.line, node.lc.col)
    if isinstance(node, CommentedMap):
        result: dict[str, Any] = {}
        for key, value in node.items():
            (key_line, key_col), (value_line, value_col) = _key_value_marks(node, key)
            child = (*path, str(key))
            index.add(
                child,
                Position(file, value_line + 1, value_col + 1),
                Position(file, key_line + 1, key_col + 1),
                block=isinstance(value, (LiteralScalarString, FoldedScalarString)),
            )
            result[str(key)] = _plain(value, child, index, file, budget)
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for i, value in enumerate(node):
            line, col = node.lc.item(i)
            index.add((*path, i), Position(file, line + 1, col + 1))
            items.append(_plain(value, (*path, i), index, file, budget))
        return items
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, (_dt.date, _dt.datetime)):
        return node.isoformat()
    return node
