"""What a reload changed, for its log line: what a client would see change between two tool sets, by tool
name, and the `policy:` rules that changed (which no tool definition shows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..policy.diff import compare_policies
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


def policy_summary(old: Any, new: Any) -> dict[str, Any]:
    """The reload line's policy fields for two manifests' `policy:` blocks: {} when unchanged, else `policy`
    (each change by kind and the rule it concerns, `rule added (rules[1]); default changed`) and
    `policy_loosened` (how many let an agent do more, as `mcprt diff` flags them: `policy.diff`). The fleet
    trial's edit of one rule's `when:` logged only `changes="no tool changes"`: nothing confirmed a
    "policy tightened" rollout had landed."""
    changes = compare_policies(old, new)
    if not changes:
        return {}
    words = []
    for change in changes:
        kind = change.kind.removeprefix("policy ")
        label = change.detail.split(":", 1)[0] if ":" in change.detail and "[" in change.detail.split(":", 1)[0] \
            else None
        words.append(f"{kind} ({label})" if label else kind)
    return {"policy": "; ".join(words), "policy_loosened": sum(1 for change in changes if change.loosened)}
