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


def _line_of(text: str, name: str) -> int:
    rows = text.splitlines()
    start = rows.index("args:")
    return next(i for i, row in enumerate(rows[start:], start + 1) if row.strip().startswith(f"{name}:"))


def test_a_case_sending_an_argument_the_spec_no_longer_has_is_told_to_drop_it(workspace: Workspace) -> None:
    """Review of upfix, problem 4a: the advice was for `fixed`/`hidden` only; an argument the tool lost in a
    spec change still got "record the case again or edit its `request:`", neither of which works."""
    recorded = workspace.mcprt("record", "mcp.yaml", "list_pets", "--args", json.dumps({"limit": 3, "status": "sold"}),
                               "--name", "st")
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    spec_path = workspace.root / "pets.json"
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    operation = spec["paths"]["/pets"]["get"]
    operation["parameters"] = [p for p in operation["parameters"] if p["name"] != "status"]
    spec_path.write_text(json.dumps(spec), encoding="utf-8")

    failed = workspace.mcprt("test", "mcp.yaml")
    out = failed.stdout + failed.stderr
    assert failed.returncode == 1, out
    case = workspace.root / "cases" / "list_pets" / "st.yaml"
    text = case.read_text(encoding="utf-8")
    assert (f"cases/list_pets/st.yaml:{_line_of(text, 'status')}:11: the tool has no argument `status` now (its spec "
            "or the manifest changed); the tool answers: unknown argument 'status' (remove `status` from the case's "
            "`args:`, or rename it)") in out, out
    assert "record the case again" not in out and "edit its `request:`" not in out and "Traceback" not in out, out

    # the advice, followed: the tool takes the arguments, and what is left is the real change — the recorded
    # request carried `status`, which is no longer sent (for that, recording again or editing `request:` is right)
    case.write_text(text.replace("\n  status: sold", ""), encoding="utf-8")
    again = workspace.mcprt("test", "mcp.yaml")
    assert 'query status: recorded "sold", not sent' in again.stdout, again.stdout + again.stderr
    assert "unknown argument" not in again.stdout, again.stdout


def test_a_case_with_policy_expectations_gets_the_same_located_advice(workspace: Workspace) -> None:
    """Review of upfix, problem 4b: with `policy:` expectations the policy check called `check_arguments`,
    which raised, and the case failed with a bare `[error]` — no file:line:col, no advice. Now the refused
    argument is reported as without `policy:`, and the decisions are still checked (without it)."""
    recorded = workspace.mcprt("record", "mcp.yaml", "list_pets", "--args", json.dumps({"limit": 3}), "--name", "three")
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    case = workspace.root / "cases" / "list_pets" / "three.yaml"
    case.write_text(case.read_text(encoding="utf-8") + "policy:\n  - {principal: stdio, decision: deny}\n",
                    encoding="utf-8")
    workspace.edit("sources:\n", "policy:\n  rules:\n    - {match: {tools: [create_pet]}, action: deny}\nsources:\n")
    workspace.edit("limit: {default: 5}", "limit: {fixed: 3}")

    failed = workspace.mcprt("test", "mcp.yaml")
    out = failed.stdout + failed.stderr
    assert failed.returncode == 1, out
    text = case.read_text(encoding="utf-8")
    assert (f"cases/list_pets/three.yaml:{_line_of(text, 'limit')}:10: the manifest now sets `limit` itself (`fixed`)"
            ) in out and "remove `limit` from the case's `args:`" in out, out
    assert "[error]" not in out and "Traceback" not in out, out
    # the decision is still checked: list_pets is allowed, the case expected deny
    assert "policy for stdio: expected deny, got allow (default)" in out, out
