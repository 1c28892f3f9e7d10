"""Policy decisions in-process through the real pipeline (Runtime → call_tool), across the three
kinds of tools (OpenAPI over a real HTTP upstream, Python, a proxied MCP subprocess), with every
decision observed as a `DecisionEvent` on the bus."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from mcprt.identity.principal import ANONYMOUS, Principal
from mcprt.observability.audit import audit_record
from mcprt.observability.events import BUS, CallEvent, DecisionEvent
from mcprt.pipeline import Runtime
from mcprt.policy import ApprovalRequest
from mcprt.policy.service import Forbidden, NotFound
from mcprt.settings import Settings
from mcprt.toolset.invoke import call_tool
from tests.gitops.pets_api import API_KEY, SPEC, pets_app
from tests.support.upstream import serve_app
from tests.support.zygote import script_command_yaml

HERE = Path(__file__).parent
MCP_SERVER = HERE.parent / "sources" / "fixtures" / "mcp_server.py"
CI = Principal("ci-bot", "token")
ALICE = Principal("alice", "token")
BOB = Principal("bob", "token")
OAUTH = Principal("u-17", "oauth", client_id="agent", scopes=frozenset({"pets:write"}),
                  claims=MappingProxyType({"groups": ["ops"], "tenant": "acme"}))

MANIFEST = """\
version: 1
server:
  auth: {tokens: {alice: "${ALICE_TOKEN}", ci-bot: "${CI_TOKEN}"}}
sources:
  pets:
    openapi: pets.json
    base_url: BASE/v1
    auth: {api_key: {in: header, name: X-Api-Key, value: "${PETS_KEY}"}}
  ops:
    python: policy_tools
  up:
    command: [PYTHON, MCP_SERVER]
    prefix: up_
policy:
  default: allow
  rules:
    - {match: {methods: [DELETE]}, action: deny, reason: "no deletes over HTTP"}
    - {match: {sources: [up], annotations: {readOnlyHint: true}}, action: allow, name: mcp-readers}
    - {match: {sources: [up], annotations: {destructiveHint: true}}, action: deny, reason: "proxied writes are off"}
    - {match: {sources: [pets], methods: [POST], scopes: ["pets:write"]}, action: allow, name: scoped-writers}
    - {match: {sources: [pets], methods: [POST]}, action: approve, approvals: {wait: 30s, uses: valid_for}}
    - {match: {tools: [refund], claims: {groups: ops}, when: "amount > `1000`"}, action: allow, name: ops-refunds}
    - {match: {tools: [refund], when: "amount > `1000`"}, action: approve, approvals: {wait: 0}}
    - {match: {tools: [showSecret], principals: ["ci-*"]}, action: hide}
    - {match: {tools: [delete_item]}, action: deny, reason: "deleting is not allowed here"}
  approvals: {approvers: [alice, bob]}
  rate_limits:
    - {match: {tools: [add]}, per: global, limit: 2/min}
