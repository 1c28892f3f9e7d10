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
  rate_limits:
    - {match: {tools: ["*_pet"], methods: [POST]}, limit: 5/min}
"""
# A rate limit whose keys each match a tool but fit none together: still a warning (`mcprt diff` breaking).
DEAD_LIMIT = '    - {match: {tools: ["*_pet"], methods: [PATCH]}, limit: 5/min}\n'


def _pair(tmp_path: Path) -> tuple[Workspace, Workspace]:
    old = make_workspace(tmp_path / "old", "http://127.0.0.1:9", tmp_path / "cache")
    new = make_workspace(tmp_path / "new", "http://127.0.0.1:9", tmp_path / "cache")
    for ws in (old, new):
        ws.write_manifest(ws.manifest.read_text() + POLICY)
    return old, new


def test_a_policy_rule_left_matching_nothing_is_a_breaking_change(tmp_path: Path) -> None:
    """`create_pet` renamed to `new_pets`: `*_pet` still matches `get_pet`, but no POST tool fits the limit."""
    old, new = _pair(tmp_path)
    new.edit("        name: create_pet\n", "        name: new_pets\n")
    result = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--format", "json", "--fail-on", "breaking")
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads(result.stdout)
    [warning] = [c for c in data["manifest_changes"] if c["kind"] == "new warning"]
    assert "policy.rate_limits.0 applies to no served tool" in warning["detail"] and warning["breaking"] is True
    assert warning["detail"].startswith("mcp.yaml:")  # where to look, as validate says it
    text = new.mcprt("diff", str(old.manifest), "mcp.yaml")
    assert "new warning" in text.stdout and "policy.rate_limits.0 applies to no served tool" in text.stdout, text.stdout
    markdown = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--format", "markdown")
    assert "policy.rate_limits.0 applies to no served tool" in markdown.stdout, markdown.stdout


def test_a_rename_that_leaves_a_rule_naming_no_tool_is_refused(tmp_path: Path) -> None:
    """Since a rule naming an exact tool that is not served is an error (tests/policy), `diff` does not pass
    such a change as a warning: it refuses the new manifest, at the rule's name."""
    old, new = _pair(tmp_path)
    for ws in (old, new):
        ws.edit('{match: {tools: ["list_*"]}', '{match: {tools: [list_pets]}')
    new.edit("        name: list_pets\n", "        name: pets_list\n")
    result = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--format", "json")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stdout + result.stderr
    [said] = [line for line in result.stderr.splitlines() if line.startswith("mcp.yaml:26:24: policy.rules.0: 'list_pets'")]
    assert said.endswith(": it would govern no call"), result.stderr


def test_a_rename_that_leaves_a_glob_matching_nothing_is_a_breaking_warning(tmp_path: Path) -> None:
    """A wildcard glob matching nothing is a defensive warning (kept for tools to come), so the change is
    compared, and the deny rule it leaves idle is breaking."""
    old, new = _pair(tmp_path)
    new.edit("        name: list_pets\n", "        name: pets_list\n")
    code, news = _diff(old, new, "--fail-on", "breaking")
    [warning] = [c for c in news if "'list_*' matches no tool now" in c["detail"]]
    assert warning["breaking"] is True and code == 1, news


def test_a_change_that_mends_a_name_matching_nothing_is_compared(tmp_path: Path) -> None:
    """Found by review: the old revision, served while a rule naming no tool was a warning, no longer
    compiled, so `mcprt diff` failed on exactly the pull request that fixes the name. The old side is
    compiled with those errors as warnings; the new side is still checked in full."""
    old, new = _pair(tmp_path)
    old.edit('{match: {tools: ["list_*"]}', '{match: {tools: [list_petz], sources: [pets]}')
    new.edit('{match: {tools: ["list_*"]}', '{match: {tools: [list_pets], sources: [pets]}')
    result = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--format", "json")
    assert result.returncode == 0, result.stderr  # before: 2, "policy.rules.0: 'list_petz' matches no tool" of the old side
    changes = json.loads(result.stdout)["manifest_changes"]
    assert not [c for c in changes if c["kind"] == "new warning"], changes
    assert any('"list_petz"' in c["detail"] and '"list_pets"' in c["detail"] for c in changes), changes
    # the other way round the new side is refused, as `validate` refuses it
    backwards = old.mcprt("diff", str(new.manifest), "mcp.yaml", "--format", "json")
    assert backwards.returncode == 2 and "'list_petz' matches no tool" in backwards.stderr, backwards.stderr


def test_a_warning_both_sides_have_is_not_news_and_other_new_warnings_are_shown(tmp_path: Path) -> None:
    old, new = _pair(tmp_path)
    for ws in (old, new):  # already dead before the change: not the change's doing
        ws.write_manifest(ws.manifest.read_text() + DEAD_LIMIT)
    new.edit("  rules:\n", "  rules:\n    - {match: {tools: [get_pet]}, action: allow}\n"
                           "    - {match: {}, action: deny}\n    - {match: {tools: [create_pet]}, action: deny}\n")
    result = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--format", "json")
    assert result.returncode == 0, result.stderr
    news = [c for c in json.loads(result.stdout)["manifest_changes"] if c["kind"] == "new warning"]
    assert not any("applies to no served tool" in c["detail"] for c in news), news
    unreachable = [c for c in news if "is unreachable" in c["detail"]]
    assert unreachable and not unreachable[0]["breaking"], news


# Found by review: warnings were keyed by their message with list indexes stripped, and many messages do not
# name their item, while the key kept the "did you mean" hint.


def _diff(old: Workspace, new: Workspace, *args: str) -> tuple[int, list[dict]]:
    result = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    changes = json.loads(result.stdout)["manifest_changes"]
    return result.returncode, [c for c in changes if c["kind"] == "new warning"]


