"""Where each node of a manifest stands in its file, so every error can say file:line:col.

The loaders record, for every path (tuple of keys and indexes), the position of its key and of its
value. A path that is not recorded (a missing key) resolves to its nearest recorded ancestor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Position:
    """A place in a manifest file: 1-based line and column (what `file:line:col` messages print)."""

    file: str
    line: int  # 1-based
    col: int  # 1-based


@dataclass(slots=True)
class NodeSpan:
    """Positions of one node: of its key (None for the root and list items) and of its value."""

    value: Position
    key: Position | None = None
    block: bool = False  # a YAML block scalar (`|`/`>`) or TOML multi-line string: its text starts on the next line
    verbatim: bool = False  # the block's lines are the file's lines as they are (TOML), not de-indented (YAML)
    written: str | None = None  # a TOML scalar's source text (`1.5e4`, `2026-12-02 10:00:00Z`): errors quote it


@dataclass
class PositionIndex:
    """Positions of every node of a manifest (and of the manifests it includes)."""

    root: Position
    nodes: dict[Path, NodeSpan] = field(default_factory=dict)

    def add(
        self, path: Path, value: Position, key: Position | None = None, *, block: bool = False, verbatim: bool = False
    ) -> None:
        self.nodes[path] = NodeSpan(value, key, block, verbatim)

    def written(self, path: Path) -> str | None:
        """The source text of the scalar at `path` as the manifest wrote it (TOML: `1.5e4`, not `15000.0`), else
        None (YAML, a mapping or list, a path not recorded)."""
        span = self.nodes.get(tuple(path))
        return span.written if span is not None else None

    def span(self, path: Path) -> NodeSpan | None:
        return self.nodes.get(tuple(path))

    def locate(self, path: Path, prefer: Literal["key", "value"] = "value") -> Position:
        """Position of `path`, or of its nearest recorded ancestor's key when the path is absent."""
        path = tuple(path)
        span = self.nodes.get(path)
        if span is not None:
            if prefer == "key" and span.key is not None:
                return span.key
            return span.value
        while path:
            path = path[:-1]
            span = self.nodes.get(path)
            if span is not None:
                return span.key or span.value
        return self.root

    def merge(self, other: PositionIndex, under: Path = ()) -> None:
        """Add another index's nodes (an included manifest), optionally re-rooted under `under`."""
        for path, span in other.nodes.items():
            self.nodes[tuple(under) + path] = span
