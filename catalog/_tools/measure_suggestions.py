"""How good are `mcprt init`'s suggested prunes? Measured on every catalog entry's recorded cases.

For each recorded JSON success case of a tool with a hand-written prune: raw bytes, bytes sent with
the suggested prune (plus the entry's `defaults.prune`), bytes with the hand-written one, and the
fields the hand-written prune keeps that the suggestion does not (there should be none; a field a suggested
table keeps counts only when each item's value is in its column, row by row: `measure.column_holds`).

    python catalog/_tools/measure_suggestions.py [catalog/<entry>/mcp.yaml …]
    python catalog/_tools/measure_suggestions.py --budgets   # the trade-off of a per-record field budget
    python catalog/_tools/measure_suggestions.py --signals   # what each signal of the rule gains and loses
    python catalog/_tools/measure_suggestions.py --diff [N]  # the N largest fields kept beyond the hand prunes

`--budgets` measures the suggestion with field budgets (`mcprt.authoring.suggest.Budget`:
fields per single result / list item / nested part) and prints, per budget, the catalog's byte
reduction, how many hand-kept documented fields it loses, and which.

`--diff` ranks what the suggestions keep and the hand-written prunes do not, by bytes in the
recorded responses (`entry tool path`), the largest first.

`--signals` measures each signal (`suggest.SIGNALS`, and the measured-but-off `suggest.OPTIONAL`) on
its own: the rule without it (or, for an optional one, with it), with no budget and with a 16-field
budget per list item, as the change in byte reduction and in hand-kept fields lost.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mcprt.authoring.measure import EntryFigure, Prepared, extra_paths, measure_entry, prepare, table
from mcprt.authoring.suggest import OPTIONAL, SIGNALS, Budget

CATALOG = Path(__file__).resolve().parents[1]
BUDGETS = [None, Budget(999, 999, 4), Budget(999, 32, 999), Budget(999, 24, 999), Budget(999, 20, 999),
           Budget(999, 16, 999), Budget(999, 12, 999), Budget(30, 12, 4), Budget(20, 10, 3)]
PROBE = Budget(999, 16, 999)  # the budget `--signals` also measures each signal under


def figures(prepared: list[Prepared], budget: Budget | None = None,
            signals: frozenset[str] = SIGNALS) -> tuple[float, list[str]]:
    """The catalog's byte reduction and the hand-kept documented fields lost (`entry: tool: path`)."""
    entries: list[EntryFigure] = [measure_entry(p, budget, signals) for p in prepared]
    raw, sent = sum(e.raw_bytes for e in entries), sum(e.sent_bytes for e in entries)
    return 1 - sent / raw, [f"{e.entry}: {m}" for e in entries for m in e.missing]


def budgets(prepared: list[Prepared]) -> None:
    print("| budget (single / item / part) | reduction | hand-kept documented fields lost |")
    print("| --- | ---: | --- |")
    for budget in BUDGETS:
        reduction, lost = figures(prepared, budget)
        label = "none (the rule)" if budget is None else f"{budget.single} / {budget.item} / {budget.part}"
        named = ", ".join(lost[:4]) + (f", … ({len(lost) - 4} more)" if len(lost) > 4 else "")
        print(f"| {label} | {reduction * 100:.1f}% | {len(lost)}{': ' + named if lost else ''} |")


def signals(prepared: list[Prepared]) -> None:
    base, base_lost = figures(prepared)
    probe, probe_lost = figures(prepared, PROBE)
    print("| signal | switched on, the rule: Δ reduction / Δ fields lost "
          f"| … with {PROBE.item} fields per list item |")
    print("| --- | ---: | ---: |")
    print(f"| all of `SIGNALS` (the rule) | {base * 100:.1f}% / {len(base_lost)} "
          f"| {probe * 100:.1f}% / {len(probe_lost)} |")
    for name in sorted(SIGNALS) + sorted(OPTIONAL):
        changed = SIGNALS - {name} if name in SIGNALS else SIGNALS | {name}
        rule, rule_lost = figures(prepared, None, changed)
        under, under_lost = figures(prepared, PROBE, changed)
        # what the signal gains: with it minus without it
        sign = 1 if name in SIGNALS else -1
        label = f"`{name}`" + ("" if name in SIGNALS else " (off)")
        print(f"| {label} | {sign * (base - rule) * 100:+.1f} pt / {sign * (len(base_lost) - len(rule_lost)):+d} "
              f"| {sign * (probe - under) * 100:+.1f} pt / {sign * (len(probe_lost) - len(under_lost)):+d} |")
    nothing, nothing_lost = figures(prepared, None, frozenset())
    print(f"| none of them | {nothing * 100:.1f}% / {len(nothing_lost)} | |")


def diff(prepared: list[Prepared], top: int) -> None:
    ranked = sorted(((size, p.entry, tool, path) for p in prepared for (tool, path), size in extra_paths(p).items()),
                    reverse=True)
    print(f"kept beyond the hand-written prunes: {sum(r[0] for r in ranked):,} bytes in {len(ranked)} fields")
    for size, entry, tool, path in ranked[:top]:
        print(f"{size:9,}  {entry} {tool} {path}")


def main(args: list[str]) -> int:
    paths = [a for a in args if not a.startswith("--")]
    top = [p for p in paths if p.isdigit()]
    paths = [p for p in paths if not p.isdigit()]
    manifests = [Path(p) for p in paths] or sorted(
        p for p in CATALOG.glob("*/mcp.yaml") if (p.parent / "cases").is_dir())
    prepared = [prepare(m) for m in manifests]
    if "--budgets" in args:
        budgets(prepared)
        return 0
    if "--signals" in args:
        signals(prepared)
        return 0
    if "--diff" in args:
        diff(prepared, int(top[0]) if top else 40)
        return 0
    entries = [measure_entry(p) for p in prepared]
    print(table(entries))
    return 1 if any(e.missing for e in entries) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
