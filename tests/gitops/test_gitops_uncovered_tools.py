"""`mcprt test` names the tools no case calls: nothing checks their output (a trial's catalog entry had 2 of 7
such tools, and neither `mcprt test` nor the catalog tests said so). A note, not a failure: the exit code is the
cases'. The case is recorded from the real pets API on 127.0.0.1; `mcprt test` runs as a real subprocess
(forked from the suite's warm zygote: tests/support/zygote.py)."""

from __future__ import annotations

from tests.gitops.pets_api import Workspace
from tests.support.cli import mcprt_process


def test_mcprt_test_names_the_tools_without_a_case(workspace: Workspace) -> None:
    recorded = workspace.mcprt("record", "list_pets", "--args", '{"limit": 2}', "--name", "two")
    assert recorded.returncode == 0, recorded.stderr
    tested = mcprt_process("test", "mcp.yaml", cwd=workspace.root, env=workspace.env, forked=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert ("mcp.yaml: 3 tools without a case (nothing checks their output): create_pet, deletePet, get_pet — record "
            "one with `mcprt record mcp.yaml TOOL --args '{...}'`") in tested.stderr, tested.stderr
    for tool, args in (("get_pet", '{"petId": 3}'), ("create_pet", '{"name": "Rex"}')):
        assert workspace.mcprt("record", tool, "--args", args).returncode == 0
    workspace.edit("    tools:\n", "    exclude: {operations: [deletePet]}\n    tools:\n")
    covered = mcprt_process("test", "mcp.yaml", cwd=workspace.root, env=workspace.env, forked=True)
    assert covered.returncode == 0, covered.stdout + covered.stderr
    assert "without a case" not in covered.stderr, covered.stderr
