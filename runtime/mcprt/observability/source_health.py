"""A source's health as its recent calls show it: what `mcprt_source_up`, `/status` and `mcprt status` say.

An OpenAPI source holds no connection to watch, yet it can be unusable: its upstream refuses
connections, times out or answers 5xx. Only its calls show that, so its health follows their
outcomes (the call events' bus subscriber; a proxied MCP server's health is its connection's, which
it watches and restores itself, `server.observe`):

- no answer at all (connection refused, timeout, a connection lost: outcome `upstream_error` without
  an upstream status) → `down`;
- an answer with an HTTP 5xx status → `degraded`;
- any answer below 500 (a 404 is the caller's problem, not the source's) → `up` again.

Calls that never reached the upstream (rejected, denied, cancelled, internal) say nothing about it.
A failure keeps the time the run of failures began (`since`) and the last call's error text (a tool
error already scrubbed of secrets). Memory is one entry per source name that ever failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .events import CallEvent, Event
from .state import SourceState


@dataclass(frozen=True, slots=True)
class CallVerdict:
    """What a source's latest telling call said: `state` `down` or `degraded`, since when (epoch
    seconds, the first failure of the run) and the latest failure's error text."""

    state: SourceState
    since: float
    error: str | None


class CallHealth:
    """The event bus subscriber that keeps each source's latest verdict (None: its calls are fine)."""

    def __init__(self) -> None:
        self._failing: dict[str, CallVerdict] = {}

    def on_event(self, event: Event) -> None:
        if type(event) is not CallEvent:
            return
        state = _verdict(event)
        if state is None:
            return
        if state == "up":
            self._failing.pop(event.source, None)
            return
        previous = self._failing.get(event.source)
        since = previous.since if previous is not None else event.time
        self._failing[event.source] = CallVerdict(state, since, event.error)

    def verdict(self, source: str) -> CallVerdict | None:
        """The source's failure as its calls show it, or None when its latest telling call got an answer."""
        return self._failing.get(source)


def _verdict(event: CallEvent) -> SourceState | None:
    status = event.upstream_status
    if event.outcome == "upstream_error" and status is None:
        return "down"
    if status is not None and status >= 500:
        return "degraded"
    if status is not None or event.outcome in ("ok", "tool_error"):
        return "up"
    return None  # refused or cut short before the upstream answered: nothing learned
