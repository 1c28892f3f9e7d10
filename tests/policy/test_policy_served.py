"""Policies through a real `mcprt up` subprocess, the SDK client over streamable HTTP, principals from
named static tokens, the `mcprt approvals|pause|resume` CLI and a real webhook receiver."""

from __future__ import annotations

import contextlib
import functools
import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.cli import mcprt_cli
from tests.support.served import UpProcess, child_env, http_client, mcprt_http, text_of
from tests.support.upstream import serve_app

pytestmark = pytest.mark.xdist_group("policy-served")  # its `mcprt up` once per run, not once per worker

HERE = Path(__file__).parent
TOKENS = {"alice": "tok-alice", "bob": "tok-bob", "carol": "tok-carol", "ci-bot": "tok-ci"}

MANIFEST = """\
version: 1
server:
  auth:
    tokens: {alice: "${ALICE_TOKEN}", bob: "${BOB_TOKEN}", carol: "${CAROL_TOKEN}", ci-bot: "${CI_TOKEN}"}
  observability: {audit: audit.jsonl}
sources:
  ops:
    python: policy_tools
  vault:
    python: vault_tools
    expose: discovery
  lanes:
    python: lane_tools
    concurrency: 2
    tools: {hold: {timeout: 5s}, nap: {timeout: 500ms}, quick: {timeout: 2s}}
policy:
  default: allow
  rules:
    - {match: {tools: ["delete*", "purge*"]}, action: deny, reason: "deleting is not allowed here"}
    - {match: {tools: [showSecret, peek_vault], principals: [ci-bot]}, action: hide}
    - {match: {tools: [refund], when: "amount > `1000`"}, action: approve, approvals: {wait: 60s}}
    - {match: {tools: [transfer]}, action: approve, approvals: {wait: 60s, required: 2, approvers: [alice, bob, carol]}}
    - {match: {tools: [write_note, open_vault, rotate_key]}, action: approve}
  approvals: {wait: 2s, valid_for: 10m, approvers: [alice, bob], webhook: "${APPROVAL_WEBHOOK}"}
  rate_limits:
    - {match: {tools: [add]}, per: principal, limit: 5/min}
"""


class Webhook:
    """A real HTTP receiver of approval webhooks (what Slack would get)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        async def receive(request: Request) -> JSONResponse:
            body = await request.json()
            with self.lock:
                self.bodies.append(body)
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/hook", receive, methods=["POST"])])

    def for_tool(self, tool: str, arguments: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for body in self.bodies:
                    payload = body["metadata"]["event_payload"]
                    if payload["tool"] == tool and payload["arguments"] == arguments:
                        return body
            time.sleep(0.05)
        raise AssertionError(f"no webhook for {tool} {arguments}; got {self.bodies}")


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[Webhook, str]]:
    hook = Webhook()
    with serve_app(hook.app()) as base:
        yield hook, f"{base}/hook"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, webhook: tuple[Webhook, str]) -> Iterator[UpProcess]:
    folder = tmp_path_factory.mktemp("policy")
    shutil.copy(HERE / "policy_tools.py", folder)
    shutil.copy(HERE / "vault_tools.py", folder)
    shutil.copy(HERE / "lane_tools.py", folder)
    (folder / "mcp.yaml").write_text(MANIFEST)
    env = child_env(ALICE_TOKEN=TOKENS["alice"], BOB_TOKEN=TOKENS["bob"], CAROL_TOKEN=TOKENS["carol"],
                    CI_TOKEN=TOKENS["ci-bot"], APPROVAL_WEBHOOK=webhook[1])
    with mcprt_http(folder / "mcp.yaml", env=env) as up:
        AUDIT[up.url] = folder / "audit.jsonl"
        yield up


def audit_records(up: UpProcess, approval_id: str, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    """The served manifest's audit records of approval `approval_id`, once there are at least `count` (the
    log is written by a background thread: a record may trail the answer)."""
    path = AUDIT[up.url]
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        found = [r for r in map(json.loads, lines) if r.get("approval_id") == approval_id]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


AUDIT: dict[str, Path] = {}  # a served URL → its audit log


def cli(up: UpProcess, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    return mcprt_cli(*args, "--url", up.url, env={"MCPRT_TOKEN": token} if token else {}, timeout=60)


def pending(up: UpProcess, tool: str, arguments: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    """Wait until a pending request for (tool, arguments) is listed by `mcprt approvals list --json`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = cli(up, "approvals", "list", "--json", token=TOKENS["alice"])
        assert listed.returncode == 0, listed.stderr
        for item in json.loads(listed.stdout):
            if item["tool"] == tool and item["arguments"] == arguments:
                assert {"id", "tool", "principal", "arguments", "created"} <= set(item)
                return item
        time.sleep(0.2)
    raise AssertionError(f"no pending approval for {tool} {arguments}")


def call_statuses(up: UpProcess, tool: str, since: int = 0, count: int = 1) -> list[str]:
    """The `status` of each call line `tool` wrote to the log after the log mark `since`, once there are
    at least `count` of them (or 10 s passed)."""
    pattern = rf"\bcall tool={re.escape(tool)} source=\S+ status=(\S+)"
    deadline = time.monotonic() + 10  # stderr is read by a thread: the line may trail the answer
    while len(re.findall(pattern, up.log_since(since))) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return re.findall(pattern, up.log_since(since))


async def test_deny_with_reason(served: UpProcess) -> None:
    async with http_client(served.url, token=TOKENS["ci-bot"]) as client:
        result = await client.call_tool("delete_item", {"item": "x"})
    assert result.is_error
    assert "deleting is not allowed here" in text_of(result)
    assert call_statuses(served, "delete_item") == ["denied"]


async def test_hide_unlisted_and_unknown_for_that_principal_only(served: UpProcess) -> None:
    async with http_client(served.url, token=TOKENS["ci-bot"]) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        assert "showSecret" not in names and "add" in names
        result = await client.call_tool("showSecret", {})
        assert result.is_error and text_of(result).startswith("unknown tool 'showSecret'")
        assert "s3cr3t" not in text_of(result)
    async with http_client(served.url, token=TOKENS["ci-bot"], mode="auto") as client:  # 2026-07-28 era too
        assert "showSecret" not in [t.name for t in (await client.list_tools()).tools]
        assert (await client.call_tool("showSecret", {})).is_error
    async with http_client(served.url, token=TOKENS["alice"]) as client:
        assert "showSecret" in [t.name for t in (await client.list_tools()).tools]
        assert text_of(await client.call_tool("showSecret", {})) == "s3cr3t"


