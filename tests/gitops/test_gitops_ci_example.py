"""docs/ci-example.md's workflow, run as GitHub Actions would run its `mcprt` steps: in a fresh repository whose
base branch has no manifest yet (the first pull request of every repository), from the checkout's top level.

Found by trial "gitops" (fault 6): the diff job exited 2 (`no such file at revision`) on that pull request, so
it failed and posted no comment; and the jobs installed `mcprt[dev]` "for pytest and syrupy", which are core
dependencies (the extra only adds mcprt's own test tooling).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

from tests.gitops.pets_api import make_workspace
from tests.gitops.test_gitops_diff import _git

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ci-example.md"


def _workflow() -> dict:
    block = re.search(r"```yaml\n(# \.github/workflows/mcprt\.yml\n.*?)```", DOC.read_text(), re.S)
    assert block, "docs/ci-example.md has no workflow block"
    return YAML(typ="safe").load(block.group(1))


def _runs(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_the_jobs_install_mcprt_without_the_dev_extra() -> None:
    workflow = _workflow()
    installs = [run for job in workflow["jobs"].values() for run in _runs(job) if "pip install" in run]
    assert installs and all(run.split("#")[0].strip() == "pip install mcprt" for run in installs), installs
    pyproject = (ROOT / "pyproject.toml").read_text()
    core = pyproject.split("[project.optional-dependencies]")[0]
    assert '"pytest>=' in core and '"syrupy>=' in core  # what the harness needs comes with mcprt itself


def test_the_diff_job_passes_and_writes_its_comment_on_the_pull_request_that_adds_the_manifest(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("a project before its manifest\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    _git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")  # what actions/checkout's fetch-depth 0 leaves
    _git(repo, "checkout", "-q", "-b", "add-manifest")
    ws = make_workspace(repo / "api", "http://127.0.0.1:9", tmp_path / "cache")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "add the manifest")

    env = {**ws.env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    workflow = _workflow()
    jobs = {"check": [run for run in _runs(workflow["jobs"]["check"]) if run.startswith("mcprt validate")],
            "diff": [step["run"] for step in workflow["jobs"]["diff"]["steps"] if step.get("name") == "mcprt diff"]}
    assert jobs["check"] and jobs["diff"], jobs
    for job, runs in jobs.items():
        for run in runs:
            script = run.split("  #")[0].replace("${{ github.base_ref }}", "main")
            done = subprocess.run(["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True, text=True,
                                  timeout=180, check=False)
            assert done.returncode == 0, (job, script, done.stdout, done.stderr)
    comment = (repo / "diff.md").read_text()
    assert "origin/main:api/mcp.yaml (absent at origin/main: an empty manifest)" in comment, comment
    assert "added" in comment
    gate = json.loads((repo / "diff.json").read_text())
    assert gate["old_absent"] is True and gate["breaking"] is False
    assert gate["tools"] and {tool["status"] for tool in gate["tools"]} == {"added"}
