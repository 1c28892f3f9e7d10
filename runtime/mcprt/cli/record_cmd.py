"""`mcprt record`: call the live upstream once and store the case (and its snapshot) for `mcprt test`."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from .call_cmd import parse_args, split_targets
from ..stdout_claim import command_output
from .errors import EXIT_FAILED_CHECK, EXIT_OK


def run_record(targets: list[str], args_text: str, name: str | None) -> int:
    from ..testing.record import record_case

    manifest, tool = split_targets(targets)
    out = command_output()  # the original stdout, claimed before the manifest's Python code runs (its prints: stderr)
    recorded = record_case(manifest, tool, parse_args(args_text), name)
    try:
        return _report(recorded, out)
    finally:
        out.flush()  # a process left with an abandoned call ends without the usual flush (cli/exiting.py)


def _report(recorded: Any, out: TextIO) -> int:
    from ..testing.snapshots import bytes_summary

    for warning in recorded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    case = recorded.case
    print(f"recorded {case.id}: {case.path}", file=out)
    replay = recorded.replay
    if replay.snapshot is not None:
        print(f"snapshot: {replay.snapshot.path}", file=out)
    # The live call's figures: the call the log line (`raw_bytes`, `sent_bytes`) describes, upstream body
    # bytes as received. The replay serves the case's JSON compact, so its raw figure (the snapshot's and
    # `mcprt test`'s) is smaller when upstream sent indented or escaped JSON: said, not silently swapped.
    print(f"bytes: {bytes_summary(recorded.live_raw, recorded.live_sent)}", file=out)
    if replay.run is not None and replay.run.raw_bytes != recorded.live_raw:
        print(f"replayed: {bytes_summary(replay.run.raw_bytes, replay.run.sent_bytes)} (the case's body as "
              "compact JSON, as `mcprt test` and the snapshot count it)", file=out)
    if not replay.passed:
        # The live call and its replay disagree: say so now rather than at the next `mcprt test`.
        print(replay.explain(), file=sys.stderr)
        return EXIT_FAILED_CHECK
    return EXIT_OK