"""


@pytest.fixture(scope="module")
def pets_url() -> Iterator[str]:
    with serve_app(pets_app()) as base:
        yield base


@pytest.fixture
async def runtime(tmp_path: Path, pets_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    (tmp_path / "pets.json").write_text(json.dumps(SPEC))
    (tmp_path / "policy_tools.py").write_text((HERE / "policy_tools.py").read_text())
    text = MANIFEST.replace("BASE", pets_url).replace("[PYTHON, MCP_SERVER]", script_command_yaml(MCP_SERVER))
    (tmp_path / "mcp.yaml").write_text(text)
    for name, value in {"ALICE_TOKEN": "a", "CI_TOKEN": "c", "PETS_KEY": API_KEY}.items():
        monkeypatch.setenv(name, value)
    runtime = Runtime(tmp_path / "mcp.yaml", Settings(cache_dir=tmp_path / "cache", reload=False))
    await runtime.start()
    runtime.policy_service().reachable = True  # as `mcprt up --transport http` sets it
    try:
        yield runtime
    finally:
        await runtime.aclose()


@pytest.fixture
def decisions() -> Iterator[list[DecisionEvent]]:
    seen: list[DecisionEvent] = []
    unsubscribe = BUS.subscribe(lambda e: seen.append(e) if isinstance(e, DecisionEvent) else None)
    yield seen
    unsubscribe()


async def call(runtime: Runtime, name: str, arguments: dict[str, Any], principal: Principal) -> tuple[bool, str]:
    assert runtime.holder is not None
    tool = runtime.holder.current.get_for(name, principal)
    assert tool is not None, f"{name} is unknown to {principal.subject}"
    result = await call_tool(tool, arguments, principal=principal)
    return result.is_error, result.content[0]["text"]


async def first_pending(runtime: Runtime, arguments: dict[str, Any] | None = None) -> ApprovalRequest:
    """The one pending approval request (of a call with `arguments`, when given), once the waiting call
    has created it (bounded wait)."""
    service = runtime.policy_service()
    for _ in range(1000):
        found = [r for r in service.snapshot.pending if arguments is None or r.arguments == arguments]
        if found:
            [request] = found
            return request
        await asyncio.sleep(0.01)
    raise AssertionError("no pending approval request appeared")


def actions(decisions: list[DecisionEvent]) -> list[tuple[str, str, str | None]]:
    return [(d.action, d.tool, d.rule) for d in decisions]


async def test_openapi_methods_and_annotations(runtime: Runtime, decisions: list[DecisionEvent]) -> None:
    calls: list[CallEvent] = []
    unsubscribe = BUS.subscribe(lambda e: calls.append(e) if isinstance(e, CallEvent) else None)
    error, text = await call(runtime, "listPets", {"limit": 1}, CI)
    assert not error and "pet-1" in text
    error, text = await call(runtime, "deletePet", {"petId": 3}, CI)
    assert error and text == "deletePet was refused by policy: no deletes over HTTP"
    error, text = await call(runtime, "createPet", {"name": "rex"}, OAUTH)  # holds pets:write
    assert not error and "rex" in text
    assert actions(decisions) == [("allow", "listPets", "default"), ("deny", "deletePet", "rules[0]"),
                                  ("allow", "createPet", "scoped-writers")]
    assert decisions[1].reason == "no deletes over HTTP" and decisions[1].principal == CI
    unsubscribe()
    # The audit log writes a call's decision and the call itself as two records (README "Audit log"): each
    # pair names one call id, which no other call has (before, nothing but the time joined them)
    decided = [audit_record(event) for event in decisions]
    recorded = [audit_record(event) for event in calls]
    assert [r["tool"] for r in recorded] == ["listPets", "deletePet", "createPet"]
    assert [d["call"] for d in decided] == [r["call"] for r in recorded]
    assert len({r["call"] for r in recorded}) == 3


async def test_proxied_mcp_tools_follow_their_annotations(runtime: Runtime, decisions: list[DecisionEvent]) -> None:
    error, text = await call(runtime, "up_echo", {"text": "hi"}, CI)  # readOnlyHint: true upstream
    assert not error and "hi" in text
    error, text = await call(runtime, "up_add", {"a": 1, "b": 2}, CI)  # no annotations: destructive by default
    assert error and "proxied writes are off" in text
    assert actions(decisions) == [("allow", "up_echo", "mcp-readers"), ("deny", "up_add", "rules[2]")]


async def test_when_and_claims(runtime: Runtime, decisions: list[DecisionEvent]) -> None:
    assert await call(runtime, "refund", {"order": "a", "amount": 10}, CI) == (False, "refunded 10 on a")
    error, text = await call(runtime, "refund", {"order": "a", "amount": 5000}, CI)
    assert error and "needs human approval" in text and "is pending" in text
    assert await call(runtime, "refund", {"order": "b", "amount": 5000}, OAUTH) == (False, "refunded 5000 on b")
    assert actions(decisions) == [
        ("allow", "refund", "default"), ("approval_requested", "refund", "rules[6]"),
        ("approval_pending", "refund", "rules[6]"), ("allow", "refund", "ops-refunds")]
    assert (decisions[2].reason or "").startswith("the call does not wait (wait: 0); the request stays open until ")


async def test_hide_filters_listing_and_lookup(runtime: Runtime) -> None:
    toolset = runtime.holder.current  # type: ignore[union-attr]
    names_ci = {t["name"] for t in toolset.list_tools_for(CI)}
    names_alice = {t["name"] for t in toolset.list_tools_for(ALICE)}
    assert "showSecret" not in names_ci and "showSecret" in names_alice
    assert names_alice - names_ci == {"showSecret"}
    assert toolset.get_for("showSecret", CI) is None and toolset.get_for("showSecret", ALICE) is not None
    assert "showSecret" not in toolset.unknown_tool_message("showSecre", CI)
    assert "showSecret" in toolset.unknown_tool_message("showSecre", ALICE)


async def test_a_secret_that_is_a_name_part_or_schema_key_renames_nothing_and_hides_still_hide(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Review of bombfix, item 2: with a configured secret `Secret` the listing's scrub renamed
    `showSecret` to `show[redacted]`, which the hide rule no longer matched: ci-bot saw it; a secret
    `type` rewrote every schema's `type` key."""
    from mcprt.scrubbing import REDACTED, Scrubber

    scrubber = Scrubber()
    scrubber.add("Secret", "type")
    monkeypatch.setattr("mcprt.toolset.toolset.SECRETS", scrubber)  # a real scrubber holding these two
    toolset = runtime.holder.current  # type: ignore[union-attr]
    monkeypatch.setattr(toolset, "_listing", None)  # built anew under the scrubber above
    monkeypatch.setattr(toolset, "_listings", {})
    names_ci = {t["name"] for t in toolset.list_tools_for(CI)}
    listing_alice = toolset.list_tools_for(ALICE)
    assert "showSecret" not in names_ci and not any(REDACTED in name for name in names_ci), names_ci
    assert {t["name"] for t in listing_alice} - names_ci == {"showSecret"}
    assert all(t["inputSchema"]["type"] == "object" for t in listing_alice)


async def test_approval_granted_on_a_waiting_call_then_reused(runtime: Runtime,
                                                             decisions: list[DecisionEvent]) -> None:
    service = runtime.policy_service()
    waiting = asyncio.create_task(call(runtime, "createPet", {"name": "tom"}, CI))
    request = await first_pending(runtime)
    assert (request.tool, request.principal, request.arguments) == ("createPet", "ci-bot", {"name": "tom"})
    decided = await service.decide(request.id, ALICE, True, "ok for the demo")
    assert decided.status == "approved"
    error, text = await waiting
    assert not error and "tom" in text
    again = await call(runtime, "createPet", {"name": "tom"}, CI)  # identical: the decision is reused (`uses: valid_for`)
    assert not again[0]
    assert actions(decisions) == [
        ("approval_requested", "createPet", "rules[4]"), ("approval_vote", "createPet", "rules[4]"),
        ("approval_granted", "createPet", "rules[4]"), ("allow", "createPet", "rules[4]"),
        ("allow", "createPet", "rules[4]")]
    # found by a new-user trial: the approver's reason was dropped from the audit record (a denial's was kept);
    # a compliance trial: it came unquoted, so an approver's words could read as another approver
    # the README's form, one voter or several (trial docs #6: one voter's read `alice: "…"`)
    assert [d.reason for d in decisions[2:4]] == ['approved by alice ("ok for the demo")'] * 2
    assert [d.approvers for d in decisions[2:4]] == [("alice",)] * 2
    vote = audit_record(decisions[1])
    assert {k: vote.get(k) for k in ("principal", "principal_kind", "voter", "voter_kind", "vote", "reason")} == {
        "principal": "ci-bot", "principal_kind": None, "voter": "alice", "voter_kind": "token", "vote": "approve",
        "reason": "ok for the demo"}


async def test_approval_denied(runtime: Runtime, decisions: list[DecisionEvent]) -> None:
    service = runtime.policy_service()
    waiting = asyncio.create_task(call(runtime, "createPet", {"name": "bad"}, CI))
    await service.decide((await first_pending(runtime)).id, BOB, False, "no more pets")
    error, text = await waiting
    assert error and "denied by bob: no more pets" in text
    assert [d.action for d in decisions] == ["approval_requested", "approval_vote", "approval_denied", "deny"]
    assert [(d.vote, d.reason) for d in decisions[1:2]] == [("deny", "no more pets")]
    assert [d.approvers for d in decisions[2:]] == [("bob",), ("bob",)]


