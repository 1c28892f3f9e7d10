"""The settings a tool ends up with, whichever level of the manifest set them, compared for `mcprt diff`.

`defaults:` and a source's own settings reach every tool they cover, and change what the model receives
as surely as the tool's own override: a reviewer sees each such change under every tool it reaches
(`defaults.prune.drop_keys` removing a field shows on each tool that sent it), not only once as a
manifest-level line. Not breaking by themselves: what they remove from a declared outputSchema is told,
and classified, by the schema comparison.
"""

from __future__ import annotations

from typing import Any

from ..toolset.tool import Tool
from ..wording import json_excerpt

# wire fields compared elsewhere, in their own words (`compare._tool_changes`)
_WORDED = {"name", "title", "description", "inputSchema", "outputSchema", "annotations"}


def effective_changes(old: Tool, new: Tool) -> list[tuple[str, str]]:
    """(kind, detail) for each effective setting that differs: automatic pruning, result and response size
    limits (bytes), timeout (seconds), and any other field of the tool's definition (e.g. `execution`)."""
    changes: list[tuple[str, str]] = []
    was, now = _autoprune(old), _autoprune(new)
    if was != now:
        parts = [f"{key} {json_excerpt(was[key])} → {json_excerpt(now[key])}" for key in was if was[key] != now[key]]
        changes.append(("automatic pruning changed", "; ".join(parts)))
    for label, before, after, unit in (
        ("result size limit changed", old.shaping.max_result_bytes, new.shaping.max_result_bytes, " bytes"),
        ("response size limit changed", old.max_response_bytes, new.max_response_bytes, " bytes"),
        ("timeout changed", old.timeout, new.timeout, " s"),
    ):
        if before != after:
            changes.append((label, f"{before:,}{unit} → {after:,}{unit}"))
    old_wire, new_wire = old.definition(), new.definition()
    for key in sorted((set(old_wire) | set(new_wire)) - _WORDED):
        if old_wire.get(key) != new_wire.get(key):
            changes.append((f"{key} changed",
                            f"{json_excerpt(old_wire.get(key))} → {json_excerpt(new_wire.get(key))}"))
    return changes


def _autoprune(tool: Tool) -> dict[str, Any]:
    pruner = tool.shaping.autoprune
    if pruner is None:
        return {"drop_nulls": False, "drop_empty": False, "drop_keys": []}
    return {"drop_nulls": pruner.drop_nulls, "drop_empty": pruner.drop_empty, "drop_keys": list(pruner.drop_keys)}
