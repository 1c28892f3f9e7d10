"""The policy service of one running server: its state, the latest compiled policy, and what
approvers and operators do (decide approvals, pause and resume). Outlives reloads.

The status page renders from `snapshot` (refreshed after every change here and periodically from
the state, so a shared backend's changes made by other replicas show up too): page sections are
synchronous, the state is not.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from ..identity.principal import Principal, principal_label
from ..observability.events import BUS, DecisionEvent, cut_name
from ..observability.log import log_event, rfc3339
from ..periodic import repeat_forever
from ..settings import env_limit
from . import slack
from .principals import caller_hint, listed, upgrade_hint
from .state import ApprovalRequest, MemoryPolicyState, PolicyState, Vote, settled_by, voters_text

if TYPE_CHECKING:
    from ..manifest.policy import InForce
    from .gate import PolicyGate

WEBHOOK_TIMEOUT = 10.0
REFRESH_INTERVAL_SECONDS = 2.0  # default of MCPRT_POLICY_REFRESH_INTERVAL
# A snapshot older than this many refresh intervals is stale (its refreshes fail): `pending_now` gives no figure
STALE_REFRESHES = 3


def refresh_interval() -> float:
    """Seconds between two policy state refreshes of a serving process (`MCPRT_POLICY_REFRESH_INTERVAL`,
    a positive number, at least 0.1 — `envcheck.MINIMUMS` —, default `REFRESH_INTERVAL_SECONDS`). It bounds how late an undecided approval
    request's `approval_expired` is published and another replica's change shows on the status page;
    each refresh costs a few Redis round trips per replica, so many replicas may want it longer."""
    return env_limit("MCPRT_POLICY_REFRESH_INTERVAL", REFRESH_INTERVAL_SECONDS)


class Forbidden(Exception):
    """The principal may not do this (HTTP 403); the message says why."""


class NotFound(Exception):
    """No such (unexpired) approval request (HTTP 404)."""


class NotApprover(NotFound):
    """A vote by a principal not among the request's approvers: answered as an unknown id (HTTP 404,
    `unknown_request`); `approvers` is for the operator's log line only, never the answer."""

    def __init__(self, message: str, approvers: list[str]) -> None:
        super().__init__(message)
        self.approvers = approvers


def unknown_request(approval_id: str) -> str:
    """The answer to a vote on an id that names no open request, and to a non-approver's vote on one
    that does: the same words, so the two cannot be told apart (RFC 9110 §15.5.5 lets a server answer
    404 to hide that a forbidden resource exists), and true of both — it never says that an open request
    does not exist (a trial's approver read "no open approval request" while `mcprt approvals list` showed
    it pending)."""
    return (f"approval request {approval_id} is not open to your vote: no such request is open, or you are not "
            "among its approvers")


class Conflict(Exception):
    """A vote that contradicts what is already recorded (HTTP 409): the request was settled the other
    way, or this approver voted the other way before. The message says what stands; nothing changed."""


@dataclass
class Snapshot:
    pending: list[ApprovalRequest] = field(default_factory=list)
    pauses: dict[str, dict[str, Any]] = field(default_factory=dict)
    at: float = 0.0
    # approved and not yet expired: each stands for identical calls (until used, for an approval of one call)
    granted: list[ApprovalRequest] = field(default_factory=list)