def test_another_limit_left_dead_with_the_same_match_is_new(tmp_path: Path) -> None:
    old, new = _pair(tmp_path)
    old.write_manifest(old.manifest.read_text().replace("methods: [POST]", "methods: [PATCH]"))
    # the dead limit is mended, and another one with the same dead match comes in
    new.write_manifest(new.manifest.read_text() + DEAD_LIMIT.replace("5/min", "6/min"))
    code, news = _diff(old, new, "--fail-on", "breaking")
    assert [c["detail"].split(": ", 1)[1].split(":", 1)[0] for c in news] == [
        "policy.rate_limits.1 applies to no served tool"], news
    assert news[0]["detail"].endswith("(this rule or limit now applies to no call)") and code == 1, news


def test_a_literal_secret_elsewhere_is_new(tmp_path: Path) -> None:
    old, new = _pair(tmp_path)
    old.edit("version: 1\n", "version: 1\nserver:\n  auth: {tokens: {alice: literal-token-1}}\n")
    new.edit('value: "${PETS_KEY}"', 'value: "literal-key-2"')
    code, news = _diff(old, new)
    assert len(news) == 1 and "a secret is written literally" in news[0]["detail"], news
    assert news[0]["detail"].startswith("mcp.yaml:8:"), news


def test_a_warnings_changed_hint_is_not_new(tmp_path: Path) -> None:
    old, new = _pair(tmp_path)
    for ws in (old, new):  # a `when` reading an argument list_pets does not take: warned, with a hint
        ws.edit('    - {match: {tools: ["list_*"]}', '    - {match: {tools: ["list_*"], when: "stauts == \'sold\'"}')
    new.edit("          limit: {default: 5}\n", "          limit: {default: 5}\n          status: {hidden: true}\n")
    _, news = _diff(old, new)  # the hint ('status') is gone, the warning is the same
    assert news == [], news


def _renamed(ws: Workspace) -> None:
    """The upstream renames `deletePet` to `removePet` (the description as its new revision has it)."""
    spec = json.loads((ws.root / "pets.json").read_text())
    spec["paths"]["/pets/{petId}"]["delete"]["operationId"] = "removePet"
    (ws.root / "pets.json").write_text(json.dumps(spec))


DISABLED = "      deletePet: {enabled: false}\n"


def test_a_limit_an_upstream_rename_leaves_applying_to_nothing_refuses_the_new_side(tmp_path: Path) -> None:
    """Review of initfix, problem 3: `diff --fail-on breaking` passed (rc 0, "+ removeTags: added") while a
    disabled DELETE became callable. Such an override is an error (toolset.build.LOST_LIMIT): the new side is
    refused at the override's key, so no gate passes it."""
    old = make_workspace(tmp_path / "old", "http://127.0.0.1:9", tmp_path / "cache")
    new = make_workspace(tmp_path / "new", "http://127.0.0.1:9", tmp_path / "cache")
    for ws in (old, new):
        ws.write_manifest(ws.manifest.read_text() + DISABLED)
    _renamed(new)
    result = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--fail-on", "breaking")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stdout + result.stderr
    assert "mcp.yaml:23:7: source 'pets' has no operation 'deletePet'" in result.stderr, result.stderr
    assert "and this override limits it (enabled: false)" in result.stderr, result.stderr


def test_the_change_that_moves_a_lost_limit_to_the_new_key_is_compared(tmp_path: Path) -> None:
    """The old side is compiled as it was served (the lost limit a warning there, as a policy name matching
    nothing is), so the pull request that mends it can be diffed: the renamed operation's tool goes."""
    old = make_workspace(tmp_path / "old", "http://127.0.0.1:9", tmp_path / "cache")
    new = make_workspace(tmp_path / "new", "http://127.0.0.1:9", tmp_path / "cache")
    old.write_manifest(old.manifest.read_text() + DISABLED)
    new.write_manifest(new.manifest.read_text() + DISABLED.replace("deletePet", "removePet"))
    for ws in (old, new):
        _renamed(ws)
    result = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--format", "json")
    assert result.returncode in (0, 1), result.stdout + result.stderr
    removed = [t["name"] for t in json.loads(result.stdout)["tools"] if t["status"] == "removed"]
    assert removed == ["removePet"], result.stdout


def test_an_override_a_narrower_filter_leaves_out_is_a_new_note(tmp_path: Path) -> None:
    """Notes are shown too: narrowing `include` so the disabled operation is left out is a note at the filter,
    not breaking (the operation is served by neither side)."""
    old = make_workspace(tmp_path / "old", "http://127.0.0.1:9", tmp_path / "cache")
    new = make_workspace(tmp_path / "new", "http://127.0.0.1:9", tmp_path / "cache")
    for ws, methods in ((old, "[GET, POST, DELETE]"), (new, "[GET, POST]")):
        ws.write_manifest(ws.manifest.read_text().replace("    tools:\n", f"    include: {{methods: {methods}}}\n"
                                                          "    tools:\n", 1) + DISABLED)
    result = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--format", "json", "--fail-on", "breaking")
    assert result.returncode == 0, result.stdout + result.stderr
    notes = [c for c in json.loads(result.stdout)["manifest_changes"] if c["kind"] == "new note"]
    assert [(n["breaking"], "1 `tools:` override names an operation outside those its `include` selects "
             "('deletePet')" in n["detail"]) for n in notes] == [(False, True)], notes
    text = new.mcprt("diff", str(old.manifest), "mcp.yaml")
    assert "new note: mcp.yaml:9:5: source 'pets'" in text.stdout, text.stdout