async def test_rate_limited_and_paused(runtime: Runtime, decisions: list[DecisionEvent]) -> None:
    service = runtime.policy_service()
    assert (await call(runtime, "add", {"a": 1, "b": 1}, CI))[0] is False
    assert (await call(runtime, "add", {"a": 1, "b": 1}, ALICE))[0] is False  # global: one shared bucket
    error, text = await call(runtime, "add", {"a": 1, "b": 1}, BOB)
    assert error and "2 calls per minute for everyone together" in text and "Retry after" in text
    await service.pause("tool:ping", ALICE, True, "upstream maintenance")
    error, text = await call(runtime, "ping", {}, CI)
    assert error and "tool ping is paused" in text
    await service.pause("tool:ping", ALICE, False)
    assert await call(runtime, "ping", {}, CI) == (False, "pong")
    assert [d.action for d in decisions] == ["allow", "allow", "rate_limited", "pause", "paused", "resume", "allow"]
    assert decisions[2].rule == "rate_limits[0]"
    # the refused call's record says why, as the model was told (it had no reason before)
    assert (decisions[4].rule, decisions[4].reason) == ("pause:tool:ping", "upstream maintenance")


async def test_anonymous_cannot_approve_anonymous(runtime: Runtime) -> None:
    service = runtime.policy_service()
    waiting = asyncio.create_task(call(runtime, "createPet", {"name": "anon"}, ANONYMOUS))
    request = await first_pending(runtime)
    with pytest.raises(Forbidden, match="no self-approval"):
        await service.decide(request.id, ANONYMOUS, True)
    await service.decide(request.id, ALICE, True)
    assert (await waiting)[0] is False


async def test_status_section_escapes_and_offers_forms(runtime: Runtime) -> None:
    from mcprt.policy.http import render_section

    waiting = asyncio.create_task(call(runtime, "createPet", {"name": "<script>alert(1)</script>"}, CI))
    request = await first_pending(runtime)
    html = render_section(runtime.policy_service(), back="/status")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert f'action="/policy/approvals/{request.id}/approve"' in html
    assert f'action="/policy/approvals/{request.id}/deny"' in html
    assert 'name="back" value="/status"' in html
    await runtime.policy_service().decide(request.id, ALICE, False)
    assert (await waiting)[0] is True


async def test_reload_applies_new_rules_and_keeps_state(runtime: Runtime, decisions: list[DecisionEvent]) -> None:
    service = runtime.policy_service()
    await service.pause("tool:ping", ALICE, True)
    manifest = Path(runtime.manifest_path)  # type: ignore[arg-type]
    manifest.write_text(manifest.read_text().replace(
        "    - {match: {tools: [delete_item]}", "    - {match: {tools: [add]}, action: deny, reason: \"no sums\"}\n"
        "    - {match: {tools: [delete_item]}"))
    await runtime.apply(await runtime.compile())
    assert runtime.policy_service() is service  # approvals, buckets and pauses outlive the reload
    error, text = await call(runtime, "add", {"a": 1, "b": 2}, ALICE)
    assert error and "no sums" in text
    error, text = await call(runtime, "ping", {}, ALICE)
    assert error and "paused" in text


async def test_rate_limit_buckets_outlive_a_reload_that_keeps_or_changes_the_limit(runtime: Runtime) -> None:
    """Buckets were keyed by the limit's position and rate: a limit added before it, or its rate changed,
    gave every caller a fresh allowance at each save. A limit is the same while its `match`, `per` and
    window (or its `name`) are; a new rate counts the calls already made."""
    assert [(await call(runtime, "add", {"a": 1, "b": 1}, ALICE))[0] for _ in range(3)] == [False, False, True]
    manifest = Path(runtime.manifest_path)  # type: ignore[arg-type]
    limit = "    - {match: {tools: [add]}, per: global, limit: 2/min}"
    manifest.write_text(manifest.read_text().replace(
        limit, "    - {match: {tools: [ping]}, per: global, limit: 100/min}\n" + limit))
    await runtime.apply(await runtime.compile())
    error, text = await call(runtime, "add", {"a": 1, "b": 1}, CI)
    assert error and "2 calls per minute" in text  # spent before the reload, still spent
    # a daily limit over the same calls inserted before it: unnamed limits alike in match and per were
    # numbered by position, so the 2/min took a fresh bucket (#2) and the daily one the spent one
    manifest.write_text(manifest.read_text().replace(
        limit, "    - {match: {tools: [add]}, per: global, limit: 100/day}\n" + limit))
    await runtime.apply(await runtime.compile())
    error, text = await call(runtime, "add", {"a": 1, "b": 1}, CI)
    assert error and "2 calls per minute" in text, text
    manifest.write_text(manifest.read_text().replace("limit: 2/min", "limit: 3/min"))
    await runtime.apply(await runtime.compile())
    assert [(await call(runtime, "add", {"a": 1, "b": 1}, CI))[0] for _ in range(2)] == [False, True]
    # a twin (same match, per and window) inserted before it: twins were numbered by position, so the
    # 50/min took the spent bucket and the 3/min a fresh one; they are numbered by count now
    manifest.write_text(manifest.read_text().replace(
        "limit: 100/day}\n", "limit: 100/day}\n" + limit.replace("2/min", "50/min") + "\n"))
    await runtime.apply(await runtime.compile())
    error, text = await call(runtime, "add", {"a": 1, "b": 1}, CI)
    assert error and "3 calls per minute" in text, text


# the rule createPet falls to in MANIFEST: its approvals reused within `valid_for` (`uses`), so these tests see how
# a decision carries identical calls across reloads (one approval running one call: tests/policy/test_approval_uses.py)
PETS_APPROVE = "action: approve, approvals: {wait: 30s, uses: valid_for}"


