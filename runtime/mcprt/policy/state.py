"""Policy state: pending approvals, rate-limit buckets and pauses, behind one small async interface.

`PolicyState` is what the policy gate and the admin endpoints use; `MemoryPolicyState` keeps it in
this process (the single-replica default). A shared backend (Redis, the scale-out issue) implements
the same methods; every method is a coroutine so a network round trip fits. Records are plain
JSON-ready dataclasses so a backend can store them as JSON.

Atomicity a backend must keep: `bucket_take` (take-or-refuse in one step), `approval_decide`
(record a vote and settle the status in one step), `approval_create` with the same `key` twice
(both callers get one record).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, Protocol

from ..identity.principal import owner_key, principal_label

# closed: no longer needed, nobody decided it (a reload made the call's rule `allow`); `reason` says why
ApprovalStatus = Literal["pending", "approved", "denied", "closed"]


@dataclass(slots=True)
class Vote:
    approver: str  # the voter's principal name (`Principal.subject`)
    approve: bool
    time: float  # epoch seconds
    reason: str | None = None
    by_client: bool = False  # the voter is an OAuth client acting for itself (`Principal.by_client`)

    @property
    def voter(self) -> str:
        """Who voted, as one caller (`owner_key`): what "one vote per approver" and "distinct approvals" count,
        so a client and a user of the same name are two voters, never one."""
        return owner_key(self.approver, self.by_client)

    @property
    def label(self) -> str:
        """Who voted, for people and the audit records' `approvers` (`principal_label`: `client:<id>` for a
        client acting for itself)."""
        return principal_label(self.approver, self.by_client)


def settled_by(votes: Sequence[Vote], approve: bool, only: Sequence[str] | None = None) -> tuple[str, ...]:
    """The approvers who voted `approve` (True: approved; False: denied), in voting order, each once, by their
    `Vote.label`; `only` limits them to those (a quorum's counted ones), in that order. The audit records'
    `approvers`."""
    said = dict.fromkeys(v.label for v in votes if v.approve == approve)
    return tuple(name for name in (only if only is not None else said) if name in said)


def voters_text(votes: Sequence[Vote], approve: bool, only: Sequence[str] | None = None) -> str:
    """Who decided, with what each said, for people to read, in one form however many voted (the README's):
    `alice`, `alice ("ok for the demo")`, `alice ("ok for the demo"), bob`. `only` limits it to those approvers (a quorum's
    counted ones), in that order. What an approver wrote is quoted as a JSON string, so text such as
    `ticket 42), bob (fine` cannot pass for another approver; records take who decided from their
    structured `approvers` (and each vote's `approval_vote` record), never from this text."""
    said = {v.label: v.reason for v in votes if v.approve == approve}
    names = settled_by(votes, approve, only)
    return ", ".join(name + (f" ({_quoted(said[name])})" if said[name] else "") for name in names)


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


@dataclass(slots=True)
class ApprovalRequest:
    """One call waiting for (or settled by) human approval. Times are epoch seconds."""

    id: str
    key: str  # fingerprint of (principal, tool, arguments): identical calls share a decision
    tool: str
    source: str
    principal: str  # the caller's principal name
    arguments: dict[str, Any]  # as the model gave them
    created: float
    expires: float  # pending until then; a decision applies to identical calls until then too
    required: int = 1
    approvers: list[str] = field(default_factory=list)  # empty: anyone but the caller
    rule: str | None = None
    status: ApprovalStatus = "pending"
    votes: list[Vote] = field(default_factory=list)
    decided: float | None = None
    reason: str | None = None  # the denial reason an approver gave, or why it was closed
    # The OAuth client the call came through (`Principal.client_id`), shown to approvers; None: no client
    # (a static token, stdio) or a request stored before mcprt kept it.
    client_id: str | None = None
    by_client: bool = False  # the caller is an OAuth client acting for itself (`Principal.by_client`)
    # When an approval of one execution (`approvals.uses`) was used, on the state's clock, by which call
    # (`CallContext.call_id`, the audit records' `call_id`) and in which MCP session (`Mcp-Session-Id`; None: the
    # call had none — stdio, a 2026-07-28 client); None: not used (or reusable within `valid_for`).
    used: float | None = None
    used_by: str | None = None
    used_session: str | None = None

    @property
    def owner(self) -> str:
        """The caller's owner key (`identity.principal.owner_key`): whose request it is."""
        return owner_key(self.principal, self.by_client)

    def to_json(self) -> dict[str, Any]:
        """The stored form. `client_id`, `by_client`, `used`, `used_by` and `used_session` only when set: a version
        before them refuses keys it does not know (`from_json` there), so a request with no client, never used,
        stays readable by it in a mixed fleet."""
        data = asdict(self)
        for name, default in (("client_id", None), ("by_client", False), ("used", None), ("used_by", None),
                              ("used_session", None)):
            if data[name] == default:
                del data[name]
        for vote in data["votes"]:  # likewise a vote's `by_client`
            if not vote["by_client"]:
                del vote["by_client"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ApprovalRequest:
        """A stored request. Keys this version does not know (a newer replica's, in a shared store during a
        rolling upgrade) are left out, not refused, so a mixed fleet reads every request; a vote alike."""
        votes = [Vote(**{k: v for k, v in vote.items() if k in _VOTE_FIELDS}) for vote in data.get("votes", [])]
        return cls(**{**{k: v for k, v in data.items() if k in _REQUEST_FIELDS}, "votes": votes})

    def settle(self, now: float) -> None:
        """Set `status` from the votes: one denial refuses; `required` distinct approvals grant, counted as
        `supporting_approvers` counts them under `approvers` — a request put under a quorum a reload narrowed
        (`approval_requorum`) is not granted by a vote its approvers no longer list (a call would then find it
        approved without the votes to carry it: `vouched`)."""
        if self.status != "pending":
            return
        denial = next((v for v in self.votes if not v.approve), None)
        if denial is not None:
            self.status, self.decided, self.reason = "denied", now, denial.reason
        elif len(supporting_approvers(self, self.approvers)) >= self.required:
            self.status, self.decided = "approved", now
            self.expires = max(self.expires, now)  # a late grant still counts for the repeat call


def claim(request: ApprovalRequest, call_id: str | None, now: float, session_id: str | None = None) -> bool:
    """Mark `request` used by the call `call_id` (in the MCP session `session_id`) at `now` when it is approved and
    not used yet (the one rule every `PolicyState.approval_use` applies); whether it did."""
    if request.status != "approved" or request.used is not None:
        return False
    request.used, request.used_by, request.used_session = now, call_id, session_id
    return True


def unclaim(request: ApprovalRequest, call_id: str) -> bool:
    """Undo `claim` when the call `call_id` is the one that used `request` (compare-and-set on `used_by`: never
    another call's use); whether it did. For a call that never reached its upstream (`PolicyState.approval_unuse`)."""
    if request.used is None or request.used_by != call_id:
        return False
    request.used = request.used_by = request.used_session = None
    return True


def supporting_approvers(request: ApprovalRequest, approvers: Sequence[str]) -> tuple[str, ...]:
    """The distinct voters (each once, by `Vote.label`) whose recorded approve votes on `request` count under
    `approvers` — matched as `PolicyService.check_decider` matches deciders (`principals.compiled`: globs read as
    globs, a client acting for itself by `client:` entries only; empty: anyone) — never the caller (by owner key),
    who cannot decide their own call. A stored `status` is a claim: the shared store (Redis) is writable by
    whoever reaches it, so the call runs only when these reach the quorum in force
    (`policy.approvals.require_approval`)."""
    from .principals import compiled  # here: principals reads the manifest layer, state is read by it lazily

    matcher = compiled(approvers)
    voters = {v.voter: v.label for v in request.votes if v.approve and v.voter != request.owner
              and (not approvers or matcher.matches(v.approver, v.by_client))}
    return tuple(dict.fromkeys(voters.values()))


def vouched(request: ApprovalRequest) -> bool:
    """Whether `request`'s recorded approve votes support its own recorded quorum: `required` is at least 1 (as
    every policy's is: `manifest.policy`) and that many distinct allowed approvers voted for it. An `approved`
    record that fails this was not settled by mcprt (`settle` needs the votes): the review of fleetfix set
    `"status": "approved", "required": 0` with redis-cli and was told of a reload that never happened."""
    return request.required >= 1 and len(supporting_approvers(request, request.approvers)) >= request.required


_REQUEST_FIELDS = frozenset(f.name for f in fields(ApprovalRequest))
_VOTE_FIELDS = frozenset(f.name for f in fields(Vote))


def first_paused(pauses: Mapping[str, Any], targets: tuple[str, ...]) -> str | None:
    """The first of `targets` (`tool:NAME`, `source:KEY`, `all`) that `pauses` holds, or None."""
    if pauses:
        for target in targets:
            if target in pauses:
                return target
    return None


def pause_reason_of(pauses: Mapping[str, Any], target: str) -> str | None:
    """`reason` of `target`'s pause record in `pauses` (`{by, since, reason}`), or None."""
    info = pauses.get(target)
    reason = info.get("reason") if isinstance(info, Mapping) else None
    return reason if isinstance(reason, str) and reason.strip() else None


def new_approval_id() -> str:
    return "ap_" + secrets.token_urlsafe(9)


class PolicyState(Protocol):
    """What policies need to remember. Keys are opaque strings chosen by the caller."""

    # Whether buckets an earlier version wrote can be here (a shared store outliving an upgrade): only then
    # does `bucket_take` read `legacy`, so callers build those keys (one string per head, per call) only then.
    outlives_upgrades: bool

    async def now(self) -> float:
        """Epoch seconds on the state's clock. Approvals' `created` and `expires` are on it, so replicas
        whose own clocks disagree still agree on when a request expires (shared: the Redis server's)."""
        ...

    async def bucket_take(self, key: str, rate: float, burst: int, legacy: tuple[str, ...] = ()) -> tuple[bool, float]:
        """Take one token from the bucket `key` (refilled at `rate` tokens/s, at most `burst`).
        Returns (allowed, retry_after seconds; 0 when allowed). `legacy`: keys earlier versions kept
        the same bucket under (`policy.limits.legacy_heads`); a store that outlives an upgrade reads the
        first one holding a bucket when `key` has none, once (then deletes them), so the calls made
        before the upgrade still count (an in-process store starts empty: nothing to read).

        A bucket records the tokens spent (draining at `rate`), not those left, so a call with another
        `rate` or `burst` for the same `key` (a reload changed the limit) keeps the calls already made
        counted against the new limit: 10/min with 10 spent, raised to 20/min, allows 10 more."""
        ...

    async def approval_create(self, request: ApprovalRequest) -> ApprovalRequest:
        """Store a new pending request, unless an open one with the same `key` exists: then return that."""
        ...

    async def approval_get(self, approval_id: str) -> ApprovalRequest | None: ...

    async def approval_find(self, key: str) -> ApprovalRequest | None:
        """The newest request for `key` that has not expired (pending or decided)."""
        ...

    async def approval_list(self, *, pending_only: bool = True) -> list[ApprovalRequest]:
        """Unexpired requests, oldest first."""
        ...

    async def approval_decide(self, approval_id: str, vote: Vote) -> ApprovalRequest | None:
        """Record `vote` (one per approver; ignored once settled) and settle the status; None when unknown
        or expired. Wakes `approval_wait`ers (every replica's) when it records the vote, whether or not
        the vote settles the request: a quorum a reload loosened counts votes the stored `required` does not."""
        ...

    async def approval_close(self, approval_id: str, reason: str) -> ApprovalRequest | None:
        """Close a pending request nobody needs to decide any more (`status: closed`, `reason`, `decided`
        now), waking its waiters as a decision does. Returns it when this call closed it; None when it
        is unknown, expired or no longer pending (closed once, so its closing is audited once)."""
        ...

    async def approval_use(self, approval_id: str, call_id: str | None,
                           session_id: str | None = None) -> tuple[ApprovalRequest | None, bool]:
        """Use an approved request for one execution, in one step (two replicas' identical calls racing for one
        approval: exactly one gets it): when it is approved, unexpired and not used yet, set `used` (now, on the
        state's clock), `used_by` (`call_id`) and `used_session` (`session_id`, the call's MCP session) and return
        (it, True); else (it as it is — its `used` says when the call that got it ran —, False), or (None, False)
        when unknown or expired."""
        ...

    async def approval_unuse(self, approval_id: str, call_id: str) -> bool:
        """Give back the use `approval_use` gave the call `call_id`, in one step, when that call never reached its
        upstream (it waited out mcprt's own queue or was cut while it waited there, its source was not running, the
        audit log refused it): the
        request is unused again only while `used_by` is still `call_id`. Whether it was given back (False: unknown,
        expired, or not used by that call)."""
        ...

    async def approval_requorum(self, approval_id: str, required: int, approvers: list[str]) -> ApprovalRequest | None:
        """Put a pending request under the quorum in force (a reload loosened it) and settle it by its votes,
        so one the votes given now approve is approved for approvers and identical calls too. Returns it as
        it is then; None when unknown, expired or no longer pending."""
        ...

    async def approval_wait(self, approval_id: str, timeout: float, *, seen: int) -> ApprovalRequest | None:
        """Wait up to `timeout` s for the request to change: decided, or holding more than `seen` votes
        (returned at once when it already does). Returns it as it is then (None when unknown). `seen` has
        no default: a waiter that left it out (0) would return at once for any request with votes."""
        ...

    async def approval_claim_expired(self) -> list[ApprovalRequest]:
        """Requests whose `expires` passed while still pending (nobody decided within `valid_for`),
        each returned once only — with a shared backend to one replica only — so its expiry is
        published once (`PolicyService.publish_expired`)."""
        ...

    async def pause_set(self, target: str, paused: bool, *, by: str, reason: str | None = None) -> None:
        """Pause (or resume) `target`: `tool:NAME`, `source:KEY` or `all`."""
        ...

    async def pause_list(self) -> dict[str, dict[str, Any]]:
        """Paused targets → {by, since, reason}."""
        ...

    async def pause_check(self, targets: tuple[str, ...]) -> str | None:
        """The first of `targets` that is paused, or None (asked on every call: keep it one round trip)."""
        ...

    async def pause_reason(self, target: str) -> str | None:
        """The operator's reason for pausing `target` (None when none was given or it is not paused),
        from the copy `pause_check` just read: asked only when a call is refused, no round trip."""
        ...

    async def aclose(self) -> None: ...


_SWEEP_MIN = 256  # rate-limit buckets held before the first sweep of the refilled ones


class MemoryPolicyState:
    """`PolicyState` in this process: dicts, an asyncio.Event per pending request."""

    outlives_upgrades = False  # it starts empty with the process: no earlier version's bucket to read

    def __init__(self, clock: Any = time.time) -> None:
        self._clock = clock
        # key → (tokens spent, updated, full again at): monotonic seconds. A bucket refilled to its burst is
        # the same as no bucket, so those are swept: keys are per principal (and tool, and limit as a
        # reload last wrote it), and a server running for weeks meets any number of them.
        self._buckets: dict[str, tuple[float, float, float]] = {}
        self._sweep_at = _SWEEP_MIN
        self._approvals: dict[str, ApprovalRequest] = {}
        self._by_key: dict[str, str] = {}
        # id → the event the next change of the request sets (then replaced: a vote that does not settle
        # it wakes the waiters once, not every later wait)
        self._events: dict[str, asyncio.Event] = {}
        self._pauses: dict[str, dict[str, Any]] = {}
        self._expiry_claimed: set[str] = set()  # ids already returned by approval_claim_expired

    async def now(self) -> float:
        return float(self._clock())

    async def bucket_take(self, key: str, rate: float, burst: int, legacy: tuple[str, ...] = ()) -> tuple[bool, float]:
        now = time.monotonic()
        spent, updated, _ = self._buckets.get(key, (0.0, now, now))
        spent = max(0.0, spent - (now - updated) * rate)
        allowed = spent + 1.0 <= burst
        if allowed:
            spent += 1.0
        self._buckets[key] = (spent, now, now + spent / rate)
        if len(self._buckets) >= self._sweep_at:
            self._sweep(now)
        return (True, 0.0) if allowed else (False, (spent + 1.0 - burst) / rate)

    @property
    def buckets(self) -> int:
        """Rate-limit buckets held (full ones are forgotten as the table grows)."""
        return len(self._buckets)

    def _sweep(self, now: float) -> None:
        """Forget the buckets that have refilled; the next sweep waits until the table doubles, so
        sweeping costs O(1) per take however many keys come and go."""
        for key in [k for k, (_, _, full_at) in self._buckets.items() if full_at <= now]:
            del self._buckets[key]
        self._sweep_at = max(_SWEEP_MIN, 2 * len(self._buckets))

    def _live(self, request: ApprovalRequest | None) -> ApprovalRequest | None:
        if request is None or request.expires < self._clock():
            return None
        return request

    async def approval_create(self, request: ApprovalRequest) -> ApprovalRequest:
        existing = self._live(self._approvals.get(self._by_key.get(request.key, "")))
        if existing is not None and existing.status == "pending":
            return existing
        self._prune()
        self._approvals[request.id] = request
        self._by_key[request.key] = request.id
        self._events[request.id] = asyncio.Event()
        return request

    async def approval_get(self, approval_id: str) -> ApprovalRequest | None:
        return self._approvals.get(approval_id)

    async def approval_find(self, key: str) -> ApprovalRequest | None:
        return self._live(self._approvals.get(self._by_key.get(key, "")))

    async def approval_list(self, *, pending_only: bool = True) -> list[ApprovalRequest]:
        live = [r for r in self._approvals.values() if self._live(r) is not None]
        return [r for r in live if r.status == "pending" or not pending_only]

    async def approval_decide(self, approval_id: str, vote: Vote) -> ApprovalRequest | None:
        request = self._live(self._approvals.get(approval_id))
        if request is None:
            return None
        if request.status == "pending" and all(v.voter != vote.voter for v in request.votes):
            request.votes.append(vote)
            request.settle(self._clock())
            self._wake(approval_id)
        return request

    async def approval_close(self, approval_id: str, reason: str) -> ApprovalRequest | None:
        request = self._live(self._approvals.get(approval_id))
        if request is None or request.status != "pending":
            return None
        request.status, request.decided, request.reason = "closed", self._clock(), reason
        self._wake(approval_id)
        return request

    async def approval_use(self, approval_id: str, call_id: str | None,
                           session_id: str | None = None) -> tuple[ApprovalRequest | None, bool]:
        request = self._live(self._approvals.get(approval_id))
        return request, request is not None and claim(request, call_id, self._clock(), session_id)

    async def approval_unuse(self, approval_id: str, call_id: str) -> bool:
        request = self._live(self._approvals.get(approval_id))
        return request is not None and unclaim(request, call_id)

    async def approval_requorum(self, approval_id: str, required: int, approvers: list[str]) -> ApprovalRequest | None:
        request = self._live(self._approvals.get(approval_id))
        if request is None or request.status != "pending":
            return None
        request.required, request.approvers = required, list(approvers)
        request.settle(self._clock())
        self._wake(approval_id)
        return request

    def _wake(self, approval_id: str) -> None:
        woken = self._events.get(approval_id)
        if woken is not None:
            self._events[approval_id] = asyncio.Event()
            woken.set()

    async def approval_wait(self, approval_id: str, timeout: float, *, seen: int) -> ApprovalRequest | None:
        request = self._approvals.get(approval_id)
        event = self._events.get(approval_id)
        if request is None or event is None or request.status != "pending" or len(request.votes) > seen:
            return request
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        return self._approvals.get(approval_id)

    async def approval_claim_expired(self) -> list[ApprovalRequest]:
        now = self._clock()
        due = [r for i, r in self._approvals.items()
               if r.status == "pending" and r.expires < now and i not in self._expiry_claimed]
        self._expiry_claimed.update(r.id for r in due)
        return due

    async def pause_set(self, target: str, paused: bool, *, by: str, reason: str | None = None) -> None:
        if paused:
            self._pauses[target] = {"by": by, "since": self._clock(), "reason": reason}
        else:
            self._pauses.pop(target, None)

    async def pause_list(self) -> dict[str, dict[str, Any]]:
        return {target: dict(info) for target, info in self._pauses.items()}

    async def pause_check(self, targets: tuple[str, ...]) -> str | None:
        return first_paused(self._pauses, targets)

    async def pause_reason(self, target: str) -> str | None:
        return pause_reason_of(self._pauses, target)

    async def aclose(self) -> None:
        for event in self._events.values():
            event.set()

    def _prune(self) -> None:
        """Forget requests expired more than an hour ago (keeps memory bounded on a long-running server)."""
        horizon = self._clock() - 3600
        for old in [i for i, r in self._approvals.items() if r.expires < horizon]:
            request = self._approvals.pop(old)
            self._events.pop(old, None)
            self._expiry_claimed.discard(old)
            if self._by_key.get(request.key) == old:
                del self._by_key[request.key]
