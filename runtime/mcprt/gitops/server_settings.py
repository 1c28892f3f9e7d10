"""`server:` settings and budgets in `mcprt diff`: what a reviewer must see although no tool changes.

Each changed `server.*` setting is one change naming the keys that differ (dotted, `budget.max_tools_bytes`;
a section added or removed names each key written in it). A setting is compared twice, never printed
from its substituted value:
- as written in the manifest, before `${VAR}` substitution (`LoadedManifest.written`): a value is shown
  only in this form (`public_url: https://admin:${PUB_PASS}@…`), with any URL's `user:password@`
  masked (`https://***@…`: a password may be written in literally);
- as substituted, secrets included (pydantic's `SecretStr` compares by value): the same `${VAR}` text
  can hold another value on each side (each side's own `.env`); such a change is named, never shown.
Under `auth` and `state`, whose values are credentials or carry them (a token, a `redis://:pw@…` URL),
only the keys are named. Breaking:
- any `auth` change: adding or changing it refuses callers that were let in, removing it (or a token) lets
  in callers that were refused, or refuses the removed token's callers — either way callers are affected;
- a `server.budget` the new version exceeds and the old one did not (by key): `mcprt validate` fails on it.
"""

from __future__ import annotations

from typing import Any

from ..manifest.loader import LoadedManifest
from ..scrubbing import mask_userinfo
from ..toolset.budget import check_budget
from ..toolset.toolset import ToolSet
from ..wording import json_excerpt
from .compare import Change

_SECRET = {"auth", "state"}  # values not shown
# worded elsewhere (`compare._manifest_changes`: name, instructions) or not a setting of the server's behaviour
_ELSEWHERE = {"name", "instructions"}


def server_changes(old: LoadedManifest, new: LoadedManifest) -> list[Change]:
    """One change per `server.*` setting that differs (see the module docstring for what is shown)."""
    was_written, now_written = _written_server(old), _written_server(new)
    was = old.manifest.server.model_dump()  # python mode keeps `SecretStr`: compared by value, never shown
    now = new.manifest.server.model_dump()
    changes: list[Change] = []
    for key in sorted((set(was) | set(now) | set(was_written) | set(now_written)) - _ELSEWHERE):
        paths = _differences(was_written.get(key), now_written.get(key), key)
        if not paths and was.get(key) == now.get(key):
            continue
        if not paths:  # the same text, another value: a variable each side sets differently
            detail = f"`{key}`: the value of its environment variables changed"
        elif key in _SECRET:
            detail = ", ".join(f"`{path}` {how}" for path, how, _, _ in paths)
        else:
            detail = "; ".join(_before_after(path, before, after) for path, _, before, after in paths)
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


def _written_server(loaded: LoadedManifest) -> dict[str, Any]:
    server = loaded.written.get("server")
    return server if isinstance(server, dict) else {}


def _before_after(path: str, before: Any, after: Any) -> str:
    was, now = _shown(before), _shown(after)
    if was == now:  # only what the mask hides changed: say so rather than show two equal values
        return f"`{path}`: {now}, a URL's user or password changed (not shown)"
    return f"`{path}`: {was} → {now}"


def _shown(value: Any) -> str:
    """A written value as JSON, every URL's userinfo masked."""
    return mask_userinfo(json_excerpt(value))


def _differences(before: Any, after: Any, path: str) -> list[tuple[str, str, Any, Any]]:
    """(dotted path, added/removed/changed, before, after) for each leaf that differs; a mapping added or
    removed is its keys added or removed."""
    if isinstance(before, dict) or isinstance(after, dict):
        if isinstance(before, dict | None) and isinstance(after, dict | None):
            old, new = before or {}, after or {}
            found: list[tuple[str, str, Any, Any]] = []
            for key in sorted(set(old) | set(new), key=str):
                if old.get(key) != new.get(key):
                    found += _differences(old.get(key), new.get(key), f"{path}.{key}")
            return found
    if before == after:
        return []
    how = "added" if before is None else "removed" if after is None else "changed"
    return [(path, how, before, after)]
