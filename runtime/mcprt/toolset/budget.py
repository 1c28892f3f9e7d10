"""Tool-list budgets: what listing the tools costs a model's context, checked against `server.budget`.

A tool definition is read by the model on every turn, so its size is a running cost. `mcprt
validate` fails (exit 1) when a budget is exceeded (`mcprt up` logs one warning per exceeded budget
and serves on), and the report names the biggest offenders at
the manifest line that produced each of them (the tool's override, else its source), with what
to change: a shorter description, hidden arguments, fewer tools, or `expose: discovery`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import Diagnostic
from ..manifest.loader import LoadedManifest
from ..manifest.model import Budget
from ..wording import noun
from .tool import Tool
from .toolset import ToolSet

BudgetKey = Literal["max_tools", "max_tools_bytes", "max_tool_bytes"]
SHOWN_OFFENDERS = 10


@dataclass(frozen=True)
class ToolCost:
    """One listed tool and the bytes of its definition."""

    name: str
    source: str
    bytes: int
    meta: bool = False  # a discovery meta-tool (not from a source)
    pinned: bool = False  # listed only because it is pinned (its source is in discovery mode)


@dataclass(frozen=True)
class Offender:
    """Something that makes a budget overflow, at the manifest place where it comes from."""

    label: str  # e.g. "tool 'repos_get' (source 'github'): 45,231 bytes"
    amount: int  # bytes, or tools for max_tools
    location: Diagnostic  # file:line:col of the override or source (message = label)


@dataclass(frozen=True)
class Violation:
    key: BudgetKey
    limit: int
    actual: int
    location: Diagnostic  # the limit in the manifest, with the headline message
    offenders: list[Offender]
    more: int = 0  # offenders not shown
    hint: str = ""

    @property
    def message(self) -> str:
        return self.location.message


@dataclass
class BudgetReport:
    """Sizes of everything listed, totals, and the budgets they break."""

    tools: list[ToolCost]  # every listed tool, in listing order
    total_bytes: int  # the whole tools/list result (compact JSON)
    reachable: int  # tools callable in all (listed or through discovery)
    budget: Budget | None
    violations: list[Violation] = field(default_factory=list)
    meta_bytes: int = 0  # a tools/list result holding only discovery mode's meta-tools: its fixed floor

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def listed(self) -> int:
        return len(self.tools)

    @property
    def definitions_bytes(self) -> int:
        return sum(cost.bytes for cost in self.tools)

    @property
    def largest(self) -> ToolCost | None:
        return max(self.tools, key=lambda c: c.bytes, default=None)

    def diagnostics(self) -> list[Diagnostic]:
        """One error per violation (at the limit) and one per offender shown (at its source or override)."""
        out: list[Diagnostic] = []
        for violation in self.violations:
            out.append(violation.location)
            out.extend(offender.location for offender in violation.offenders)
        return out

    def format(self) -> str:
        """The human report: each broken budget, then its biggest offenders, indented under it."""
        lines: list[str] = []
        for violation in self.violations:
            lines.append(str(violation.location))
            lines.extend(f"  {offender.location}" for offender in violation.offenders)
            if violation.more:
                lines.append(f"  … and {violation.more:,} more")
            if violation.hint:
                lines.append(f"  hint: {violation.hint}")
        count = len(self.violations)
        lines.append(f"{count} {noun(count, 'budget')} exceeded")
        return "\n".join(lines)

    def warnings(self) -> list[str]:
        """One line per broken budget, for `mcprt up` (which serves on): the limit's `file:line:col`, what
        is over it and by how much (tools, or bytes), the biggest offender, and how to fix it."""
        lines = []
        for violation in self.violations:
            excess = violation.actual - violation.limit
            unit = ("tool" if excess == 1 else "tools") if violation.key == "max_tools" else "bytes"
            over = f"{excess:,} {unit} over"
            biggest = f" {violation.offenders[0].label}" if violation.offenders else ""
            more = f" (and {len(violation.offenders) - 1 + violation.more:,} more)" \
                if len(violation.offenders) + violation.more > 1 else ""
            lines.append(f"{violation.location}{biggest}{more} — {over}; fix: {violation.hint}; "
                         "`mcprt validate` lists every offender")
        return lines

    def summary(self) -> str:
        """One line for `mcprt tools`/`validate`: the figures, against their limits when set."""
        def against(value: int, limit: int | None, unit: str) -> str:
            text = f"{value:,}{unit}"
            return f"{text} (budget {limit:,})" if limit is not None else text

        budget = self.budget or Budget()
        largest = self.largest
        parts = [
            f"{against(self.listed, budget.max_tools, ' listed tools')}",
            f"{against(self.total_bytes, budget.max_tools_bytes, ' bytes of tools/list')}",
        ]
        if largest is not None:
            parts.append(f"largest {largest.name} {against(largest.bytes, budget.max_tool_bytes, ' bytes')}")
        return ", ".join(parts)


def check_budget(loaded: LoadedManifest, toolset: ToolSet) -> BudgetReport:
    """Measure the listing of `toolset` and compare it with the manifest's `server.budget`."""
    meta = set(toolset.extra)
    costs = [ToolCost(t.name, t.source, t.definition_size(), t.name in meta, t.pinned and t.expose != "tools")
             for t in toolset.listed]
    report = BudgetReport(
        tools=costs,
        total_bytes=len(toolset.list_result_bytes()),
        meta_bytes=len(toolset.list_result_bytes(only=meta)) if meta else 0,
        reachable=len(toolset),
        budget=loaded.manifest.server.budget,
    )
    budget = report.budget
    if budget is None:
        return report
    by_name = {tool.name: tool for tool in toolset.listed}
    if budget.max_tools is not None and report.listed > budget.max_tools:
        report.violations.append(_too_many(loaded, report, budget.max_tools))
    if budget.max_tools_bytes is not None and report.total_bytes > budget.max_tools_bytes:
        biggest = sorted(costs, key=lambda c: -c.bytes)
        report.violations.append(_violation(
            loaded, "max_tools_bytes", budget.max_tools_bytes, report.total_bytes,
            f"tools/list is {report.total_bytes:,} bytes, over the budget of {budget.max_tools_bytes:,} "
            f"({report.listed:,} listed tools); biggest tools:",
            [_tool_offender(loaded, by_name[c.name], c) for c in biggest[:SHOWN_OFFENDERS]],
            more=max(0, len(biggest) - SHOWN_OFFENDERS),
            hint=_hint(report, "max_tools_bytes",
                       "list fewer tools (`include`/`exclude`, `enabled: false`){listed}; shorten descriptions "
                       "(`defaults.descriptions`, a tool's `description`)"),
        ))
    if budget.max_tool_bytes is not None:
        over = sorted((c for c in costs if c.bytes > budget.max_tool_bytes), key=lambda c: -c.bytes)
        if over:
            report.violations.append(_violation(
                loaded, "max_tool_bytes", budget.max_tool_bytes, over[0].bytes,
                f"{len(over):,} tool definition{'s are' if len(over) != 1 else ' is'} over the budget of "
                f"{budget.max_tool_bytes:,} bytes each:",
                [_tool_offender(loaded, by_name[c.name], c) for c in over[:SHOWN_OFFENDERS]],
                more=max(0, len(over) - SHOWN_OFFENDERS),
                hint=_hint(report, "max_tool_bytes",
                           "give these tools a shorter `description`, hide or fix arguments they do not need "
                           "(`args: {{name: {{hidden: true}}}}`){listed}", over),
            ))
    return report