async def test_discovery_call_tool_cannot_bypass_rules(served: UpProcess) -> None:
    async with http_client(served.url, token=TOKENS["ci-bot"]) as client:
        denied = await client.call_tool("call_tool", {"name": "purge_vault", "arguments": {}})
        assert denied.is_error and "deleting is not allowed here" in text_of(denied)
        hidden = await client.call_tool("call_tool", {"name": "peek_vault", "arguments": {}})
        assert hidden.is_error and "no operation named 'peek_vault'" in text_of(hidden)
        found = text_of(await client.call_tool("search_tools", {"query": "peek vault contents"}))
        assert "peek_vault" not in found
        described = await client.call_tool("describe_tools", {"names": ["peek_vault"]})
        assert described.is_error and "no operation named 'peek_vault'" in text_of(described)
        pending_call = await client.call_tool("call_tool", {"name": "open_vault", "arguments": {"door": "d1"}})
        assert pending_call.is_error and "needs human approval" in text_of(pending_call)
        # the approval's id and state reach the client in `_meta` as they do for a direct call (a review found
        # the relay dropping the target's `_meta`: a client could read the approval id only from the text)
        assert (pending_call.meta or {}).get("mcprt/approval", {}).get("status") == "pending", pending_call.meta
        assert text_of(await client.call_tool("call_tool", {"name": "vault_status", "arguments": {}})) == "closed"
    async with http_client(served.url, token=TOKENS["alice"]) as client:
        assert "peek_vault" in text_of(await client.call_tool("search_tools", {"query": "peek vault contents"}))


async def test_an_unlisted_operation_called_directly_is_governed_as_through_call_tool(served: UpProcess) -> None:
    """Discovery mode lists only the meta-tools, but a client that cached a name (or was told it by
    describe_tools) may call the operation with a plain tools/call, as FastMCP's and ContextForge's
    discovery layers allow. That call must meet exactly the rules a `call_tool` call meets: the same
    deny (and its reason, counted under the same rule), the same hide (unknown to that principal,
    recorded as a `hidden` decision), the same allow. A new-user trial asked whether it did."""
    before = decisions_counted(served)
    async with http_client(served.url, token=TOKENS["ci-bot"]) as client:
        assert "purge_vault" not in [t.name for t in (await client.list_tools()).tools]  # not listed...
        for direct in (True, False):  # ...yet callable both ways, under one set of rules
            async def call(name: str) -> Any:
                if direct:
                    return await client.call_tool(name, {})
                return await client.call_tool("call_tool", {"name": name, "arguments": {}})

            denied = await call("purge_vault")
            assert denied.is_error and "deleting is not allowed here" in text_of(denied), (direct, text_of(denied))
            hidden = await call("peek_vault")
            assert hidden.is_error and "contents" not in text_of(hidden), direct
            assert ("unknown tool 'peek_vault'" if direct else "no operation named 'peek_vault'") in text_of(hidden)
            assert text_of(await call("vault_status")) == "closed", direct
    after = decisions_counted(served)
    assert after.get(("deny", "rules[0]"), 0) == before.get(("deny", "rules[0]"), 0) + 2
    assert after.get(("hidden", "rules[1]"), 0) == before.get(("hidden", "rules[1]"), 0) + 2


def hidden_decisions(up: UpProcess) -> float:
    """`mcprt_policy_decisions_total{action="hidden", rule="rules[1]"}` (the manifest's hide rule)."""
    metrics = httpx.get(f"{up.base}/metrics", headers={"Authorization": f"Bearer {TOKENS['alice']}"}, timeout=10)
    assert metrics.status_code == 200, metrics.text
    line = next((l for l in metrics.text.splitlines()
                 if l.startswith("mcprt_policy_decisions_total{") and 'action="hidden"' in l), None)
    assert line is None or 'rule="rules[1]"' in line, line
    return 0.0 if line is None else float(line.rsplit(" ", 1)[1])


async def test_calling_a_hidden_tool_is_recorded_as_a_hidden_decision(served: UpProcess) -> None:
    # Found by a new-user trial: ci-bot calling a tool hidden from it got "unknown tool" (right),
    # but no decision reached the audit log or metrics, so probing went unseen.
    before = hidden_decisions(served)
    async with http_client(served.url, token=TOKENS["ci-bot"]) as client:
        assert (await client.call_tool("showSecret", {})).is_error
        assert (await client.call_tool("call_tool", {"name": "peek_vault", "arguments": {}})).is_error  # discovery
        assert (await client.call_tool("noSuchTool", {})).is_error  # unknown to everyone: not a decision
    async with http_client(served.url, token=TOKENS["alice"]) as client:
        assert text_of(await client.call_tool("showSecret", {})) == "s3cr3t"  # not hidden from alice
    assert hidden_decisions(served) == before + 2


