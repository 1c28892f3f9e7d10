"""The README's and docs' Markdown tables have one header separator row each: a second `| --- |` row under the
first renders on GitHub as a data row of dashes (two measured tables in the README had one, pasted over the
`measure_suggestions.py` output, which prints its own)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEPARATOR = re.compile(r"^\s*\|(\s*:?-{3,}:?\s*\|)+\s*$")


def _doubled_separators(text: str) -> list[int]:
    lines = text.splitlines()
    return [n + 1 for n in range(1, len(lines)) if SEPARATOR.match(lines[n]) and SEPARATOR.match(lines[n - 1])]


def test_a_doubled_separator_row_is_found() -> None:
    table = "| a | b |\n| --- | ---: |\n| --- | ---: |\n| 1 | 2 |\n"
    assert _doubled_separators(table) == [3]
    assert _doubled_separators(table.replace("| --- | ---: |\n", "", 1)) == []


def test_no_table_has_two_separator_rows() -> None:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "catalog").glob("*/README.md"))]
    found = {str(f.relative_to(ROOT)): lines for f in files if (lines := _doubled_separators(f.read_text("utf-8")))}
    assert not found, f"a second header separator row (delete it): {found}"
