"""`server:` settings and budgets in `mcprt diff`: what a reviewer must see although no tool changes.

Each changed `server.*` setting is one change naming the keys that differ (dotted, `budget.max_tools_bytes`;
a section added or removed names each key written in it). A setting is compared as written in the
manifest, before `${VAR}` substitution (`LoadedManifest.written`): what the manifest says, a variable by
its name, on both sides the same way. Never by its substituted value: a revision's side has no `.env` (it
is not committed) and gets placeholders, the working tree's reads the real one, so a comparison of values
called every local diff an auth change (found by a gitops trial). A value is shown in its written form
(`public_url: https://admin:${PUB_PASS}@…`), with any URL's `user:password@` and credential query values
masked (`https://***@…`, `?access_token=***`: a password may be written in literally). Under `auth` and `state`, whose values are credentials or carry
them (a token, a `redis://:pw@…` URL), only the keys are named. Breaking:
- any `auth` change: adding or changing it refuses callers that were let in, removing it (or a token) lets
  in callers that were refused, or refuses the removed token's callers — either way callers are affected;
- a `server.budget` the new version exceeds and the old one did not (by key): `mcprt validate` fails on it.
"""

from __future__ import annotations

from typing import Any

from ..manifest.loader import LoadedManifest
from ..scrubbing import mask_url_credentials
from ..toolset.budget import check_budget
from ..toolset.toolset import ToolSet
from ..wording import json_excerpt
from .compare import Change
from .requests import differences

_SECRET = {"auth", "state"}  # values not shown
# worded elsewhere (`compare._manifest_changes`: name, instructions) or not a setting of the server's behaviour
_ELSEWHERE = {"name", "instructions"}


def server_changes(old: LoadedManifest, new: LoadedManifest) -> list[Change]:
    """One change per `server.*` setting written differently (see the module docstring for what is shown)."""
    was_written, now_written = _written_server(old), _written_server(new)
    changes: list[Change] = []
    for key in sorted((set(was_written) | set(now_written)) - _ELSEWHERE):
        paths = [(".".join(path), _how(before, after), before, after)
                 for path, before, after in differences(was_written.get(key), now_written.get(key), (key,))]
        if not paths:
            continue
        if key in _SECRET:
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


def _how(before: Any, after: Any) -> str:
    return "added" if before is None else "removed" if after is None else "changed"


def _written_server(loaded: LoadedManifest) -> dict[str, Any]:
    server = loaded.written.get("server")
    return server if isinstance(server, dict) else {}


def _before_after(path: str, before: Any, after: Any) -> str:
    was, now = _shown(before), _shown(after)
    if was == now:  # only what the mask hides changed: say so rather than show two equal values
        return f"`{path}`: {now}, a URL's credentials changed (not shown)"
    return f"`{path}`: {was} → {now}"


def _shown(value: Any) -> str:
    """A written value as JSON, every URL's credentials masked (`scrubbing.mask_url_credentials`)."""
    return mask_url_credentials(json_excerpt(value))
