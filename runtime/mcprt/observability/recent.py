"""What the status page shows about calls: per-tool figures, the last hour by minute, recent calls.

Bounded memory by construction: per tool, counters plus the last `LATENCY_WINDOW` latencies (for
p50/p95); 60 one-minute buckets; and a ring of the last N calls. The ring keeps each call's upstream
body and shaped content by reference (no copy, no serialization on the call path) while their
upstream sizes add up to at most `BODY_BUDGET` bytes; older calls lose their bodies first. A body is
redacted and cut to `BODY_LIMIT` characters only when someone opens it in the inspector.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .events import CallEvent, DecisionEvent, Event
from .redact import preview, redact_value

LATENCY_WINDOW = 512  # latencies kept per tool for percentiles
BODY_LIMIT = 16_384  # characters of each body shown in the inspector
BODY_BUDGET = 8 * 1024 * 1024  # upstream bytes of bodies the ring may keep referenced
MINUTES = 60
APPROVAL_CALLS = 1024  # calls in flight whose approval request id is remembered until the call ends


def saved_ratio(outcome: str, raw_bytes: int, sent_bytes: int) -> float | None:
    """Share of the upstream bytes the model did not receive, for a call (or calls) that ended `outcome`:
    None unless it is "ok" with raw bytes. Only a successful answer is shaped; an error's text replaces
    the upstream body rather than pruning it, so a "saving" of a failed call means nothing."""
    if outcome != "ok" or raw_bytes <= 0:
        return None
    return (raw_bytes - sent_bytes) / raw_bytes


@dataclass(slots=True)
class ToolFigures:
    calls: int = 0
    errors: int = 0  # any outcome but ok
    # Bytes of the calls that ended `ok` only, raw and sent alike: only those are shaped (pruned,
    # templated). An error's text replaces the upstream body (a denied or rejected call has no raw
    # byte at all), so counting it on one side made a failing tool "save" -1200% and the totals
    # "1893 → 2107 B" beside "5% saved". The metric's `outcome="ok"` series are these same calls.
    raw_bytes: int = 0
    sent_bytes: int = 0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0

    @property
    def saved_ratio(self) -> float | None:
        """Share of the upstream bytes of successful calls the model did not receive (None before
        any such byte)."""
        return saved_ratio("ok", self.raw_bytes, self.sent_bytes)

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile of the recent latencies, in seconds."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass(slots=True)
class RecentCall:
    id: int
    time: float
    tool: str
    source: str
    outcome: str
    latency: float
    raw_bytes: int
    sent_bytes: int
    principal: str | None  # the caller as policies write it (`Principal.label`: `client:<id>` for a client acting for itself)
    arguments: Any  # as given (redacted when shown)
    upstream_status: int | None
    error: str | None
    upstream: Any = None  # the UpstreamResult (by reference) while within the body budget
    content: Any = None  # the shaped content blocks (by reference)
    kept: int = 0  # bytes this entry counts against the budget
    approval_id: str | None = None  # the approval request the call opened or waited on (the inspector shows it)
    owner: str | None = None  # the caller's `Principal.owner` (whose call it is: `viewer.Viewer.sees`)
    call: str | None = None  # the call id the audit log's record carries (`call`): joins the two

    @property
    def saved_ratio(self) -> float | None:
        """This call's saving by the one rule (`saved_ratio`): None for a failed call."""
        return saved_ratio(self.outcome, self.raw_bytes, self.sent_bytes)


@dataclass(frozen=True, slots=True)
class Payloads:
    """What the inspector shows of one call, redacted and capped."""

    arguments: Any
    raw: str | None
    raw_cut: bool
    sent: str | None
    sent_cut: bool


