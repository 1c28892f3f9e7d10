"""What `mcprt test`, its pytest plugin and `mcprt diff` write to the manifest's audit log, through the real CLI.

Found by an upgrade trial: every `mcprt test` run (and so each commit through the pre-commit hook) and every
`mcprt diff` appended call records to the production audit log — replays of recorded OpenAPI responses among
them, as `outcome ok`, `upstream_status 200` with no principal, though no upstream was called — and nothing
told them from served calls. Now a live call (a `python:` case) is audited as `stdio` with `entry_point`,
a replay is not audited, and `mcprt diff` writes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.gitops.pets_api import Workspace
from tests.support.served import child_env

TOOLS = '''
def echo(text: str) -> str:
    """Say it back."""
    return text
'''


def _audited(workspace: Workspace, since: int = 0) -> list[dict[str, Any]]:
    path = workspace.root / "audit.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [json.loads(line) for line in lines[since:]]


def _summary(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["type"], r["tool"], r.get("outcome"), r.get("principal"), r.get("principal_kind"),
             r.get("entry_point"), "upstream_status" in r) for r in records]


def test_only_live_cases_are_audited_marked_and_diff_writes_nothing(workspace: Workspace, tmp_path: Path) -> None:
    (workspace.root / "echo_tools.py").write_text(TOOLS, encoding="utf-8")
    workspace.edit("sources:\n", "server:\n  observability: {audit: audit.jsonl}\nsources:\n"
                                 "  talk: {python: echo_tools}\n")
    # `echo` sorts before the pets cases: its live call opens the audit log before they are replayed
    for tool, args in (("echo", {"text": "hi"}), ("get_pet", {"petId": 1}), ("list_pets", {"limit": 2})):
        recorded = workspace.mcprt("record", "mcp.yaml", tool, "--args", json.dumps(args), "--name", "one")
        assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    # recording calls each tool for real, once, each record saying which command made it (a python case's
    # snapshot comes from that call's result: the function is not run again to write it)
    assert _summary(_audited(workspace)) == [
        ("call", "echo", "ok", "stdio", "stdio", "mcprt record", False),
        ("call", "get_pet", "ok", "stdio", "stdio", "mcprt record", True),
        ("call", "list_pets", "ok", "stdio", "stdio", "mcprt record", True)]

    mark = len(_audited(workspace))
    tested = workspace.mcprt("test", "mcp.yaml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "3 passed, 0 failed" in tested.stdout
    # the python case ran the function again: audited; the replays reached no upstream: not audited
    assert _summary(_audited(workspace, mark)) == [("call", "echo", "ok", "stdio", "stdio", "mcprt test", False)]

    mark = len(_audited(workspace))
    diffed = workspace.mcprt("diff", "mcp.yaml", "mcp.yaml", "--fail-on", "any")
    assert diffed.returncode == 0, diffed.stdout + diffed.stderr
    assert _audited(workspace, mark) == []  # both sides replayed; the python case is not run (not checked, live)
    assert "echo/one: not checked (live)" in diffed.stdout, diffed.stdout

    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    plugin = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-p", "no:hypothesispytest", "--mcprt-manifest", str(workspace.manifest)],
        cwd=tmp_path, env=child_env(**{k: v for k, v in workspace.env.items() if k in ("PETS_KEY", "MCPRT_CACHE_DIR")}),
        capture_output=True, text=True, timeout=120)
    assert plugin.returncode == 0, plugin.stdout + plugin.stderr
    assert _summary(_audited(workspace, mark)) == [("call", "echo", "ok", "stdio", "stdio", "pytest", False)]
