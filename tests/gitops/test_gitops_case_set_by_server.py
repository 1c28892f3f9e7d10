"""A recorded case sending an argument the manifest now sets itself (`fixed`), through the real `mcprt test`.

Found by an upgrade trial: such a case failed with `[request differs]` and the advice "record the case again or
edit its `request:`" — editing `request:` changes nothing (the tool refuses the argument before any request) and
recording again is refused while the case exists. The failure now names the argument and the fix that works:
remove it from the case's `args:`."""

from __future__ import annotations

import json

from tests.gitops.pets_api import Workspace


def test_a_case_sending_a_now_fixed_argument_is_told_to_drop_it(workspace: Workspace) -> None:
    recorded = workspace.mcprt("record", "mcp.yaml", "list_pets", "--args", json.dumps({"limit": 3}), "--name", "three")
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    workspace.edit("limit: {default: 5}", "limit: {fixed: 3}")  # the same value the case sends

    failed = workspace.mcprt("test", "mcp.yaml")
    out = failed.stdout + failed.stderr
    assert failed.returncode == 1, out
    case = workspace.root / "cases" / "list_pets" / "three.yaml"
    text = case.read_text(encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.strip().startswith("limit:")
                and text.splitlines()[i - 2].strip() == "args:")
    assert f"cases/list_pets/three.yaml:{line}:10: " in out, out  # where the argument is, in the case file
    assert "the manifest now sets `limit` itself (`fixed`)" in out and "remove `limit` from the case's `args:`" in out, out
    assert "'limit' is set by the server" in out  # the tool's own answer, as the model would read it
    assert "record the case again" not in out and "edit its `request:`" not in out, out
    assert "Traceback" not in out

    # the advice works: without the argument the tool sends the fixed 3, the very request recorded
    case.write_text(text.replace("\n  limit: 3", ""), encoding="utf-8")
    assert "\n  limit:" not in case.read_text(encoding="utf-8")
    passed = workspace.mcprt("test", "mcp.yaml")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "1 passed, 0 failed" in passed.stdout
