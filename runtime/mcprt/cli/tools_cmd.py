"""`mcprt tools`: the tools the server would list, as a table or the exact tools/list JSON; then the
resources, resource templates and prompts it would list, with each definition's size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..offerings.offerset import OfferSet, definition_size

from .common import compile_once, go_offline, run_async, stdout_console
from .errors import EXIT_OK, guarded, print_diagnostics
from ..scrubbing.streams import scrubbing
from ..stdout_claim import command_output
from ..wording import noun


def tools_command(manifest: Path | None, as_json: bool, offline: bool) -> int:
    """`mcprt tools` as Typer and `cli.fast` run it: the exit code (errors exit through `guarded`)."""
    go_offline(offline)
    with guarded():
        code = run_tools(manifest, as_json, offline)
    return code


def run_tools(manifest: Path | None, as_json: bool, offline: bool = False) -> int:
    # the original stdout, claimed before the manifest's Python code runs (its prints: stderr, in either mode —
    # the text table got a module's import-time print() as its first line); the table is scrubbed as text
    out = command_output() if as_json else scrubbing(command_output())

    async def work() -> int:
        runtime, compiled = await compile_once(manifest, offline=offline, offline_hint=True)
        try:
            print_diagnostics(compiled.warnings)  # stderr: what was skipped or degraded, never in the JSON
            toolset = compiled.toolset
            if as_json:
                _write_json(toolset.list_result_bytes(), out)
                return EXIT_OK
            from rich.table import Table

            table = Table(title=f"{compiled.loaded.path} — tools", show_lines=False)
            # Names are never broken mid-word (they are what one types); descriptions are cut instead.
            listed = toolset.listed
            table.add_column("tool", no_wrap=True, min_width=max((len(t.name) for t in listed), default=4))
            table.add_column("source", no_wrap=True, min_width=max((len(str(t.source)) for t in listed), default=6))
            table.add_column("bytes", justify="right", no_wrap=True, min_width=7)
            table.add_column("description")  # wraps at word boundaries when the terminal is narrow
            total = 0
            for tool in toolset.listed:
                size = tool.definition_size()
                total += size
                first_line = tool.description.split("\n", 1)[0]
                table.add_row(tool.name, getattr(tool, "source", "-"), f"{size:,}", _clip(first_line))
            console = stdout_console(out)
            console.print(table)
            hidden = len(toolset) - len([t for t in toolset.listed if t.name in toolset.tools])
            console.print(f"{len(toolset.listed)} listed tools; the bytes column (each tool's definition) sums to "
                          f"{total:,} (the whole tools/list response, below, adds its envelope)"
                          + (f"; {hidden} more reachable through discovery" if hidden else ""))
            from ..toolset.budget import check_budget

            console.print(check_budget(compiled.loaded, toolset).summary())
            _print_offers(console, compiled.loaded.path, toolset.offers)
            return EXIT_OK
        finally:
            await runtime.aclose()

    return run_async(work)


def _print_offers(console: Any, path: Any, offers: OfferSet) -> None:
    """Resources, templates and prompts in one table (kind, exposed URI or name, source, bytes)."""
    rows = [("resource", key, item) for key, item in offers.resources.items()]
    rows += [("template", key, item) for key, item in offers.templates.items()]
    rows += [("prompt", key, item) for key, item in offers.prompts.items()]
    if not rows:
        return
    from rich.table import Table

    table = Table(title=f"{path} — resources and prompts", show_lines=False)
    for column in ("kind", "uri or name", "source", "bytes", "description"):
        table.add_column(column, justify="right" if column == "bytes" else "left", overflow="fold")
    total = 0
    for kind, key, item in rows:
        size = definition_size(item.wire)
        total += size
        table.add_row(kind, key, item.source, f"{size:,}", _clip(str(item.wire.get("description", ""))))
    console.print(table)
    console.print(f"{len(offers.resources)} {noun(len(offers.resources), 'resource')}, {len(offers.templates)} resource "
                  f"{noun(len(offers.templates), 'template')}, {len(offers.prompts)} {noun(len(offers.prompts), 'prompt')}, "
                  f"{total:,} bytes of definitions")


def _clip(text: str, width: int = 90) -> str:
    """A description cut for the table, marked when cut (`--json` has it whole)."""
    return text if len(text) <= width else text[: width - 1] + "…"


def _write_json(data: bytes, out: Any) -> None:
    """The tools/list JSON (UTF-8, RFC 8259 §8.1) and a newline on `out` (stdout), as bytes: Microsoft Graph beta's is
    336 MB, and decoding it to text to have it encoded again took seconds and as much memory again."""
    out.flush()
    binary = getattr(out, "buffer", None)
    if binary is None:  # a text-only stdout (some embedding hosts)
        out.write(data.decode() + "\n")
        return
    binary.write(data)
    binary.write(b"\n")
    binary.flush()
