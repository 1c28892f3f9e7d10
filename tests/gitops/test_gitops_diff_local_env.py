"""`mcprt diff` reports what is committed, never what the reviewer's machine resolves it to.

Trial (docs #8): with an untracked `.env` holding `MY_KEY=x`, `mcprt diff HEAD:mcp.yaml mcp.yaml` reported
"**new warning**: … this secret (from ${MY_KEY}) is shorter than 4 characters": the working tree's side read the
local `.env`, the revision's side had none. The README: diff compares settings as written, not as resolved
from a local `.env`. Both sides now resolve `${VAR}` alike, from nothing of the machine's: not a `.env`, not the
process environment (each side's placeholders, or the `${VAR:-default}` written).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.gitops.pets_api import Workspace, make_workspace

SHORT = "x"  # a secret value `mcprt validate` warns about (shorter than 4 characters)


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=root, check=True,
                   capture_output=True)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = make_workspace(tmp_path / "repo", "http://127.0.0.1:9", tmp_path / "cache")
    _git(ws.root, "init", "-q")
    _git(ws.root, "add", ".")
    _git(ws.root, "commit", "-q", "-m", "first")
    return ws


def _diff(ws: Workspace, drop: tuple[str, ...] = ()) -> dict:
    result = ws.mcprt("diff", "HEAD:mcp.yaml", "mcp.yaml", "--format", "json", drop=drop)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _kinds(data: dict) -> list[str]:
    return [c["kind"] for c in data["manifest_changes"]]


def test_an_untracked_env_file_makes_no_new_warning(ws: Workspace) -> None:
    (ws.root / ".env").write_text(f"PETS_KEY={SHORT}\n")  # untracked: the reviewer's machine only
    # the validate that a user runs does read it (the warning is real there)
    validated = ws.mcprt("validate", "mcp.yaml", drop=("PETS_KEY",))
    assert "shorter than 4 characters" in validated.stderr, validated.stderr
    data = _diff(ws, drop=("PETS_KEY",))
    assert _kinds(data) == [], data["manifest_changes"]


def test_an_environment_variable_makes_no_new_warning_on_either_side(ws: Workspace) -> None:
    # the change names another variable, which this machine sets short: that is no committed fact
    ws.edit('value: "${PETS_KEY}"', 'value: "${PETS_KEY_V2}"')
    ws.env["PETS_KEY_V2"] = SHORT
    data = _diff(ws)
    assert "new warning" not in _kinds(data), data["manifest_changes"]
    # and a short value in the old side's environment hides nothing: the same diff whatever it is
    ws.env["PETS_KEY"] = SHORT
    assert _diff(ws) == data
