"""Byte figures of replayed cases: per tool, raw bytes from upstream → bytes sent to the model."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .snapshots import reduction


@dataclass
class ToolBytes:
    tool: str
    cases: int = 0
    raw: int = 0
    sent: int = 0

    @property
    def reduction(self) -> float | None:
        return reduction(self.raw, self.sent)


def bytes_by_tool(runs: Iterable[tuple[str, int, int]]) -> tuple[list[ToolBytes], ToolBytes]:
    """(tool, raw, sent) per case → rows per tool (in first-seen order) and the total row."""
    rows: dict[str, ToolBytes] = {}
    total = ToolBytes("total")
    for tool, raw, sent in runs:
        row = rows.setdefault(tool, ToolBytes(tool))
        for target in (row, total):
            target.cases += 1
            target.raw += raw
            target.sent += sent
    return list(rows.values()), total


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def bytes_table(rows: list[ToolBytes], total: ToolBytes, *, markdown: bool = False) -> str:
    """A fixed-width (or markdown) table: tool, cases, raw bytes, sent bytes, reduction."""
    header = ("tool", "cases", "raw bytes", "sent bytes", "reduction")
    body = [(r.tool, str(r.cases), f"{r.raw:,}", f"{r.sent:,}", _percent(r.reduction)) for r in rows]
    last = (total.tool, str(total.cases), f"{total.raw:,}", f"{total.sent:,}", _percent(total.reduction))
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "| --- | ---: | ---: | ---: | ---: |"]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        lines.append("| " + " | ".join(f"**{c}**" for c in last) + " |")
        return "\n".join(lines)
    table = [header, *body, last]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), rule, *(fmt(cells) for cells in body), rule, fmt(last)])