def _too_many(loaded: LoadedManifest, report: BudgetReport, limit: int) -> Violation:
    per_source: dict[str, int] = {}
    for cost in report.tools:
        per_source[cost.source] = per_source.get(cost.source, 0) + 1
    meta = {c.source for c in report.tools if c.meta}
    offenders = []
    for source, count in sorted(per_source.items(), key=lambda item: -item[1])[:SHOWN_OFFENDERS]:
        if source in meta:
            label = f"discovery meta-tools: {count}"
            where: tuple[Any, ...] = _discovery_path(loaded)
        else:
            label = f"source '{source}' lists {count:,} {noun(count, 'tool')}"
            where = ("sources", source)
        offenders.append(Offender(label, count, loaded.diagnostic(where, label, prefer="key")))
    return _violation(
        loaded, "max_tools", limit, report.listed,
        f"{report.listed:,} tools are listed, over the budget of {limit:,}; by source:",
        offenders,
        hint=_hint(report, "max_tools", "narrow sources with `include`/`exclude`, disable tools with "
                                        "`enabled: false`{listed}"),
    )


def _hint(report: BudgetReport, key: BudgetKey, advice: str, offenders: list[ToolCost] | None = None) -> str:
    """What to change, as far as it can be changed: `advice` for the sources' own tools, its `{listed}` the way
    out that applies to them — `expose: discovery` for the sources listed in full (named when discovery mode
    is on elsewhere), pinning fewer for tools listed only because they are pinned — and for discovery mode's
    meta-tools, whose definitions are fixed, the floor they set: for `max_tools_bytes` the size of a tools/list
    holding only them (`BudgetReport.meta_bytes`: definitions and the result around them, what the budget
    measures). `offenders`: the tools over the limit (default: every listed tool)."""
    offenders = report.tools if offenders is None else offenders
    meta = [c for c in report.tools if c.meta]
    parts = []
    own = [c for c in offenders if not c.meta]
    if own:
        full = sorted({c.source for c in own if not c.pinned})
        ways = []
        if full and meta:
            ways.append(f", or set `expose: discovery` on {noun(len(full), 'source')} "
                        f"{', '.join(repr(name) for name in full)} (listed in full) so "
                        f"{'it is' if len(full) == 1 else 'they are'} searched instead of listed")
        elif full:
            ways.append(", or set `expose: discovery` so a big source is searched instead of listed")
        if any(c.pinned for c in own):
            ways.append(", or pin fewer tools (`server.pinned`, a tool's `pinned: true`)")
        parts.append(advice.format(listed="".join(ways)))
    if meta and any(c.meta for c in offenders):
        floor = {"max_tools": f"{len(meta)}",
                 "max_tools_bytes": f"{report.meta_bytes:,} bytes (a tools/list of them alone)",
                 "max_tool_bytes": f"{max(c.bytes for c in meta):,} bytes"}[key]
        parts.append(f"discovery mode always lists its {len(meta)} meta-tools, whose definitions are fixed "
                     f"({sum(c.bytes for c in meta):,} bytes, the largest {max(c.bytes for c in meta):,}): "
                     f"with `expose: discovery`, `{key}` must be at least {floor}")
    return "; ".join(parts)


