"""`mcprt diff` for resources, resource templates and prompts: added, removed and changed items.

Items are matched by exposed URI, URI template or prompt name. Breaking (a request that worked
before fails now): an item removed, a prompt argument removed or newly required.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..offerings.offerset import OfferSet, definition_size
from .compare import Change


@dataclass
class OfferDiff:
    kind: str  # "resource", "template", "prompt"
    key: str  # exposed URI, URI template or prompt name
    status: str  # "added", "removed", "changed"
    changes: list[Change] = field(default_factory=list)
    old_bytes: int | None = None
    new_bytes: int | None = None

    @property
    def breaking(self) -> bool:
        return self.status == "removed" or any(c.breaking for c in self.changes)


def compare_offers(old: OfferSet, new: OfferSet) -> list[OfferDiff]:
    diffs: list[OfferDiff] = []
    for kind, before, after in (("resource", old.resources, new.resources), ("template", old.templates, new.templates),
                                ("prompt", old.prompts, new.prompts)):
        for key in sorted(set(before) | set(after)):
            if key not in after:
                diffs.append(OfferDiff(kind, key, "removed", old_bytes=definition_size(before[key].wire)))
            elif key not in before:
                diffs.append(OfferDiff(kind, key, "added", new_bytes=definition_size(after[key].wire)))
            else:
                changes = _changes(kind, before[key].wire, after[key].wire)
                if changes:
                    diffs.append(OfferDiff(kind, key, "changed", changes, definition_size(before[key].wire),
                                           definition_size(after[key].wire)))
    order = {"removed": 0, "changed": 1, "added": 2}
    diffs.sort(key=lambda d: (not d.breaking, order[d.status], d.kind, d.key))
    return diffs


def _changes(kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []
    if kind == "prompt":
        changes += _argument_changes(old.get("arguments") or [], new.get("arguments") or [])
    for field_name in sorted((set(old) | set(new)) - {"arguments"}):
        if old.get(field_name) != new.get(field_name):
            changes.append(Change(f"{field_name} changed", f"{old.get(field_name)!r} → {new.get(field_name)!r}"))
    return changes


def _argument_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Change]:
    before = {a["name"]: a for a in old}
    after = {a["name"]: a for a in new}
    changes = []
    for name in before:
        if name not in after:
            changes.append(Change("argument removed", f"`{name}`", breaking=True))
        elif after[name].get("required") and not before[name].get("required"):
            changes.append(Change("argument newly required", f"`{name}`", breaking=True))
    for name in after:
        if name not in before:
            required = bool(after[name].get("required"))
            changes.append(Change("argument added", f"`{name}`" + (" (required)" if required else ""),
                                  breaking=required))
    return changes
