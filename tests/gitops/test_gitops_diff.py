"""`mcprt diff`: every kind of change between two manifests, the breaking flags, the three formats, REV:path."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import pytest

from mcprt.gitops import diff_manifests, render
from tests.gitops.pets_api import SPEC, Workspace, make_workspace

CASE = """\
tool: list_pets
operation: listPets
args: {status: available}
request: {method: GET, url: "https://pets.example.com/v1/pets?status=available&limit=5"}
response:
  status: 200
  json:
    - {id: 1, name: Rex, tag: dog, status: available, photoUrls: [a, b], owner: null}
    - {id: 2, name: Tom, tag: cat, status: available, photoUrls: [c], owner: null}
"""


def _new_spec() -> dict:
    spec = copy.deepcopy(SPEC)
    params = spec["paths"]["/pets"]["get"]["parameters"]
    params[:] = [p for p in params if p["name"] != "limit"]  # an argument removed
    params[0]["required"] = True  # `status` is now required
    params.append({"name": "sort", "in": "query", "schema": {"type": "string"}})  # an optional argument added
    spec["paths"]["/pets/{petId}"]["get"]["parameters"][0]["schema"] = {"type": "string"}  # type changed
    return spec


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Workspace, Workspace]:
    old = make_workspace(tmp_path / "old", "http://127.0.0.1:9", tmp_path / "cache")
    new = make_workspace(tmp_path / "new", "http://127.0.0.1:9", tmp_path / "cache")
    old.edit("      createPet:\n        name: create_pet\n", "    exclude: {operations: [createPet]}\n")
    (new.root / "pets.json").write_text(json.dumps(_new_spec()))
    new.edit("        name: get_pet\n        prune: \"{id: id, name: name, status: status, category: category.name}\"",
             "        name: pet_details\n        prune: \"{id: id, name: name}\"")
    new.edit("        name: list_pets\n", "        name: list_pets\n        description: List pets by status.\n")
    new.edit("{{ p.name }} ({{ p.tag }})", "{{ p.name }}")
    new.edit("        args:\n          limit: {default: 5}\n", "")
    new.edit("    tools:\n", "    exclude: {operations: [deletePet]}\n    tools:\n")
    (new.root / "cases" / "list_pets").mkdir(parents=True)
    (new.root / "cases" / "list_pets" / "available.yaml").write_text(CASE.replace("&limit=5", ""))
    return old, new


def test_diff_finds_each_kind_of_change(pair: tuple[Workspace, Workspace], monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = pair
    monkeypatch.setenv("MCPRT_CACHE_DIR", str(old.env["MCPRT_CACHE_DIR"]))
    diff = diff_manifests(str(old.manifest), str(new.manifest))
    by_name = {t.name: t for t in diff.toolset.tools}
    assert by_name["deletePet"].status == "removed" and by_name["deletePet"].breaking
    assert by_name["create_pet"].status == "added" and not by_name["create_pet"].breaking
    renamed = by_name["pet_details"]
    assert renamed.status == "renamed" and renamed.old_name == "get_pet" and renamed.operation == "showPetById"
    kinds = {c.kind: c for c in renamed.changes}
    assert kinds["prune changed"].detail == "{id: id, name: name, status: status, category: category.name} → " \
                                          "{id: id, name: name}"
    assert kinds["argument type changed"].breaking and "integer → string" in kinds["argument type changed"].detail
    listed = by_name["list_pets"]
    kinds = {(c.kind, c.detail.split(":")[0]): c for c in listed.changes}
    assert kinds[("argument removed", "`limit`")].breaking
    assert kinds[("argument now required", "`status`")].breaking
    assert not kinds[("argument added", "`sort` (optional)")].breaking
    assert ("description changed", "List pets. → List pets by status.") in {(c.kind, c.detail) for c in listed.changes}
    assert "output template changed" in {c.kind for c in listed.changes}
    assert diff.breaking
    # The recorded case shows how the output changes.
    [case] = diff.cases
    assert case.case == "list_pets/available" and case.changed
    assert "-#1 Rex (dog)" in case.diff and "+#1 Rex" in case.diff
    assert case.new_sent is not None and case.old_sent is not None and case.new_sent < case.old_sent
    assert "different request" in case.note  # the old manifest also sent limit=5

    text = render(diff, "text")
    assert "! deleteTag" not in text and "! deletePet: removed" in text
    assert "! get_pet → pet_details: renamed" in text
    assert "BREAKING argument now required: `status`" in text

    markdown = render(diff, "markdown")
    assert markdown.startswith(f"### mcprt diff: `{old.manifest}` → `{new.manifest}`")
    assert "⚠️ **Breaking changes.** 3 breaking; 1 added, 1 removed, 1 renamed, 1 changed" in markdown
    assert "| ⚠️ | `get_pet` → `pet_details` | renamed (operation showPetById): calls by the old name fail |" in markdown
    assert "| ➕ | `create_pet` | added | arguments: `name`*, `tag`<br>definition " in markdown
    assert "**breaking** argument removed: `limit`: calls that pass it now fail" in markdown
    assert "| `list_pets/available` | " in markdown
    assert "<details><summary><code>list_pets/available</code> output diff</summary>" in markdown
    assert "```diff\n--- list_pets/available (old)\n+++ list_pets/available (new)" in markdown
    assert markdown.count("```") % 2 == 0  # every code block is closed

    data = json.loads(render(diff, "json"))
    assert data["breaking"] is True and data["changed"] is True
    assert {t["status"] for t in data["tools"]} == {"added", "removed", "renamed", "changed"}
    assert data["cases"][0]["case"] == "list_pets/available"


def test_identical_manifests_and_fail_on(pair: tuple[Workspace, Workspace]) -> None:
    old, new = pair
    same = old.mcprt("diff", "mcp.yaml", "mcp.yaml", "--fail-on", "any")
    assert same.returncode == 0, same.stderr
    assert "no breaking changes; no tool changes" in same.stdout
    breaking = old.mcprt("diff", "mcp.yaml", str(new.manifest), "--fail-on", "breaking", "--format", "markdown")
    assert breaking.returncode == 1 and "breaking changes found" in breaking.stderr
    assert breaking.stdout.startswith("### mcprt diff")
    assert old.mcprt("diff", "mcp.yaml", str(new.manifest)).returncode == 0  # without --fail-on: report only
    bad = old.mcprt("diff", "mcp.yaml", "mcp.yaml", "--format", "html")
    assert bad.returncode == 2 and "--format must be one of text, markdown, json" in bad.stderr


def test_prune_only_change_is_not_breaking(tmp_path: Path) -> None:
    old = make_workspace(tmp_path / "a", "http://127.0.0.1:9", tmp_path / "cache")
    new = make_workspace(tmp_path / "b", "http://127.0.0.1:9", tmp_path / "cache")
    new.edit("category: category.name}", "category: category.name, tag: tag}")
    result = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--fail-on", "breaking", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["breaking"] is False
    [tool] = data["tools"]
    assert tool["name"] == "get_pet" and tool["changes"][0]["kind"] == "prune changed"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=root, check=True,
                   capture_output=True)


def test_diff_against_a_git_revision(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "repo" / "api", "http://127.0.0.1:9", tmp_path / "cache")
    repo = tmp_path / "repo"
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    ws.edit("        name: get_pet\n", "        name: fetch_pet\n")
    (ws.root / "pets.json").unlink()  # REV:path must read the spec of that revision, not the working tree
    (ws.root / "pets.json").write_text(json.dumps(SPEC))
    result = ws.mcprt("diff", "HEAD:api/mcp.yaml", "mcp.yaml", "--format", "text")
    assert result.returncode == 0, result.stderr
    assert "get_pet → fetch_pet: renamed" in result.stdout
    relative = ws.mcprt("diff", "HEAD:./mcp.yaml", "mcp.yaml")
    assert "get_pet → fetch_pet: renamed" in relative.stdout
    missing = ws.mcprt("diff", "HEAD:api/nope.yaml", "mcp.yaml")
    assert missing.returncode == 2 and "no such file at revision HEAD" in missing.stderr
    unknown = ws.mcprt("diff", "nope.yaml", "mcp.yaml")
    assert unknown.returncode == 2 and "write REV:path" in unknown.stderr
    # found by a new-user trial: a revision the repository does not have said "no such file"
    for rev in ("HEAD~3", "no-such-branch"):
        gone = ws.mcprt("diff", f"{rev}:api/mcp.yaml", "mcp.yaml")
        assert gone.returncode == 2 and f"{rev}:api/mcp.yaml: unknown revision '{rev}'" in gone.stderr, gone.stderr
        assert "no such file" not in gone.stderr and "Traceback" not in gone.stderr


def test_a_spec_that_cannot_be_read_is_reported_at_its_line(tmp_path: Path) -> None:
    """Found by a new-user trial: `mcprt diff` (and `mcprt test`, which replay the same way) printed
    `error: missing/pets.json: cannot read …` without the manifest's file:line:col that `validate`
    gives, when the source has no `base_url` (the replay read the document first to learn it)."""
    old = make_workspace(tmp_path / "a", "http://127.0.0.1:9", tmp_path / "cache")
    new = make_workspace(tmp_path / "b", "http://127.0.0.1:9", tmp_path / "cache")
    new.edit("    openapi: pets.json\n    base_url: http://127.0.0.1:9/v1\n", "    openapi: missing/pets.json\n")
    result = new.mcprt("diff", str(old.manifest), "mcp.yaml")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    located = [line for line in result.stderr.splitlines() if "missing/pets.json" in line]
    assert located and re.match(r".*mcp\.yaml:6:14: missing/pets\.json: cannot read ", located[0]), result.stderr


def test_a_spec_outside_the_repository_is_named_by_its_own_path(tmp_path: Path) -> None:
    """`mcprt diff REV:path` with a spec file outside the repository: git has no revision of it, so REV
    reads it as it is (as checking REV out would), and a message about it names the path the user knows,
    as the manifest of REV is named `REV:path` — never the temporary copy under /tmp/mcprt-diff-…."""
    ws = make_workspace(tmp_path / "repo" / "api", "http://127.0.0.1:9", tmp_path / "cache")
    outside = tmp_path / "specs"
    outside.mkdir()
    (ws.root / "pets.json").rename(outside / "pets.json")
    ws.edit("    openapi: pets.json\n", "    openapi: ../../specs/pets.json\n")
    repo = tmp_path / "repo"
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    ws.edit("        name: get_pet\n", "        name: fetch_pet\n")
    result = ws.mcprt("diff", "HEAD:api/mcp.yaml", "mcp.yaml", "--format", "text")
    assert result.returncode == 0, result.stderr
    assert "get_pet → fetch_pet: renamed" in result.stdout
    (outside / "pets.json").rename(outside / "moved.json")
    missing = ws.mcprt("diff", "HEAD:api/mcp.yaml", "mcp.yaml")
    assert missing.returncode == 2, missing.stderr
    assert "mcprt-diff-" not in missing.stderr, missing.stderr
    shown = str((outside / "pets.json").resolve())
    assert re.search(rf"^HEAD:api/mcp\.yaml:\d+:\d+: \.\./\.\./specs/pets\.json: cannot read {re.escape(shown)}",
                     missing.stderr, re.M), missing.stderr
