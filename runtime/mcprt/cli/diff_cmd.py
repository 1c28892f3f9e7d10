"""`mcprt diff OLD NEW`: what the model would see change between two manifests (paths or REV:path)."""

from __future__ import annotations

import sys

from ..errors import McprtError
from .errors import EXIT_FAILED_CHECK, EXIT_OK
from ..stdout_claim import command_output

FORMATS = ("text", "markdown", "json")
FAIL_ON = ("breaking", "any")


def run_diff(old: str, new: str, format: str, fail_on: str | None) -> int:
    if format not in FORMATS:
        raise McprtError(f"--format must be one of {', '.join(FORMATS)} (got {format!r})")
    if fail_on is not None and fail_on not in FAIL_ON:
        raise McprtError(f"--fail-on must be one of {', '.join(FAIL_ON)} (got {fail_on!r})")
    from ..gitops import diff_manifests, render
    from ..observability.log import setup_logging

    setup_logging("warning", "text")
    # the diff goes to the original stdout, claimed before either manifest's Python code runs (its prints: stderr)
    out = command_output()
    diff = diff_manifests(old, new)
    if diff.old_absent:  # the pull request that adds the manifest: said, not an error (exit 2 had no comment)
        print(f"mcprt diff: {old} does not exist at that revision: compared with an empty manifest, so everything "
              "is added and nothing is breaking", file=sys.stderr)
    out.write(render(diff, format))
    out.flush()
    if fail_on == "breaking" and diff.breaking:
        print("mcprt diff: breaking changes found (--fail-on breaking)", file=sys.stderr)
        return EXIT_FAILED_CHECK
    if fail_on == "any" and diff.any_change:
        print("mcprt diff: changes found (--fail-on any)", file=sys.stderr)
        return EXIT_FAILED_CHECK
    return EXIT_OK
