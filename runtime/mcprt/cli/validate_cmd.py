"""`mcprt validate`: load, open every source, build the tool set; report every problem and budget overrun.

`--no-exec` checks a manifest that nobody has reviewed yet (an untrusted pull request): everything
static — the file, its schema, expressions, templates, includes, OpenAPI documents — but no source
that runs code is started or imported (`python:` modules, `command:` servers); those are listed as
unchecked.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from ..toolset.budget import check_budget
from .common import compile_once, go_offline, run_async
from ..errors import ManifestError
from .errors import EXIT_BAD_INPUT, EXIT_FAILED_CHECK, EXIT_OK, guarded, print_diagnostics
from ..stdout_claim import command_output
from ..wording import noun


EXECUTED_KINDS = ("python", "command")


def validate_command(manifest: Path | None, offline: bool, strict: bool, no_exec: bool) -> int:
    """`mcprt validate` as Typer and `cli.fast` run it: the exit code (errors exit through `guarded`)."""
    go_offline(offline)
    with guarded():
        code = run_validate(manifest, offline, no_exec, strict=strict)
    return code


def run_validate(manifest: Path | None, offline: bool = False, no_exec: bool = False, *, strict: bool = False) -> int:
    """0 ok, 1 over budget, 2 (with `strict`) when anything was warned about; `no_exec` opens no
    source kind that runs code (reported as unchecked)."""
    # validate reports on stderr; stdout is claimed before a Python source's module runs, so its import-time
    # prints go to stderr too (as for `call`), not onto stdout, which a script may read
    command_output()

    async def work() -> int:
        unchecked: list[str] = []
        try:
            runtime, compiled = await compile_once(manifest, offline=offline, offline_hint=True,
                                                   without_kinds=EXECUTED_KINDS if no_exec else (),
                                                   skipped=unchecked)
        except ManifestError as exc:
            if strict and any(d.severity == "warning" for d in exc.diagnostics):  # warnings fail too, beside errors
                raise ManifestError(diagnostics=[d if d.severity == "note" else replace(d, severity="error")
                                                 for d in exc.diagnostics]) from None
            raise
        # Said in the summary (and before a failure), so "0 tools from 0 sources" never hides skipped ones.
        not_checked = (f"{len(unchecked)} {noun(len(unchecked), 'source')} not checked (--no-exec; these run "
                       f"code): {', '.join(unchecked)}") if unchecked else ""

        def fail(code: int) -> int:
            if not_checked:
                print(f"{compiled.loaded.path}: {not_checked}", file=sys.stderr)
            return code

        try:
            warned = [d for d in compiled.warnings if d.severity == "warning"]  # notes inform, never fail
            if strict and warned:
                print_diagnostics([d if d.severity == "note" else replace(d, severity="error")
                                   for d in compiled.warnings])
                found = sum(d.stands_for for d in warned)  # a "… and N more" line is N of them
                print(f"{compiled.loaded.path}: {found} "
                      f"{noun(found, 'warning')} treated as errors (--strict)", file=sys.stderr)
                return fail(EXIT_BAD_INPUT)
            print_diagnostics(compiled.warnings)
            from ..policy.checks import stdio_approval_warnings

            # validate cannot know the transport: notes at each approve rule, not warnings (--strict passes HTTP)
            print_diagnostics(stdio_approval_warnings(compiled.loaded, severity="note"))
            toolset = compiled.toolset
            from ..testing.rendering import render_recorded_cases

            rendering = render_recorded_cases(compiled.loaded, toolset)
            if rendering:
                print_diagnostics(rendering)
                return fail(EXIT_BAD_INPUT)
            budget = check_budget(compiled.loaded, toolset)
            if not budget.ok:
                print(budget.format(), file=sys.stderr)
                return fail(EXIT_FAILED_CHECK)
            sources = len(compiled.loaded.manifest.sources)
            listed = len(toolset.listed)
            print(
                f"{compiled.loaded.path}: ok — {len(toolset)} {noun(len(toolset), 'tool')} "
                f"from {sources} {noun(sources, 'source')}{' opened' if unchecked else ''}, {listed} listed, "
                f"{budget.total_bytes:,} bytes of tools/list"
                + (f"; {not_checked}" if not_checked else ""),
                file=sys.stderr,
            )
            return EXIT_OK
        finally:
            await runtime.aclose()

    return run_async(work)