def metric_samples(up: UpProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the server's /metrics by (name, sorted labels)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{up.base}/metrics", headers={"Authorization": f"Bearer {TOKENS['alice']}"}, timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def calls_counted(samples: dict, tool: str, source: str, outcome: str) -> float:
    return samples.get(("mcprt_tool_calls_total", (("outcome", outcome), ("source", source), ("tool", tool))), 0.0)


def requests_timed(samples: dict, tool: str, error: str = "") -> float:
    """Count of `mcp_server_operation_duration_seconds` for tools/call requests naming `tool`."""
    key = (("error_type", error), ("gen_ai_tool_name", tool), ("mcp_method_name", "tools/call"))
    return samples.get(("mcp_server_operation_duration_seconds_count", key), 0.0)


async def test_every_refused_name_writes_its_call_line(served: UpProcess) -> None:
    """A call naming an unknown tool, or one a policy hides from its caller, wrote no call line (it was
    audited and counted as a decision only): an operator grepping the call log for a client's failing
    calls saw nothing. Each writes exactly one, with the status saying why (`unknown_tool`, `hidden`),
    directly and through discovery's call_tool (whose operation writes its own line, as any reached
    operation does); a hidden call counts as `denied` like every policy refusal."""
    mark = served.log_mark()
    before = metric_samples(served)
    async with http_client(served.url, token=TOKENS["ci-bot"]) as client:
        assert (await client.call_tool("showSecret", {})).is_error
        assert (await client.call_tool("no_such_tool_" + "z" * 300, {})).is_error
        assert (await client.call_tool("call_tool", {"name": "peek_vault", "arguments": {}})).is_error
        assert (await client.call_tool("call_tool", {"name": "no_such_operation", "arguments": {}})).is_error
    assert call_statuses(served, "showSecret", mark) == ["hidden"]
    assert call_statuses(served, "no_such_tool_" + "z" * 86 + "…", mark) == ["unknown_tool"]
    assert call_statuses(served, "peek_vault", mark) == ["hidden"]
    assert call_statuses(served, "call_tool", mark, count=2) == ["hidden", "unknown_tool"]
    after = metric_samples(served)
    assert calls_counted(after, "showSecret", "ops", "denied") == calls_counted(before, "showSecret", "ops", "denied") + 1
    # through call_tool neither reached an operation: counted once, as call_tool's, never as peek_vault's
    assert calls_counted(after, "call_tool", "mcprt", "denied") == calls_counted(before, "call_tool", "mcprt", "denied") + 1
    assert calls_counted(after, "call_tool", "mcprt", "rejected") == calls_counted(before, "call_tool", "mcprt", "rejected") + 1
    assert calls_counted(after, "peek_vault", "vault", "denied") == calls_counted(before, "peek_vault", "vault", "denied")
    # the unknown name is a request all the same, labelled by no name of the client's
    assert requests_timed(after, "", "rejected") == requests_timed(before, "", "rejected") + 1
    assert not any("no_such" in str(labels) for _, labels in after)


async def test_an_operation_called_through_call_tool_counts_once(served: UpProcess) -> None:
    """`mcprt_tool_calls_total{tool="call_tool"}` said nothing of what was called, and a sum over every
    tool counted each discovery call twice (the relay's and the operation's series). The operation's
    series records what was called; call_tool's counts only calls that reached no operation; the
    duration histogram counts the one MCP request, under call_tool."""
    before = metric_samples(served)
    async with http_client(served.url, token=TOKENS["alice"]) as client:
        assert text_of(await client.call_tool("call_tool", {"name": "vault_status", "arguments": {}})) == "closed"
    after = metric_samples(served)
    total = lambda samples: sum(v for (name, _), v in samples.items() if name == "mcprt_tool_calls_total")  # noqa: E731
    assert total(after) == total(before) + 1
    assert calls_counted(after, "vault_status", "vault", "ok") == calls_counted(before, "vault_status", "vault", "ok") + 1
    assert requests_timed(after, "call_tool") == requests_timed(before, "call_tool") + 1
    assert requests_timed(after, "vault_status") == requests_timed(before, "vault_status")
    # A call the client cancels while call_tool's operation runs counted twice: the relay's event (an empty
    # result, not marked relayed) and the operation's. Once, as the operation's `cancelled`.
    async with http_client(served.url, token=TOKENS["alice"]) as client:
        with anyio.move_on_after(1.0):  # the SDK client sends notifications/cancelled on leaving the scope
            await client.call_tool("call_tool", {"name": "vault_drill", "arguments": {"seconds": 30}})
        deadline = time.monotonic() + 10  # the server writes both events after the cancel arrives
        while requests_timed(cancelled := metric_samples(served), "call_tool", "cancelled") == requests_timed(
                after, "call_tool", "cancelled") and time.monotonic() < deadline:
            await anyio.sleep(0.05)
    assert total(cancelled) == total(after) + 1
    assert calls_counted(cancelled, "vault_drill", "vault", "cancelled") == 1
    assert calls_counted(cancelled, "call_tool", "mcprt", "cancelled") == 0
    assert requests_timed(cancelled, "call_tool", "cancelled") == requests_timed(after, "call_tool", "cancelled") + 1


def decisions_counted(up: UpProcess) -> dict[tuple[str, str], float]:
    """`mcprt_policy_decisions_total` by (action, rule), read from the server's /metrics."""
    text = httpx.get(f"{up.base}/metrics", headers={"Authorization": f"Bearer {TOKENS['alice']}"}, timeout=10).text
    found = re.findall(r'^mcprt_policy_decisions_total\{action="([^"]+)",rule="([^"]*)"\} (\S+)$', text, re.M)
    return {(action, rule): float(value) for action, rule, value in found}


async def test_timeout_pending_then_cli_approve_then_repeat_succeeds(served: UpProcess) -> None:
    """The call's wait (2 s) ends with its request still open: recorded as `approval_pending` (it was
    `approval_expired`, which it is not: the request can still be approved, as here, long after)."""
    arguments = {"text": "hello"}
    async with http_client(served.url, token=TOKENS["ci-bot"]) as client:
        mark = served.log_mark()
        first = await client.call_tool("write_note", arguments)
        assert first.is_error
        text = text_of(first)
        assert "is pending" in text and "same call again" in text
        assert call_statuses(served, "write_note", mark) == ["approval_pending"]  # not `denied`: it may yet run
        request = pending(served, "write_note", arguments)
        assert request["principal"] == "ci-bot" and request["id"] in text
        assert first.meta is not None and first.meta["mcprt/approval"]["id"] == request["id"]
        counted = decisions_counted(served)
        assert counted.get(("approval_pending", "rules[4]"), 0) >= 1, counted
        assert not any(action == "approval_expired" for action, _ in counted), counted
        approved = cli(served, "approvals", "approve", request["id"], token=TOKENS["bob"])
        assert approved.returncode == 0, approved.stderr
        assert "approved" in approved.stdout
        assert decisions_counted(served).get(("approval_granted", "rules[4]"), 0) >= 1
        again = await client.call_tool("write_note", arguments)
        assert not again.is_error and text_of(again) == "wrote hello"
        other = await client.call_tool("write_note", {"text": "other"})  # other arguments: a new request
        assert other.is_error and "pending" in text_of(other)


async def test_approvers_see_secret_looking_arguments_redacted(served: UpProcess,
                                                               webhook: tuple[Webhook, str]) -> None:
    # Found by a new-user trial: the audit log redacts an `api_key` argument, but the approval
    # request showed it raw to the webhook (Slack), the status page, `mcprt approvals list` and Redis.
    key = "sk-live-4242abcd"
    async with http_client(served.url, token=TOKENS["ci-bot"]) as client:
        first = await client.call_tool("rotate_key", {"service": "crm", "api_key": key})
        assert first.is_error and "pending" in text_of(first)
        shown = {"api_key": "[redacted]", "service": "crm"}
        request = pending(served, "rotate_key", shown)
        body = await anyio.to_thread.run_sync(lambda: webhook[0].for_tool("rotate_key", shown))
        listed = cli(served, "approvals", "list", token=TOKENS["alice"])
        page = httpx.get(f"{served.base}/status/approvals", headers={"Authorization": f"Bearer {TOKENS['alice']}"},
                         timeout=10)
        assert page.status_code == 200 and "rotate_key" in page.text and "[redacted]" in page.text
        for seen in (json.dumps(body), listed.stdout, page.text, json.dumps(request)):
            assert key not in seen and "4242abcd" not in seen
        assert cli(served, "approvals", "approve", request["id"], token=TOKENS["bob"]).returncode == 0
        again = await client.call_tool("rotate_key", {"service": "crm", "api_key": key})  # the same call
        assert not again.is_error, text_of(again)
        assert text_of(again) == "rotated crm to a key of 16 characters ending abcd"  # the tool got the real key
        other = await client.call_tool("rotate_key", {"service": "crm", "api_key": "sk-other-0000"})
        assert other.is_error and "pending" in text_of(other)  # another key is another call, not this approval


async def test_approvers_see_a_clients_line_breaks_and_bidi_controls_escaped(served: UpProcess) -> None:
    """Review of fixi1, problem 7: `mcprt approvals list` printed a client's arguments raw to the approver's terminal,
    so an RLO (U+202E) could reverse what a request seems to ask for and U+2028/NEL split its line. They are
    escaped as in the logs (`json_line`), and the request's line is one line under `str.splitlines()`."""
    text = "pay 10\u202e0001\u2028next\x85end\u2066x\u2069"
    async with http_client(served.url, token=TOKENS["ci-bot"]) as client:
        first = await client.call_tool("write_note", {"text": text})
        assert first.is_error and "pending" in text_of(first)
    request = pending(served, "write_note", {"text": text})
    listed = cli(served, "approvals", "list", token=TOKENS["alice"])
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if request["id"] in line)
    assert '{"text": "pay 10\\u202e0001\\u2028next\\u0085end\\u2066x\\u2069"}' in line
    assert not any(char in listed.stdout for char in "\u202e\u2028\x85\u2066\u2069")
    assert cli(served, "approvals", "deny", request["id"], token=TOKENS["bob"]).returncode == 0


