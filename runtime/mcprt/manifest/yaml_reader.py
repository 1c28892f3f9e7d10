"""Reads YAML with ruamel.yaml in round-trip mode so that every node keeps its line and column.

Returns plain Python data (dict/list/str/int/float/bool/None) plus a PositionIndex; the
round-trip node types never leave this module.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from ..errors import Diagnostic
from .positions import Path, Position, PositionIndex


def read_yaml(text: str, file: str) -> tuple[Any, PositionIndex, list[Diagnostic]]:
    """Parse YAML text; on a syntax error return no data and one diagnostic at the problem."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    index = PositionIndex(Position(file, 1, 1))
    try:
        node = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if "found duplicate key" in str(problem) or "duplicate key" in str(exc):
            problem = f"duplicate key {_duplicate_key(str(exc))}".rstrip()
        return None, index, [Diagnostic(file, line, col, f"YAML syntax error: {problem}")]
    except YAMLError as exc:  # errors without a mark
        return None, index, [Diagnostic(file, 1, 1, f"YAML syntax error: {exc}")]
    if isinstance(node, (CommentedMap, CommentedSeq)):
        index.root = Position(file, node.lc.line + 1, node.lc.col + 1)
    return _plain(node, (), index, file), index, []


def _duplicate_key(message: str) -> str:
    for line in message.splitlines():
        if "found duplicate key" in line:
            return line.split("found duplicate key", 1)[1].split(" with value")[0].strip()
    return ""


def _plain(node: Any, path: Path, index: PositionIndex, file: str) -> Any:
    """Convert round-trip nodes to plain data, recording each child's key and value positions."""
    if isinstance(node, CommentedMap):
        result: dict[str, Any] = {}
        for key, value in node.items():
            key_line, key_col = node.lc.key(key)
            value_line, value_col = node.lc.value(key)
            child = (*path, str(key))
            index.add(
                child,
                Position(file, value_line + 1, value_col + 1),
                Position(file, key_line + 1, key_col + 1),
                block=isinstance(value, (LiteralScalarString, FoldedScalarString)),
            )
            result[str(key)] = _plain(value, child, index, file)
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for i, value in enumerate(node):
            line, col = node.lc.item(i)
            index.add((*path, i), Position(file, line + 1, col + 1))
            items.append(_plain(value, (*path, i), index, file))
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
