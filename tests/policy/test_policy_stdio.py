"""Over stdio the caller is the principal `stdio`: rules apply to it; approvals, which need the HTTP
admin endpoints, are refused at once with a message saying so (instead of waiting for nobody)."""

from __future__ import annotations

import shutil
from pathlib import Path

from mcp import Client

from tests.support.cli import mcprt_cli, mcprt_process
from tests.support.served import stdio_up, text_of

HERE = Path(__file__).parent
MANIFEST = """\
version: 1
sources:
  ops:
    python: policy_tools
policy:
  rules:
    - {match: {tools: ["delete*"]}, action: deny, reason: "deleting is not allowed here"}
    - {match: {tools: [showSecret], principals: [stdio]}, action: hide}
    - {match: {tools: [write_note]}, action: approve}
"""


async def test_stdio_principal_rules_and_approvals_refused(tmp_path: Path) -> None:
    shutil.copy(HERE / "policy_tools.py", tmp_path)
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    async with Client(stdio_up(tmp_path / "mcp.yaml")) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        assert "showSecret" not in names and "add" in names
        denied = await client.call_tool("delete_item", {"item": "x"})
        assert denied.is_error and "deleting is not allowed here" in text_of(denied)
        approval = await client.call_tool("write_note", {"text": "t"})
        assert approval.is_error and "needs human approval" in text_of(approval)
        assert "serves no approval endpoint" in text_of(approval)
        assert text_of(await client.call_tool("add", {"a": 2, "b": 3})) == "5"


def test_approve_rules_over_stdio_are_warned_to_the_operator(tmp_path: Path) -> None:
    """The refusal above reached only the model; `up` on stdio said nothing to the operator, nor did
    `validate`. Now `up` warns at the rule's line at start, and `validate` (which cannot know the
    transport) notes it (a note, not a warning: `--strict` must pass an HTTP setup)."""
    shutil.copy(HERE / "policy_tools.py", tmp_path)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(MANIFEST)
    said = "policy.rules.2 asks a human to approve calls, and only `mcprt up --transport http` serves the approval endpoints"
    started = mcprt_process("up", str(manifest), "--no-reload", cwd=tmp_path, forked=True)  # empty stdin: serves, then ends
    assert f"mcp.yaml:9:7: warning: {said}" in started.stderr, started.stderr
    checked = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    assert checked.returncode == 0 and f"mcp.yaml:9:7: note: {said}" in checked.stderr, checked.stderr


# The reviewer's mcp.toml: one `validate` run said `policy.rules.1` in the approval note and `rules[1] is
# unreachable: rules[0] …` in the warning beside it. Every policy diagnostic now names a rule one way.
ONE_FORM = """\
version = 1
[server.auth.tokens]
alice = "${ALICE_TOKEN}"
[sources.ops]
python = "policy_tools"
[policy]
default = "allow"
[[policy.rules]]
match = { tools = ["*"] }
action = "allow"
[[policy.rules]]
match = { tools = ["write_note"] }
action = "approve"
approvals = { required = 2 }
[[policy.rate_limits]]
match = { tools = ["add"] }
limit = "5/min"
[[policy.rate_limits]]
match = { tools = ["add"] }
limit = "9/min"
"""


def test_every_policy_diagnostic_names_a_rule_by_its_path(tmp_path: Path) -> None:
    shutil.copy(HERE / "policy_tools.py", tmp_path)
    (tmp_path / "mcp.toml").write_text(ONE_FORM)
    checked = mcprt_cli("validate", "mcp.toml", cwd=tmp_path, env={"ALICE_TOKEN": "a" * 32})
    lines = checked.stderr.splitlines()
    assert checked.returncode == 0, checked.stderr
    assert "mcp.toml:11:10: warning: policy.rules.1 is unreachable: policy.rules.0 matches every call first" \
        in lines, checked.stderr
    assert any(line.startswith("mcp.toml:14:13: warning: policy.rules.1 needs 2 approvals but only 1 principal")
               for line in lines), checked.stderr
    assert any(line.startswith("mcp.toml:11:10: note: policy.rules.1 asks a human to approve calls")
               for line in lines), checked.stderr
    assert any(line.startswith("mcp.toml:18:10: warning: policy.rate_limits.1 has the same match, per and window as "
                               "policy.rate_limits.0: ") for line in lines), checked.stderr
    assert "rules[" not in checked.stderr and "rate_limits[" not in checked.stderr, checked.stderr


CLIENTS = """\
version: 1
server:
  observability: {audit: audit.jsonl}
sources:
  ops:
    python: policy_tools
policy:
  default: deny
  default_reason: "only known agent applications may call"
  rules:
    - {match: {tools: [delete_item], clients: ["*"]}, action: deny, reason: "no OAuth client may delete"}
    - {match: {tools: [add], clients: ["*"]}, action: allow, name: through-a-client}
    - {match: {tools: [delete_item]}, action: allow, name: local-deletes}
"""


async def test_the_stdio_caller_is_no_oauth_client_served_or_one_shot(tmp_path: Path) -> None:
    """`stdio` has no client id: `clients: ["*"]` (every OAuth client) is not it. The allow rule naming
    clients does not let its `add` through (fail closed: the default denies), the deny rule naming clients
    does not refuse its `delete_item` — over a served stdio connection and a one-shot `mcprt call` alike,
    each decision in the audit log."""
    shutil.copy(HERE / "policy_tools.py", tmp_path)
    (tmp_path / "mcp.yaml").write_text(CLIENTS)
    async with Client(stdio_up(tmp_path / "mcp.yaml")) as client:
        refused = await client.call_tool("add", {"a": 2, "b": 3})
        assert refused.is_error and "only known agent applications may call" in text_of(refused)
        assert text_of(await client.call_tool("delete_item", {"item": "x"})) == "deleted x"
    once = mcprt_cli("call", "mcp.yaml", "add", "--args", '{"a": 2, "b": 3}', cwd=tmp_path)
    assert once.returncode != 0 and "only known agent applications may call" in once.stdout + once.stderr
    once = mcprt_cli("call", "mcp.yaml", "delete_item", "--args", '{"item": "y"}', cwd=tmp_path)
    assert once.returncode == 0 and "deleted y" in once.stdout, once.stdout + once.stderr
    import json

    decided = [(r["tool"], r["action"], r["rule"]) for r in map(json.loads, (tmp_path / "audit.jsonl").read_text().splitlines())
               if r["type"] == "decision"]
    assert decided == [("add", "deny", "default"), ("delete_item", "allow", "local-deletes")] * 2, decided
