"""`mcprt tools` and `mcprt diff` cover resources, resource templates and prompts."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

from tests.support.cli import mcprt_cli

OLD = '''
def all_notes() -> list:
    """Every note."""
    return []


def note(id: str) -> str:
    """One note by id."""
    return id


def review(topic: str) -> str:
    """Ask for a review of a topic."""
    return topic


def summary() -> str:
    """Summarise."""
    return "s"


def search(query: str) -> list:
    """Search notes."""
    return []
'''
NEW = OLD.replace("def review(topic: str)", "def review(topic: str, audience: str)").replace(
    '"""One note by id."""', '"""One note, by its id."""')


def project(folder: Path, code: str, resources: str, prompts: str) -> Path:
    folder.mkdir()
    (folder / "notes.py").write_text(textwrap.dedent(code))
    manifest = folder / "mcp.yaml"
    manifest.write_text(f"version: 1\nsources:\n  notes:\n    python: notes:search\n    resources: {resources}\n"
                        f"    prompts: {prompts}\n")
    return manifest


def mcprt(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return mcprt_cli(*args, cwd=cwd)


def test_tools_lists_resources_templates_and_prompts_with_sizes(tmp_path: Path) -> None:
    manifest = project(tmp_path / "p", OLD, '{"notes://all": "notes:all_notes", "notes://{id}": "notes:note"}',
                       "[notes:review]")
    done = mcprt("tools", str(manifest), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "resources and prompts" in out
    for kind, key in (("resource", "notes://all"), ("template", "notes://{id}"), ("prompt", "review")):
        row = next(line for line in out.splitlines() if f" {kind} " in line and f" {key} " in line)
        assert " notes " in row
    resource = json.dumps({"uri": "notes://all", "name": "all_notes", "description": "Every note.",
                           "mimeType": "application/json"},  # `-> list`: every read sends JSON
                          separators=(",", ":"))
    row = next(line for line in out.splitlines() if " notes://all " in line)
    assert f" {len(resource)} " in row
    assert "1 resource, 1 resource template, 1 prompt" in out
    listed = mcprt("tools", str(manifest), "--json", cwd=tmp_path)
    assert list(json.loads(listed.stdout)) == ["tools"]  # --json stays exactly the tools/list result


def test_diff_reports_added_removed_and_changed_resources_and_prompts(tmp_path: Path) -> None:
    old = project(tmp_path / "old", OLD, '{"notes://all": "notes:all_notes", "notes://{id}": "notes:note"}',
                  "[notes:review]")
    new = project(tmp_path / "new", NEW, '{"notes://{id}": "notes:note"}', "[notes:review, notes:summary]")
    done = mcprt("diff", str(old), str(new), "--format", "json", cwd=tmp_path)
    data = json.loads(done.stdout)
    offers = {(o["kind"], o["key"]): o for o in data["offers"]}
    assert offers[("resource", "notes://all")]["status"] == "removed"
    assert offers[("resource", "notes://all")]["breaking"] is True
    assert offers[("prompt", "summary")]["status"] == "added"
    review = offers[("prompt", "review")]
    assert review["status"] == "changed" and review["breaking"] is True
    assert {"kind": "argument added", "detail": "`audience` (required)", "breaking": True} in review["changes"]
    template = offers[("template", "notes://{id}")]
    assert template["changes"] == [{"kind": "description changed",
                                    "detail": "'One note by id.' → 'One note, by its id.'", "breaking": False}]
    assert data["breaking"] is True
    assert len(offers) == 4

    text = mcprt("diff", str(old), str(new), "--fail-on", "breaking", cwd=tmp_path)
    assert text.returncode == 1
    assert "! resource notes://all: removed: requests for it fail" in text.stdout
    assert "+ prompt summary: added" in text.stdout
    assert "resources/prompts: 1 added, 1 removed, 2 changed" in text.stdout
    markdown = mcprt("diff", str(old), str(new), "--format", "markdown", cwd=tmp_path)
    assert "| ⚠️ | prompt `review` | changed |" in markdown.stdout
