"""What the status page shows about calls: per-tool figures, the last hour by minute, recent calls.

Bounded memory by construction: per tool, counters plus the last `LATENCY_WINDOW` latencies (for
p50/p95); 60 one-minute buckets; and a ring of the last N calls whose upstream body and shaped
result are kept as redacted previews of at most `BODY_LIMIT` characters each.
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

from .events import CallEvent, Event
from .redact import preview, redact_value

LATENCY_WINDOW = 512  # latencies kept per tool for percentiles
BODY_LIMIT = 16_384  # characters kept of each body in the inspector
MINUTES = 60


@dataclass(slots=True)
class ToolFigures:
    calls: int = 0
    errors: int = 0  # any outcome but ok
    raw_bytes: int = 0
    sent_bytes: int = 0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0

    @property
    def saved_ratio(self) -> float | None:
        """Share of upstream bytes the model did not receive (None before any raw byte)."""
        return (self.raw_bytes - self.sent_bytes) / self.raw_bytes if self.raw_bytes else None

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
    principal: str | None
    arguments: Any  # redacted
    upstream_status: int | None
    error: str | None
    raw_preview: str | None  # the upstream body as received (decoded), redacted and capped
    raw_cut: bool
    sent_preview: str | None  # the result sent to the model
    sent_cut: bool


class CallRecorder:
    """The status page's event subscriber (it asks the bus for payloads when `keep > 0`)."""

    def __init__(self, keep: int = 50, secrets: Iterable[str] = ()) -> None:
        self.keep = keep
        self.secrets = tuple(secrets)
        self.tools: dict[str, ToolFigures] = {}
        self.recent: deque[RecentCall] = deque(maxlen=max(keep, 1))
        self.minutes: deque[list[float]] = deque(maxlen=MINUTES)  # [minute, calls, bytes saved]
        self._ids = itertools.count(1)

    def on_event(self, event: Event) -> None:
        if not isinstance(event, CallEvent):
            return
        figures = self.tools.get(event.tool)
        if figures is None:
            figures = self.tools[event.tool] = ToolFigures()
        figures.calls += 1
        figures.errors += event.outcome != "ok"
        figures.raw_bytes += event.raw_bytes
        figures.sent_bytes += event.sent_bytes
        figures.latencies.append(event.latency)
        minute = math.floor(event.time / 60)
        if not self.minutes or self.minutes[-1][0] != minute:
            self.minutes.append([minute, 0, 0])
        self.minutes[-1][1] += 1
        self.minutes[-1][2] += max(0, event.raw_bytes - event.sent_bytes)
        if self.keep > 0:
            self.recent.append(self._record(event))

    def _record(self, event: CallEvent) -> RecentCall:
        upstream = event.detail.get("upstream")
        result = event.detail.get("result")
        raw, raw_cut = (None, False)
        if upstream is not None:
            body = upstream.content if upstream.kind == "content" else upstream.body
            raw, raw_cut = preview(body, BODY_LIMIT, self.secrets)
        sent, sent_cut = (None, False)
        if result is not None:
            sent, sent_cut = preview(_readable(result.content), BODY_LIMIT, self.secrets)
        return RecentCall(
            id=next(self._ids), time=event.time, tool=event.tool, source=event.source, outcome=event.outcome,
            latency=event.latency, raw_bytes=event.raw_bytes, sent_bytes=event.sent_bytes,
            principal=event.principal.name if event.principal is not None else None,
            arguments=redact_value(dict(event.arguments or {}), self.secrets),
            upstream_status=event.upstream_status, error=event.error,
            raw_preview=raw, raw_cut=raw_cut, sent_preview=sent, sent_cut=sent_cut,
        )

    def call(self, call_id: int) -> RecentCall | None:
        return next((c for c in self.recent if c.id == call_id), None)

    def last_hour(self, now: float | None = None) -> Sequence[tuple[int, int, int]]:
        """(minutes ago, calls, bytes saved) for each of the last 60 minutes, oldest first."""
        current = math.floor((now or time.time()) / 60)
        by_minute = {int(m): (int(c), int(s)) for m, c, s in self.minutes}
        return [(current - m, *by_minute.get(m, (0, 0))) for m in range(current - MINUTES + 1, current + 1)]


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
