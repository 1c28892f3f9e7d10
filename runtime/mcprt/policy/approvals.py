"""Human approval of a call: find or open a request, notify approvers, wait with progress, settle.

Identical calls (same principal, tool and arguments as the model gave them) share one request: a call
repeated while its request is pending waits on the same request, and a decision applies to identical
calls for `approvals.valid_for` — judged by the quorum in force (`required`, `approvers`), which a
reload may have changed since the request opened. An approval of one execution (`approvals.uses`: `once`,
or `auto` for a tool that is neither read-only nor idempotent) is used up by the call it lets run, taken
in one atomic step of the policy state (`PolicyState.approval_use`: one of two racing calls, on any
replica); an identical call after it opens a new request, saying which call used the approval and when. A call
that never reached its upstream gives its use back (`PolicyState.approval_unuse`, through `CallGate.admit`'s
`GiveBack`). Approvers decide through the admin endpoints
(`policy/http.py`: status page, `mcprt approvals`, any HTTP client) — never through the calling MCP
client (no elicitation), and never for their own calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import anyio

from ..errors import PolicyDenied, StateUnavailable
from ..identity.principal import STDIO
from ..observability.log import duration_text, log_event, rfc3339
from ..outbound.redaction import redact_value
from ..scrubbing import SECRETS
from .rules import effective_annotations
from .state import ApprovalRequest, new_approval_id, settled_by, supporting_approvers, vouched, voters_text

if TYPE_CHECKING:
    from ..contracts import CallContext
    from ..manifest.policy import Approvals, InForce
    from ..toolset.gate import GiveBack
    from ..toolset.tool import Tool
    from .gate import Decision, PolicyGate
    from .service import PolicyService

PROGRESS_EVERY = 5.0  # seconds between "waiting for approval" progress notifications
REOPEN_EVERY = 1.0  # seconds at least between two re-openings of one lost request (a store that keeps losing it)


def shown_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments an approval request carries for approvers to read (webhook, status page, CLI,
    the shared store): values under secret-looking names (`password`, `api_key`, …) and configured
    secrets redacted, as in the audit log. Identical calls are still told apart by `request_key`,
    made from the arguments as given."""
    shown = redact_value(dict(arguments))
    return SECRETS.scrub_value(shown) if SECRETS else shown


def request_key(principal: str, tool: str, arguments: Mapping[str, Any], client_id: str | None = None) -> str:
    """Identical calls share a key: canonical JSON of (principal, tool, arguments, client), hashed — the call,
    not the rules deciding it (a reload may change those while the request stands): the quorum in
    force judges the request's votes (`_judged`), so a loosened one counts the votes given and a
    stricter one opens a new request. `principal` is the caller's owner key (`Principal.owner`: a client
    acting for itself is not the user whose `sub` is its id). `client_id`, the OAuth client the call came
    through, is in the key whenever there is one, whatever rule asked: an approval is given for a call as
    the approver saw it, client included, and "approve calls from unknown clients" is usually written as a
    catch-all rule that names no `clients` — an approval of one client's call must not let another's run.
    A call with no client keys as every version did (`quorum_key` is the one other format)."""
    return _hashed([principal, tool, arguments] + ([{"client_id": client_id}] if client_id is not None else []))


def quorum_key(principal: str, tool: str, arguments: Mapping[str, Any], required: int,
               approvers: Sequence[str]) -> str:
    """The key of requests stored 2026-12-01 by the version that put the quorum in it: found by the
    identical call when `request_key` finds none, so requests pending at the upgrade are not lost."""
    return _hashed([principal, tool, arguments, required, sorted(set(approvers))])


