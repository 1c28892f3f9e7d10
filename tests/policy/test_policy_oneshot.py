"""One-shot calls (`mcprt call`, `mcprt record`) governed as served calls are: the audit log, operator
pauses and rate limits in the server's shared state (a real `redis-server`, paused through a real
`mcprt up` and its `mcprt pause` endpoint), approvals, hidden tools.

Found by a security/compliance trial: `mcprt call mcp.yaml TOOL` wrote nothing to the audit log, and with
`MCPRT_STATE_URL` set ran `admin_reset`, which an operator had paused through the server (`mcprt up`
refused it and audited the refusal)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import mcprt_cli
from tests.support.components import Redis, free_port, redis_server
from tests.support.served import UpProcess, child_env, mcprt_http

pytestmark = pytest.mark.xdist_group("policy-oneshot")  # one redis and one `mcprt up` for the module

HERE = Path(__file__).parent
OPS = "tok-ops"

MANIFEST = """\
version: 1
server:
  name: oneshot-governed
  auth: {tokens: {ops: "${OPS_TOKEN}"}}
  observability: {audit: audit.jsonl, audit_arguments: true}
sources:
  ops:
    python: policy_tools
policy:
  rules:
    - {match: {tools: [delete_item]}, action: deny, reason: "deleting is not allowed here"}
    - {match: {tools: [showSecret], principals: [stdio]}, action: hide}
    - {match: {tools: [transfer]}, action: approve}
  approvals: {approvers: [ops]}
  admins: [ops]
  rate_limits:
    - {match: {tools: [add]}, per: principal, limit: 2/min}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = tmp_path_factory.mktemp("oneshot")
    shutil.copy(HERE / "policy_tools.py", made)
    (made / "mcp.yaml").write_text(MANIFEST)
    return made


@pytest.fixture(scope="module")
def redis(folder: Path) -> Iterator[Redis]:
    with redis_server(folder) as server:
        yield server


@pytest.fixture(scope="module")
def served(folder: Path, redis: Redis) -> Iterator[UpProcess]:
    with mcprt_http(folder / "mcp.yaml", "--no-reload",
                    env=child_env(MCPRT_STATE_URL=redis.url, OPS_TOKEN=OPS)) as up:
        yield up


def call(folder: Path, tool: str, arguments: dict[str, Any], state: str | None = None):  # type: ignore[no-untyped-def]
    env = {"OPS_TOKEN": OPS, **({"MCPRT_STATE_URL": state} if state else {})}
    return mcprt_cli("call", str(folder / "mcp.yaml"), tool, "--args", json.dumps(arguments), env=env, timeout=60)


def audited(folder: Path, since: int) -> list[dict[str, Any]]:
    """The audit records written after line `since`."""
    lines = (folder / "audit.jsonl").read_text().splitlines() if (folder / "audit.jsonl").exists() else []
    return [json.loads(line) for line in lines[since:]]


def audit_mark(folder: Path) -> int:
    path = folder / "audit.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_one_shot_call_and_its_decision_are_audited(folder: Path) -> None:
    mark = audit_mark(folder)
    done = call(folder, "ping", {})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["content"][0]["text"] == "pong"
    refused = call(folder, "delete_item", {"item": "audit-check"})
    assert refused.returncode == 1 and "deleting is not allowed here" in refused.stdout
    records = audited(folder, mark)
    assert [(r["type"], r.get("action") or r.get("outcome"), r["tool"], r["principal"]) for r in records] == [
        ("decision", "allow", "ping", "stdio"), ("call", "ok", "ping", "stdio"),
        ("decision", "deny", "delete_item", "stdio"), ("call", "denied", "delete_item", "stdio")]
    assert records[3]["arguments"] == {"item": "audit-check"}  # audit_arguments: true, as served calls
    assert records[0]["call"] == records[1]["call"] != records[2]["call"] == records[3]["call"]


def test_a_tool_hidden_from_the_local_caller_is_unknown_and_the_attempt_audited(folder: Path) -> None:
    mark = audit_mark(folder)
    done = call(folder, "showSecret", {})
    assert done.returncode == 2 and "showSecret" not in done.stdout
    assert "unknown tool 'showSecret'" in done.stderr and "s3cr3t" not in done.stdout + done.stderr
    assert [(r["type"], r.get("action") or r.get("outcome")) for r in audited(folder, mark)] == [
        ("decision", "hidden"), ("call", "denied")]


def test_a_call_needing_approval_is_refused_clearly(folder: Path) -> None:
    mark = audit_mark(folder)
    done = call(folder, "transfer", {"to": "acct-1", "amount": 5})
    assert done.returncode == 1
    assert "needs human approval, and this process serves no approval endpoint (a one-shot `mcprt call`" in done.stdout
    assert [r.get("action") or r.get("outcome") for r in audited(folder, mark)] == ["deny", "denied"]


