"""`mcprt diff REV:path` on a revision whose files are odd: an `include:` that is not a list, a link leading
outside the repository, and includes allowed through a revision's copy of `MCPRT_INCLUDE_PATHS` — each
answered as `mcprt validate` would (file:line:col, exit 2) or allowed for that load only.

Found by a review of `mcprt diff`'s includes: `include:` null made the REV side an `internal error:
TypeError`; a symlink to /etc/passwd at REV an internal tarfile error; and once one diff had run, every
later load in the process could include from that diff's temporary folders.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from mcprt.errors import ManifestError
from mcprt.gitops import resolve_manifest_ref
from mcprt.manifest.loader import load_manifest
from tests.gitops.pets_api import API_KEY, SPEC, Workspace, make_workspace
from tests.gitops.test_gitops_diff import _git
from tests.gitops.test_gitops_include_cases import _included


def _app_in_repo(tmp_path: Path) -> Workspace:
    """repo/app/mcp.yaml reading ../pets.json (outside the folder REV:app/mcp.yaml extracts)."""
    ws = make_workspace(tmp_path / "repo" / "app", "http://127.0.0.1:9", tmp_path / "cache")
    (ws.root / "pets.json").rename(tmp_path / "repo" / "pets.json")
    ws.edit("    openapi: pets.json\n", "    openapi: ../pets.json\n")
    return ws


def _commit(repo: Path) -> None:
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")


@pytest.mark.parametrize(("include", "message"), [
    ("", "include: expected a list, got null"),
    ('"../pets.json"', "include: expected a list, got a string"),  # was matched as a substring of each entry
])
def test_a_revisions_include_that_is_not_a_list_is_reported_at_its_line(tmp_path: Path, include: str,
                                                                         message: str) -> None:
    ws = _app_in_repo(tmp_path)
    good = ws.manifest.read_text()
    ws.manifest.write_text(good.replace("sources:\n", f"include: {include}\nsources:\n", 1))
    _commit(tmp_path / "repo")
    ws.manifest.write_text(good)
    result = ws.mcprt("diff", "HEAD:app/mcp.yaml", "mcp.yaml")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert re.search(rf"^HEAD:app/mcp\.yaml:\d+:\d+: {message}", result.stderr, re.M), result.stderr


@pytest.mark.parametrize("target", ["/etc/passwd", "../../../../outside.txt"])
def test_a_link_at_the_revision_leading_outside_is_refused_by_its_path(tmp_path: Path, target: str) -> None:
    ws = _app_in_repo(tmp_path)
    os.symlink(target, ws.root / "link")
    _commit(tmp_path / "repo")
    result = ws.mcprt("diff", "HEAD:app/mcp.yaml", "mcp.yaml")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert f"HEAD:app/link: a link (to {target}) leading outside the repository's files at HEAD" in result.stderr


def test_a_revisions_include_roots_are_allowed_for_its_loads_only(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Two loads in one process: the revision's (its copy of the MCPRT_INCLUDE_PATHS folder allowed) and any
    other, which must not include from that copy (it was allowed process-wide, for good, by the first)."""
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "shop").mkdir()
    (repo / "shop" / "pets.json").write_text(json.dumps(SPEC), encoding="utf-8")
    (repo / "shop" / "mcp.yaml").write_text(_included("http://127.0.0.1:9", "shop"), encoding="utf-8")
    (repo / "app" / "mcp.yaml").write_text("version: 1\ninclude: [../shop/mcp.yaml]\n", encoding="utf-8")
    _commit(repo)
    monkeypatch.setenv("MCPRT_INCLUDE_PATHS", str(repo / "shop"))
    monkeypatch.setenv("PETS_KEY", API_KEY)
    monkeypatch.chdir(repo / "app")
    ref = resolve_manifest_ref("HEAD:app/mcp.yaml", tmp_path / "work")
    (copy,) = (tmp_path / "work").rglob("shop/mcp.yaml")  # the revision's copy of the shop folder's manifest

    other = tmp_path / "other" / "mcp.yaml"
    other.parent.mkdir()
    other.write_text(f"version: 1\ninclude: [{copy}]\n", encoding="utf-8")
    for path in (other, ref.path):  # neither given the revision's folders: both refused
        with pytest.raises(ManifestError, match="is outside this manifest's folder"):
            load_manifest(path)
    loaded = load_manifest(ref.path, include_roots=ref.include_roots)
    assert "shop" in loaded.manifest.sources
    with pytest.raises(ManifestError, match="is outside this manifest's folder"):  # and still not after it
        load_manifest(other)


