"""`mcprt validate`: load, open every source, build the tool set; report every problem and budget overrun."""

from __future__ import annotations

import sys
from pathlib import Path

from ..toolset.budget import check_budget
from .common import compile_once, run_async
from ..errors import Diagnostic
from .errors import EXIT_BAD_INPUT, EXIT_FAILED_CHECK, EXIT_OK, print_diagnostics


def run_validate(manifest: Path | None, offline: bool = False, *, strict: bool = False) -> int:
    """0 ok, 1 over budget, 2 (with `strict`) when anything was warned about."""
    async def work() -> int:
        runtime, compiled = await compile_once(manifest, offline=offline)
        try:
            if strict and compiled.warnings:
                print_diagnostics([Diagnostic(d.file, d.line, d.col, d.message, "error") for d in compiled.warnings])
                print(f"{compiled.loaded.path}: {len(compiled.warnings)} warning"
                      f"{'s' if len(compiled.warnings) != 1 else ''} treated as errors (--strict)", file=sys.stderr)
                return EXIT_BAD_INPUT
            print_diagnostics(compiled.warnings)
            toolset = compiled.toolset
            budget = check_budget(compiled.loaded, toolset)
            if not budget.ok:
                print(budget.format(), file=sys.stderr)
                return EXIT_FAILED_CHECK
            sources = len(compiled.loaded.manifest.sources)
            listed = len(toolset.listed)
            print(
                f"{compiled.loaded.path}: ok — {len(toolset)} tool{'s' if len(toolset) != 1 else ''} "
                f"from {sources} source"
                f"{'s' if sources != 1 else ''}, {listed} listed, "
                f"{len(toolset.list_result_json().encode()):,} bytes of tools/list",
                file=sys.stderr,
            )
            return EXIT_OK
        finally:
            await runtime.aclose()

    return run_async(work)
