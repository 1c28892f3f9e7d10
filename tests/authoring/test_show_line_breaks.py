"""`mcprt show` says where a template's line break is not sent (`trim_blocks`) and never hides one.

A trial's template put its newline right after `{% for … %}`: the model got one 8,517-byte line, and `mcprt
show`'s override line printed the template with a space where the newline was. The case is recorded from the
real pets API on 127.0.0.1; `show` runs as a real `python -m mcprt`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mcprt.expressions.templates import compile_template, dropped_line_breaks
from tests.gitops.pets_api import API_KEY, make_workspace, pets_app
from tests.support.cli import mcprt_process
from tests.support.upstream import serve_app

ONE_LINE = "{{ result | length }} pets{% for p in result %}\n#{{ p.id }} {{ p.name }}{% endfor %}\n"


def test_show_names_the_line_whose_break_is_dropped_and_prints_the_sample_as_sent(tmp_path: Path) -> None:
    with serve_app(pets_app()) as base:
        workspace = make_workspace(tmp_path / "project", base, tmp_path / "cache")
        workspace.edit("          {% for p in result %}#{{ p.id }} {{ p.name }} ({{ p.tag }})\n          {% endfor %}\n",
                       "".join(f"          {line}\n" for line in ONE_LINE.splitlines()))
        recorded = workspace.mcprt("record", "list_pets", "--args", '{"limit": 2}', "--name", "two")
        assert recorded.returncode == 0, recorded.stderr
    shown = mcprt_process("show", "mcp.yaml", "list_pets", "--offline", cwd=workspace.root, env=workspace.env,
                          forked=True)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    override = next(line for line in lines if line.startswith("  output: "))
    assert override.startswith("  output: {{ result | length }} pets{% for p in result %}\\n#{{ p.id }}"), override
    assert ("  (line 1: ends in a {% … %} tag or {# … #}, so its line break is not sent (trim_blocks); end the line before the "
            "tag, or write +%} to keep it)") in lines
    sample = lines.index(next(line for line in lines if line.startswith("sample (cases/list_pets/two.yaml")))
    assert lines[sample + 1:] == ["  2 pets#1 pet-1#2 pet-2"]  # as sent: one line

    workspace.edit("{% for p in result %}\n", "{% for p in result +%}\n")
    kept = mcprt_process("show", "mcp.yaml", "list_pets", "--offline", cwd=workspace.root, env=workspace.env,
                         forked=True)
    assert kept.returncode == 0, kept.stderr
    assert "its line break is not sent" not in kept.stdout
    after = kept.stdout.splitlines()
    sample = after.index(next(line for line in after if line.startswith("sample (")))
    assert after[sample + 1:] == ["  2 pets", "  #1 pet-1", "  #2 pet-2"]
    assert API_KEY not in shown.stdout + kept.stdout


@pytest.mark.parametrize("template, dropped, sent", [
    (ONE_LINE, [1], "1 pets#1 Rex"),
    ("{% for p in result %}\n#{{ p.id }}\n{% endfor %}\n", [], "#1\n"),  # tags alone on their lines: wanted
    ("x{% if result %}\ny{% endif %}\nz\n", [1, 2], "xyz"),
    ("x{% if result -%}\ny{% endif +%}\nz\n", [], "xy\nz"),  # `-%}` asks for it, `+%}` keeps it
    ("{{ result | length }}{# a comment #}\nz\n", [1], "1z"),
])
def test_the_lines_named_are_those_whose_break_the_render_drops(template: str, dropped: list[int], sent: str) -> None:
    assert dropped_line_breaks(template) == dropped
    assert compile_template(template, kind="output").render(result=[{"id": 1, "name": "Rex"}]) == sent