def test_the_pull_request_that_adds_the_manifest_diffs_as_everything_added(tmp_path: Path) -> None:
    """Trial "gitops", fault 6: docs/ci-example.md's diff job exited 2 (`no such file at revision`) on the
    pull request that first adds the manifest, so the first PR of every repository got a red job and no
    comment. The base side is an empty manifest then: every tool is added, nothing is breaking (no client was
    served), and the output says so. A path that is missing at the revision but is not the new side's file
    (a typo) is still the error."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("before the manifest\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    ws = make_workspace(repo / "api", "http://127.0.0.1:9", tmp_path / "cache")
    ws.edit("sources:\n", "server:\n  auth: {tokens: {ci: \"${PETS_KEY}\"}}\nsources:\n")  # was BREAKING when changed
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "add the manifest")

    markdown = ws.mcprt("diff", "HEAD~1:api/mcp.yaml", "mcp.yaml", "--format", "markdown")
    assert markdown.returncode == 0, markdown.stderr
    assert "HEAD~1:api/mcp.yaml (absent at HEAD~1: an empty manifest)" in markdown.stdout, markdown.stdout
    assert "does not exist at that revision: compared with an empty manifest" in markdown.stderr
    gate = ws.mcprt("diff", "HEAD~1:api/mcp.yaml", "mcp.yaml", "--fail-on", "breaking", "--format", "json")
    assert gate.returncode == 0, gate.stdout + gate.stderr
    data = json.loads(gate.stdout)
    assert data["old_absent"] is True and data["breaking"] is False and data["changed"] is True
    assert {tool["status"] for tool in data["tools"]} == {"added"} and len(data["tools"]) >= 2, data["tools"]
    assert data["tools_list"]["old_tools"] == 0
    assert not any(change["breaking"] for change in data["manifest_changes"]), data["manifest_changes"]
    assert ws.mcprt("diff", "HEAD~1:api/mcp.yaml", "mcp.yaml", "--fail-on", "any").returncode == 1

    typo = ws.mcprt("diff", "HEAD~1:api/mpc.yaml", "mcp.yaml")
    assert typo.returncode == 2 and "HEAD~1:api/mpc.yaml: no such file at revision HEAD~1" in typo.stderr, typo.stderr
    # from the manifest's folder (api/), REV:path is still relative to the top: say so, with the spelling meant
    top_relative = ws.mcprt("diff", "HEAD~1:mcp.yaml", "mcp.yaml")
    assert top_relative.returncode == 2, top_relative.stderr
    assert "HEAD~1:mcp.yaml: no such file at revision HEAD~1 (REV:path is relative to the repository's top " \
        "folder; did you mean HEAD~1:./mcp.yaml?)" in top_relative.stderr, top_relative.stderr
    meant = ws.mcprt("diff", "HEAD~1:./mcp.yaml", "mcp.yaml", "--format", "json")
    assert meant.returncode == 0 and json.loads(meant.stdout)["old_absent"] is True, meant.stderr
    present = ws.mcprt("diff", "HEAD:api/mcp.yaml", "mcp.yaml", "--format", "json")  # present: compared as ever
    assert present.returncode == 0 and json.loads(present.stdout)["old_absent"] is False, present.stderr