class CallRecorder:
    """The status page's event subscriber (it asks the bus for payloads when `keep > 0`)."""

    def __init__(self, keep: int = 50, secrets: Iterable[str] = (), started: float | None = None) -> None:
        self.keep = keep
        self.started = time.time() if started is None else started  # epoch seconds: the server's start
        self.secrets = tuple(secrets)
        self.tools: dict[str, ToolFigures] = {}
        self.recent: deque[RecentCall] = deque(maxlen=max(keep, 1))
        self.minutes: deque[list[float]] = deque(maxlen=MINUTES)  # [minute, calls, bytes saved]
        self._ids = itertools.count(1)
        self._kept = 0  # upstream bytes referenced by the ring
        # call id → the approval request its `approval_requested` decision named, until the call's own event
        # (published after its decisions) takes it; bounded: a call whose event never comes must not pin it
        self._approvals: dict[str, str] = {}

    def on_event(self, event: Event) -> None:
        if isinstance(event, DecisionEvent):
            if event.approval_id and event.call_id and event.action.startswith("approval_"):
                if len(self._approvals) >= APPROVAL_CALLS:
                    self._approvals.pop(next(iter(self._approvals)))
                self._approvals[event.call_id] = event.approval_id
            return
        if not isinstance(event, CallEvent):
            return
        approval = self._approvals.pop(event.call_id, None) if event.call_id else None
        figures = self.tools.get(event.tool)
        if figures is None:
            figures = self.tools[event.tool] = ToolFigures()
        figures.calls += 1
        figures.errors += event.outcome not in ("ok", "cancelled")  # a client changing its mind is no error
        ok = event.outcome == "ok"
        if ok:
            figures.raw_bytes += event.raw_bytes
            figures.sent_bytes += event.sent_bytes
        figures.latencies.append(event.latency)
        minute = math.floor(event.time / 60)
        if not self.minutes or self.minutes[-1][0] != minute:
            self.minutes.append([minute, 0, 0])
        if not event.relayed:
            # A relay's call (discovery's `call_tool` that reached an operation) is its target's, counted on
            # the target's event: the calls per minute count each call once, as the metrics do. Bytes saved by
            # shaping likewise (an upstream error page cut to a short tool error is not that).
            self.minutes[-1][1] += 1
            if ok:
                self.minutes[-1][2] += max(0, event.raw_bytes - event.sent_bytes)
        if self.keep > 0:
            self._remember(event, approval)

    def _remember(self, event: CallEvent, approval: str | None = None) -> None:
        if len(self.recent) == self.recent.maxlen:
            self._kept -= self.recent[0].kept
        result = event.detail.get("result")
        entry = RecentCall(
            next(self._ids), event.time, event.tool, event.source, event.outcome, event.latency,
            event.raw_bytes, event.sent_bytes, event.principal.label if event.principal is not None else None,
            event.arguments, event.upstream_status, event.error, event.detail.get("upstream"),
            result.content if result is not None else None, event.raw_bytes + event.sent_bytes,
            approval, event.principal.owner if event.principal is not None else None, event.call_id,
        )
        self.recent.append(entry)
        self._kept += entry.kept
        if self._kept <= BODY_BUDGET:
            return
        for old in self.recent:  # over budget: the oldest calls give up their bodies
            if self._kept <= BODY_BUDGET or old is entry:
                break
            if old.kept:
                self._kept -= old.kept
                old.upstream, old.content, old.kept = None, None, 0

    def payloads(self, call: RecentCall) -> Payloads:
        """The inspector's view of `call` (serialized and redacted now, on demand)."""
        raw, raw_cut = (None, False)
        if call.upstream is not None:
            body = call.upstream.content if call.upstream.kind == "content" else call.upstream.body
            raw, raw_cut = preview(body, BODY_LIMIT, self.secrets)
        sent, sent_cut = (None, False)
        if call.content is not None:
            sent, sent_cut = preview(_readable(call.content), BODY_LIMIT, self.secrets)
        return Payloads(redact_value(dict(call.arguments or {}), self.secrets), raw, raw_cut, sent, sent_cut)

    def call(self, call_id: int) -> RecentCall | None:
        return next((c for c in self.recent if c.id == call_id), None)

    def last_hour(self, now: float | None = None) -> Sequence[tuple[int, int, int]]:
        """(minutes ago, calls, bytes saved) for each minute of the last 60 the server has been up (a
        server up 3 minutes has 3 or 4, not 57 empty minutes it never lived), oldest first."""
        current = math.floor((now or time.time()) / 60)
        first = max(current - MINUTES + 1, math.floor(self.started / 60))
        by_minute = {int(m): (int(c), int(s)) for m, c, s in self.minutes}
        return [(current - m, *by_minute.get(m, (0, 0))) for m in range(first, current + 1)]


def _readable(content: list[dict[str, Any]]) -> str:
    """The content blocks as a person reads them: text as text (JSON text indented), others named."""
    parts = []
    for block in content:
        if block.get("type") == "text":
            text = str(block.get("text", ""))
            try:
                parts.append(json.dumps(redact_value(json.loads(text)), ensure_ascii=False, indent=1))
            except ValueError:
                parts.append(text)
        else:
            parts.append(f"[{block.get('type')} block{', ' + str(block.get('mimeType')) if block.get('mimeType') else ''}]")
    return "\n\n".join(parts)