def single_use(uses: str, tool: Tool) -> bool:
    """Whether one approval lets one call of `tool` run (`approvals.uses`): `once` always, `valid_for` never, `auto`
    when the tool is neither read-only nor idempotent — its MCP annotations with the spec's defaults
    (`rules.effective_annotations`: no hints is a tool that may change the world each time it runs)."""
    if uses != "auto":
        return uses == "once"
    annotations = effective_annotations(tool)
    return not (annotations["readOnlyHint"] or annotations["idempotentHint"])


def uses_now(gate: PolicyGate | None, request: ApprovalRequest) -> Literal["once", "valid_for"] | None:
    """How many calls `request`'s approval lets run under `gate`, the policy in force, as `require_approval` judges
    it when an identical call comes (`single_use`): `once` (the first call uses it up: `used` says when, by which
    call) or `valid_for` (identical calls until it expires); None when that policy no longer asks for it (the tool
    is not served, or no `approve` rule of its label — `rules[N]`, a rule's `name`, `default` — is left)."""
    tool = gate.tools.get(request.tool) if gate is not None else None
    if gate is None or tool is None:
        return None
    if request.rule == "default":
        if gate.policy.default != "approve":
            return None
        own = None
    else:
        rule = next((r for r in gate.rules if r.label == request.rule and r.action == "approve"), None)
        if rule is None:
            return None
        own = rule.approvals
    return "once" if single_use(gate.approvals.in_force(own).uses, tool) else "valid_for"


def used_text(request: ApprovalRequest) -> str:
    """`approval ap_… was used by the call at <RFC 3339 time>` (and its call id when known)."""
    by = f" (call {request.used_by})" if request.used_by else ""
    return f"approval {request.id} was used by the call at {rfc3339(request.used or request.decided or 0)}{by}"


async def listings_refreshed(service: PolicyService) -> None:
    """Refresh the status page's snapshot after a change a call made; a state that cannot be listed leaves it to the
    periodic refresh: the status page never decides whether a governed call runs (review of govleft, problem 1)."""
    with contextlib.suppress(StateUnavailable):
        await service.refresh()


def _give_back(service: PolicyService, tool: Tool, context: CallContext, approval_id: str) -> GiveBack:
    """The give-back of the use of `approval_id` by this call (`PolicyState.approval_unuse`, compare-and-set on
    `used_by`): a call that never reached its upstream (mcprt's queue timed out, or the call was cancelled while it
    waited there; its source was not running; the audit log refused it) did nothing, so a human need not approve it
    again (a review: a queue timeout used the approval, and the same call, never run, had to be approved anew).
    Shielded from cancellation: a call cancelled in the queue gives it back from its cancelled scope."""
    call_id, state = context.call_id, service.state

    async def give_back() -> str | None:
        try:
            with anyio.CancelScope(shield=True):
                returned = call_id is not None and await state.approval_unuse(approval_id, call_id)
        except StateUnavailable:  # kept used: the safe side (a human approves again)
            return None
        if not returned:
            return None
        service.note_use(approval_id, None)  # the status page shows it unused again (no listing read: `note_use`)
        log_event("approval use given back: the call never reached its upstream", logging.INFO,
                  id=approval_id, tool=tool.name, call=call_id)
        return (f"This call did not run, so approval {approval_id} is not used: make the same call again "
                "(same arguments) to run it on that approval.")

    return give_back