async def waiting_then_denied(runtime: Runtime, name: str) -> tuple[asyncio.Task, ApprovalRequest, str]:
    """A createPet call waiting for approval under MANIFEST's policy (A), then policy B — that rule now
    `deny` ("pets are frozen") — compiled and served. Returns the call, its request and A's text."""
    waiting = asyncio.create_task(call(runtime, "createPet", {"name": name}, CI))
    request = await first_pending(runtime)
    manifest = Path(runtime.manifest_path)  # type: ignore[arg-type]
    original = manifest.read_text()
    manifest.write_text(original.replace(PETS_APPROVE, 'action: deny, reason: "pets are frozen"'))
    await runtime.apply(await runtime.compile())
    return waiting, request, original


async def test_a_compiled_but_never_served_policy_does_not_decide_a_waiting_call(runtime: Runtime) -> None:
    """A waits for approval under policy A; policy B (deny) is served; policy C (allow) is compiled but
    never swapped in (what a reload failing or abandoned after its compile leaves). The approval must be
    judged by B, the policy in force — it was judged by C, and the call ran."""
    waiting, request, original = await waiting_then_denied(runtime, "rex")
    Path(runtime.manifest_path).write_text(original.replace(PETS_APPROVE, "action: allow"))  # type: ignore[arg-type]
    unserved = await runtime.compile()  # C: compiled, never applied
    try:
        await runtime.policy_service().decide(request.id, ALICE, True)
        error, text = await waiting
        assert error and "pets are frozen" in text and "rex" not in text
        assert runtime.holder is not None and runtime.policy_service().serving is runtime.holder.current.gate
    finally:
        await runtime.pool.rollback(unserved.sync)


async def test_a_waiting_call_is_judged_by_no_policy_once_the_served_manifest_has_none(runtime: Runtime) -> None:
    """A (approve) → B (deny, served) → C without `policy:` (served): the call is allowed now, so the
    approval carries it; B, the last policy served, no longer decides."""
    waiting, request, original = await waiting_then_denied(runtime, "fido")
    Path(runtime.manifest_path).write_text(original.split("policy:")[0])  # type: ignore[arg-type]
    await runtime.apply(await runtime.compile())
    await runtime.policy_service().decide(request.id, ALICE, True)
    error, text = await waiting
    assert not error and "fido" in text, text


async def test_an_approval_under_a_weaker_quorum_does_not_stand_once_the_rules_want_more(runtime: Runtime) -> None:
    """Approved 1/1, then a reload raises the rule's quorum to 2: the identical call ran on the old
    approval. It now opens a new request that needs 2 approvals (README: an old approval never
    outweighs the current rules)."""
    service = runtime.policy_service()
    arguments = {"name": "quorum"}
    waiting = asyncio.create_task(call(runtime, "createPet", arguments, CI))
    first = await first_pending(runtime)
    assert (await service.decide(first.id, ALICE, True)).status == "approved"
    assert (await waiting)[0] is False
    manifest = Path(runtime.manifest_path)  # type: ignore[arg-type]
    manifest.write_text(manifest.read_text().replace(PETS_APPROVE,
                                                     "action: approve, approvals: {wait: 0, required: 2, uses: valid_for}"))
    await runtime.apply(await runtime.compile())
    error, text = await call(runtime, "createPet", arguments, CI)
    assert error and "pending" in text and first.id not in text, text
    [second] = [r for r in service.snapshot.pending if r.id != first.id]
    assert (second.required, second.tool) == (2, "createPet")
    # the same quorum again: the identical call shares the request (no third one)
    error, text = await call(runtime, "createPet", arguments, CI)
    assert error and second.id in text
    # alice approves (1 of 2), then a reload loosens the rule to 1 approval from alice: the quorum was part
    # of the request's key, so the identical call opened a third request; it now runs on alice's vote
    assert (await service.decide(second.id, ALICE, True)).status == "pending"
    manifest.write_text(manifest.read_text().replace("{wait: 0, required: 2, uses: valid_for}",
                                                     "{wait: 0, required: 1, approvers: [alice], uses: valid_for}"))
    await runtime.apply(await runtime.compile())
    error, text = await call(runtime, "createPet", arguments, CI)
    assert not error and "quorum" in text, text
    # a request still open under the weaker quorum when a reload makes it stricter again (2 from alice or
    # bob): closed saying why, and the identical call opens one under the rules in force
    error, text = await call(runtime, "createPet", {"name": "strict"}, CI)
    [weak] = [r for r in service.snapshot.pending if r.arguments == {"name": "strict"}]
    # a call that looked its tool up just before that reload (so under the weaker policy) and reaches the
    # approval just after it (with Redis the rate-limit check awaits in between) replaces its weak request by
    # one under the quorum the served policy wants, not under the weaker one it was looked up with
    await call(runtime, "createPet", {"name": "stale"}, CI)
    [stale_weak] = [r for r in service.snapshot.pending if r.arguments == {"name": "stale"}]
    assert runtime.holder is not None
    looked_up = runtime.holder.current.get_for("createPet", CI)
    assert looked_up is not None
    manifest.write_text(manifest.read_text().replace("{wait: 0, required: 1, approvers: [alice], uses: valid_for}",
                                                     "{wait: 0, required: 2, uses: valid_for}"))
    await runtime.apply(await runtime.compile())
    error, text = await call(runtime, "createPet", {"name": "strict"}, CI)
    [strict] = [r for r in service.snapshot.pending if r.arguments == {"name": "strict"}]
    assert error and strict.id in text and (strict.required, strict.id != weak.id) == (2, True), text
    closed = await service.state.approval_get(weak.id)
    assert closed is not None and closed.status == "closed" and "the approval rules changed (now 2 approval(s)" in (
        closed.reason or ""), closed
    result = await call_tool(looked_up, {"name": "stale"}, principal=CI)
    [stale] = [r for r in service.snapshot.pending if r.arguments == {"name": "stale"}]
    assert result.is_error and stale.id in result.content[0]["text"] and stale.id != stale_weak.id
    assert (stale.required, stale.approvers) == (2, ["alice", "bob"]), stale
    # one approval does not carry it, and the identical call on the served policy shares that request
    assert (await service.decide(stale.id, ALICE, True)).status == "pending"
    error, text = await call(runtime, "createPet", {"name": "stale"}, CI)
    assert error and stale.id in text, text
    assert (await service.decide(stale.id, BOB, True)).status == "approved"
    error, text = await call(runtime, "createPet", {"name": "stale"}, CI)
    assert not error, text