async def test_cli_deny_reaches_the_model_with_its_reason(served: UpProcess) -> None:
    arguments = {"text": "rm -rf"}
    async with http_client(served.url, token=TOKENS["ci-bot"]) as client:
        assert (await client.call_tool("write_note", arguments)).is_error
        request = pending(served, "write_note", arguments)
        denied = cli(served, "approvals", "deny", request["id"], "--reason", "not today", token=TOKENS["alice"])
        assert denied.returncode == 0, denied.stderr
        again = await client.call_tool("write_note", arguments)
        assert again.is_error and "denied by alice: not today" in text_of(again)
    # a compliance trial: who decided was only in free text; the denial is a vote record, then a settled one
    records = audit_records(served, request["id"], 5)  # and approval_pending: 4 could miss the `deny`
    vote = next(r for r in records if r["action"] == "approval_vote")
    assert (vote["voter"], vote["voter_kind"], vote["vote"], vote["reason"], vote["principal"]) == (
        "alice", "token", "deny", "not today", "ci-bot")
    settled = next(r for r in records if r["action"] == "approval_denied")
    assert settled["approvers"] == ["alice"] and "voter" not in settled
    # one voter's words in the README's form, as several voters' are (trial docs #6: `denied by alice: "…"`)
    assert settled["reason"] == 'denied by alice ("not today")'
    refused = next(r for r in records if r["action"] == "deny")
    assert refused["approvers"] == ["alice"] and refused["call"] and refused["principal_kind"] == "token"


async def test_no_self_approval_and_only_approvers(served: UpProcess) -> None:
    arguments = {"text": "mine"}
    async with http_client(served.url, token=TOKENS["alice"]) as client:
        assert (await client.call_tool("write_note", arguments)).is_error
    request = pending(served, "write_note", arguments)
    own = cli(served, "approvals", "approve", request["id"], token=TOKENS["alice"])
    assert own.returncode == 2 and "no self-approval" in own.stderr
    outsider = cli(served, "approvals", "approve", request["id"], token=TOKENS["carol"])
    assert outsider.returncode == 2 and "HTTP 404" in outsider.stderr
    # A compliance trial: carol's 403 listed the approvers, and an unknown id got 404 — so carol learnt who
    # approves and which ids exist. She gets one answer for both, naming no one.
    answers = []
    for approval_id in (request["id"], "ap_doesnotexist0"):
        for verdict in ("approve", "deny"):
            response = httpx.post(f"{served.base}/policy/approvals/{approval_id}/{verdict}", json={}, timeout=10,
                                  headers={"Authorization": f"Bearer {TOKENS['carol']}"})
            answers.append((response.status_code, response.json()["error"].replace(approval_id, "ID")))
    # true of both: it never says an open request does not exist (the upgrade trial read that while it was pending)
    assert answers == [(404, "approval request ID is not open to your vote: no such request is open, or you are "
                        "not among its approvers")] * 4
    log = served.wait_log(f"approval vote refused id={request['id']} by=carol")
    assert "is not an approver (approvers: alice, bob)" in log  # the operator still learns why
    # The review of that fix: a refused vote reached only the log, not the audit log a compliance auditor reads.
    # Each is now its own record, the voter structured; a non-approver's names no approver.
    records = audit_records(served, request["id"], 6)
    assert [r["action"] for r in records] == ["approval_requested", "approval_pending"] + ["approval_vote_refused"] * 4
    own_vote, *outsider_votes = records[2:]
    assert {k: own_vote[k] for k in ("tool", "principal", "voter", "voter_kind", "vote", "reason")} == {
        "tool": "write_note", "principal": "alice", "voter": "alice", "voter_kind": "token", "vote": "approve",
        "reason": "alice made this call and cannot decide it (no self-approval)"}
    assert [(r["voter"], r["vote"], r["reason"], r["tool"]) for r in outsider_votes] == [
        ("carol", "approve", "carol is not an approver", "write_note"),
        ("carol", "approve", "carol is not an approver", "write_note"),
        ("carol", "deny", "carol is not an approver", "write_note")]
    assert not [r for r in records if "approvers" in r or "bob" in json.dumps(r)]
    unknown = audit_records(served, "ap_doesnotexist0", 2)
    assert [{k: v for k, v in r.items() if k != "time"} for r in unknown] == [
        {"type": "decision", "action": "approval_vote_refused", "reason": "approval request ap_doesnotexist0 is not "
         "open to your vote: no such request is open, or you are not among its approvers",
         "approval_id": "ap_doesnotexist0", "voter": "carol",
         "voter_kind": "token", "vote": verdict} for verdict in ("approve", "deny")]
    long_id = "ap_" + "x" * 5000  # the id is the voter's string: the record keeps 100 characters of it
    response = httpx.post(f"{served.base}/policy/approvals/{long_id}/approve", json={}, timeout=10,
                          headers={"Authorization": f"Bearer {TOKENS['carol']}"})
    assert response.status_code == 404
    [cut] = audit_records(served, long_id[:99] + "…", 1)
    assert cut["reason"] == (f"approval request {long_id[:99]}… is not open to your vote: no such request is open, "
                             "or you are not among its approvers")
    anonymous = httpx.post(f"{served.base}/policy/approvals/{request['id']}/approve", timeout=10)
    assert anonymous.status_code == 401


async def test_waiting_call_proceeds_when_approved_over_http_from_the_webhook(
        served: UpProcess, webhook: tuple[Webhook, str]) -> None:
    arguments = {"order": "o-7", "amount": 5000}
    progress: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    async with http_client(served.url, token=TOKENS["ci-bot"]) as client:
        assert text_of(await client.call_tool("refund", {"order": "o-1", "amount": 10})) == "refunded 10 on o-1"
        async with anyio.create_task_group() as group:
            results: list[Any] = []

            async def call() -> None:
                results.append(await client.call_tool("refund", arguments, progress_callback=on_progress))

            group.start_soon(call)
            body = await anyio.to_thread.run_sync(lambda: webhook[0].for_tool("refund", arguments))
            assert "ci-bot" in body["text"] and "refund" in body["text"]
            assert body["blocks"][0]["type"] == "section"
            payload = body["metadata"]["event_payload"]
            response = await anyio.to_thread.run_sync(lambda: httpx.post(
                payload["approve_url"], headers={"Authorization": f"Bearer {TOKENS['alice']}"}, json={}, timeout=10))
            assert response.status_code == 200 and response.json()["status"] == "approved"
    assert not results[0].is_error and text_of(results[0]) == "refunded 5000 on o-7"
    assert any(m and "waiting for approval" in m for m in progress)


@contextlib.asynccontextmanager
async def waiting_call(up: UpProcess, token: str, tool: str, arguments: dict[str, Any]) \
        -> AsyncIterator[tuple[dict[str, Any], list[Any]]]:
    """A call made in the background that waits for approval: yields its pending request (as listed) and
    the list its result lands in once the block ends (the block must let the call finish)."""
    async with http_client(up.url, token=token) as client:
        async with anyio.create_task_group() as group:
            results: list[Any] = []

            async def call() -> None:
                results.append(await client.call_tool(tool, arguments))

            group.start_soon(call)
            yield await anyio.to_thread.run_sync(lambda: pending(up, tool, arguments)), results


