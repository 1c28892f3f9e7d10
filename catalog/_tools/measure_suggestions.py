"""How good are `mcprt init`'s suggested prunes? Measured on every catalog entry's recorded cases.

For each recorded JSON success case of a tool with a hand-written prune: raw bytes, bytes sent with
the suggested prune (plus the entry's `defaults.prune`), bytes with the hand-written one, and the
fields the hand-written prune keeps that the suggestion does not (there should be none).

    python catalog/_tools/measure_suggestions.py [catalog/<entry>/mcp.yaml …]
"""

from __future__ import annotations

import sys
from pathlib import Path

from mcprt.authoring.measure import measure_entry, table

CATALOG = Path(__file__).resolve().parents[1]


def main(paths: list[str]) -> int:
    manifests = [Path(p) for p in paths] or sorted(p for p in CATALOG.glob("*/mcp.yaml") if (p.parent / "cases").is_dir())
    entries = [measure_entry(m) for m in manifests]
    print(table(entries))
    return 1 if any(e.missing for e in entries) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
