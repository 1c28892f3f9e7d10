"""How good are `mcprt init`'s suggested prunes? Measured on every catalog entry's recorded cases.

For each recorded JSON success case of a tool with a hand-written prune: raw bytes, bytes sent with
the suggested prune (plus the entry's `defaults.prune`), bytes with the hand-written one, and the
fields the hand-written prune keeps that the suggestion does not (there should be none).

    python catalog/_tools/measure_suggestions.py [catalog/<entry>/mcp.yaml …]
"""

from __future__ import annotations

import sys
from pathlib import Path

from mcprt.authoring.measure import measure_manifest

CATALOG = Path(__file__).resolve().parents[1]


def main(paths: list[str]) -> int:
    manifests = [Path(p) for p in paths] or sorted(p for p in CATALOG.glob("*/mcp.yaml") if (p.parent / "cases").is_dir())
    print("| entry | cases | raw bytes | suggested | reduction | hand-written | reduction | hand fields not kept |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    totals = [0, 0, 0, 0]
    missing_any = False
    for manifest in manifests:
        figures = measure_manifest(manifest)
        raw = sum(f.raw_bytes for f in figures)
        sent = sum(f.sent_bytes for f in figures)
        hand = sum(f.hand_bytes for f in figures)
        missing = [f"{f.tool}: {p}" for f in figures for p in f.missing]
        missing_any = missing_any or bool(missing)
        totals = [totals[0] + len(figures), totals[1] + raw, totals[2] + sent, totals[3] + hand]
        print(f"| {manifest.parent.name} | {len(figures)} | {raw:,} | {sent:,} | {_pct(raw, sent)} | {hand:,} | "
              f"{_pct(raw, hand)} | {', '.join(missing) or 'none'} |")
    n, raw, sent, hand = totals
    print(f"| **all** | {n} | {raw:,} | {sent:,} | **{_pct(raw, sent)}** | {hand:,} | {_pct(raw, hand)} | |")
    return 1 if missing_any else 0


def _pct(raw: int, sent: int) -> str:
    return f"{(1 - sent / raw) * 100:.1f}%" if raw else "–"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
