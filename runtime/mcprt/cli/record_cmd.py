"""`mcprt record`: call the live upstream once and store the case (and its snapshot) for `mcprt test`."""

from __future__ import annotations

import sys

from .call_cmd import parse_args, split_targets
from .errors import EXIT_FAILED_CHECK, EXIT_OK


def run_record(targets: list[str], args_text: str, name: str | None) -> int:
    from ..testing.record import record_case
    from ..testing.snapshots import bytes_summary

    manifest, tool = split_targets(targets)
    recorded = record_case(manifest, tool, parse_args(args_text), name)
    for warning in recorded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    case = recorded.case
    print(f"recorded {case.id}: {case.path}")
    replay = recorded.replay
    if replay.snapshot is not None:
        print(f"snapshot: {replay.snapshot.path}")
    if replay.run is not None:
        print(f"bytes: {bytes_summary(replay.run.raw_bytes, replay.run.sent_bytes)}")
    if not replay.passed:
        # The live call and its replay disagree: say so now rather than at the next `mcprt test`.
        print(replay.explain(), file=sys.stderr)
        return EXIT_FAILED_CHECK
    return EXIT_OK
