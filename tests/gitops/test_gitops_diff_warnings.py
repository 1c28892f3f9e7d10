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


# Found by review: warnings were keyed by their message with list indexes stripped, and many messages do not
# name their item, while the key kept the "did you mean" hint.


def _diff(old: Workspace, new: Workspace, *args: str) -> tuple[int, list[dict]]:
    result = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    changes = json.loads(result.stdout)["manifest_changes"]
    return result.returncode, [c for c in changes if c["kind"] == "new warning"]


def test_another_rule_left_dead_with_the_same_glob_is_new(tmp_path: Path) -> None:
    old, new = _pair(tmp_path)
    for ws in (old, new):
        ws.edit('    - {match: {tools: ["list_*"]}', '    - {match: {tools: ["nothing_*"]}')
    # the dead rule is mended, and another one with the same dead glob comes in
    new.edit('    - {match: {tools: ["nothing_*"]}, action: deny, reason: "no listing"}\n',
             '    - {match: {tools: ["list_*"]}, action: deny, reason: "no listing"}\n'
             '    - {match: {tools: ["nothing_*"]}, action: deny, reason: "other"}\n')
    code, news = _diff(old, new, "--fail-on", "breaking")
    assert [c["detail"].split(": ", 1)[1] for c in news] == [
        "rules[1]: 'nothing_*' matches no tool (this rule or limit now applies to no call)"], news
    assert code == 1


def test_a_literal_secret_elsewhere_is_new(tmp_path: Path) -> None:
    old, new = _pair(tmp_path)
    old.edit("version: 1\n", "version: 1\nserver:\n  auth: {tokens: {alice: literal-token-1}}\n")
    new.edit('value: "${PETS_KEY}"', 'value: "literal-key-2"')
    code, news = _diff(old, new)
    assert len(news) == 1 and "a secret is written literally" in news[0]["detail"], news
    assert news[0]["detail"].startswith("mcp.yaml:8:"), news


def test_a_dead_globs_changed_hint_is_not_new(tmp_path: Path) -> None:
    old, new = _pair(tmp_path)
    for ws in (old, new):
        ws.edit('    - {match: {tools: ["list_*"]}', '    - {match: {tools: ["get_pett"]}')
    new.edit("        name: get_pet\n", "        name: get_petx\n")  # the hint says 'get_petx' now
    _, news = _diff(old, new)
    assert news == [], news  # (the rename itself is the diff's breaking change)


def test_a_stricter_rule_left_unreachable_behind_a_widened_allow_is_breaking(tmp_path: Path) -> None:
    old, new = _pair(tmp_path)
    for ws in (old, new):
        ws.edit("  rules:\n", "  rules:\n    - {match: {tools: [get_pet]}, action: allow}\n")
    new.edit("    - {match: {tools: [get_pet]}, action: allow}\n", "    - {match: {}, action: allow}\n")
    code, news = _diff(old, new, "--fail-on", "breaking")
    [unreachable] = [c for c in news if "is unreachable" in c["detail"]]
    assert unreachable["breaking"] is True and code == 1, news


def _duplicated_ids(folder: Path, paths: list[str]) -> Path:
    folder.mkdir(parents=True)
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "http://127.0.0.1:9"}],
            "paths": {p: {"get": {"operationId": "dup", "responses": {"200": {"description": "ok"}}}} for p in paths}}
    (folder / "spec.json").write_text(json.dumps(spec))
    (folder / "mcp.yaml").write_text("version: 1\nsources:\n  api:\n    openapi: spec.json\n")
    return folder / "mcp.yaml"


def test_a_sources_cut_warning_list_counts_as_a_whole(tmp_path: Path) -> None:
    """A source shows five warnings of a kind, then "… and N more": another operation first shows another
    of them (not new), and one more duplicate is one new warning."""
    old = _duplicated_ids(tmp_path / "old", [f"/p{i}" for i in range(7)])
    moved = _duplicated_ids(tmp_path / "moved", ["/p0", *(f"/p{i}" for i in range(2, 7)), "/z"])
    grown = _duplicated_ids(tmp_path / "grown", [f"/p{i}" for i in range(8)])
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9", tmp_path / "cache")
    for manifest, expected in ((moved, []), (grown, ["mcp.yaml:4:14: source 'api': … and 2 more warnings of this kind"])):
        result = ws.mcprt("diff", str(old), str(manifest), "--format", "json")
        assert result.returncode == 0, result.stderr
        news = [c["detail"] for c in json.loads(result.stdout)["manifest_changes"] if c["kind"] == "new warning"]
        assert [n.replace(str(manifest), "mcp.yaml") for n in news] == expected, news


def test_a_moved_spec_keeps_its_warnings(tmp_path: Path) -> None:
    """Found by a new-user trial: moving the spec (same content, `openapi:` names the new path) made each of
    its warnings a `new warning`: their messages name the place as `<file>#/pointer`, and the key held the file."""
    old = _duplicated_ids(tmp_path / "old", ["/a", "/b"])
    moved = _duplicated_ids(tmp_path / "moved", ["/a", "/b"])
    (moved.parent / "specs").mkdir()
    (moved.parent / "spec.json").rename(moved.parent / "specs" / "api.json")
    moved.write_text(moved.read_text().replace("openapi: spec.json", "openapi: specs/api.json"))
    grown = _duplicated_ids(tmp_path / "grown", ["/a", "/b", "/c"])
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9", tmp_path / "cache")
    same = ws.mcprt("diff", str(old), str(moved), "--fail-on", "any")
    assert same.returncode == 0 and "new warning" not in same.stdout, same.stdout + same.stderr
    news = ws.mcprt("diff", str(moved), str(grown), "--format", "json")  # …while another one is still new
    assert [c["detail"].split(": ", 1)[1] for c in json.loads(news.stdout)["manifest_changes"]
            if c["kind"] == "new warning"] == ["source 'api': spec.json#/paths/~1c/get: operationId `dup` is used "
                                               "twice"], news.stdout