class PolicyService:
    def __init__(self, state: PolicyState | None = None) -> None:
        self.state: PolicyState = state or MemoryPolicyState()
        self.gate: PolicyGate | None = None  # the last served policy (admins, webhook; `serve_policy`)
        self.serving: PolicyGate | None = None  # the served tool set's policy; None: it has none (`serve_policy`)
        self.reachable = False  # True once approval endpoints are served (`mcprt up --transport http`)
        self.base_url: str | None = None  # e.g. http://127.0.0.1:8765, for links in webhook messages
        self.snapshot = Snapshot()
        self._tasks: set[asyncio.Task[Any]] = set()
        # Set when the server starts draining (SIGTERM): calls waiting for a human stop waiting and
        # are told the request is pending, instead of being cut when the drain runs out.
        self.stopping = asyncio.Event()
        # Set, and replaced by a fresh one, whenever another policy is served (`serve`): calls waiting for
        # approval then ask whether the policy in force still wants one (`PolicyGate.allowed_now`).
        self.served_changed = asyncio.Event()

    def serve(self, gate: PolicyGate | None) -> None:
        """Make `gate` the policy in force (None: the served set has none) and wake the calls waiting for
        approval to re-check against it; `gate`, the last served policy, stays when None (`serve_policy`)."""
        self.serving = gate
        if gate is not None:
            self.gate = gate
        changed, self.served_changed = self.served_changed, asyncio.Event()
        changed.set()

    # --- who may do what -------------------------------------------------------------------------

    def administrators(self) -> list[str]:
        """The principal patterns who administer: `policy.admins`, else `policy.approvals.approvers`; empty:
        anyone who authenticated (or anyone when inbound auth is off: then every caller is `anonymous`)."""
        policy = self.gate.policy if self.gate is not None else None
        return list(policy.admins or policy.approvals.approvers) if policy is not None else []

    def may_administer(self, principal: Principal) -> bool:
        """List approvals, pause and resume, see every caller on the status page: `administrators()`, matched
        as every principal list is (`principals.listed`: a client acting for itself only by `client:` entries)."""
        allowed = self.administrators()
        return not allowed or listed(principal, allowed)

    def not_admin(self, principal: Principal, what: str) -> str:
        """The 403 message of a refused admin act: `carol may not list approvals (policy.admins)`; for a client
        acting for itself, how such a caller is listed (`principals.CALLER_HINT`). Which plain entries name its id
        (`principals.upgrade_hint`) is the operator's: a log line, never the answer (an external client would
        read the admins' patterns)."""
        hint = upgrade_hint(principal, self.administrators())
        if hint:
            log_event("admin request refused", logging.WARNING, by=principal.label, **client_field(principal),
                      what=what, why=f"not in policy.admins{hint}")
        return f"{principal.label} may not {what} (policy.admins){caller_hint(principal)}"

    def quorum_now(self, request: ApprovalRequest) -> InForce | None:
        """The quorum (`required`, `approvers`) the policy in force gives the call `request` records
        (`PolicyGate.stored_quorum`: its decision of that caller, tool and arguments, as a waiting call's is chosen),
        or None when no policy is served, it no longer asks a human, or the record cannot rebuild its decision (then
        the request's own approvers stand)."""
        return self.serving.stored_quorum(request) if self.serving is not None else None

    def check_decider(self, request: ApprovalRequest, principal: Principal,
                      approvers: list[str] | None = None) -> None:
        """Raise Forbidden when `principal` may not decide `request`: it made the call (it knows the
        request: its call was told the id), or it is not among `approvers` (default: the request's own; `decide`
        passes those of the rule in force) — then with `unknown_request`'s message, the answer to an id that does
        not exist, so a non-approver learns neither that the id exists nor who may decide it (`decide` answers
        both as NotFound)."""
        if principal.owner == request.owner:  # the same caller (`owner_key`): a client is not a user of its id
            raise Forbidden(f"{principal.label} made this call and cannot decide it (no self-approval)"
                            + ("; configure server.auth.tokens so approvers and callers are distinct principals"
                               if principal.kind == "anonymous" else ""))
        approvers = request.approvers if approvers is None else approvers
        if approvers and not listed(principal, approvers):
            raise NotApprover(unknown_request(request.id), approvers)

    # --- approvals --------------------------------------------------------------------------------

    async def decide(self, approval_id: str, principal: Principal, approve: bool,
                     reason: str | None = None) -> ApprovalRequest:
        """Record `principal`'s vote on request `approval_id` and return the request as it stands.
        Raises Forbidden (the caller's own request), NotFound (no such open request, expired, or — in
        the same words as an unknown id — `principal` is not one of its approvers: `NotApprover`) or
        Conflict (a vote against what stands). Each recorded vote is published as an `approval_vote`
        decision (voter, vote, the voter's reason), and the vote that settles the request also as
        `approval_granted`/`approval_denied` with the `approvers` who settled it."""
        request = await self.state.approval_get(approval_id)
        verdict: Literal["approve", "deny"] = "approve" if approve else "deny"
        try:
            if request is None:
                raise NotFound(unknown_request(approval_id))
            # Who decides is who the rule in force for this call lists (README "Approvals": a reload that changes
            # `approvers` counts a request under it), not the list stored when the request opened — else an approver
            # added by a reload (the upgrade note's `client:svc`) was told no such request exists for the request's
            # whole `valid_for`. The rule is the one the served policy decides the recorded call by, as for the
            # waiting call, never one found by its label (`rules[N]` names another rule after an insert above it).
            wanted = self.quorum_now(request)
            # first: one who may not decide this request learns nothing more of it (its status, its expiry)
            self.check_decider(request, principal, list(wanted.approvers) if wanted is not None else None)
            if request.expires < await self.state.now():  # said apart from an unknown id: the approver was late, not wrong
                settled = "never decided" if request.status == "pending" else \
                    f"{request.status}, and its decision lapsed"
                raise NotFound(f"approval request {approval_id} expired at {rfc3339(request.expires)} ({settled} "
                               "within approvals.valid_for); nothing was recorded: the caller's next identical call "
                               "opens a new request")
            if wanted is not None and request.status == "pending" \
                    and sorted(set(wanted.approvers)) != sorted(set(request.approvers)):
                # The rule in force lists other approvers: the request is put under its quorum first, so the vote
                # counts as it counts votes (`settle`: an approver it added is counted, an earlier vote of one it
                # removed is not) and a call finds the request approved by approvers its record lists (`vouched`:
                # else an added approver's vote would read as forged). A change of `required` alone leaves the
                # request as it is: the waiting call judges it under the quorum in force (README "Approvals").
                await self.state.approval_requorum(approval_id, wanted.required, list(wanted.approvers))
            before = request.status
            vote = Vote(principal.subject, approve, time.time(), (reason or "").strip()[:500] or None,
                        principal.by_client)
            updated = await self.state.approval_decide(approval_id, vote)
            if updated is None:
                raise NotFound(f"no open approval request {approval_id}")
            recorded = any(v.voter == vote.voter and v.time == vote.time for v in updated.votes)
            if not recorded:
                unrecorded(updated, vote)  # raises Conflict unless the vote agrees with what stands
        except (Forbidden, NotFound, Conflict) as exc:  # a refused vote: the log and the audit log learn it
            self._refused(approval_id, request, principal, verdict, exc)
            raise
        if not recorded:
            return updated
        if BUS.active:
            # every recorded vote, whether or not it settles the request (a first of two left no trace)
            BUS.publish(DecisionEvent(
                time=vote.time, action="approval_vote", tool=updated.tool, source=updated.source,
                caller=updated.principal, caller_by_client=updated.by_client, rule=updated.rule, reason=vote.reason,
                approval_id=updated.id, voter=principal, vote=verdict))
        if before == "pending" and updated.status != "pending" and BUS.active:
            approved = updated.status == "approved"
            BUS.publish(DecisionEvent(
                time=time.time(), action="approval_granted" if approved else "approval_denied",
                tool=updated.tool, source=updated.source, caller=updated.principal,
                caller_by_client=updated.by_client, rule=updated.rule,
                reason=f"{updated.status} by {voters_text(updated.votes, approved)}", approval_id=updated.id,
                approvers=settled_by(updated.votes, approved)))
        log_event("approval vote", logging.INFO, id=approval_id, by=principal.label, **client_field(principal),
                  vote=verdict, status=updated.status)
        await self.refresh()
        return updated

    def refused_outright(self, approval_id: str, principal: Principal, verdict: Literal["approve", "deny"],
                         why: str) -> None:
        """A vote refused before any request is read (`policy.http`: the policy in force lets `principal`
        decide nothing): logged and published as every refused vote is (`_refused`), `why` its reason."""
        self._refused(approval_id, None, principal, verdict, None, why=why)

    def _refused(self, approval_id: str, request: ApprovalRequest | None, principal: Principal,
                 verdict: Literal["approve", "deny"], exc: Exception | None, *, why: str | None = None) -> None:
        """Log and publish a refused vote (`approval_vote_refused`: the voter, the vote, `approval_id`, and
        why as `reason`). The request is named (tool, source, caller) when the id names one; a
        non-approver's `reason` says only that (the approvers are in the operator's log line, never in a
        record that reads as the voter's business); nothing here reaches the voter."""
        if why is not None:  # refused before the request was read (`refused_outright`)
            approval_id = cut_name(approval_id)
            logged = why
        elif request is None:  # the id is the voter's string, as long as a URL lets it be: kept short
            approval_id = cut_name(approval_id)
            why = logged = unknown_request(approval_id)
        elif isinstance(exc, NotApprover):
            # the upgrade hint is the operator's: a record and a log line, never the voter's answer
            why = f"{principal.label} is not an approver{upgrade_hint(principal, exc.approvers)}"
            logged = f"{why} (approvers: {', '.join(exc.approvers)})"
        else:
            why = logged = str(exc)
        log_event("approval vote refused", logging.WARNING, id=approval_id, by=principal.label,
                  **client_field(principal), vote=verdict, why=logged)
        if BUS.active:
            BUS.publish(DecisionEvent(
                time=time.time(), action="approval_vote_refused", tool=request.tool if request else None,
                source=request.source if request else None, caller=request.principal if request else None,
                caller_by_client=request.by_client if request else False,
                rule=request.rule if request else None, reason=why, approval_id=approval_id, voter=principal,
                vote=verdict))

    async def announce(self, request: ApprovalRequest) -> None:
        """A new request: refresh the status page's list and post to the webhook (in the background)."""
        await self.refresh()
        webhook = self.gate.approvals.webhook if self.gate is not None else None
        url = webhook.get_secret_value() if webhook is not None else ""
        if url:
            task = asyncio.ensure_future(post_webhook(url, webhook_body(request, self.base_url)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # --- pauses -----------------------------------------------------------------------------------

    async def pause(self, target: str, principal: Principal, paused: bool, reason: str | None = None) -> None:
        await self.state.pause_set(target, paused, by=principal.label, reason=reason)
        log_event("paused" if paused else "resumed", logging.WARNING, target=target, by=principal.label,
                  **client_field(principal))
        if BUS.active:
            BUS.publish(DecisionEvent(time=time.time(), action="pause" if paused else "resume",
                                      tool=target.split(":", 1)[1] if target.startswith("tool:") else "*",
                                      source=target.split(":", 1)[1] if target.startswith("source:") else None,
                                      principal=principal, rule=f"pause:{target}", reason=reason))
        await self.refresh()

    # --- snapshot for the status page -------------------------------------------------------------

    async def refresh(self) -> None:
        """Read the state into `snapshot`: the requests pending and those granted (unexpired), and the pauses. With
        a shared state (Redis) they are the whole fleet's, whichever replica opened, decided or used them."""
        live = await self.state.approval_list(pending_only=False)
        self.snapshot = Snapshot([r for r in live if r.status == "pending"], await self.state.pause_list(),
                                 time.time(), [r for r in live if r.status == "approved"])

    def pending_now(self) -> int | None:
        """Approval requests awaiting a decision (pending and not expired at this moment: one that expired since
        the last refresh is not counted) as the latest `snapshot` has them — with a shared state (Redis) the
        fleet's. None while that snapshot is stale: never read yet, or older than `STALE_REFRESHES` refresh
        intervals because the state cannot be read (an outage): a gauge that went on reporting the last figure
        would hide the outage (review of govleft, problem 4); a scrape then lacks the series instead."""
        snapshot, now = self.snapshot, time.time()  # `expires` is on the state's clock: replicas' clocks agree
        if now - snapshot.at > STALE_REFRESHES * refresh_interval():
            return None
        return sum(1 for request in snapshot.pending if request.expires >= now)

    def note_use(self, approval_id: str, used: ApprovalRequest | None) -> None:
        """Show in `snapshot.granted` the use (`used`: the request as `PolicyState.approval_use` returned it) or the
        give-back (`used` None) of approval `approval_id`, in place, without reading the state: a governed call's
        path costs one write (`approval_use`), not a listing of every live approval, and a listing that fails
        cannot refuse a call that won its approval (review of govleft, problem 1). Other replicas see it at their
        next `refresh`; the HTTP listings read the state itself."""
        granted = self.snapshot.granted
        for index, request in enumerate(granted):
            if request.id == approval_id:
                self.snapshot.granted = [*granted[:index], used if used is not None else replace(
                    request, used=None, used_by=None, used_session=None), *granted[index + 1:]]
                return

    async def publish_expired(self) -> int:
        """Publish one `approval_expired` DecisionEvent per request whose `valid_for` ran out with no
        decision (the audit log and `mcprt_policy_decisions_total` learn it); returns how many. Each
        request once: the state hands an expired request to one sweep only (one replica, with Redis)."""
        expired = await self.state.approval_claim_expired()
        for request in expired:
            if BUS.active:
                BUS.publish(DecisionEvent(
                    time=time.time(), action="approval_expired", tool=request.tool, source=request.source,
                    caller=request.principal, caller_by_client=request.by_client, rule=request.rule,
                    approval_id=request.id, reason=f"never decided within valid_for ({request.expires - request.created:g} s): "
                           "the request is closed; a new call opens a new one"))
            log_event("approval expired", logging.INFO, id=request.id, tool=request.tool)
        return len(expired)

    async def refresh_forever(self, every: float | None = None) -> None:
        """Keep `snapshot` fresh (other replicas' changes, expiries) and publish expiries
        (`publish_expired`) every `every` seconds (None: `refresh_interval()`); runs while serving
        (`periodic.repeat_forever`: a failure is logged once when it starts and once when it ends)"""
        await repeat_forever(self._refresh_and_expire, refresh_interval() if every is None else every,
                             "policy state refresh")

    async def _refresh_and_expire(self) -> None:
        await self.publish_expired()
        await self.refresh()

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.state.aclose()


def client_field(principal: Principal) -> dict[str, str]:
    """`client_id=` for a log line naming `principal` (`by=`): the OAuth client it acted through, when
    it has one — a user's approvals or pauses made through two agent applications are told apart."""
    return {"client_id": principal.client_id} if principal.client_id else {}


def webhook_body(request: ApprovalRequest, base_url: str | None) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook body (`text` + Block Kit `blocks`), with the request as
    Slack message `metadata` (`event_type`, `event_payload`) for machine receivers. Every value in the
    `mrkdwn` text is shown as written (`policy.slack`): a model's arguments, a proxied tool's name or a
    caller's name cannot add a link, a mention (`<!channel>`), formatting, or end the code block;
    `metadata` keeps the exact values."""
    arguments = _short_json(request.arguments, 1500)
    how = slack.code(f"mcprt approvals approve {request.id} --url {base_url or 'URL'}", limit=1000)  # the operator's URL
    page = f"{base_url}/status/approvals" if base_url else None
    # a client acting for itself as policies write it (`client:<id>`), so approvers do not read it as the user or
    # admin whose name its id may be; anyone else with the client their call came through
    who = slack.code(principal_label(request.principal, True)) + " (an OAuth client acting for itself)" \
        if request.by_client else slack.code(request.principal) + (
            f" through the OAuth client {slack.code(request.client_id)}" if request.client_id is not None else "")
    text = (f"mcprt: {who} wants to call {slack.code(request.tool)} — approval "
            f"{slack.code(request.id)} needs {request.required} approval(s). Approve with {how}"
            + (f" or at {slack.escaped(page)}" if page else "") + ".")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text":
            f"*Approval needed*: {who} wants to call {slack.code(request.tool)} "
            f"(source {slack.code(request.source)})"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": slack.code_block(arguments)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text":
            f"Request {slack.code(request.id)} · {request.required} approval(s) needed · approve with {how}"
            + (f" or <{slack.escaped(page)}|the status page>" if page else "")}]},
    ]
    payload = {"id": request.id, "tool": request.tool, "source": request.source, "principal": request.principal,
               "by_client": request.by_client, "client_id": request.client_id,
               "arguments": request.arguments, "created": request.created, "expires": request.expires,
               "required": request.required, "approvers": request.approvers}
    if base_url:
        payload["approve_url"] = f"{base_url}/policy/approvals/{request.id}/approve"
        payload["deny_url"] = f"{base_url}/policy/approvals/{request.id}/deny"
    return {"text": text, "blocks": blocks,
            "metadata": {"event_type": "mcprt_approval_requested", "event_payload": payload}}


async def post_webhook(url: str, body: dict[str, Any]) -> None:
    """POST `body`; failures are logged without the URL (webhook URLs carry secrets)."""
    import httpx

    try:
        async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT, trust_env=False) as client:
            response = await client.post(url, json=body)
        if response.status_code >= 300:
            log_event("approval webhook refused", logging.WARNING, status=response.status_code)
    except httpx.HTTPError as exc:
        log_event("approval webhook failed", logging.WARNING, error=type(exc).__name__)


def _short_json(value: Any, limit: int) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def unrecorded(request: ApprovalRequest, vote: Vote) -> None:
    """Judge a vote the state did not record (one vote per approver; none once settled): one that agrees
    with what stands (the same approver approving again, an approval of an approved request) changes
    nothing and is answered as such; one that contradicts it raises Conflict, so an approver who meant
    to refuse is never told "approved" with success."""
    verdict = "approval" if vote.approve else "denial"
    if request.status == "closed":
        raise Conflict(f"{request.id} was closed without a decision ({request.reason}); this {verdict} was not "
                       "recorded")
    earlier = next((v for v in request.votes if v.voter == vote.voter), None)
    if request.status == "pending":
        if earlier is not None and earlier.approve != vote.approve:
            raise Conflict(f"{vote.label} already {'approved' if earlier.approve else 'denied'} {request.id}; "
                           f"a vote cannot be changed, so this {verdict} was not recorded")
        return
    if (request.status == "approved") != vote.approve:
        by = ", ".join(v.label for v in request.votes if v.approve == (request.status == "approved"))
        raise Conflict(f"{request.id} was already {request.status} by {by}; this {verdict} was not recorded")