async def test_two_required_approvers(served: UpProcess) -> None:
    arguments = {"to": "acct-9", "amount": 70}
    async with waiting_call(served, TOKENS["ci-bot"], "transfer", arguments) as (request, results):
        assert request["required"] == 2
        one = await anyio.to_thread.run_sync(lambda: cli(served, "approvals", "approve", request["id"],
                                                         token=TOKENS["alice"]))
        assert one.returncode == 0 and "pending (1/2 approvals)" in one.stdout
        again = await anyio.to_thread.run_sync(lambda: cli(served, "approvals", "approve", request["id"],
                                                           token=TOKENS["alice"]))
        assert "pending (1/2 approvals)" in again.stdout  # the same approver twice counts once
        assert not results
        two = await anyio.to_thread.run_sync(lambda: cli(served, "approvals", "approve", request["id"],
                                                         token=TOKENS["carol"]))
        assert two.returncode == 0 and "approved (2/2 approvals)" in two.stdout
    assert not results[0].is_error and text_of(results[0]) == "moved 70 to acct-9"


async def test_every_vote_is_its_own_audit_record_and_the_grant_lists_its_approvers(served: UpProcess) -> None:
    """A compliance trial: with `required: 2` the first vote left no audit record, and the grant named its
    approvers only in `reason`, mixed with what they wrote (`ticket 42), ops2 (second review done`)."""
    arguments = {"to": "acct-audit", "amount": 12}
    sneaky = "ticket 42), bob (second review done"
    async with waiting_call(served, TOKENS["ci-bot"], "transfer", arguments) as (request, results):
        one = await anyio.to_thread.run_sync(lambda: cli(served, "approvals", "approve", request["id"], "--reason",
                                                         sneaky, token=TOKENS["alice"]))
        assert one.returncode == 0 and "pending (1/2 approvals)" in one.stdout
        first = await anyio.to_thread.run_sync(lambda: audit_records(served, request["id"], 2))
        assert [r["action"] for r in first] == ["approval_requested", "approval_vote"]
        vote = first[1]
        assert {k: vote[k] for k in ("principal", "tool", "rule", "voter", "voter_kind", "vote", "reason")} == {
            "principal": "ci-bot", "tool": "transfer", "rule": "rules[3]", "voter": "alice", "voter_kind": "token",
            "vote": "approve", "reason": sneaky}
        assert "call" not in vote and "approvers" not in vote
        two = await anyio.to_thread.run_sync(lambda: cli(served, "approvals", "approve", request["id"], "--reason",
                                                         "ok by me", token=TOKENS["carol"]))
        assert two.returncode == 0 and "approved (2/2 approvals)" in two.stdout
    assert not results[0].is_error
    records = audit_records(served, request["id"], 5)
    assert [r["action"] for r in records] == ["approval_requested", "approval_vote", "approval_vote",
                                              "approval_granted", "allow"]
    assert (records[2]["voter"], records[2]["reason"]) == ("carol", "ok by me")
    granted, allowed = records[3], records[4]
    assert granted["approvers"] == allowed["approvers"] == ["alice", "carol"]
    assert granted["principal"] == allowed["principal"] == "ci-bot"  # the caller, as before
    # the sentence for people quotes each voter's words: alice's text cannot pass for bob's vote
    assert granted["reason"] == f'approved by alice ({json.dumps(sneaky)}), carol ("ok by me")'
    assert allowed["call"] and allowed["principal_kind"] == "token"


async def test_the_webhook_shows_a_models_arguments_as_text_never_as_slack_markup(
        served: UpProcess, webhook: tuple[Webhook, str]) -> None:
    """A compliance trial: a model's argument closed the code block and sent a Slack link with its own
    text and an @channel mention to the approvers' channel, as written (Slack's *Escaping text*)."""
    evil = ("x```\n*Pre-approved by security team* <https://evil.example/approve|Approve here> <!channel> "
            "&amp; <@U123>\n```")
    arguments = {"text": evil}
    async with http_client(served.url, token=TOKENS["ci-bot"]) as client:
        assert (await client.call_tool("write_note", arguments)).is_error
    body = await anyio.to_thread.run_sync(lambda: webhook[0].for_tool("write_note", arguments))
    assert body["metadata"]["event_payload"]["arguments"] == arguments  # machines get the exact value
    shown = body["blocks"][1]["text"]["text"]
    assert shown.startswith("```") and shown.endswith("```") and shown.count("```") == 2  # one block, unbroken
    assert "<" not in shown and ">" not in shown  # no link, no mention
    assert "&lt;https://evil.example/approve|Approve here&gt; &lt;!channel&gt; &amp;amp; &lt;@U123&gt;" in shown
    assert "xˋˋˋ" in shown
    for text in (body["text"], body["blocks"][0]["text"]["text"], body["blocks"][2]["elements"][0]["text"]):
        assert "<!" not in text and "evil" not in text


async def test_a_vote_against_what_stands_is_refused_and_changes_nothing(served: UpProcess) -> None:
    """An approver who changes their mind, or denies a request already approved (or approves one already
    denied), is told their vote was not recorded — 409, `mcprt approvals` exits non-zero — not answered
    "approved" with success."""
    arguments = {"to": "acct-409", "amount": 3}
    async with waiting_call(served, TOKENS["ci-bot"], "transfer", arguments) as (request, results):
        vote = functools.partial(cli, served, "approvals")
        one = await anyio.to_thread.run_sync(lambda: vote("approve", request["id"], token=TOKENS["alice"]))
        assert one.returncode == 0 and "pending (1/2 approvals)" in one.stdout
        changed = await anyio.to_thread.run_sync(lambda: vote("deny", request["id"], token=TOKENS["alice"]))
        assert changed.returncode == 2 and "HTTP 409" in changed.stderr
        assert f"alice already approved {request['id']}; a vote cannot be changed, so this denial was not " \
            "recorded" in changed.stderr
        two = await anyio.to_thread.run_sync(lambda: vote("approve", request["id"], token=TOKENS["bob"]))
        assert two.returncode == 0 and "approved (2/2 approvals)" in two.stdout
        late = await anyio.to_thread.run_sync(lambda: vote("deny", request["id"], "--reason", "no",
                                                           token=TOKENS["carol"]))
        assert late.returncode == 2 and "HTTP 409" in late.stderr and "approved (" not in late.stdout
        assert f"{request['id']} was already approved by alice, bob; this denial was not recorded" in late.stderr
        agreeing = await anyio.to_thread.run_sync(lambda: vote("approve", request["id"], token=TOKENS["carol"]))
        assert agreeing.returncode == 0 and "approved (2/2 approvals)" in agreeing.stdout  # changes nothing
        own = await anyio.to_thread.run_sync(lambda: vote("approve", request["id"], token=TOKENS["ci-bot"]))
        assert own.returncode == 2 and "HTTP 403" in own.stderr
    # every refused vote leaves a line for operators (a self-approval attempt left no trace at all)
    log = await anyio.to_thread.run_sync(lambda: served.wait_log(f"approval vote refused id={request['id']} by=ci-bot"))
    assert f"approval vote refused id={request['id']} by=alice vote=deny why=" in log
    assert f"approval vote refused id={request['id']} by=carol vote=deny why=" in log
    assert not results[0].is_error and text_of(results[0]) == "moved 3 to acct-409"
    stored = httpx.get(f"{served.base}/policy/approvals/{request['id']}", timeout=10,
                       headers={"Authorization": f"Bearer {TOKENS['alice']}"}).json()
    assert [(v["approver"], v["approve"]) for v in stored["votes"]] == [("alice", True), ("bob", True)]
    # and an audit record each, saying why (the agreeing vote changed nothing and is neither recorded nor refused)
    refused = [(r["voter"], r["vote"], r["reason"]) for r in audit_records(served, request["id"], 8)
               if r["action"] == "approval_vote_refused"]
    assert refused == [
        ("alice", "deny", f"alice already approved {request['id']}; a vote cannot be changed, so this denial was not "
                          "recorded"),
        ("carol", "deny", f"{request['id']} was already approved by alice, bob; this denial was not recorded"),
        # ci-bot approves nothing under this policy: refused before the request is read (policy.http), audited too
        ("ci-bot", "approve", "ci-bot may not decide approvals (policy.approvals.approvers)")]


