"""What each benchmark part hands back to `run.py`: a titled table, goals with verdicts, notes."""

from __future__ import annotations

from dataclasses import dataclass, field

from common import table, verdict


@dataclass
class Goal:
    name: str
    measured: str
    target: str
    ok: bool | None  # None: could not be measured


@dataclass
class Section:
    title: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[object]] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw: str = ""  # verbatim output of an external script (reload, discovery)
    extra_tables: list[tuple[list[str], list[list[object]]]] = field(default_factory=list)

    def markdown(self) -> str:
        parts = [f"### {self.title}"]
        if self.rows:
            parts.append(table(self.headers, self.rows))
        parts.extend(table(headers, rows) for headers, rows in self.extra_tables)
        if self.goals:
            parts.append(table(["goal", "measured", "target", "verdict"],
                               [[g.name, g.measured, g.target, "n/a" if g.ok is None else verdict(g.ok)]
                                for g in self.goals]))
        if self.raw:
            parts.append("```\n" + self.raw.rstrip() + "\n```")
        if self.notes:
            parts.append("\n".join(f"- {note}" for note in self.notes))
        return "\n\n".join(parts)