async def test_a_waiting_call_whose_rule_a_reload_makes_allow_runs_at_once(runtime: Runtime,
                                                                           decisions: list[DecisionEvent]) -> None:
    """The reload re-check refused a waiting call the new policy denies, but one it now allows kept waiting
    for an approval it no longer needs (30 s here). It runs as soon as the policy is served."""
    waiting = asyncio.create_task(call(runtime, "createPet", {"name": "freed"}, CI))
    request = await first_pending(runtime)
    manifest = Path(runtime.manifest_path)  # type: ignore[arg-type]
    manifest.write_text(manifest.read_text().replace(PETS_APPROVE, "action: allow"))
    await runtime.apply(await runtime.compile())
    error, text = await asyncio.wait_for(waiting, 10)
    assert not error and "freed" in text, text
    [allowed] = [d for d in decisions if d.approval_id == request.id and d.action == "allow"]
    assert allowed.rule == "reload" and "allows it now" in (allowed.reason or "")


async def test_an_approval_under_the_quorum_a_reload_replaced_does_not_carry_the_waiting_call(runtime: Runtime) -> None:
    """A call waits on a 1-approval request; a reload makes its rule want 2. One approval carried the call
    (a repeated call already needed the new quorum). Now the call is told to call again, under the new rules."""
    waiting = asyncio.create_task(call(runtime, "createPet", {"name": "two"}, CI))
    request = await first_pending(runtime)
    manifest = Path(runtime.manifest_path)  # type: ignore[arg-type]
    manifest.write_text(manifest.read_text().replace(PETS_APPROVE, "action: approve, approvals: {wait: 30s, required: 2, uses: valid_for}"))
    await runtime.apply(await runtime.compile())
    assert (await runtime.policy_service().decide(request.id, ALICE, True)).status == "approved"
    error, text = await asyncio.wait_for(waiting, 10)
    assert error and "two" not in text.split("(")[0], text
    assert "now 2 approval(s) from alice, bob" in text and "Make the same call again" in text


async def test_a_waiting_call_runs_on_the_votes_a_loosened_quorum_counts(runtime: Runtime,
                                                                        decisions: list[DecisionEvent]) -> None:
    """A call waits on a 2-approval request and alice approves (1 of 2); a reload lowers the rule's quorum
    to 1. Any change of quorum refused the approved-enough call: it kept waiting its whole `wait`, then was
    told it was pending. alice's vote is what the served policy counts, so the call runs at once.
    Then the other order, reload first, vote after: her vote does not settle the stored request
    (`required: 2`), and only a settling vote woke the waiting call, so it ran at its next round (5 s
    later); every vote wakes it now."""
    manifest = Path(runtime.manifest_path)  # type: ignore[arg-type]
    original = manifest.read_text()
    for name, vote_first in (("one", True), ("later", False)):
        manifest.write_text(original.replace(PETS_APPROVE, "action: approve, approvals: {wait: 30s, required: 2, uses: valid_for}"))
        await runtime.apply(await runtime.compile())
        waiting = asyncio.create_task(call(runtime, "createPet", {"name": name}, CI))
        request = await first_pending(runtime, {"name": name})

        async def vote() -> None:
            assert (await runtime.policy_service().decide(request.id, ALICE, True)).status == "pending"  # 1 of 2

        if vote_first:
            await vote()
        manifest.write_text(original.replace(PETS_APPROVE, "action: approve, approvals: {wait: 30s, required: 1, uses: valid_for}"))
        await runtime.apply(await runtime.compile())
        if not vote_first:
            await asyncio.sleep(0.1)  # the woken round has judged the (no) votes and waits again
            await vote()
        error, text = await asyncio.wait_for(waiting, 3)
        assert not error and name in text, text
        [allowed] = [d for d in decisions if d.approval_id == request.id and d.action == "allow"]
        assert allowed.reason and allowed.reason.startswith("approved by alice (now 1 approval(s)"), allowed.reason
        # the request is approved under the quorum in force: it stayed listed pending (1 of 2) to approvers
        stored = await runtime.policy_service().state.approval_get(request.id)
        assert stored is not None and (stored.status, stored.required) == ("approved", 1), stored
        assert request.id not in [r.id for r in runtime.policy_service().snapshot.pending]


async def test_who_decides_a_pending_request_is_who_the_rule_in_force_lists(runtime: Runtime,
                                                                          decisions: list[DecisionEvent]) -> None:
    """The upgrade trial: a reload added an approver (`client:svc`) while a request opened under `[alice, bob]` was
    pending, and the new approver's vote was answered as if no such request existed — deciding followed the list
    stored at opening. It follows the rule in force now both ways: bob, whom the reload removed, decides nothing more
    and his earlier vote no longer counts, and carol, whom it added, approves with alice; the waiting call runs."""
    manifest = Path(runtime.manifest_path)  # type: ignore[arg-type]
    original = manifest.read_text()
    manifest.write_text(original.replace(PETS_APPROVE, "action: approve, approvals: {wait: 30s, required: 2}"))
    await runtime.apply(await runtime.compile())
    waiting = asyncio.create_task(call(runtime, "createPet", {"name": "added"}, CI))
    request = await first_pending(runtime, {"name": "added"})
    service = runtime.policy_service()
    assert (request.approvers, (await service.decide(request.id, BOB, True)).status) == (["alice", "bob"], "pending")
    manifest.write_text(manifest.read_text().replace("approvals: {approvers: [alice, bob]}",
                                                     "approvals: {approvers: [alice, carol]}"))
    await runtime.apply(await runtime.compile())
    with pytest.raises(NotFound, match=f"approval request {request.id} is not open to your vote"):
        await service.decide(request.id, BOB, False)
    [refused] = [d for d in decisions if d.action == "approval_vote_refused"]
    assert refused.reason == "bob is not an approver"
    # alice's vote is one of the two the rule in force counts: bob's, given before the reload, is not the other
    decided = await service.decide(request.id, ALICE, True)
    assert (decided.status, decided.required, decided.approvers) == ("pending", 2, ["alice", "carol"]), decided
    decided = await service.decide(request.id, Principal("carol", "token"), True)
    assert (decided.status, [v.approver for v in decided.votes]) == ("approved", ["bob", "alice", "carol"])
    error, text = await asyncio.wait_for(waiting, 10)
    assert not error and "added" in text, text


