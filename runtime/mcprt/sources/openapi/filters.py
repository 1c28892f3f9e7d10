"""`include` / `exclude` filters over operations.

Within one filter every given criterion must match; a list matches when any item does. Tags are
exact and case-insensitive; operation globs match the operationId, the `METHOD /path` key or the
tool name; path globs are shell-style (`*` also crosses `/`), case-sensitive.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from mcprt.manifest.model import OperationFilter


@dataclass(slots=True)
class OperationFacts:
    key: str
    name: str
    operation_id: str | None
    method: str
    path: str
    tags: list[str]
    deprecated: bool


def matches(flt: OperationFilter, op: OperationFacts) -> bool:
    if flt.tags is not None:
        wanted = {t.lower() for t in flt.tags}
        if not any(t.lower() in wanted for t in op.tags):
            return False
    if flt.operations is not None:
        keys = [k for k in (op.operation_id, op.key, op.name) if k]
        if not any(fnmatchcase(k, pattern) for pattern in flt.operations for k in keys):
            return False
    if flt.paths is not None and not any(fnmatchcase(op.path, pattern) for pattern in flt.paths):
        return False
    if flt.methods is not None and op.method not in flt.methods:
        return False
    if flt.deprecated is not None and op.deprecated != flt.deprecated:
        return False
    return True


def selected(include: OperationFilter | None, exclude: OperationFilter | None, op: OperationFacts) -> bool:
    if include is not None and not matches(include, op):
        return False
    if exclude is not None and matches(exclude, op):
        return False
    return True
