"""Parsed manifest files, kept by name and content so one text is parsed once per process.

Why: one `mcprt diff` read its two manifests 9 times (`load_manifest` per side and per stage,
`manifest_files` for the recorded cases and overrides), and the round-trip YAML parse with positions
was the largest CPU item of a diff; `validate`, `test`, `up` and each reload read their files more than
once too. The key is the name diagnostics show (positions carry it) plus a digest of the exact text,
so a file saved with other content is parsed afresh and positions always match the text read.

Callers change what they get (an include merges its sources into the including data, its positions
into the index): each hit is a fresh copy of the containers; scalars and `NodeSpan`s are shared (not
changed after the parse).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ..errors import Diagnostic
from .positions import PositionIndex

Parsed = tuple[Any, PositionIndex, list[Diagnostic]]

# A few manifests and their includes, old and new sides of a diff and a reload's previous version: small
# plain data, so a bound that keeps a whole tree's set is cheap.
MAX_ENTRIES = 64

_lock = threading.Lock()  # reloads and the test harness read manifests from other threads
_entries: OrderedDict[tuple[str, bool, bytes], Parsed] = OrderedDict()


def parsed(text: str, shown: str, toml: bool, parse: Callable[[str, str], Parsed]) -> Parsed:
    """`parse(text, shown)`'s result, parsed once per (`shown`, `toml`, text); each call gets its own copy."""
    key = (shown, toml, hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest())
    with _lock:
        hit = _entries.get(key)
        if hit is not None:
            _entries.move_to_end(key)
    if hit is None:
        hit = parse(text, shown)
        with _lock:
            _entries[key] = hit
            while len(_entries) > MAX_ENTRIES:
                _entries.popitem(last=False)
    data, index, errors = hit
    return _copy(data), PositionIndex(index.root, dict(index.nodes)), list(errors)


def _copy(value: Any) -> Any:
    """A copy of parsed data's dicts and lists (the only mutable things a reader returns); ~10x faster
    than `copy.deepcopy`, which keeps a memo of every object."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
