"""How good are `mcprt init`'s suggested prunes? Measured on every catalog entry's recorded cases.

For each recorded JSON success case of a tool with a hand-written prune: raw bytes, bytes sent with
the suggested prune (plus the entry's `defaults.prune`), bytes with the hand-written one, and the
fields the hand-written prune keeps that the suggestion does not (there should be none).

    python catalog/_tools/measure_suggestions.py [catalog/<entry>/mcp.yaml …]
    python catalog/_tools/measure_suggestions.py --budgets   # the trade-off of a per-record field budget

`--budgets` measures the suggestion with field budgets (`mcprt.authoring.suggest.Budget`:
fields per single result / list item / nested part) and prints, per budget, the catalog's byte
reduction and how many hand-kept documented fields it loses.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mcprt.authoring.measure import measure_entry, table
from mcprt.authoring.suggest import Budget

CATALOG = Path(__file__).resolve().parents[1]
BUDGETS = [None, Budget(999, 999, 4), Budget(999, 999, 1), Budget(999, 24, 999), Budget(999, 16, 999),
           Budget(30, 12, 4), Budget(20, 10, 3), Budget(16, 8, 2)]


def main(args: list[str]) -> int:
    budgets = "--budgets" in args
    paths = [a for a in args if a != "--budgets"]
    manifests = [Path(p) for p in paths] or sorted(p for p in CATALOG.glob("*/mcp.yaml") if (p.parent / "cases").is_dir())
    if budgets:
        print("| budget (single / item / part) | reduction | hand-kept documented fields lost | entries losing any |")
        print("| --- | ---: | ---: | ---: |")
        for budget in BUDGETS:
            entries = [measure_entry(m, budget) for m in manifests]
            raw, sent = sum(e.raw_bytes for e in entries), sum(e.sent_bytes for e in entries)
            label = "none (the rule)" if budget is None else f"{budget.single} / {budget.item} / {budget.part}"
            lost = sum(len(e.missing) for e in entries)
            print(f"| {label} | {(1 - sent / raw) * 100:.1f}% | {lost} | {sum(1 for e in entries if e.missing)} |")
        return 0
    entries = [measure_entry(m) for m in manifests]
    print(table(entries))
    return 1 if any(e.missing for e in entries) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
