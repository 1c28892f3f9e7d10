"""What a client would see change between two tool sets, by tool name (for the reload log line)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..toolset.toolset import ToolSet


@dataclass
class ToolChanges:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # same name, different definition

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def summary(self) -> str:
        """`+a +b -c ~d`, or `no tool changes`."""
        parts = [f"+{n}" for n in self.added] + [f"-{n}" for n in self.removed] + [f"~{n}" for n in self.changed]
        return " ".join(parts) if parts else "no tool changes"


def _definitions(toolset: ToolSet) -> dict[str, dict[str, Any]]:
    """Every callable tool's wire definition (listed, meta and discovery-only alike)."""
    tools = [*toolset.extra.values(), *toolset.tools.values()]
    return {tool.name: tool.definition() for tool in tools}


def diff_toolsets(old: ToolSet, new: ToolSet) -> ToolChanges:
    before, after = _definitions(old), _definitions(new)
    return ToolChanges(
        added=sorted(set(after) - set(before)),
        removed=sorted(set(before) - set(after)),
        changed=sorted(name for name in set(before) & set(after) if before[name] != after[name]),
    )
