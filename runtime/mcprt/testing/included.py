"""A recorded case of an included manifest, replayed by a manifest that includes it.

Such a case lies beside the included manifest (`shop/cases/…`), so both `mcprt test shop/mcp.yaml`
and `mcprt test mcp.yaml` (which includes it) replay it against the one snapshot there. The two runs
must mean the same, or one of them always fails and `--update` from the other flips the snapshot:

- the source's result-shaping `defaults` (an included manifest's `defaults:` apply key by key over the
  including one's, `LoadedManifest.defaults_for`): where the including manifest sets one the included
  manifest leaves unset, the case is refused with the keys to set, instead of failing on its output;
- `policy:` expectations: an included manifest's `policy:` is ignored (an include contributes its
  sources and their `defaults`), so they are not checked from the including manifest — a note says
  so, and the included manifest's own run checks them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import McprtError
from ..manifest.loader import LoadedManifest
from .cases import Case

# The `defaults` keys that change what a replayed call returns (timeouts and retries do not, and
# `descriptions` shapes tools/list, not results).
RESULT_DEFAULTS = ("prune", "max_result_bytes", "max_response_bytes")


def defaults_divergence(case: Case, source: str, replayed: LoadedManifest, alone: LoadedManifest | None) -> None:
    """Raise McprtError when `source`'s result-shaping defaults, as `replayed` (the including manifest)
    gives them, differ from those of `alone` (the case's own manifest, `case.owner`, loaded by itself)."""
    if alone is None or source not in alone.manifest.sources:
        return  # its own run reports why it does not load; a source it does not define is not its
    here = replayed.defaults_for(source).model_dump(mode="json", include=set(RESULT_DEFAULTS))
    there = alone.defaults_for(source).model_dump(mode="json", include=set(RESULT_DEFAULTS))
    differing = [key for key in RESULT_DEFAULTS if here[key] != there[key]]
    if not differing:
        return
    owner = _shown(alone.path, replayed)
    detail = "; ".join(f"defaults.{key}: {_compact(here[key])} here, {_compact(there[key])} in {owner} alone"
                       for key in differing)
    raise McprtError(f"replayed by {_shown(replayed.path, replayed)}, source {source!r} is shaped with other "
                     f"defaults than by {owner}, the manifest this case lies beside ({detail}), so its snapshot "
                     f"would depend on which manifest replays it: set these keys in {owner}'s `defaults:`")


def policy_note(case: Case, replayed: LoadedManifest) -> str:
    """Why `case.policy` is not checked when `replayed` (a manifest including `case.owner`) replays it."""
    assert case.owner is not None
    owner = _shown(case.owner, replayed)
    return (f"policy expectations not checked: the policy of {owner} is ignored when "
            f"{_shown(replayed.path, replayed)} includes it (`mcprt test {owner}` checks them)")


def _shown(path: Path, replayed: LoadedManifest) -> str:
    relative = Path(os.path.relpath(path.resolve(), replayed.base_dir.resolve())).as_posix()
    return path.as_posix() if relative.startswith("..") else relative


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
