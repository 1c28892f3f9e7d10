"""`mcprt diff` shows what a change leaves for `mcprt validate` to warn about: a reviewer of the pull
request reads the diff, not a validate run of the branch.

Found by a later pass: renaming a tool left `policy.rules[].match.tools: [list_*]` matching no tool
(`validate` warned, `diff` said nothing), so a deny rule silently stopped applying.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.gitops.pets_api import Workspace, make_workspace

POLICY = """\
policy:
  default: allow
  rules:
    - {match: {tools: ["list_*"]}, action: deny, reason: "no listing"}
"""


def _pair(tmp_path: Path) -> tuple[Workspace, Workspace]:
    old = make_workspace(tmp_path / "old", "http://127.0.0.1:9", tmp_path / "cache")
    new = make_workspace(tmp_path / "new", "http://127.0.0.1:9", tmp_path / "cache")
    for ws in (old, new):
        ws.write_manifest(ws.manifest.read_text() + POLICY)
    return old, new


def test_a_policy_rule_left_matching_nothing_is_a_breaking_change(tmp_path: Path) -> None:
    old, new = _pair(tmp_path)
    new.edit("        name: list_pets\n", "        name: pets_list\n")
    result = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--format", "json", "--fail-on", "breaking")
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads(result.stdout)
    [warning] = [c for c in data["manifest_changes"] if c["kind"] == "new warning"]
    assert "rules[0]: 'list_*' matches no tool" in warning["detail"] and warning["breaking"] is True
    assert warning["detail"].startswith("mcp.yaml:")  # where to look, as validate says it
    text = new.mcprt("diff", str(old.manifest), "mcp.yaml")
    assert "new warning" in text.stdout and "'list_*' matches no tool" in text.stdout, text.stdout
    markdown = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--format", "markdown")
    assert "'list_*' matches no tool" in markdown.stdout, markdown.stdout


def test_a_warning_both_sides_have_is_not_news_and_other_new_warnings_are_shown(tmp_path: Path) -> None:
    old, new = _pair(tmp_path)
    for ws in (old, new):  # already dead before the change: not the change's doing
        ws.edit('    - {match: {tools: ["list_*"]}', '    - {match: {tools: ["nothing_*"]}')
    new.edit("  rules:\n", "  rules:\n    - {match: {tools: [get_pet]}, action: allow}\n"
                           "    - {match: {}, action: deny}\n    - {match: {tools: [create_pet]}, action: deny}\n")
    result = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--format", "json")
    assert result.returncode == 0, result.stderr
    news = [c for c in json.loads(result.stdout)["manifest_changes"] if c["kind"] == "new warning"]
    assert not any("nothing_*" in c["detail"] for c in news), news
    unreachable = [c for c in news if "is unreachable" in c["detail"]]
    assert unreachable and not unreachable[0]["breaking"], news