async def test_rate_limit_allows_five_then_refuses_with_retry_time(served: UpProcess) -> None:
    mark = served.log_mark()
    async with http_client(served.url, token=TOKENS["bob"]) as client:
        for i in range(5):
            assert text_of(await client.call_tool("add", {"a": 1, "b": i})) == str(1 + i)
        refused = await client.call_tool("add", {"a": 1, "b": 1})
        assert refused.is_error
        text = text_of(refused)
        assert "rate limit reached for add: 5 calls per minute" in text
        retry = int(text.split("Retry after ")[1].split(" s")[0])
        assert 1 <= retry <= 12
        assert refused.meta is not None and refused.meta["mcprt/retryAfter"] == retry  # Retry-After-style data
        # the log line tells a rate limit from a policy's denial, as the audit's action does (a trial saw
        # `status=denied` for both)
        assert call_statuses(served, "add", mark, count=6)[-1] == "rate_limited"
    async with http_client(served.url, token=TOKENS["carol"]) as client:  # per principal: carol's own bucket
        assert text_of(await client.call_tool("add", {"a": 2, "b": 2})) == "4"


async def test_pause_and_resume_tool_source_all(served: UpProcess) -> None:
    async with http_client(served.url, token=TOKENS["ci-bot"]) as client:
        assert text_of(await client.call_tool("ping", {})) == "pong"
        paused = cli(served, "pause", "ping", "--reason", "upstream maintenance until 14:00", token=TOKENS["alice"])
        assert paused.returncode == 0, paused.stderr
        mark = served.log_mark()
        refused = await client.call_tool("ping", {})
        assert call_statuses(served, "ping", mark) == ["paused"]
        # the operator's reason is written for callers: the model is told it, not only "paused"
        assert refused.is_error and "paused by an operator (reason: upstream maintenance until 14:00)" in text_of(refused)
        assert text_of(await client.call_tool("add", {"a": 0, "b": 0})) == "0"  # other tools unaffected
        listed = httpx.get(f"{served.base}/policy/pauses", headers={"Authorization": f"Bearer {TOKENS['alice']}"},
                           timeout=10).json()
        assert "tool:ping" in listed
        assert cli(served, "resume", "ping", token=TOKENS["alice"]).returncode == 0
        assert text_of(await client.call_tool("ping", {})) == "pong"

        assert cli(served, "pause", "--source", "vault", token=TOKENS["alice"]).returncode == 0
        through = await client.call_tool("call_tool", {"name": "vault_status", "arguments": {}})
        assert through.is_error and "paused by an operator; this call was not made" in text_of(through)  # no reason given
        assert cli(served, "resume", "--source", "vault", token=TOKENS["alice"]).returncode == 0

        assert cli(served, "pause", "--all", token=TOKENS["alice"]).returncode == 0
        assert "paused" in text_of(await client.call_tool("ping", {}))
        assert cli(served, "resume", "--all", token=TOKENS["alice"]).returncode == 0
        assert text_of(await client.call_tool("ping", {})) == "pong"
    no_target = cli(served, "pause", token=TOKENS["alice"])
    assert no_target.returncode == 2 and "a TOOL, --source KEY or --all" in no_target.stderr


def test_pausing_a_name_the_server_does_not_serve_is_refused(served: UpProcess) -> None:
    """Found by a new-user trial: `mcprt pause get_nte` (a typo of get_note) answered `paused`, and the
    tool it meant kept running; the kill switch now refuses a tool or source it does not serve."""
    typo = cli(served, "pause", "pnig", token=TOKENS["alice"])
    assert typo.returncode == 2 and "Traceback" not in typo.stderr
    assert "HTTP 404" in typo.stderr and "no tool 'pnig' (did you mean 'ping'?)" in typo.stderr
    source = cli(served, "pause", "--source", "vaul", token=TOKENS["alice"])
    assert source.returncode == 2 and "no source 'vaul' (did you mean 'vault'?)" in source.stderr
    pauses = httpx.get(f"{served.base}/policy/pauses", headers={"Authorization": f"Bearer {TOKENS['alice']}"},
                       timeout=10).json()
    assert "tool:pnig" not in pauses and "source:vaul" not in pauses


def test_resuming_what_is_not_paused_says_so(served: UpProcess) -> None:
    """Found by a new-user trial: `mcprt resume ping` with nothing paused answered `resumed`. Resume stays
    idempotent (exit 0) but says it was not paused; an unknown name is refused like `pause` refuses it."""
    idle = cli(served, "resume", "ping", token=TOKENS["alice"])
    assert idle.returncode == 0, idle.stderr
    assert "tool:ping: was not paused" in idle.stdout and "resumed" not in idle.stdout
    source = cli(served, "resume", "--source", "vault", token=TOKENS["alice"])
    assert source.returncode == 0 and "source:vault: was not paused" in source.stdout
    everything = cli(served, "resume", "--all", "--json", token=TOKENS["alice"])
    assert everything.returncode == 0 and json.loads(everything.stdout)["changed"] is False
    typo = cli(served, "resume", "pnig", token=TOKENS["alice"])
    assert typo.returncode == 2 and "Traceback" not in typo.stderr
    assert "HTTP 404" in typo.stderr and "nothing resumed: this server has no tool 'pnig' (did you mean 'ping'?)" \
        in typo.stderr
    typo_source = cli(served, "resume", "--source", "vaul", token=TOKENS["alice"])
    assert typo_source.returncode == 2 and "no source 'vaul' (did you mean 'vault'?)" in typo_source.stderr
    # a real resume still says resumed
    assert cli(served, "pause", "ping", token=TOKENS["alice"]).returncode == 0
    lifted = cli(served, "resume", "ping", token=TOKENS["alice"])
    assert lifted.returncode == 0 and "tool:ping: resumed" in lifted.stdout


RELOADED = """\
version: 1
server:
  auth: {tokens: {alice: "${ALICE_TOKEN}", ci-bot: "${CI_TOKEN}"}}
  observability: {audit: audit.jsonl}
sources: {ops: {python: policy_tools}}
policy:
  rules:
    - {match: {tools: [transfer]}, action: approve, approvals: {wait: 60s}}
  approvals: {approvers: [alice]}
"""