async def test_who_may_decide_a_stored_request_is_rebuilt_from_its_record_only_where_the_record_can_tell(
        runtime: Runtime) -> None:
    """A vote's quorum is the served policy's decision of the call a request records (`PolicyGate.stored_quorum`,
    the selector the waiting call uses), never its rule's label. The record keeps the caller's names and the
    arguments as shown, not an OAuth token's scopes or claims nor a redacted value: where a rule the decision may
    reach reads those, it is not rebuilt (None) and the approvers the request stored decide. Each given record
    with its right quorum (`approvers` of the MANIFEST's rules; `refund` over 1000 is rules[6], `createPet` rules[4];
    `scoped-writers` reads scopes, `ops-refunds` claims)."""
    gate = runtime.policy_service().serving
    assert gate is not None

    def stored(tool: str, arguments: dict[str, Any], principal: str = "ci-bot", **who: Any) -> ApprovalRequest:
        return ApprovalRequest(id="ap_x", key="k", tool=tool, source="s", principal=principal, arguments=arguments,
                               created=0, expires=1, approvers=["someone-else"], rule="rules[0]", **who)

    def quorum(request: ApprovalRequest) -> tuple[int, tuple[str, ...]] | None:
        found = gate.stored_quorum(request)
        return (found.required, found.approvers) if found is not None else None

    given = {
        # a static token holds no scopes or claims: `scoped-writers` cannot match it, rules[4] decides
        "static token, createPet": stored("createPet", {"name": "rex"}),
        # an OAuth user's token held scopes the record does not keep, and `scoped-writers` reads them
        "oauth user, createPet": stored("createPet", {"name": "rex"}, "u-17", client_id="agent"),
        # a client acting for itself likewise
        "oauth client, createPet": stored("createPet", {"name": "rex"}, "agent", client_id="agent", by_client=True),
        # a name no static token bears is an OAuth user's (whose token may hold scopes), not one of ours
        "unknown name, createPet": stored("createPet", {"name": "rex"}, "mallory"),
        # `when` evaluated on the recorded arguments: over 1000 asks rules[6]'s approvers, 5 is allowed by default
        "static token, refund 5000": stored("refund", {"order": "o-1", "amount": 5000}),
        "static token, refund 5": stored("refund", {"order": "o-1", "amount": 5}),
        # a redacted argument is not what `when` saw
        "redacted, refund": stored("refund", {"order": "[redacted]", "amount": 5000}),
        # an OAuth caller's claims: `ops-refunds` (claims groups: ops) may allow it
        "oauth user, refund 5000": stored("refund", {"order": "o-1", "amount": 5000}, "u-17", client_id="agent"),
        # a tool the policy no longer serves
        "gone": stored("no_such_tool", {}),
    }
    assert {name: quorum(request) for name, request in given.items()} == {
        "static token, createPet": (1, ("alice", "bob")),
        "oauth user, createPet": None,
        "oauth client, createPet": None,
        "unknown name, createPet": None,
        "static token, refund 5000": (1, ("alice", "bob")),
        "static token, refund 5": None,
        "redacted, refund": None,
        "oauth user, refund 5000": None,
        "gone": None,
    }


async def test_a_reload_landing_between_two_wait_rounds_is_not_missed(runtime: Runtime) -> None:
    """The rule becomes `allow` while the waiting call sends its progress notification, i.e. before it
    listens for the next policy change: only a change that woke a round was checked, so the call waited
    its whole `wait` (30 s) for an approval it no longer needs. Each round now checks the policy in force."""
    manifest = Path(runtime.manifest_path)  # type: ignore[arg-type]
    reloaded: list[bool] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        if not reloaded:
            reloaded.append(True)
            manifest.write_text(manifest.read_text().replace(PETS_APPROVE, "action: allow"))
            await runtime.apply(await runtime.compile())

    assert runtime.holder is not None
    tool = runtime.holder.current.get_for("createPet", CI)
    assert tool is not None
    result = await asyncio.wait_for(call_tool(tool, {"name": "between"}, principal=CI, progress=progress), 3)
    assert reloaded and not result.is_error and "between" in result.content[0]["text"], result.content


