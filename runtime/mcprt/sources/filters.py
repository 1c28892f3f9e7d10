"""`include` / `exclude` filters over operations: the one implementation for every source kind.

A criterion reads the operation's typed metadata (`OperationMeta`); which criteria a kind can honour
is its `SourceKind.criteria`, and the tool-set builder reports any other as an error at its line.
Within one filter every given criterion must match; a list matches when any item does; a list of filters
selects what any of them selects. Tags are
exact and case-insensitive; operation globs match the operationId, the `METHOD /path` key or the
tool name; path globs are shell-style (`*` also crosses `/`), case-sensitive.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from ..contracts import OperationMeta
from ..manifest.model import OperationFilter, OperationFilters


def matches(flt: OperationFilter, key: str, name: str, meta: OperationMeta) -> bool:
    """Whether the operation (`key`, proposed tool `name`, `meta`) meets every criterion of `flt`."""
    if flt.tags is not None:
        wanted = {t.lower() for t in flt.tags}
        if not any(t.lower() in wanted for t in meta.tags):
            return False
    if flt.operations is not None:
        keys = [k for k in (meta.operation_id, key, name) if k]
        if not any(fnmatchcase(k, pattern) for pattern in flt.operations for k in keys):
            return False
    if flt.paths is not None and not any(fnmatchcase(meta.path, pattern) for pattern in flt.paths):
        return False
    if flt.methods is not None and meta.method not in flt.methods:
        return False
    if flt.deprecated is not None and meta.deprecated != flt.deprecated:
        return False
    return True


def selected(
    include: OperationFilters | None, exclude: OperationFilters | None, key: str, name: str, meta: OperationMeta
) -> bool:
    """Kept by a source's `include` (all of it, when absent) and not removed by its `exclude`; a list of filters
    matches when any of its filters does (an OR of ANDs)."""
    if include is not None and not _any(include, key, name, meta):
        return False
    if exclude is not None and _any(exclude, key, name, meta):
        return False
    return True


def each(filters: OperationFilters | None) -> list[OperationFilter]:
    """The filters of an `include`/`exclude`: none, its one filter, or its list."""
    if filters is None:
        return []
    return list(filters) if isinstance(filters, list) else [filters]


def _any(filters: OperationFilters, key: str, name: str, meta: OperationMeta) -> bool:
    return any(matches(flt, key, name, meta) for flt in each(filters))
