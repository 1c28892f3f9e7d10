"""The pytest plugin: a user's repository runs its manifest's cases as ordinary tests, next to its own."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.gitops.pets_api import Workspace, make_workspace

CASE = """\
tool: get_pet
args: {petId: 3}
request: {method: GET, url: "https://pets.example.com/v1/pets/3"}
response:
  status: 200
  json: {id: 3, name: Bella, status: available, category: {id: 1, name: Dogs}, photoUrls: [x]}
"""


# Plugins of this suite's own dev tools, which `pip install mcprt` never brings into a user's environment:
# hypothesis imports itself at every run's summary and xdist adds its hooks (~1.5 s CPU per run together).
# The plugins mcprt's dependencies do bring (anyio's, syrupy's, mcprt's own) and pytest-asyncio, common in
# users' suites, stay on.
_DEV_PLUGINS_OFF = ("-p", "no:hypothesispytest", "-p", "no:xdist", "-p", "no:xdist.looponfail")


def _pytest(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *_DEV_PLUGINS_OFF, *args],
                          cwd=ws.root, env=ws.env, capture_output=True, text=True, timeout=120)


def _user_repo(tmp_path: Path) -> Workspace:
    ws = make_workspace(tmp_path / "repo", "http://127.0.0.1:9", tmp_path / "cache")
    (ws.root / "cases" / "get_pet").mkdir(parents=True)
    (ws.root / "cases" / "get_pet" / "bella.yaml").write_text(CASE)
    snapshots = ws.root / "cases" / "__snapshots__" / "get_pet"
    snapshots.mkdir(parents=True)
    (snapshots / "bella.txt").write_text("an outdated snapshot\n")
    (ws.root / "test_own.py").write_text("def test_own_suite_still_runs():\n    assert 1 + 1 == 2\n")
    (ws.root / "pytest.ini").write_text("[pytest]\n")
    return ws


def test_cases_run_as_pytest_tests_beside_the_users_own(tmp_path: Path) -> None:
    ws = _user_repo(tmp_path)
    first = _pytest(ws, "-q")
    assert first.returncode == 1, first.stdout
    assert "1 failed, 1 passed" in first.stdout
    assert "FAILED mcp.yaml::get_pet/bella" in first.stdout
    assert "what the model receives changed" in first.stdout and "-an outdated snapshot" in first.stdout
    assert "Traceback" not in first.stdout

    updated = _pytest(ws, "-q", "--mcprt-update")
    assert updated.returncode == 0, updated.stdout
    assert "2 passed" in updated.stdout
    assert '"name": "Bella"' in (ws.root / "cases" / "__snapshots__" / "get_pet" / "bella.txt").read_text()
    assert "mcprt: bytes to the model" in updated.stdout and "get_pet" in updated.stdout


def test_collection_can_be_switched_off_and_manifests_named(tmp_path: Path) -> None:
    ws = _user_repo(tmp_path)
    # Found by review: a valid manifest without cases listed in the ini file stopped every run (`no recorded
    # cases … Interrupted`); the ini file is read by every run, so there it is a warning and the rest runs
    (ws.root / "bare").mkdir()
    (ws.root / "bare" / "mcp.yaml").write_text((ws.root / "mcp.yaml").read_text())
    (ws.root / "pytest.ini").write_text("[pytest]\nmcprt_collect = false\nmcprt_manifests = bare/mcp.yaml\n")
    off = _pytest(ws, "--collect-only", "-q")
    assert off.returncode == 0, off.stdout
    assert "test_own.py::test_own_suite_still_runs" in off.stdout and "get_pet/bella" not in off.stdout
    assert "PytestCollectionWarning: skipped (listed in mcprt_manifests): " in off.stdout, off.stdout
    assert "bare/mcp.yaml: no recorded cases" in off.stdout and "Interrupted" not in off.stdout
    named = _pytest(ws, "--collect-only", "-q", "--mcprt-manifest", "mcp.yaml", "test_own.py")
    assert "mcp.yaml::get_pet/bella" in named.stdout and "test_own.py::test_own_suite_still_runs" in named.stdout


def test_a_named_manifest_is_collected_alone_and_one_with_errors_says_them(tmp_path: Path) -> None:
    """Found by a new-user trial: `pytest --mcprt-manifest t6/mcp.yaml` from the parent folder collected 45 tests of
    10 manifests, not the one named; `pytest bad/mcp.yaml` (errors, no cases) printed only `ERROR: not found`."""
    ws = _user_repo(tmp_path)
    other = ws.root / "other"
    other.mkdir()
    (other / "mcp.yaml").write_text((ws.root / "mcp.yaml").read_text())
    (other / "cases").mkdir()
    (other / "cases" / "get_pet").mkdir()
    (other / "cases" / "get_pet" / "other.yaml").write_text(CASE)
    for folder, text in (("bad", "version: 1\nserver: {name: x}\nsources:\n  a: {openapi: x.json, bogus: 1}\n"),
                         ("bare", (ws.root / "mcp.yaml").read_text())):
        (ws.root / folder).mkdir()
        (ws.root / folder / "mcp.yaml").write_text(text)
    # two pytest runs (each costs seconds): manifests named by option alone, then one on the command line
    named = _pytest(ws, "--collect-only", "-q", "--mcprt-manifest", "mcp.yaml", "--mcprt-manifest", "bare/mcp.yaml")
    assert named.returncode == 2, named.stdout
    assert "mcp.yaml::get_pet/bella" in named.stdout and "1 test collected, 1 error" in named.stdout, named.stdout
    assert "other/" not in named.stdout and "test_own.py" not in named.stdout and "bad/" not in named.stdout
    assert "bare/mcp.yaml: no recorded cases" in named.stdout and "not found" not in named.stdout
    bad = _pytest(ws, "-q", "bad/mcp.yaml")
    assert bad.returncode == 2, bad.stdout
    assert re.search(r"bad/mcp.yaml:4:\d+: sources.a: unknown key 'bogus'", bad.stdout), bad.stdout
    assert "not found" not in bad.stdout
