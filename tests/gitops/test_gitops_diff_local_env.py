"""`mcprt diff` reports what is committed, never what the reviewer's machine resolves it to.

Trial (docs #8): with an untracked `.env` holding `MY_KEY=x`, `mcprt diff HEAD:mcp.yaml mcp.yaml` reported
"**new warning**: … this secret (from ${MY_KEY}) is shorter than 4 characters": the working tree's side read the
local `.env`, the revision's side had none. The README: diff compares settings as written, not as resolved
from a local `.env`. Both sides now report the warnings of the manifest resolved from nothing of the machine's: not a
`.env`, not the process environment (each side's placeholders, or the `${VAR:-default}` written).

Review of docsfix, problem 1: resolving nothing from the machine broke every source that needs a credential to
list its tools (a `url:` source's `Authorization: Bearer ${UP_TOK}` became a placeholder: "Unauthorized", exit 2).
Both sides open their sources with this machine's variables — the process environment and the working tree's
`.env`, the revision's side too — and only what is reported is machine-independent.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.gitops.pets_api import Workspace, make_workspace
from tests.support.adder import adder_manifest
from tests.support.served import child_env, mcprt_http

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


UPSTREAM_TOKEN = "upstream-token-123456"


@pytest.fixture(scope="module")
def guarded_upstream(tmp_path_factory: pytest.TempPathFactory):
    """A real `mcprt up` over HTTP that lists its tools only to a caller with its bearer token."""
    manifest = adder_manifest(tmp_path_factory.mktemp("guarded"))
    manifest.write_text(manifest.read_text() + "server:\n  auth: {tokens: {ci: \"${UP_TOK}\"}}\n")
    with mcprt_http(manifest, "--no-reload", env=child_env(UP_TOK=UPSTREAM_TOKEN)) as served:
        yield served


@pytest.mark.parametrize("where", ["process environment", "untracked .env"])
def test_a_source_that_needs_a_credential_to_list_its_tools_is_diffed(tmp_path: Path, guarded_upstream,
                                                                      where: str) -> None:
    ws = make_workspace(tmp_path / "repo", "http://127.0.0.1:9", tmp_path / "cache")
    ws.write_manifest("version: 1\nsources:\n  up:\n"
                      f"    url: {guarded_upstream.url}\n"
                      "    headers: {Authorization: \"Bearer ${UP_TOK}\"}\n")
    _git(ws.root, "init", "-q")
    _git(ws.root, "add", "mcp.yaml")
    _git(ws.root, "commit", "-q", "-m", "first")
    ws.edit("version: 1\n", "version: 1\nserver: {name: changed}\n")
    if where == "process environment":
        ws.env["UP_TOK"] = UPSTREAM_TOKEN
    else:  # the revision's copy has no `.env` (untracked): its side reads the working tree's too
        (ws.root / ".env").write_text(f"UP_TOK={UPSTREAM_TOKEN}\n")
    result = ws.mcprt("diff", "HEAD:mcp.yaml", "mcp.yaml", "--format", "json",
                      drop=() if where == "process environment" else ("UP_TOK",))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert _kinds(data) == ["server name changed"], data["manifest_changes"]
    # each side listed the upstream's one tool (a side that could not would have none, or fail)
    assert data["tools_list"]["old_tools"] == data["tools_list"]["new_tools"] == 1, data["tools_list"]
    assert UPSTREAM_TOKEN not in result.stdout + result.stderr