async def test_an_approval_under_a_replaced_policy_does_not_carry_a_call_the_new_one_refuses(tmp_path: Path) -> None:
    """A reload while a call waits for approval: the approval was asked under the old policy; when the
    policy now in force denies the call, the approval does not make it run (it did before)."""
    shutil.copy(HERE / "policy_tools.py", tmp_path)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(RELOADED)
    arguments = {"to": "acct-reload", "amount": 9}
    with mcprt_http(manifest, env=child_env(ALICE_TOKEN=TOKENS["alice"], CI_TOKEN=TOKENS["ci-bot"])) as up:
        async with waiting_call(up, TOKENS["ci-bot"], "transfer", arguments) as (request, results):
            manifest.write_text(RELOADED.replace("action: approve, approvals: {wait: 60s}",
                                                 'action: deny, reason: "transfers are frozen"'))
            await anyio.to_thread.run_sync(lambda: up.wait_log("reload applied"))
            approved = await anyio.to_thread.run_sync(lambda: cli(up, "approvals", "approve", request["id"],
                                                                  token=TOKENS["alice"]))
            assert approved.returncode == 0 and "approved (1/1 approvals)" in approved.stdout
        text = text_of(results[0])
        assert results[0].is_error and "moved" not in text
        assert text.startswith("transfer was refused by policy: transfers are frozen (the policy changed while "
                               f"this call waited for approval {request['id']}")
        # A reload that makes the rule `allow` runs the waiting call, and closes its request: it stayed
        # pending until valid_for, listed to approvers, who could still vote on it.
        manifest.write_text(RELOADED)
        await anyio.to_thread.run_sync(lambda: up.wait_log_beyond("reload applied", 1))
        freed = {"to": "acct-freed", "amount": 3}
        async with waiting_call(up, TOKENS["ci-bot"], "transfer", freed) as (closing, results):
            manifest.write_text(RELOADED.replace("action: approve, approvals: {wait: 60s}", "action: allow"))
        assert not results[0].is_error and "acct-freed" in text_of(results[0]), text_of(results[0])
        listed = cli(up, "approvals", "list", token=TOKENS["alice"])
        assert listed.returncode == 0 and closing["id"] not in listed.stdout, listed.stdout  # no longer pending
        listed = cli(up, "approvals", "list", "--all", token=TOKENS["alice"])
        [line] = [line for line in listed.stdout.splitlines() if closing["id"] in line]
        assert " closed " in line and line.endswith(
            "(no approval needed: a reload made the policy in force allow the call)"), line
        late = cli(up, "approvals", "approve", closing["id"], token=TOKENS["alice"])
        assert late.returncode == 2 and "was closed without a decision" in late.stderr, late.stderr
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    decisions = [(d["action"], d.get("rule")) for d in audit if d.get("approval_id") == request["id"]]
    assert decisions == [("approval_requested", "rules[0]"), ("approval_vote", "rules[0]"), ("approval_granted", "rules[0]"),
                         ("deny", "rules[0]")]
    # one call ran: the one the last reload freed (the approved one under the deny policy did not)
    assert [c["tool"] for c in audit if c["type"] == "call" and c["outcome"] == "ok"] == ["transfer"]
    closed = [(d["action"], d.get("rule")) for d in audit if d.get("approval_id") == closing["id"]]
    assert closed == [("approval_requested", "rules[0]"), ("approval_closed", "reload"), ("allow", "reload"),
                      ("approval_vote_refused", "rules[0]")], closed  # alice's late vote, refused


SHIFTED = """\
version: 1
server:
  auth: {tokens: {alice: "${ALICE_TOKEN}", bob: "${BOB_TOKEN}", carol: "${CAROL_TOKEN}", ci-bot: "${CI_TOKEN}"}}
  observability: {audit: audit.jsonl}
sources: {ops: {python: policy_tools}}
policy:
  rules:
    - {NAME match: {tools: [transfer]}, action: approve, approvals: {wait: 60s}}
  approvals: {approvers: [alice, bob]}
"""


@pytest.mark.parametrize("name, inserted", [
    # problem 1: the caller's unnamed rule `rules[0]` becomes `rules[1]`; `rules[0]` is now a rule for alice's own
    # transfers, with carol its approver — it has nothing to do with ci-bot's call
    ("", "{match: {tools: [transfer], principals: [alice]}, action: approve, approvals: {wait: 60s, approvers: [carol]}}"),
    # problem 2: a rule for ci-bot's own transfers now governs the call, with carol its approver
    ("name: writes, ", "{name: ci-writes, match: {tools: [transfer], principals: [ci-bot]}, action: approve, "
                       "approvals: {wait: 60s, approvers: [carol]}}"),
], ids=["a-rule-inserted-above-an-unnamed-one", "another-rule-now-governs-the-caller"])
async def test_who_decides_after_a_reload_is_who_the_rule_deciding_the_call_lists(
        tmp_path: Path, name: str, inserted: str) -> None:
    """The review of upfix: deciding looked the request's rule up by its label. An unnamed rule's label is its
    position, so a rule inserted above it took it over — carol, whom ci-bot's call never needed, approved or
    denied it and alice was refused; and where a new rule now governed ci-bot's calls, its approver (carol) was
    refused while alice's vote was accepted and then thrown away ("superseded"). Who decides is who the rule the
    served policy decides this caller's call by lists — the quorum the waiting call judges — through a real
    `mcprt up`, its file reload, the SDK client waiting and the `mcprt approvals` CLI."""
    shutil.copy(HERE / "policy_tools.py", tmp_path)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(SHIFTED.replace("NAME ", name))
    arguments = {"to": "acct-shifted", "amount": 5}
    decider, refused = ("alice", "carol") if not name else ("carol", "alice")
    env = child_env(ALICE_TOKEN=TOKENS["alice"], BOB_TOKEN=TOKENS["bob"], CAROL_TOKEN=TOKENS["carol"],
                    CI_TOKEN=TOKENS["ci-bot"])
    with mcprt_http(manifest, env=env) as up:
        async with waiting_call(up, TOKENS["ci-bot"], "transfer", arguments) as (request, results):
            text = manifest.read_text()
            manifest.write_text(text.replace("  rules:\n", f"  rules:\n    - {inserted}\n"))
            await anyio.to_thread.run_sync(lambda: up.wait_log("reload applied"))
            for verb in ("deny", "approve"):  # neither a veto nor a grant from one the call's rule does not list
                vote = await anyio.to_thread.run_sync(lambda: cli(up, "approvals", verb, request["id"],
                                                                  token=TOKENS[refused]))
                assert vote.returncode == 2 and f"HTTP 404: approval request {request['id']} is not open to your " \
                    "vote" in vote.stderr, (verb, vote.stdout, vote.stderr)
            vote = await anyio.to_thread.run_sync(lambda: cli(up, "approvals", "approve", request["id"],
                                                              token=TOKENS[decider]))
            assert vote.returncode == 0 and "approved (1/1 approvals)" in vote.stdout, (vote.stdout, vote.stderr)
        assert not results[0].is_error and "acct-shifted" in text_of(results[0]), text_of(results[0])
        listed = cli(up, "approvals", "list", "--all", "--json", token=TOKENS["alice"])
        [stored] = [r for r in json.loads(listed.stdout) if r["id"] == request["id"]]
        assert (stored["status"], [v["approver"] for v in stored["votes"]]) == ("approved", [decider]), stored
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(d["action"], d.get("voter")) for d in audit if d.get("approval_id") == request["id"]
            and d["action"].startswith("approval_vote")] == [
        ("approval_vote_refused", refused), ("approval_vote_refused", refused), ("approval_vote", decider)]
    assert [c["tool"] for c in audit if c["type"] == "call" and c["outcome"] == "ok"] == ["transfer"]


