"""The `mcprt validate` warnings a change introduces, for `mcprt diff`: a reviewer reads the diff of a
pull request, not a validate run of its branch.

A warning is identified by what it is about, not by where it is printed: its `code`, the manifest node
it points at (`("policy", "rules", <the rule>, "match", "tools", <the glob>)`: list indexes and positions
move with any edit above them, so an item stands for itself) and its message without list indexes, "did
you mean" hints (they follow the other names), the path of the document a `file#/pointer` names (a spec
moved with the same content keeps its warnings) or the count of a "… and N more" summary. A warning is new when the new
manifest has more warnings of its identity than the old one. Breaking: a policy glob or source that a
change leaves matching nothing (`policy.checks.MATCHES_NOTHING`: a tool renamed or prefixed away) or a
stricter rule left unreachable behind a catch-all (`UNREACHABLE_RULE`): the calls the rule or limit
governed are now decided by the rules before or after it, or the default.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from collections import Counter
from typing import Any

from pydantic import BaseModel

from ..errors import Diagnostic
from ..manifest.loader import LoadedManifest
from ..manifest.positions import Path as NodePath
from ..policy.checks import MATCHES_NOTHING, UNREACHABLE_RULE
from .compare import Change
from .revisions import ManifestRef

BREAKING = {MATCHES_NOTHING: "this rule or limit now applies to no call",
            UNREACHABLE_RULE: "the calls it refused, approved or hid are decided by the catch-all now"}
_INDEX = re.compile(r"\[\d+\]")
_HINT = re.compile(r" \(did you mean '[^']*'\?[^)]*\)")  # with the rename's method and path, when it is known
_MORE = re.compile(r"… and \d+ more")
# `pets.json#/paths/…`: a place in a document, named by the document's path as the manifest spells it; the
# same document moved (`openapi: ../up/x.json` → `x.json`) is the same document, so its warnings stay themselves
_DOCUMENT = re.compile(r"[^\s'\"`(]+(?=#/)")

Key = tuple[str, tuple[object, ...], str]


def new_warnings(old: list[Diagnostic], new: list[Diagnostic], old_ref: ManifestRef, new_ref: ManifestRef,
                 old_loaded: LoadedManifest, new_loaded: LoadedManifest, kind: str = "new warning") -> list[Change]:
    """One `kind` change (`new warning`; `new note` for the notes) per diagnostic of `new` beyond the count of
    its identity in `old` (see the module docstring), as `file:line:col: message` with the files named as the
    user knows them (`ManifestRef.shown`).

    A source shows at most a handful of warnings of a kind, then "… and N more": which ones are shown
    moves with the source's other operations, so at a node where either side cut its list, only as many
    as its total (shown + N) grew are new — the unmatched shown ones first, else the summary."""
    old_nodes, nodes = _Nodes(old_loaded), _Nodes(new_loaded)
    old_keys = [_key(d, old_ref, old_nodes) for d in old]
    new_keys = [_key(d, new_ref, nodes) for d in new]
    before = Counter(old_keys)
    unmatched: list[tuple[Key, Diagnostic]] = []
    for key, diagnostic in zip(new_keys, new):
        if _more(diagnostic.message):
            unmatched.append((key, diagnostic))  # counted by `room` below, never matched by its text
        elif before[key] > 0:
            before[key] -= 1
        else:
            unmatched.append((key, diagnostic))
    cut = {key[:2] for key, d in [*zip(old_keys, old), *zip(new_keys, new)] if _more(d.message)}
    room = {node: _total(new_keys, new, node) - _total(old_keys, old, node) for node in cut}
    changes: list[Change] = []
    for key, diagnostic in sorted(unmatched, key=lambda pair: bool(_more(pair[1].message))):
        if key[:2] in room:
            if room[key[:2]] <= 0:
                continue
            room[key[:2]] -= max(1, _more(diagnostic.message))
        where = f"{new_ref.shown(diagnostic.file)}:{diagnostic.line}:{diagnostic.col}: " if diagnostic.file else ""
        why = BREAKING.get(diagnostic.code)
        changes.append(Change(kind, f"{where}{new_ref.shown(diagnostic.message)}"
                              + (f" ({why})" if why else ""), why is not None))
    return changes


def _total(keys: list[Key], diagnostics: list[Diagnostic], node: tuple[object, ...]) -> int:
    """How many warnings stand at `node` (code, node identity), those a summary counts included."""
    return sum(max(1, _more(d.message)) for key, d in zip(keys, diagnostics) if key[:2] == node)


class _Nodes:
    """Where each node of a manifest's tree stands, to name the node a warning points at: the node at
    its position, else the last one before it in its file (a position inside a prune expression)."""

    def __init__(self, loaded: LoadedManifest) -> None:
        self.manifest = loaded.manifest
        at: dict[tuple[str, int, int], NodePath] = {}
        for path, span in loaded.index.nodes.items():
            for position in (span.value, span.key):
                if position is not None and len(path) >= len(at.get((position.file, position.line, position.col), ())):
                    at[(position.file, position.line, position.col)] = path  # the deepest node standing there
        self.by_file: dict[str, list[tuple[int, int, NodePath]]] = {}
        for (file, line, col), path in sorted(at.items()):
            self.by_file.setdefault(file, []).append((line, col, path))

    def identity(self, diagnostic: Diagnostic) -> tuple[object, ...]:
        """The node's path with each list index replaced by the item's content: a rule is the same rule
        after an edit above it moved it, and another rule with the same glob is another rule."""
        placed = self.by_file.get(diagnostic.file, [])
        found = bisect.bisect_right(placed, (diagnostic.line, diagnostic.col, (chr(0x10FFFF),)))
        path = placed[found - 1][2] if found else ()
        parts: list[object] = []
        node: Any = self.manifest
        for part in path:
            node = _child(node, part)
            parts.append(part if isinstance(part, str) else _fingerprint(node))
        return tuple(parts)


def _child(node: Any, part: str | int) -> Any:
    if node is None:
        return None
    if isinstance(part, int):
        return node[part] if isinstance(node, (list, tuple)) and part < len(node) else None
    if isinstance(node, dict):
        return node.get(part)
    return getattr(node, part, None)


def _fingerprint(item: Any) -> str:
    dumped = item.model_dump(mode="json", exclude_defaults=True) if isinstance(item, BaseModel) else item
    text = json.dumps(dumped, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _key(diagnostic: Diagnostic, ref: ManifestRef, nodes: _Nodes) -> Key:
    message = _MORE.sub("… and N more", _HINT.sub("", _INDEX.sub("[]", ref.shown(diagnostic.message))))
    message = _DOCUMENT.sub("<document>", message)
    return diagnostic.code, nodes.identity(diagnostic), message


def _more(message: str) -> int:
    found = re.search(r"… and (\d+) more", message)
    return int(found.group(1)) if found else 0
