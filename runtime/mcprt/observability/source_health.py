"""A source's health as its recent calls show it: what `mcprt_source_up`, `/status` and `mcprt status` say.

An OpenAPI source holds no connection to watch, yet it can be unusable: its upstream refuses
connections or answers 5xx. Only its calls show that, so its health follows their outcomes (the
call events' bus subscriber; a proxied MCP server's health is its connection's, which it watches
and restores itself, `server.observe`). One call never flips it (an alert on `mcprt_source_up`
must not flap on one 5xx among good answers):

- the upstream could not be reached (`CallEvent.unreachable`: connection refused or reset, DNS,
  connect time-out) → `down` at once (nothing else can answer for it);
- `DEGRADED_AFTER` consecutive HTTP 5xx answers → `degraded` (one 5xx after `down`: it answers again);
- `UP_AFTER` consecutive answers below 500 (a 404 is the caller's problem) → `up` again.

A call's own failure says nothing about the source: past its own tool time-out with no answer at
all, an over-long answer, a failed token fetch, a Python function timing out (Python sources never
get a call verdict). A call whose time-out passed after the upstream answered (two 503s, then the
deadline during the third attempt: `CallEvent.upstream_status` set) counts as that answer: an
upstream shedding load slowly is `degraded`, not a silent one about which nothing is known. Calls
that never reached the upstream (rejected, denied, cancelled, internal, queue_timeout) say nothing.

A verdict belongs to the source instance its calls went to: a reload that reopens the source
starts it afresh. A verdict no call has confirmed for `STALE_AFTER` seconds is shown `unknown`
(nothing since says whether the upstream came back). The error kept is a summary: `HTTP 503: `
and at most `ERROR_LIMIT` characters of the call's error text, with the manifest's secrets and
the call's own argument strings scrubbed. Memory is one entry per source name that ever failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..scrubbing.given import without_argument_values
from .events import CallEvent, Event
from .state import SourceState

DEGRADED_AFTER = 3  # consecutive 5xx answers before a source reads `degraded`
UP_AFTER = 2  # consecutive good answers before a failing source reads `up` again
STALE_AFTER = 300.0  # seconds without a call confirming a failure before it reads `unknown`
ERROR_LIMIT = 200  # characters of a call's error text kept (the rest may be a 50 kB upstream body)


@dataclass(frozen=True, slots=True)
class CallVerdict:
    """What a source's calls said: `state` (`down`, `degraded`, or `unknown` once stale), since when
    (epoch seconds, the first failure of the run) and the latest failure's error summary."""

    state: SourceState
    since: float
    error: str | None


@dataclass(slots=True)
class _Track:
    """One source's recent calls: runs of 5xx and of good answers, and the failure they add up to."""

    instance: object  # the source the calls went to (a reopened source is a new one)
    bad: int = 0
    good: int = 0
    verdict: CallVerdict | None = None
    confirmed: float = 0.0  # epoch seconds of the latest call that agreed with the verdict


class CallHealth:
    """The event bus subscriber that keeps each source's verdict (None: its calls are fine).

    `instance_of(name)` gives the source object now serving `name` (None when unknown); `secrets`
    are scrubbed from the error summary."""

    def __init__(self, instance_of: Callable[[str], object] = lambda name: None,
                 secrets: Iterable[str] = ()) -> None:
        self._instance_of = instance_of
        self._secrets = tuple(secrets)
        self._tracks: dict[str, _Track] = {}

    def on_event(self, event: Event) -> None:
        if type(event) is not CallEvent:
            return
        kind = _telling(event)
        if kind is None:
            return
        instance = self._instance_of(event.source)
        track = self._tracks.get(event.source)
        if track is None or track.instance is not instance:
            if kind == "good":
                self._tracks.pop(event.source, None)
                return
            track = self._tracks[event.source] = _Track(instance)
        if kind == "good":
            track.bad, track.good = 0, track.good + 1
            if track.verdict is None or track.good >= UP_AFTER:
                del self._tracks[event.source]
            return
        track.good = 0
        track.bad = track.bad + 1 if kind == "5xx" else 0
        if kind == "5xx" and track.verdict is None and track.bad < DEGRADED_AFTER:
            return  # one 5xx among good answers: not yet a verdict
        since = track.verdict.since if track.verdict is not None else event.time
        state: SourceState = "down" if kind == "unreachable" else "degraded"
        track.verdict = CallVerdict(state, since, self._summary(event))
        track.confirmed = event.time + event.latency

    def verdict(self, source: str, now: float) -> CallVerdict | None:
        """The source's failure as its calls show it (`unknown` when no call confirmed it for
        `STALE_AFTER` seconds before `now`, epoch seconds), or None: its calls are fine, or the
        failing calls went to a source instance a reload has since replaced."""
        track = self._tracks.get(source)
        if track is None or track.verdict is None:
            return None
        if track.instance is not self._instance_of(source):
            del self._tracks[source]
            return None
        if now - track.confirmed > STALE_AFTER:
            return CallVerdict("unknown", track.verdict.since, track.verdict.error)
        return track.verdict

    def _summary(self, event: CallEvent) -> str:
        text = event.error or ""
        # scrubbed whole: a cut must not leave half a secret
        text = without_argument_values(text, event.arguments, self._secrets)
        text = " ".join(text.split())  # one line (a table cell), whitespace runs of an upstream body folded
        if len(text) > ERROR_LIMIT:
            text = text[:ERROR_LIMIT - 1] + "…"
        prefix = f"HTTP {event.upstream_status}" if event.upstream_status is not None else ""
        return f"{prefix}: {text}" if prefix and not text.startswith(prefix) else text


def _telling(event: CallEvent) -> str | None:
    """What a call tells of its source: `unreachable`, `5xx`, `good` (an answer below 500, or a
    result) or None (nothing: it failed on its own, or never reached the upstream)."""
    status = event.upstream_status
    if event.unreachable:
        return "unreachable"
    if status is not None:
        return "5xx" if status >= 500 else "good"
    return "good" if event.outcome in ("ok", "tool_error") else None
