"""Events of the call pipeline and of policy decisions, published to in-process subscribers.

The pipeline publishes; sinks (metrics, the audit log, the status page's ring of recent calls)
subscribe when a server starts. Publishing with no subscriber costs one empty-list check, so the
CLI's one-shot commands pay nothing. A subscriber must be fast and must not block: it runs inline
on the call path (hand slow work, such as file writes, to a queue). A subscriber that raises is
logged and skipped; it never fails a call.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..identity.principal import Principal

Outcome = Literal["ok", "tool_error", "upstream_error", "timeout", "queue_timeout", "rejected", "denied",
                  "cancelled", "internal"]
"""How a call ended (the `outcome` label of `mcprt_tool_calls_total`):

- `ok`: a result the model can use;
- `tool_error`: the tool itself answered with an error (a proxied tool's `isError`, a Python
  function that raised);
- `upstream_error`: the upstream failed (HTTP 4xx/5xx, connection error, oversized body);
- `timeout`: the call's own time limit (the tool's `timeout`) passed after it started: the HTTP upstream, the
  proxied server or the Python function did not answer in time — a sync Python call that first waited in its
  lane included, the limit having passed while it ran (`errors.CallTimeout`; OpenTelemetry's `error.type`);
- `queue_timeout`: the call's time limit passed while it waited in mcprt's own concurrency queue (a
  sync Python function's lane: the source's `concurrency`), so it never started: mcprt's capacity,
  not a dependency (`errors.QueueTimeout`);
- `rejected`: mcprt refused the call before any upstream (invalid arguments, source not running);
- `denied`: a policy refused it (deny rule, rate limit, pause, approval denied or pending);
- `cancelled`: the call was stopped before it finished — the client cancelled it
  (`notifications/cancelled`, a closed connection) or the server stopped with it in flight (a
  drain that ran out of `drain_timeout`); the upstream may or may not have acted on it;
- `internal`: a bug in mcprt or a source.
"""


@dataclass(slots=True)
class CallEvent:
    """One finished tool call. Times in seconds; sizes in bytes."""

    time: float  # wall clock (epoch seconds) when the call started
    tool: str
    source: str
    outcome: Outcome
    latency: float  # seconds, whole call including shaping
    raw_bytes: int  # upstream body bytes
    sent_bytes: int  # what the model reads of the result (`shaping.sent` rule)
    principal: Principal | None = None
    session_id: str | None = None
    request_id: str | None = None
    arguments: Mapping[str, Any] | None = None  # as the model gave them (sinks decide what to keep)
    upstream_status: int | None = None  # the status the upstream last answered (also of a call that then timed out)
    upstream_attempts: int | None = None  # requests sent upstream, retries included (HTTP sources), when known
    upstream_latency: float | None = None  # seconds of the upstream exchange, where measured
    error: str | None = None  # the tool error text sent to the model, when the call failed
    # The upstream could not be reached at all (connection refused or reset, DNS, connect time-out):
    # set by the transport that knows it (`UpstreamError.unreachable`), never inferred from a missing status.
    unreachable: bool = False
    detail: dict[str, Any] = field(default_factory=dict)  # e.g. raw/pruned bodies for the inspector
    task_id: str | None = None  # the task the call ran as (the tasks extension), if it became one
    # relays another call's result (discovery's `call_tool` that reached an operation), whose own event
    # carries the same call and bytes: totals over calls leave it out, or each relayed call is counted twice
    relayed: bool = False
    call_id: str | None = None  # `new_call_id`: shared with the decisions of this call (and a relay's target)
    # the meta-tool this call came through (discovery's `call_tool`: the operation's own call), None when
    # the client called the tool itself; the relay's event (`relayed`) is the one MCP request of the two
    via: str | None = None
    # the call's span (the tools/call request's SERVER span), as 32 and 16 hex digits, when traced and sampled
    trace_id: str | None = None
    span_id: str | None = None


@dataclass(slots=True)
class DecisionEvent:
    """One policy decision (allow, deny, approval_requested/granted/denied, approval_vote — one
    approver's recorded vote, whether or not it settled the request —, approval_vote_refused — a vote
    not recorded: one's own call, not an approver, an unknown or expired id, against what stands
    (`reason` says which) —, approval_pending — a
    call's wait for approval ended with its request still open —, approval_expired — a request
    nobody decided within `valid_for`, published once —, approval_closed — a request a reload made
    unneeded, closed once —, rate_limited, paused, hidden)."""

    time: float
    action: str
    tool: str | None  # None: a decision about no known tool (a vote refused on an id that names no request)
    source: str | None = None
    principal: Principal | None = None
    rule: str | None = None  # e.g. "rules[2]" or "rate_limits[0]"
    reason: str | None = None
    session_id: str | None = None
    approval_id: str | None = None
    call_id: str | None = None  # the call this decision is about (`CallEvent.call_id`); None for an operator's act
    # The caller's principal name where only the name is known — an approval request's, on the records of
    # an approver's vote, a grant or denial, an expiry: `principal` is None there (its kind and OAuth client
    # are not stored with the request, so a record must not guess them).
    caller: str | None = None
    caller_by_client: bool = False  # `caller` is an OAuth client acting for itself (the request's `by_client`)
    # The approvers whose votes settled the request: who approved (`approval_granted`, and the approved
    # call's `allow`), who denied (`approval_denied`, and the refused call's `deny`).
    approvers: tuple[str, ...] | None = None
    voter: Principal | None = None  # `approval_vote(_refused)`: who voted (an authenticated principal)
    vote: Literal["approve", "deny"] | None = None  # `approval_vote(_refused)`: how they voted


def new_call_id() -> str:
    """A fresh call id: 16 hex digits (64 random bits: unique across replicas without coordination)."""
    return secrets.token_hex(8)


NAME_LIMIT = 100
"""Characters of a made-up tool name an `UnknownToolEvent` keeps: the name is the client's string."""


def cut_name(name: str, limit: int = NAME_LIMIT) -> str:
    """A name a client made up (an unknown tool's, an approval id that names no request), cut to
    `limit` characters, ending "…" when cut: a record keeps it without growing with it."""
    return name if len(name) <= limit else name[:limit - 1] + "…"


@dataclass(slots=True)
class UnknownToolEvent:
    """A `tools/call` naming a tool this server does not offer (a probing agent, a stale list): for
    the audit log only; metrics never see the name (a label per made-up name would grow without
    bound). `tool` is cut to `NAME_LIMIT` characters, ending "…" when cut."""

    time: float
    tool: str
    principal: Principal | None = None
    session_id: str | None = None
    request_id: str | None = None
    latency: float = 0.0  # seconds from the request's arrival to its answer

    @classmethod
    def of(cls, time: float, name: str, principal: Principal | None, session_id: str | None,
           request_id: str | None, latency: float = 0.0) -> UnknownToolEvent:
        return cls(time, cut_name(name), principal, session_id, request_id, latency)


Event = CallEvent | DecisionEvent | UnknownToolEvent
Subscriber = Callable[[Event], None]

_log = logging.getLogger("mcprt")


class EventBus:
    """A list of subscribers called inline, in order, for every published event."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._payload_readers = 0
        self._gates: list[Callable[[], tuple[str, str] | None]] = []

    @property
    def active(self) -> bool:
        """True when someone listens (callers may skip building costly event details)."""
        return bool(self._subscribers)

    @property
    def wants_payloads(self) -> bool:
        """True when a subscriber asked for payloads: `CallEvent.detail` then carries `upstream` (the
        `UpstreamResult`, by reference) and `result` (the shaped `ToolResult`). Only the status page's
        payload inspector asks; every other call pays nothing for it."""
        return self._payload_readers > 0

    def subscribe(self, subscriber: Subscriber, *, payloads: bool = False) -> Callable[[], None]:
        """Add a subscriber (`payloads=True`: it reads `detail["upstream"]`/`detail["result"]`);
        returns a function that removes it."""
        self._subscribers.append(subscriber)
        if payloads:
            self._payload_readers += 1

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)
                if payloads:
                    self._payload_readers -= 1

        return unsubscribe

    def add_gate(self, refusal: Callable[[], tuple[str, str] | None]) -> Callable[[], None]:
        """Add a check every tool call passes before it runs: `refusal()` is None to let calls run, else
        why none may run now, `(reason, message)`: the operator's short reason for the call's log line
        (`reason=audit_failing`) and the model-facing text (the audit log that cannot record calls, with
        `server.observability.audit_on_failure: refuse`). Returns a function that removes it."""
        self._gates.append(refusal)

        def remove() -> None:
            if refusal in self._gates:
                self._gates.remove(refusal)

        return remove

    def refusal(self) -> tuple[str, str] | None:
        """Why no call may run now, `(reason, message)` of the first gate that says so, or None."""
        for gate in self._gates:
            reason = gate()
            if reason is not None:
                return reason
        return None

    def publish(self, event: Event) -> None:
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception:  # a broken sink never fails a call
                _log.exception("event subscriber %r failed", subscriber)


BUS = EventBus()
"""The process-wide bus (one server per process)."""