async def test_a_call_waiting_on_a_request_another_replica_closed_is_told_to_call_again(
        runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A rolling reload: another replica, already serving a policy that allows the call, closed the request
    this replica's waiting call holds, while this replica still serves the policy wanting approval. The
    call is not run, nor left to wait out its 30 s: it is told the request was closed and to call again."""
    from mcprt.policy.state import new_approval_id
    from mcprt.state.policy import RedisPolicyState
    from mcprt.state.redis_client import make_client
    from tests.support.components import redis_server

    with redis_server(tmp_path_factory.mktemp("redis")) as redis:
        prefix = f"test:{new_approval_id()}:"
        clients = [make_client(redis.url), make_client(redis.url)]
        here, other = (RedisPolicyState(client, prefix=prefix) for client in clients)
        try:
            for state in (here, other):
                await state.start()
            runtime.policy_service().state = here
            waiting = asyncio.create_task(call(runtime, "createPet", {"name": "rolling"}, CI))
            request = await first_pending(runtime, {"name": "rolling"})
            assert await other.approval_close(request.id, "no approval needed: a reload made the policy in force "
                                              "allow the call") is not None
            error, text = await asyncio.wait_for(waiting, 5)
            assert error and f"approval request {request.id} was closed without a decision" in text, text
            assert "make the same call again in a moment" in text, text
        finally:
            for state, client in zip((here, other), clients):
                await state.aclose()
                await client.aclose()


# An OAuth client whose id is an approver's name, acting for itself (a client-credentials token)
CLIENT_ALICE = Principal("alice", "oauth", client_id="alice", by_client=True)
ALICE_NOT_ADMIN = Principal("carol", "token")


async def test_a_client_named_like_an_approver_neither_decides_nor_administers(
        runtime: Runtime, decisions: list[DecisionEvent]) -> None:
    """`approvers: [alice, bob]` named the client alice too: its vote counted as alice's. It is refused now as any
    non-approver is (the id's existence unsaid), the refusal's record names it `client:alice` and says what to
    write, and it administers nothing (admins default to the approvers)."""
    service = runtime.policy_service()
    waiting = asyncio.create_task(call(runtime, "createPet", {"name": "client-vote"}, CI))
    request = await first_pending(runtime, {"name": "client-vote"})
    with pytest.raises(NotFound, match=f"approval request {request.id} is not open to your vote: no such request"):
        await service.decide(request.id, CLIENT_ALICE, True)
    [refused] = [d for d in decisions if d.action == "approval_vote_refused"]
    assert refused.reason == ("client:alice is not an approver — 'alice' matches users and static tokens only; write "
                              "`client:alice` for the OAuth client alice acting for itself"), refused.reason
    assert audit_record(refused)["voter_by_client"] is True
    assert not service.may_administer(CLIENT_ALICE) and service.may_administer(ALICE)
    # the caller reads how such a caller is listed, never the admins' entries (review problem 2)
    assert service.not_admin(CLIENT_ALICE, "pause or resume") == (
        "client:alice may not pause or resume (policy.admins) (an OAuth client acting for itself is listed only as "
        "`client:<id>`)")
    assert service.not_admin(ALICE_NOT_ADMIN, "pause or resume") == "carol may not pause or resume (policy.admins)"
    assert (await service.decide(request.id, ALICE, True)).status == "approved"  # the user alice still decides
    assert not (await waiting)[0]


async def test_a_user_decides_the_call_of_the_client_that_bears_their_name(
        runtime: Runtime, decisions: list[DecisionEvent]) -> None:
    """The client alice and the user alice are two callers: the user's vote on the client's call is no
    self-approval (the check compared names, so it refused it), and the records tell the caller is the client."""
    service = runtime.policy_service()
    waiting = asyncio.create_task(call(runtime, "createPet", {"name": "from-client"}, CLIENT_ALICE))
    request = await first_pending(runtime, {"name": "from-client"})
    assert (request.principal, request.by_client) == ("alice", True)
    assert (await service.decide(request.id, ALICE, True)).status == "approved"
    assert not (await waiting)[0]
    [granted] = [d for d in decisions if d.action == "approval_granted"]
    assert audit_record(granted)["principal_by_client"] is True and granted.approvers == ("alice",)


async def test_a_refused_call_of_a_client_tells_the_operator_which_allow_rule_lists_its_id(
        runtime: Runtime, decisions: list[DecisionEvent]) -> None:
    """`showSecret` is hidden from `ci-*`: a `hide` restricts, so the client ci-deploy acting for itself is hidden
    from too (the branch had it see the tool: a hide lifted on upgrade, review problem 1). `add` allowed only to
    `principals: [ci-deploy]`: an allow grants, so the client ci-deploy is refused; the audit record's reason names
    the entry and what to write (the operator's upgrade note), the client's tool error does not (it would tell an
    external client the rule's name and entries, review problem 2). The static token ci-deploy is still allowed."""
    client = Principal("ci-deploy", "oauth", client_id="ci-deploy", by_client=True)
    token = Principal("ci-deploy", "token")
    assert runtime.holder is not None
    assert runtime.holder.current.get_for("showSecret", client) is None  # hidden from the client too
    assert runtime.holder.current.get_for("showSecret", token) is None
    manifest = Path(runtime.manifest_path)  # type: ignore[arg-type]
    manifest.write_text(manifest.read_text().replace("  rules:\n", "  rules:\n"
        "    - {match: {tools: [add], principals: [ci-deploy]}, action: allow, name: ci-add}\n"
        "    - {match: {tools: [add]}, action: deny, reason: only ci-deploy adds}\n", 1))
    await runtime.apply(await runtime.compile())
    error, text = await call(runtime, "add", {"a": 1, "b": 2}, client)
    assert error and text == "add was refused by policy: only ci-deploy adds", text
    [refused] = [d for d in decisions if d.action == "deny" and d.tool == "add"]
    assert refused.reason == ("only ci-deploy adds (ci-add lists 'ci-deploy' under `principals`, which allows users "
                              "and static tokens only: `client:ci-deploy` lists this OAuth client acting for itself)")
    assert audit_record(refused)["principal_by_client"] is True
    assert not (await call(runtime, "add", {"a": 1, "b": 2}, token))[0]


# Every row of the review's table (problem 1): rules and limits that restrict keep matching a client acting for
# itself by a plain entry naming its id (or `*`); rules that grant do not.
RESTRICTING = """\
version: 1
server:
  auth: {tokens: {alice: "${ALICE_TOKEN}", ci-bot: "${CI_TOKEN}"}}
sources:
  ops:
    python: policy_tools
policy:
  default: allow
  rules:
    - {match: {tools: [delete_item], principals: ["*"]}, action: deny, reason: nobody deletes}
    - {match: {tools: [showSecret], principals: ["*"]}, action: hide}
    - {match: {tools: [transfer], principals: ["*"]}, action: approve, approvals: {wait: 0}}
    - {match: {tools: [refund], principals: [ci-bot]}, action: deny, reason: ci-bot never refunds}
    - {match: {tools: [write_note], principals: ["ci-*"]}, action: approve, approvals: {wait: 0}}
    - {match: {tools: [add], principals: [ci-bot]}, action: allow, name: ci-adds}
    - {match: {tools: [add]}, action: deny, reason: only ci-bot adds}
    - {match: {tools: [rotate_key], principals: ["*"]}, action: allow, name: everyone-rotates}
    - {match: {tools: [rotate_key]}, action: deny, reason: nobody rotates}
  rate_limits:
    - {match: {tools: [ping], principals: ["*"]}, per: principal, limit: 1/min}
    - {match: {tools: [write_note], principals: [ci-bot]}, per: principal, limit: 1/min}
"""
CLIENT_CI = Principal("ci-bot", "oauth", client_id="ci-bot", by_client=True)


@pytest.fixture
async def restricting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    (tmp_path / "policy_tools.py").write_text((HERE / "policy_tools.py").read_text())
    (tmp_path / "mcp.yaml").write_text(RESTRICTING)
    for name, value in {"ALICE_TOKEN": "a", "CI_TOKEN": "c"}.items():
        monkeypatch.setenv(name, value)
    runtime = Runtime(tmp_path / "mcp.yaml", Settings(cache_dir=tmp_path / "cache", reload=False))
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.aclose()


async def outcome(runtime: Runtime, name: str, arguments: dict[str, Any], principal: Principal) -> str:
    """`hidden`, or `ok: …`/`error: …` and the result's text."""
    assert runtime.holder is not None
    tool = runtime.holder.current.get_for(name, principal)
    if tool is None:
        return "hidden"
    result = await call_tool(tool, arguments, principal=principal)
    return ("error: " if result.is_error else "ok: ") + result.content[0]["text"]


@pytest.mark.parametrize("who", [CLIENT_CI, CI], ids=["client-ci-bot", "token-ci-bot"])
@pytest.mark.parametrize(("tool", "arguments", "expected"), [
    ("delete_item", {"item": "x"}, "error: delete_item was refused by policy: nobody deletes"),  # deny *
    ("showSecret", {}, "hidden"),  # hide *
    ("transfer", {"to": "x", "amount": 5}, "error: transfer needs human approval"),  # approve *
    ("refund", {"order": "o", "amount": 5}, "error: refund was refused by policy: ci-bot never refunds"),  # deny ci-bot
    ("write_note", {"text": "t"}, "error: write_note needs human approval"),  # approve ci-*
    ("rotate_key", {"service": "s", "api_key": "k"}, "ok: "),  # allow *: every caller
], ids=["deny-star", "hide-star", "approve-star", "deny-plain-id", "approve-glob", "allow-star"])
async def test_a_rule_that_restricts_by_a_plain_entry_or_star_still_restricts_a_client_acting_for_itself(
        restricting: Runtime, who: Principal, tool: str, arguments: dict[str, Any], expected: str) -> None:
    """The branch read these by namespace too: the client ci-bot acting for itself got through every one (`OK:
    deleted x`, `s3cr3t`, …) while the static token ci-bot was refused. Both are refused now (fail closed); a bare
    `*` allows every caller, clients acting for themselves included."""
    got = await outcome(restricting, tool, arguments, who)
    assert got.startswith(expected), got


@pytest.mark.parametrize("who", [CLIENT_CI, CI], ids=["client-ci-bot", "token-ci-bot"])
async def test_a_rate_limit_by_a_plain_entry_or_star_still_limits_a_client_acting_for_itself(
        restricting: Runtime, who: Principal) -> None:
    """`principals: ["*"]` and `principals: [ci-bot]` limits, 1/min per principal: the second call is limited for
    the client ci-bot as for the token ci-bot (the branch let the client's through)."""
    assert (await outcome(restricting, "ping", {}, who)).startswith("ok: ")
    assert (await outcome(restricting, "ping", {}, who)).startswith("error: rate limit reached for ping")


async def test_a_plain_allow_entry_does_not_admit_a_client_acting_for_itself(restricting: Runtime) -> None:
    """`allow` grants: `principals: [ci-bot]` admits the static token ci-bot, not the client ci-bot (whose id the
    authorization server picked), which falls to the next rule."""
    assert (await outcome(restricting, "add", {"a": 1, "b": 2}, CI)) == "ok: 3"
    assert (await outcome(restricting, "add", {"a": 1, "b": 2}, CLIENT_CI)) == \
        "error: add was refused by policy: only ci-bot adds"


async def test_a_star_in_approvers_or_admins_lists_a_client_acting_for_itself(restricting: Runtime) -> None:
    """A bare `*` names every caller in every list: `admins: ["*"]` is what the empty default means."""
    service = restricting.policy_service()
    manifest = Path(restricting.manifest_path)  # type: ignore[arg-type]
    manifest.write_text(RESTRICTING.replace("  default: allow\n", '  default: allow\n  admins: ["*"]\n'
                                            '  approvals: {approvers: ["*"]}\n'))
    await restricting.apply(await restricting.compile())
    assert service.may_administer(CLIENT_CI) and service.may_administer(CI)
    manifest.write_text(RESTRICTING.replace("  default: allow\n", '  default: allow\n  admins: ["ci-*"]\n'))
    await restricting.apply(await restricting.compile())
    assert not service.may_administer(CLIENT_CI) and service.may_administer(CI)


async def test_a_loosened_quorum_counts_the_votes_its_glob_approvers_match(runtime: Runtime) -> None:
    """A reload to `approvers: ["ali*"]` (1 approval) while a call waits on a 2-approval request alice voted on:
    votes were compared with the approvers as written (`alice` is not the string `ali*`), so her vote did not
    count and the call waited its whole `wait`. Approvers are matched as everywhere (`principals.compiled`)."""
    manifest = Path(runtime.manifest_path)  # type: ignore[arg-type]
    original = manifest.read_text()
    manifest.write_text(original.replace(PETS_APPROVE, "action: approve, approvals: {wait: 30s, required: 2}"))
    await runtime.apply(await runtime.compile())
    waiting = asyncio.create_task(call(runtime, "createPet", {"name": "glob"}, CI))
    request = await first_pending(runtime, {"name": "glob"})
    assert (await runtime.policy_service().decide(request.id, ALICE, True)).status == "pending"  # 1 of 2
    manifest.write_text(original.replace(PETS_APPROVE, 'action: approve, approvals: {wait: 30s, required: 1, '
                                                       'approvers: ["ali*"]}'))
    await runtime.apply(await runtime.compile())
    error, text = await asyncio.wait_for(waiting, 3)
    assert not error and "glob" in text, text
