"""The README's CLI reference names every option each command's `--help` lists, and no other.

Found by an operator trial: `mcprt record --name` and `mcprt pause/resume --json` were in `--help` but
not in the reference (and `mcprt status --url`, added since, would have been missed the same way)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.cli import mcprt_cli

README = Path(__file__).resolve().parents[2] / "README.md"
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def _reference() -> dict[str, set[str]]:
    """command → the options its rows in the CLI reference name (`mcprt pause … / mcprt resume …` both)."""
    text = README.read_text()
    table = text[text.index("## CLI reference"):]
    table = table[:table.index("\nGlobal options")]
    options: dict[str, set[str]] = {}
    for row in table.splitlines():
        if not row.startswith("| `mcprt "):
            continue
        synopsis = row.split("` |", 1)[0] if "` |" in row else row
        usages = re.findall(r"`mcprt ([a-z]+)([^`]*)`", synopsis + "`")
        named = set(OPTION.findall(synopsis))
        for command, _ in usages:
            options.setdefault(command, set()).update(named)
    options["resume"].discard("--reason")  # "`mcprt resume …`": pause's options but the reason
    return options


def _help_options(command: str) -> set[str]:
    done = mcprt_cli(command, "--help", env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr
    return set(re.findall(r"^[│|]\s+(?:\*\s+)?(--[a-z][a-z-]*)", done.stdout, re.M)) - {"--help"}


def test_every_command_option_is_in_the_reference_and_back() -> None:
    reference = _reference()
    assert {"up", "validate", "tools", "call", "status", "pause", "resume", "approvals"} <= set(reference)
    mismatches = {}
    for command, documented in sorted(reference.items()):
        listed = _help_options(command)
        if listed != documented:
            mismatches[command] = {"only in --help": sorted(listed - documented),
                                   "only in the README": sorted(documented - listed)}
    assert not mismatches, mismatches
