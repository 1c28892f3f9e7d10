"""Print a catalog entry's README table (raw → sent bytes per tool, from its recorded cases) and the
tool list's size, measured through the real runtime exactly as the catalog tests measure them.

    python catalog/_tools/measure.py catalog/stripe/mcp.yaml
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

from mcprt.testing.harness import ReplaySession
from mcprt.testing.runner import run_manifest_cases


def tool_list(manifest: Path) -> tuple[int, int]:
    """(tools listed, bytes of the tools/list result) as the entry's server would list them."""
    with ReplaySession(manifest) as session:
        session.open()
        toolset = session.harness.toolset
        assert toolset is not None
        return len(toolset.listed), len(toolset.list_result_json().encode())


def main() -> None:
    manifest = Path(sys.argv[1]).resolve()
    run = run_manifest_cases(manifest)
    if run.failed:
        sys.exit("\n\n".join(o.explain() for o in run.failed))
    raw: dict[str, int] = defaultdict(int)
    sent: dict[str, int] = defaultdict(int)
    for outcome in run.outcomes:
        assert outcome.run is not None
        raw[outcome.case.tool] += outcome.run.raw_bytes
        sent[outcome.case.tool] += outcome.run.sent_bytes
    print("| tool | raw bytes | sent bytes | reduction |\n| --- | ---: | ---: | ---: |")
    for tool in raw:
        print(f"| {tool} | {raw[tool]:,} | {sent[tool]:,} | {100 * (1 - sent[tool] / raw[tool]):.1f}% |")
    total_raw, total_sent = sum(raw.values()), sum(sent.values())
    print(f"| **total** | **{total_raw:,}** | **{total_sent:,}** | **{100 * (1 - total_sent / total_raw):.1f}%** |")
    tools, list_bytes = tool_list(manifest)
    print(f"\nFigures: **{tools} tools**, **{list_bytes:,} bytes** of tools/list, "
          f"**{100 * (1 - total_sent / total_raw):.1f}%** fewer bytes to the model on its cases.")
    print(json.dumps({"raw": total_raw, "sent": total_sent, "tools": tools, "tool_list_bytes": list_bytes}),
          file=sys.stderr)


if __name__ == "__main__":
    main()