def _hashed(described: list[Any]) -> str:
    canonical = json.dumps(described, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def require_approval(gate: PolicyGate, tool: Tool, arguments: Mapping[str, Any], completed: Mapping[str, Any],
                           context: CallContext, decision: Decision) -> GiveBack | None:
    """Return when a human approved this call; raise PolicyDenied when denied or still pending, or when
    a reload during the wait brought a policy that refuses the call (`arguments` as the model gave them
    key the request; `completed`, with defaults filled in, is what rules see). Returns, when the call used
    an approval of one execution, the give-back of that use (`CallGate.admit`), else None."""
    service, rule = gate.service, decision.rule
    own = gate.approvals.in_force(decision.approvals)
    # The call may have picked its tool (so `gate`) just before a reload swapped in another policy: a request
    # it opens or judges is under the quorum the served policy wants, never the one it was looked up under.
    # (When the served policy no longer wants an approval, `released`/`refusal_now` judge the call below.)
    settings, in_force = _in_force(gate, tool, context, completed, own) or (gate.approvals, own)
    wait, approvers, required = in_force.wait, in_force.approvers, in_force.required
    state = service.state
    caller = context.principal or STDIO
    principal = caller.owner
    key = request_key(principal, tool.name, arguments, caller.client_id)
    request = await state.approval_find(key) or (None if caller.client_id is not None else await state.approval_find(
        quorum_key(principal, tool.name, arguments, required, approvers)))

    def served_quorum(request: ApprovalRequest) -> Quorum | None:
        return _served_quorum(gate, tool, context, completed, request, own)

    quorum = served_quorum(request) if request is not None else None
    if request is not None and request.status == "pending" and quorum is not None and quorum.stricter and not quorum.met:
        # Still open under a weaker quorum than the one in force: approvers must not read (nor settle) it as
        # enough, so it is closed, saying why, and the call opens a request under the rules in force.
        await _close(gate, tool, context, request, f"the approval rules changed ({quorum.wanted}): a new request "
                                                   "replaces it")
        request = None
    if request is not None and request.status == "approved" and not vouched(request):
        # forged before this call looked (`"required": 0`): judged now, not read as superseded by a reload
        _refuse_forged(gate, tool, context, rule, request, len(supporting_approvers(request, approvers)), required)
    superseded = request is not None and request.status == "approved" and not _stands(quorum)
    # used: an approval of one execution that a call already ran on (`approvals.uses`)
    used = (request if request is not None and request.status == "approved" and request.used is not None
            and single_use(in_force.uses, tool) else None)
    # closed: nobody decided it; superseded: approved under a weaker quorum than the one in force
    if request is None or request.status == "closed" or superseded or used is not None:
        if not service.reachable:
            gate.publish("deny", tool, context, rule=rule, reason="approval needed; no approval endpoint here")
            raise PolicyDenied(
                f"{tool.name} needs human approval, and this process serves no approval endpoint (a one-shot "
                "`mcprt call`, or stdio without a status listener): make the call through `mcprt up --transport http`.")
        now = await state.now()  # shared: every replica's clock agrees with it
        # judged again after the awaits since the call began (a reload may have landed in any of them)
        settings, in_force = _in_force(gate, tool, context, completed, own) or (settings, in_force)
        required, approvers = in_force.required, in_force.approvers
        fresh = ApprovalRequest(
            id=new_approval_id(), key=key, tool=tool.name, source=tool.source, principal=caller.subject,
            arguments=shown_arguments(arguments), created=now, expires=now + settings.valid_for, required=required,
            approvers=list(approvers), rule=rule, client_id=caller.client_id, by_client=caller.by_client,
        )
        request = await state.approval_create(fresh)
        if request is fresh:
            gate.publish("approval_requested", tool, context, rule=rule, approval_id=request.id,
                         reason=f"{used_text(used)}; asked again" if used is not None else None)
            await service.announce(request)

    async def reopen(lost: ApprovalRequest) -> ApprovalRequest:
        # The store lost the request while this call waits on it (a shared Redis restarted without
        # persistence, flushed, or evicting under `maxmemory`): approvers could no longer see or
        # decide it, and the call would end saying it is pending when it no longer exists. The
        # waiting call still holds it, so it stores it again under the same id (an identical call
        # that re-opened it first wins: `approval_create` returns that one) and approvers are told again.
        again = await state.approval_create(lost)
        if again is lost:
            log_event("approval request lost from the policy state; opened again", logging.WARNING,
                      approval_id=lost.id, tool=lost.tool)
            gate.publish("approval_requested", tool, context, rule=rule, approval_id=lost.id)
            await service.announce(lost)
        return again

    def released() -> bool:
        return gate.allowed_now(tool, context.principal, completed)

    if request.status == "pending" and wait > 0:
        request = await _wait(state, request, wait, context, service, reopen, released, served_quorum)
    quorum = served_quorum(request) if request.status in ("pending", "approved") else None
    if request.status in ("pending", "closed") and released():
        # A reload made the call's rule `allow` (or removed the policy) while it waited: it needs no approval
        # now, and neither does any identical call (same principal, tool, arguments: the same decision), so
        # its request is closed — approvers no longer see it pending, and a vote on it is refused.
        await _close(gate, tool, context, request)
        gate.publish("allow", tool, context, rule="reload", approval_id=request.id,
                     reason="the policy in force allows it now (changed while the call waited for approval)")
        return
    if request.status == "closed":  # closed through a replica whose policy allows the call; this one's does not yet
        gate.publish("deny", tool, context, rule=rule, approval_id=request.id,
                     reason=f"its approval request was closed: {request.reason}")
        raise PolicyDenied(
            f"{tool.name}'s approval request {request.id} was closed without a decision ({request.reason}), but the "
            "policy this server serves still wants an approval: make the same call again in a moment.",
            {"mcprt/approval": {"id": request.id, "status": "closed"}})
    if request.status == "approved" or quorum is not None and quorum.met:
        # the quorum in force (a reload may have changed it since the request was opened, or since this call
        # began: an approver a reload added put the request under it when voting — `PolicyService.decide`)
        now = quorum or (_in_force(gate, tool, context, completed, own) or (settings, in_force))[1]
        required, approvers = now.required, now.approvers
        refused = gate.refusal_now(tool, context.principal, completed)
        if refused is not None:
            reason = refused.reason or "not allowed"
            gate.publish("deny", tool, context, rule=refused.rule, approval_id=request.id,
                         reason=f"the policy changed while the call waited for approval: {reason}")
            raise PolicyDenied(f"{tool.name} was refused by policy: {reason} (the policy changed while this call "
                               f"waited for approval {request.id}; the approval does not override it)")
        supporting = supporting_approvers(request, approvers)
        if request.status == "approved" and not vouched(request) or quorum is None and len(supporting) < required:
            # Approved by its stored status alone, without the votes its own or the quorum in force requires: a
            # record written by something other than mcprt (the fleet trial set `"status": "approved"` with
            # redis-cli and the call ran, `0/1 approvals`; the review of fleetfix also set `"required": 0`, and
            # was told of a reload that never happened, with no WARNING). Checked first, at use, on every replica.
            _refuse_forged(gate, tool, context, rule, request, len(supporting), required)
        if quorum is not None and not quorum.met:
            gate.publish("deny", tool, context, rule=rule, approval_id=request.id,
                         reason=f"the approval rules changed while the call waited: {quorum.wanted}")
            raise PolicyDenied(
                f"{tool.name} was approved under approval rules a reload has since changed ({quorum.wanted}), so "
                f"that approval ({request.id}) does not carry it. Make the same call again: it opens a request "
                "under the rules in force.", {"mcprt/approval": {"id": request.id, "status": "superseded"}})
        if quorum is not None and request.status == "pending":
            # The votes given meet the quorum in force: the request is put under it and so approved, for
            # approvers (no longer listed pending) and identical calls alike.
            await state.approval_requorum(request.id, quorum.required, list(quorum.approvers))
            await listings_refreshed(service)
        if single_use(in_force.uses, tool):
            give_back = _give_back(service, tool, context, request.id)
            try:
                taken, won = await state.approval_use(request.id, context.call_id, context.session_id)
            except BaseException:  # cut (or failed) once Redis may have written the use: this call never runs
                await give_back()
                raise
            if won:  # the status page shows it used (by this call, in this session) at once
                service.note_use(request.id, taken)
            if not won:  # an identical call (here or on another replica) ran on it first
                what = used_text(taken) if taken is not None and taken.used is not None else (
                    f"approval {request.id} is no longer valid")
                gate.publish("deny", tool, context, rule=rule, approval_id=request.id, reason=f"{what}; ask again")
                raise PolicyDenied(
                    f"{tool.name} was not run: {what}, and one approval runs one call of this tool. Ask again: "
                    "make the same call again, which opens a new approval request.",
                    {"mcprt/approval": {"id": request.id, "status": "used"}})
        else:
            give_back = None
        counted = quorum.counted if quorum is not None else None
        who = voters_text(request.votes, True, counted)
        gate.publish("allow", tool, context, rule=rule, approval_id=request.id, reason=f"approved by {who}" + (
            f" ({quorum.wanted}, the approval rules changed while the call waited)" if quorum is not None else ""),
            approvers=settled_by(request.votes, True, counted))
        return give_back
    if request.status == "denied":
        gate.publish("deny", tool, context, rule=rule, reason=request.reason or "approval denied",
                     approval_id=request.id, approvers=settled_by(request.votes, False))
        denier = next((v.label for v in request.votes if not v.approve), "an approver")
        raise PolicyDenied(f"{tool.name} was denied by {denier}" + (f": {request.reason}" if request.reason else "")
                           + f" (approval {request.id}). Do not retry this call with the same arguments.",
                           {"mcprt/approval": {"id": request.id, "status": "denied"}})
    # The call stops waiting; the request does not expire with it. It stays open (and can be approved)
    # until `valid_for` runs out (then `PolicyService.publish_expired` records `approval_expired`), so
    # the action says what is true: still pending. A human answering a webhook takes longer than a
    # model's wait, which is why the request outlives it.
    stopping = service.stopping.is_set()
    waited = "the server is stopping" if stopping else (
        f"no decision within the {wait:g} s wait" if wait > 0 else "the call does not wait (wait: 0)")
    gate.publish("approval_pending", tool, context, rule=rule, approval_id=request.id,
                 reason=f"{waited}; the request stays open until {rfc3339(request.expires)}")
    # Redis's clock, as the request's expiry (replicas' clocks may disagree); "about 3s" when little is left
    left = duration_text(request.expires - await state.now())
    why = "this server is restarting, so the call stopped waiting" if stopping else "none was given in time"
    earlier = f"{used_text(used)}, and one approval runs one call of this tool, so this call asked again: " \
        if used is not None and request.id != used.id else ""
    # an approval given and used up is not "none given in time" (trial docs #7): say a new one is needed
    needs = f"needs a new human approval: {earlier}" if earlier and not stopping else \
        f"needs human approval and {why}: {earlier}"
    raise PolicyDenied(
        f"{tool.name} {needs}approval {request.id} is pending. "
        f"Make the same call again (same arguments) once it is approved; the request stays open about "
        f"{left}.", {"mcprt/approval": {"id": request.id, "status": "pending", "expires": request.expires}},
        action="approval_pending")


CLOSED_BY_RELOAD = "no approval needed: a reload made the policy in force allow the call"


async def _close(gate: PolicyGate, tool: Tool, context: CallContext, request: ApprovalRequest,
                 why: str = CLOSED_BY_RELOAD) -> None:
    """Close `request`, which a reload made unneeded or replaced, once (whichever call or replica gets
    there first): audited as `approval_closed` with `why`, and gone from the pending list."""
    closed = await gate.service.state.approval_close(request.id, why)
    if closed is None:
        return  # decided, expired or closed meanwhile (another identical call, another replica)
    gate.publish("approval_closed", tool, context, rule="reload", approval_id=request.id, reason=why)
    log_event("approval request closed", logging.INFO, id=request.id, tool=request.tool, why=why)
    await listings_refreshed(gate.service)


@dataclass(frozen=True, slots=True)
class Quorum:
    """The served policy's quorum for a waiting call whose request was opened under another one."""

    wanted: str  # what it wants, e.g. `now 2 approval(s) from alice, bob`
    counted: tuple[str, ...]  # the request's distinct approvers it counts (its approvers, never the caller)
    met: bool  # whether they reach its `required`: the call runs on them
    stricter: bool  # more approvals than the request's, or approvers it did not limit itself to
    required: int = 1  # the quorum in force itself (`InForce`): what the request is put under when it is met
    approvers: tuple[str, ...] = ()


def _stands(quorum: Quorum | None) -> bool:
    """Whether an approved request carries the call under `quorum` (None: the quorum it was approved under)."""
    return quorum is None or quorum.met


def _refuse_forged(gate: PolicyGate, tool: Tool, context: CallContext, rule: str | None, request: ApprovalRequest,
                   approvals: int, required: int) -> NoReturn:
    """Refuse a call whose request is recorded approved without the votes to carry it (`approvals` of the
    `required` under the quorum in force): a WARNING for the operator, `deny` on the event stream, PolicyDenied
    with `status: inconsistent`. The shared state was written by something other than mcprt."""
    log_event("approval record says approved without the votes its quorum requires; not running the call: "
              "check who can write to the shared state", logging.WARNING, approval_id=request.id,
              tool=tool.name, approvals=approvals, required=required)
    gate.publish("deny", tool, context, rule=rule, approval_id=request.id,
                 reason=f"approval record inconsistent: approved with {approvals} of {required} "
                        "approvals")
    raise PolicyDenied(
        f"{tool.name} was not run: its approval request {request.id} is recorded as approved but holds "
        f"{approvals} of the {required} approval(s) its rules require, so mcprt does not trust it. "
        "An operator should check the shared state (who can write to Redis); the call needs a real "
        "approval.", {"mcprt/approval": {"id": request.id, "status": "inconsistent"}})


def _in_force(gate: PolicyGate, tool: Tool, context: CallContext, completed: Mapping[str, Any],
              own: InForce) -> tuple[Approvals, InForce] | None:
    """The approval settings (`policy.approvals`, and the call's rule's `InForce`) of the policy in force
    for an `approve` call `gate` decided with `own`: `gate`'s while it is the served policy; else the served
    policy's while its rule for the call is still `approve`; None when it no longer wants an approval (it
    allows or refuses the call, or no policy is served). Where a call's quorum is chosen: a request is opened
    (`require_approval`) and judged (`_served_quorum`) under it — the served policy's `PolicyGate.quorum_for`, the
    selector a vote on the request uses too (`PolicyGate.stored_quorum`)."""
    current = gate.service.serving
    if current is gate:
        return gate.approvals, own
    served = current.tools.get(tool.name) if current is not None else None
    # the one selector (`PolicyGate.quorum_for`), as a vote on the request chooses who may decide it (`stored_quorum`)
    wanted = current.quorum_for(served, context.principal, completed) if served is not None else None
    return (current.approvals, wanted) if wanted is not None else None


def _served_quorum(gate: PolicyGate, tool: Tool, context: CallContext, completed: Mapping[str, Any],
                   request: ApprovalRequest, own: InForce) -> Quorum | None:
    """When the quorum in force for the call (`_in_force`) is another (`required`, `approvers`) than
    `request` was opened under — a reload since it opened, or while the call waited: that quorum judged
    on the request's approve votes, else None (the request's own status decides). Votes are counted as
    the quorum in force counts them, so a loosened quorum (2 → 1) lets the call run on one approval, a
    stricter one does not (an approval under a weaker quorum must not stand: README "Approvals")."""
    found = _in_force(gate, tool, context, completed, own)
    if found is None:
        return None
    wanted = found[1]
    if (wanted.required, sorted(set(wanted.approvers))) == (request.required, sorted(set(request.approvers))):
        return None
    counted = supporting_approvers(request, wanted.approvers)  # as `check_decider` matches deciders
    met = len(counted) >= wanted.required
    stricter = wanted.required > request.required or bool(wanted.approvers) and (
        not request.approvers or not set(wanted.approvers) <= set(request.approvers))
    return Quorum(f"now {wanted.required} approval(s) from " + (", ".join(wanted.approvers) or "anyone but the caller"),
                  counted, met, stricter, wanted.required, tuple(wanted.approvers))


async def _wait(state: Any, request: ApprovalRequest, wait: float, context: CallContext,
                service: PolicyService,
                reopen: Callable[[ApprovalRequest], Awaitable[ApprovalRequest]],
                released: Callable[[], bool],
                served_quorum: Callable[[ApprovalRequest], Quorum | None]) -> ApprovalRequest:
    """Wait up to `wait` s for a decision, sending a progress notification every PROGRESS_EVERY s.
    Returns the request still pending at once when `service.stopping` is set (the server drains: the
    model is told to make the call again, which reaches another replica, rather than being cut off), or
    when another policy is served and `released()` says it lets the call run without approval, or its
    quorum is met by the votes given (`served_quorum`). Both are checked in every round, after it took the
    served-policy event, so a reload landing between two rounds is seen (not only one that wakes a round);
    every recorded vote wakes a round (`PolicyState.approval_wait`'s `seen`), on every replica, so a vote
    meeting a loosened quorum runs the call at once. A
    request the store no longer holds while it is still valid is stored again by `reopen` (at most
    once every REOPEN_EVERY s) and waited on."""
    stopping = service.stopping
    started = time.monotonic()
    reopened = -REOPEN_EVERY
    deadline = started + wait
    message = f"waiting for approval {request.id} of {request.tool} (up to {wait:g} s)"
    while True:
        if context.progress is not None:
            try:
                await context.progress(round(time.monotonic() - started, 1), wait, message)
            except Exception:  # a client that went away must not turn a pending approval into an error
                pass
        remaining = deadline - time.monotonic()
        if remaining <= 0 or stopping.is_set():
            return request
        # The served-policy event is taken before the policy is checked: a reload after the check sets it
        # (wakes this round), and one before it (while progress was sent, say) is seen by the check.
        change = asyncio.ensure_future(service.served_changed.wait())
        try:
            if released():
                return request  # a reload: the policy in force lets the call run
            seen = len(request.votes)
            if served_quorum(request) is not None:  # a reload changed the quorum: judge the votes as they are now
                fresh = await state.approval_get(request.id)  # (a shared store's copy, not the one this call holds)
                quorum = served_quorum(fresh) if fresh is not None and fresh.status == "pending" else None
                if quorum is not None and quorum.met:
                    return fresh  # the votes given meet the quorum in force (it was loosened)
                seen = len(fresh.votes) if fresh is not None else seen
            # Woken by any vote after the ones judged, not only a settling one: under a loosened quorum a
            # vote the stored request does not count as enough may be (judged in the next round, at once).
            step = asyncio.ensure_future(state.approval_wait(request.id, min(PROGRESS_EVERY, remaining), seen=seen))
            stop = asyncio.ensure_future(stopping.wait())
            try:
                await asyncio.wait((step, stop, change), return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (step, stop):
                    if not task.done():
                        task.cancel()
        finally:
            if not change.done():
                change.cancel()
        if not step.done() or step.cancelled():
            if stopping.is_set():
                return request  # stopping
            continue  # a reload that still wants the approval: wait on
        current = step.result()
        if current is None:
            if request.expires < await state.now():
                return request
            if time.monotonic() - reopened < REOPEN_EVERY:
                await asyncio.sleep(max(0.0, min(REOPEN_EVERY, deadline - time.monotonic())))
            reopened = time.monotonic()
            current = await reopen(request)
        request = current
        if request.status != "pending":
            return request
