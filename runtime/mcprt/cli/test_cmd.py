"""`mcprt test`: replay the manifest's recorded cases through the real pipeline; compare with snapshots."""

from __future__ import annotations

import sys
from pathlib import Path

from .common import counted
from ..stdout_claim import command_output
from .errors import EXIT_FAILED_CHECK, EXIT_OK
from ..wording import noun


def run_test(manifest: Path | None, update: bool) -> int:
    from ..manifest.loader import find_manifest
    from ..observability.log import setup_logging
    from ..testing.cases import case_roots
    from ..testing.report import bytes_by_tool, bytes_table
    from ..testing.runner import run_manifest_cases

    setup_logging("warning", "text")
    out = command_output()  # the original stdout, claimed before the manifest's Python code runs (its prints: stderr)
    path = find_manifest(manifest)
    report = run_manifest_cases(path, update=update, progress=lambda total: counted("testing cases", total))
    for warning in report.warnings:
        print(warning, file=sys.stderr)
    if not report.outcomes:
        print(f"{path}: no cases in {', '.join(f'{root}/' for root in case_roots(path))} — record one with "
              f"`mcprt record {path} TOOL --args '{{...}}'`", file=sys.stderr)
    for outcome in report.outcomes:
        mark = "ok  " if outcome.passed else "FAIL"
        figures = ""
        if outcome.run is not None:
            figures = f"  {outcome.run.raw_bytes:,} -> {outcome.run.sent_bytes:,} bytes"
        print(f"{mark} {outcome.case.id}{figures}  [{outcome.status}]", file=out)
        for note in outcome.run.notes if outcome.run else []:
            print(f"     note: {note}", file=out)
    for outcome in report.failed:
        print(file=out)
        print(outcome.explain(), file=out)
    if report.uncovered:  # said, not failed: a manifest may leave a tool untested on purpose
        print(f"{path}: {len(report.uncovered)} {noun(len(report.uncovered), 'tool')} without a case (nothing checks "
              f"{'its' if len(report.uncovered) == 1 else 'their'} output): {', '.join(report.uncovered)} — record one "
              f"with `mcprt record {path} TOOL --args '{{...}}'`", file=sys.stderr)
    for stale in report.stale_snapshots:
        print(f"stale snapshot (no case): {stale} — `mcprt test --update` removes it", file=sys.stderr)
    for removed in report.removed_snapshots:
        print(f"removed stale snapshot: {removed}", file=sys.stderr)
    ran = [(o.run.tool, o.run.raw_bytes, o.run.sent_bytes) for o in report.outcomes if o.run is not None]
    if ran:
        rows, total = bytes_by_tool(ran)
        print(file=out)
        print(bytes_table(rows, total), file=out)
    failed = len(report.failed)
    passed = len(report.outcomes) - failed
    print(f"\n{passed} passed, {failed} failed", file=out)
    out.flush()  # a process left with an abandoned call ends without the usual flush (cli/exiting.py)
    return EXIT_FAILED_CHECK if failed else EXIT_OK