def test_a_tool_paused_through_the_server_is_refused_by_a_one_shot_call(folder: Path, redis: Redis,
                                                                      served: UpProcess) -> None:
    admin = {"MCPRT_TOKEN": OPS}
    paused = mcprt_cli("pause", "ping", "--reason", "freeze", "--url", served.url, env=admin, timeout=60)
    assert paused.returncode == 0, paused.stderr
    try:
        mark = audit_mark(folder)
        done = call(folder, "ping", {}, state=redis.url)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "tool ping is paused by an operator (reason: freeze)" in done.stdout and "pong" not in done.stdout
        records = audited(folder, mark)
        assert [(r.get("action") or r.get("outcome"), r.get("rule")) for r in records] == [
            ("paused", "pause:tool:ping"), ("denied", None)]
        # `mcprt record` makes the same live call: refused the same way, nothing recorded
        recorded = mcprt_cli("record", str(folder / "mcp.yaml"), "ping", "--args", "{}",
                             env={"OPS_TOKEN": OPS, "MCPRT_STATE_URL": redis.url}, timeout=60)
        assert recorded.returncode == 2, recorded.stdout + recorded.stderr
        assert "nothing recorded" in recorded.stderr and "paused by an operator (reason: freeze)" in recorded.stderr
        assert not (folder / "tests").exists() and not (folder / "cases").exists()
    finally:
        resumed = mcprt_cli("resume", "ping", "--url", served.url, env=admin, timeout=60)
        assert resumed.returncode == 0, resumed.stderr
    again = call(folder, "ping", {}, state=redis.url)
    assert again.returncode == 0 and "pong" in again.stdout


def test_rate_limits_count_one_shot_calls_in_the_shared_state(folder: Path, redis: Redis) -> None:
    outcomes = [call(folder, "add", {"a": n, "b": 1}, state=redis.url) for n in range(3)]
    assert [o.returncode for o in outcomes] == [0, 0, 1], [o.stdout + o.stderr for o in outcomes]
    assert "rate limit reached for add: 2 calls per minute" in outcomes[2].stdout


def test_an_unreachable_shared_state_is_an_error_not_an_ungoverned_call(folder: Path) -> None:
    mark = audit_mark(folder)
    done = call(folder, "ping", {}, state=f"redis://127.0.0.1:{free_port()}/0")
    assert done.returncode == 2 and done.stdout == ""
    assert "cannot reach the shared state at redis://127.0.0.1:" in done.stderr and "Traceback" not in done.stderr
    # what to do, and never to unset the state URL (`mcprt up`'s advice): that would drop the server's pauses
    assert done.stderr.rstrip().endswith("The call was not made: the server's pauses and rate limits are kept "
                                         "there. Start Redis, or try again once it answers."), done.stderr
    assert "unset" not in done.stderr
    assert audited(folder, mark) == []  # nothing ran


def test_mcprt_test_and_its_pytest_plugin_govern_a_case_that_calls_its_tool_for_real(
        folder: Path, redis: Redis, served: UpProcess, tmp_path: Path) -> None:
    # Found by the review of govfix1: `mcprt test` ran a paused `python:` tool again (a live call with the
    # manifest's credentials) and audited nothing, where `mcprt call` was refused.
    state = {"OPS_TOKEN": OPS, "MCPRT_STATE_URL": redis.url}
    recorded = mcprt_cli("record", str(folder / "mcp.yaml"), "ping", "--args", "{}", "--name", "up",
                         env=state, timeout=60)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    try:
        mark = audit_mark(folder)
        passed = mcprt_cli("test", str(folder / "mcp.yaml"), env=state, timeout=60)
        assert passed.returncode == 0, passed.stdout + passed.stderr
        assert [(r["type"], r.get("action") or r.get("outcome"), r["tool"], r["principal"])
                for r in audited(folder, mark)] == [("decision", "allow", "ping", "stdio"),
                                                    ("call", "ok", "ping", "stdio")]

        admin = {"MCPRT_TOKEN": OPS}
        paused = mcprt_cli("pause", "ping", "--reason", "freeze", "--url", served.url, env=admin, timeout=60)
        assert paused.returncode == 0, paused.stderr
        try:
            mark = audit_mark(folder)
            refused = mcprt_cli("test", str(folder / "mcp.yaml"), env=state, timeout=60)
            assert refused.returncode == 1, refused.stdout + refused.stderr
            out = refused.stdout + refused.stderr
            assert "tool ping is paused by an operator (reason: freeze)" in out and "1 failed" in out, out
            assert [(r.get("action") or r.get("outcome"), r.get("rule")) for r in audited(folder, mark)] == [
                ("paused", "pause:tool:ping"), ("denied", None)]
            # the pytest plugin runs the same harness: the case fails the same way
            (tmp_path / "pytest.ini").write_text("[pytest]\n")
            mark = audit_mark(folder)
            plugin = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                 "-p", "no:hypothesispytest", "--mcprt-manifest", str(folder / "mcp.yaml")],
                cwd=tmp_path, env=child_env(**state), capture_output=True, text=True, timeout=120)
            assert plugin.returncode == 1, plugin.stdout + plugin.stderr
            assert "1 failed" in plugin.stdout and "paused by an operator (reason: freeze)" in plugin.stdout
            assert [r.get("action") or r.get("outcome") for r in audited(folder, mark)] == ["paused", "denied"]
        finally:
            resumed = mcprt_cli("resume", "ping", "--url", served.url, env=admin, timeout=60)
            assert resumed.returncode == 0, resumed.stderr
        # Redis away: the live case is an error saying so, never an ungoverned call
        gone = mcprt_cli("test", str(folder / "mcp.yaml"), env={**state, "MCPRT_STATE_URL":
                                                                  f"redis://127.0.0.1:{free_port()}/0"}, timeout=60)
        assert gone.returncode == 1 and "cannot reach the shared state" in gone.stdout + gone.stderr
        assert "Traceback" not in gone.stdout + gone.stderr
    finally:
        shutil.rmtree(folder / "cases", ignore_errors=True)
