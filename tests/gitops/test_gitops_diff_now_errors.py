"""`mcprt diff --fail-on breaking` stops a change that makes a tool fail where it served a result.

A trial's reviewer deleted a field from a prune that the `output` template still read: `mcprt validate`
exited 2 on the new side and the replayed case became `isError: true`, yet the diff said "no breaking
changes" (JSON `breaking: false`, `fails: []`). Both are breaking now and listed. The cases are recorded
from the real pets API on 127.0.0.1; the diff runs as a real `python -m mcprt` subprocess
(forked from the suite's warm zygote: tests/support/zygote.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.gitops.pets_api import Workspace
from tests.support.cli import mcprt_process

# the new side takes `tag` from a field the pets do not have: the key is null, `drop_nulls` removes it, and
# the template's `p.tag` fails at render on every call (no static check can know the upstream's data)
BROKEN = "[].{id: id, name: name, tag: tags}"


MISSING = """\
tool: get_pet
operation: showPetById
args: {petId: 77}
request: {method: GET, url: "BASE/pets/77"}
response:
  status: 404
  json: {message: no pet 77}
"""


def _base(workspace: Workspace) -> str:
    line = next(l for l in workspace.manifest.read_text().splitlines() if "base_url:" in l)
    return line.split("base_url:", 1)[1].strip()


def _copy(workspace: Workspace, name: str) -> Workspace:
    root = workspace.root.parent / name
    shutil.copytree(workspace.root, root)
    return Workspace(root, workspace.env)


def _recorded(workspace: Workspace) -> Workspace:
    recorded = workspace.mcprt("record", "list_pets", "--args", '{"limit": 3}', "--name", "three")
    assert recorded.returncode == 0, recorded.stderr
    # a recorded 404 (the pets API has no such route to call): an error on both sides, no change
    missing = workspace.root / "cases" / "get_pet" / "missing.yaml"
    missing.parent.mkdir(parents=True)
    missing.write_text(MISSING.replace("BASE", _base(workspace)), encoding="utf-8")
    return _copy(workspace, "new")


def _diff(new: Workspace, old: Workspace, *extra: str):  # type: ignore[no-untyped-def]
    return mcprt_process("diff", str(old.manifest), "mcp.yaml", *extra, cwd=new.root, env=new.env, forked=True)


def test_a_case_that_now_errors_and_the_new_validate_error_are_breaking(workspace: Workspace) -> None:
    new = _recorded(workspace)
    new.edit("[].{id: id, name: name, tag: tag}", BROKEN)
    validated = mcprt_process("validate", "mcp.yaml", cwd=new.root, env=new.env, forked=True)
    assert validated.returncode == 2 and "fails on the recorded case cases/list_pets/three.yaml" in validated.stderr

    text = _diff(new, workspace, "--fail-on", "breaking")
    assert text.returncode == 1, text.stdout + text.stderr
    assert "breaking changes found (--fail-on breaking)" in text.stderr
    assert text.stdout.splitlines()[1].startswith("2 breaking;"), text.stdout
    assert ("BREAKING new validate error: mcp.yaml:16:11: output template, line 1: " in text.stdout
            and "fails on the recorded case cases/list_pets/three.yaml: field 'tag' is missing" in text.stdout), text.stdout
    assert "BREAKING list_pets/three:" in text.stdout
    assert ("`mcprt test` fails it: the tool now returns an error (isError: true) where it returned a result: "
            "Tool 'list_pets' could not format its result") in text.stdout
    assert "BREAKING get_pet/missing" not in text.stdout  # an error before and after is no change

    data = json.loads(_diff(new, workspace, "--format", "json").stdout)
    assert data["breaking"] is True
    [validate_error] = [c for c in data["manifest_changes"] if c["kind"] == "new validate error"]
    assert validate_error["breaking"] is True and "list_pets/three.yaml" in validate_error["detail"]
    cases = {c["case"]: c for c in data["cases"]}
    assert cases["list_pets/three"]["breaking"] is True
    assert cases["list_pets/three"]["fails"][0].startswith("the tool now returns an error (isError: true)")
    assert cases["get_pet/missing"]["breaking"] is False and cases["get_pet/missing"]["fails"] == []

    markdown = _diff(new, workspace, "--format", "markdown").stdout
    assert "⚠️ **breaking** `list_pets/three`" in markdown and "**new validate error**" in markdown


def test_a_failure_the_old_side_had_too_is_not_this_changes(workspace: Workspace) -> None:
    new = _recorded(workspace)
    workspace.edit("[].{id: id, name: name, tag: tag}", BROKEN)  # already broken before the change under review
    new.edit("[].{id: id, name: name, tag: tag}", BROKEN)
    new.edit("name: list_pets\n", "name: list_pets\n        description: List the pets.\n")
    result = _diff(new, workspace, "--fail-on", "breaking", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["breaking"] is False
    assert not [c for c in data["manifest_changes"] if c["kind"] == "new validate error"]
    assert all(not c["breaking"] for c in data["cases"])


def test_a_working_edit_stays_not_breaking(workspace: Workspace) -> None:
    new = _recorded(workspace)
    new.edit("[].{id: id, name: name, tag: tag}", "[].{id: id, name: name, tag: tag, status: status}")
    result = _diff(new, workspace, "--fail-on", "breaking", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["breaking"] is False and all(not c["breaking"] and not c["fails"] for c in data["cases"])