async def test_a_slow_python_tool_never_starves_the_other_tools_and_a_queued_call_says_so(served: UpProcess) -> None:
    """A trial called a sync `slow` 60× at once: the trivial `add` took 4.3 s, queued behind it on the 40
    threads every tool shared, and calls that waited for a thread failed as if the function were slow.
    Each tool has its own lane now (`concurrency: 2` here): 44 `hold` calls (more than the old shared
    pool's 40 threads) leave `quick` answering at once, and a call that never got a thread says it
    queued, behind how many calls, and did not run."""
    manifest = next(arg for arg in served.process.args if str(arg).endswith("mcp.yaml"))
    released = Path(manifest).parent / "released"
    async with http_client(served.url, token=TOKENS["alice"]) as client:
        held: list[str] = []

        async def hold() -> None:
            held.append(text_of(await client.call_tool("hold", {"seconds": 20})))

        async with anyio.create_task_group() as group:
            for _ in range(44):
                group.start_soon(hold)
            await anyio.sleep(0.5)  # the holds reached the server
            try:
                answer = await client.call_tool("quick", {})  # its timeout is 2 s: it would wait for a hold to end
                assert not answer.is_error and text_of(answer) == "quick", text_of(answer)
                assert not held  # every hold still waits: quick did not need any of their threads
            finally:
                released.touch()
        assert held == ["held"] * 44  # queued behind two at a time, each ran once released

        napping = [None] * 3

        async def nap(index: int) -> None:
            napping[index] = await client.call_tool("nap", {"seconds": 0.8})  # its timeout: 500 ms

        async with anyio.create_task_group() as group:
            for index in range(3):
                group.start_soon(nap, index)
    texts = sorted(text_of(result) for result in napping)
    assert all(result.is_error for result in napping)
    assert texts[:2] == ["nap did not finish within 0.5s"] * 2, texts
    # the two ahead time out with it: whether they were already past their timeout when it gave up is a race
    assert re.fullmatch(r"nap did not start within 0\.5s: (queued 0\.\d s behind 2 running calls of this tool|2 calls of "
                        r"this tool ran past their timeout and still hold its threads) \(at most 2 run at once: the "
                        r"source's `concurrency`\); it did not run, (so it is safe to try again later|but it cannot "
                        r"start until those functions return)", texts[2]), texts


@pytest.mark.parametrize("name", ["x`*bold*` <!channel>", "a\n<https://evil.example|Approve>", "&lt;!here&gt;"])
def test_every_name_a_client_controls_is_plain_text_in_the_webhook(name: str) -> None:
    """A proxied server names its tools; an OAuth subject names its principal: the webhook's `mrkdwn`
    shows each as a code span that nothing in it can end, with `&`, `<`, `>` as Slack's entities."""
    from mcprt.policy.service import webhook_body
    from mcprt.policy.state import ApprovalRequest

    request = ApprovalRequest(id="ap_1", key="k", tool=name, source=name, principal=name, arguments={"a": name},
                              created=0.0, expires=60.0)
    body = webhook_body(request, "http://127.0.0.1:8765")
    texts = [body["text"], body["blocks"][0]["text"]["text"], body["blocks"][1]["text"]["text"],
             body["blocks"][2]["elements"][0]["text"]]
    for text in texts:
        assert "<!" not in text and "<https://evil" not in text and "&lt;!here" not in text
    span = "`" + name.replace("\n", " ").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
        .replace("`", "ˋ") + "`"
    assert body["blocks"][0]["text"]["text"].count(span) == 3  # principal, tool, source: each one whole span
    assert body["metadata"]["event_payload"]["tool"] == name  # machines get the exact value


def test_the_webhook_names_the_oauth_client_a_call_came_through() -> None:
    """Approvers decide a call knowing its client (review of govleft, problem 3: the Slack message named
    the caller only, so "approve calls from unknown clients" did not say which client asked)."""
    from mcprt.policy.service import webhook_body
    from mcprt.policy.state import ApprovalRequest

    request = ApprovalRequest(id="ap_1", key="k", tool="refund", source="bank", principal="hank",
                              arguments={"a": 1}, created=0.0, expires=60.0, client_id="<!channel>")
    body = webhook_body(request, "http://127.0.0.1:8765")
    assert body["blocks"][0]["text"]["text"].startswith(
        "*Approval needed*: `hank` through the OAuth client `&lt;!channel&gt;` wants to call `refund`")
    assert "through the OAuth client `&lt;!channel&gt;`" in body["text"]
    assert body["metadata"]["event_payload"]["client_id"] == "<!channel>"


@pytest.mark.parametrize("name", ["u" * 5000, "<" * 5000, "&" * 1000 + "`" * 1000])
def test_no_name_makes_a_webhook_section_longer_than_slack_takes(name: str) -> None:
    """The review of the Slack escaping: the arguments' block was capped at Slack's 3,000 characters, the
    section naming the caller was not — an OAuth `sub` of 5,000 characters made it 5,251 and Slack refuses
    the whole message. Each name is shown in at most 200 characters, cut with `…`, never inside an entity."""
    from mcprt.policy.service import webhook_body
    from mcprt.policy.state import ApprovalRequest

    request = ApprovalRequest(id="ap_1", key="k", tool="x" * 64, source="bank", principal=name, arguments={"a": 1},
                              created=0.0, expires=60.0)
    body = webhook_body(request, "http://127.0.0.1:8765")
    head = body["blocks"][0]["text"]["text"]
    span = head.split(" wants to call ")[0].removeprefix("*Approval needed*: ")
    assert len(span) <= 200 and span.endswith("…`") and span.count("`") == 2, span
    assert not re.search(r"&(?!amp;|lt;|gt;)", span)  # an entity is kept whole or not at all
    assert len(head) < 500 and body["text"].count("…`") == 1
    assert body["metadata"]["event_payload"]["principal"] == name  # machines get the exact value
    assert body["blocks"][2]["elements"][0]["text"].endswith(  # the operator's command is not cut
        "`mcprt approvals approve ap_1 --url http://127.0.0.1:8765` or <http://127.0.0.1:8765/status/approvals|the "
        "status page>")


def test_the_webhook_names_a_client_acting_for_itself_as_policies_write_it() -> None:
    """The request of the OAuth client alice acting for itself read "`alice` through the OAuth client `alice`" —
    an approver could take it for the user alice. It reads `client:alice` now; machines get `by_client`."""
    from mcprt.policy.service import webhook_body
    from mcprt.policy.state import ApprovalRequest

    request = ApprovalRequest(id="ap_1", key="k", tool="refund", source="bank", principal="alice",
                              arguments={"a": 1}, created=0.0, expires=60.0, client_id="alice", by_client=True)
    body = webhook_body(request, "http://127.0.0.1:8765")
    assert body["blocks"][0]["text"]["text"].startswith(
        "*Approval needed*: `client:alice` (an OAuth client acting for itself) wants to call `refund`")
    assert body["text"].startswith("mcprt: `client:alice` (an OAuth client acting for itself) wants to call")
    payload = body["metadata"]["event_payload"]
    assert (payload["principal"], payload["by_client"], payload["client_id"]) == ("alice", True, "alice")
