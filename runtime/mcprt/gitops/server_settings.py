"""`server:` settings and budgets in `mcprt diff`: what a reviewer must see although no tool changes.

Each changed `server.*` setting is one change naming the keys that differ (dotted, `budget.max_tools_bytes`).
Values are shown except under `auth` and `state`, whose values are credentials or carry them (a token, a
`redis://:password@…` URL): there only the keys are named. Breaking:
- an `auth` change: adding or changing it refuses callers that were let in, removing it (or a token) lets
  in callers that were refused, or refuses the removed token's callers — either way callers are affected;
- a `server.budget` the new version exceeds and the old one did not (by key): `mcprt validate` fails on it.
"""

from __future__ import annotations

from typing import Any

from ..manifest.loader import LoadedManifest
from ..toolset.budget import check_budget
from ..toolset.toolset import ToolSet
from ..wording import json_excerpt
from .compare import Change

_SECRET = {"auth", "state"}  # values not shown
# worded elsewhere (`compare._manifest_changes`: name, instructions) or not a setting of the server's behaviour
_ELSEWHERE = {"name", "instructions"}


def server_changes(old: LoadedManifest, new: LoadedManifest) -> list[Change]:
    """One change per `server.*` setting that differs (see the module docstring for what is shown)."""
    was = old.manifest.server.model_dump(mode="json")
    now = new.manifest.server.model_dump(mode="json")
    changes: list[Change] = []
    for key in sorted((set(was) | set(now)) - _ELSEWHERE):
        if was.get(key) == now.get(key):
            continue
        paths = _differences(was.get(key), now.get(key), key)
        if key in _SECRET:
            detail = ", ".join(f"`{path}` {how}" for path, how, _, _ in paths)
        else:
            detail = "; ".join(f"`{path}`: {json_excerpt(before)} → {json_excerpt(after)}"
                               for path, _, before, after in paths)
        why = " (callers let in or refused change)" if key == "auth" else ""
        changes.append(Change(f"server {key} changed", detail + why, key == "auth"))
    return changes


def budget_changes(old: LoadedManifest, new: LoadedManifest, old_tools: ToolSet, new_tools: ToolSet) -> list[Change]:
    """A `budget exceeded` change per `server.budget` key the new manifest breaks and the old one kept
    (breaking: `mcprt validate` exits 1), with the headline `validate` prints at the limit's line."""
    before = {v.key for v in check_budget(old, old_tools).violations}
    changes = []
    for v in check_budget(new, new_tools).violations:
        if v.key in before:
            continue
        what = {"max_tools": "listed tools", "max_tools_bytes": "tools/list bytes",
                "max_tool_bytes": "bytes of the biggest tool definition"}[v.key]
        changes.append(Change("budget exceeded", f"`server.budget.{v.key}`: {what} {v.actual:,} > {v.limit:,} "
                              "(`mcprt validate` fails)", True))
    return changes


def _differences(before: Any, after: Any, path: str) -> list[tuple[str, str, Any, Any]]:
    """(dotted path, added/removed/changed, before, after) for each leaf that differs."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[tuple[str, str, Any, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            if before.get(key) != after.get(key):
                found += _differences(before.get(key), after.get(key), f"{path}.{key}")
        return found
    how = "added" if before is None else "removed" if after is None else "changed"
    return [(path, how, before, after)]