def _violation(loaded: LoadedManifest, key: BudgetKey, limit: int, actual: int, message: str,
               offenders: list[Offender], *, more: int = 0, hint: str = "") -> Violation:
    location = loaded.diagnostic(("server", "budget", key), f"budget exceeded: {message}")
    return Violation(key, limit, actual, location, offenders, more, hint)


def _tool_offender(loaded: LoadedManifest, tool: Tool, cost: ToolCost) -> Offender:
    """A tool at the manifest place that produced it: its override if it has one, else its source."""
    if cost.meta:
        label = f"discovery meta-tool '{tool.name}': {cost.bytes:,} bytes"
        return Offender(label, cost.bytes, loaded.diagnostic(_discovery_path(loaded), label, prefer="key"))
    label = f"tool '{tool.name}' (source '{tool.source}'): {cost.bytes:,} bytes"
    if tool.override_key is not None:
        where: tuple[Any, ...] = ("sources", tool.source, "tools", tool.override_key)
    else:
        where = ("sources", tool.source)
    return Offender(label, cost.bytes, loaded.diagnostic(where, label, prefer="key"))


def _discovery_path(loaded: LoadedManifest) -> tuple[Any, ...]:
    """Where discovery mode is switched on: `server.expose`, else the first source that sets it."""
    if ("server", "expose") in loaded.index.nodes:
        return ("server", "expose")
    for name, source in loaded.manifest.sources.items():
        if source.expose == "discovery":
            return ("sources", name, "expose")
    return ("server",)
