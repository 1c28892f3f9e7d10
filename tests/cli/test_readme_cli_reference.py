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


def test_the_default_manifest_names_are_the_same_in_help_readme_and_loader(tmp_path: Path) -> None:
    """`mcprt up --help` said `./mcp.yaml, then ./mcp.toml` while the loader (and the README) also take
    `./mcp.yml` second (found by running the README's CLI reference, 2026-11-30)."""
    from mcprt.manifest.names import DEFAULT_NAMES, search_order

    assert search_order() == "./mcp.yaml, ./mcp.yml, then ./mcp.toml"
    reference = README.read_text()
    reference = reference[reference.index("## CLI reference"):]
    assert f"FILE defaults to {search_order()};" in reference
    for command in ("up", "validate", "tools", "pin", "test"):
        done = mcprt_cli(command, "--help", env={"COLUMNS": "200", "NO_COLOR": "1"})
        assert f"(default: {search_order()})" in done.stdout, done.stdout
    # The order is the loader's: with mcp.yml and mcp.toml side by side, mcp.yml is the one read.
    (tmp_path / "mcp.toml").write_text('version = 1\n[server]\nname = "from-toml"\n[sources]\n')
    (tmp_path / "mcp.yml").write_text("version: 1\nserver: {name: from-yml}\nsources: {}\n")
    assert DEFAULT_NAMES.index("mcp.yml") < DEFAULT_NAMES.index("mcp.toml")
    checked = mcprt_cli("validate", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert f"{tmp_path / 'mcp.yml'}: ok" in checked.stdout + checked.stderr


def test_pause_reason_help_says_callers_see_it() -> None:
    """`mcprt pause --help` described `--reason` with the approvals' text ("a denial reason is shown to the
    model"), as if a pause's reason were not; the README says (and the gate does) that each refused call's
    tool error carries it."""
    done = mcprt_cli("pause", "--help", env={"COLUMNS": "200", "NO_COLOR": "1"})
    line = next(row for row in done.stdout.splitlines() if "--reason" in row)
    assert "each refused call's tool error carries it" in line and "denial" not in line, line
    reference = README.read_text()
    assert "the refused call's tool error carries it" in reference
