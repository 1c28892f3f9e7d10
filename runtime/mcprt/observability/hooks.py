"""Hooks for watching upstream exchanges (HTTP requests, proxied MCP calls) from the sources.

The sources sit below observability, so they call `start_upstream()` here and know nothing of
metrics or traces. Observers (the Prometheus sink, the tracer) register a factory when a server
starts. With none registered, `start_upstream()` is one empty-list check and returns None.

An observation may ask for trace context to travel with the request: `carrier` holds W3C Trace
Context fields (`traceparent`, `tracestate`; W3C Trace Context §3), which the HTTP executor sends
as headers and the MCP source puts in the request's `params._meta`. An HTTP call is watched once
per attempt (`resend_count`), so metrics and traces see each request the upstream received.

`mark_call()` is the same kind of hook for the call pipeline: the tracer names the call on its span and
hands back the span's ids for the call's log line and audit record (None when not traced).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, NamedTuple, Protocol

from ..scrubbing import SECRETS

UpstreamKind = Literal["http", "mcp"]


class Route(NamedTuple):
    """An HTTP request's operation as documented, arguments not filled in: `template` its path
    (`/notes/{id}`, the base URL's path not included; OpenTelemetry `url.template`), `query` the
    query parameter names it declares (anything else in a sent query came from argument data, e.g.
    a deepObject's `filter[ssn]` key)."""

    template: str
    query: frozenset[str] = frozenset()


class Observation(Protocol):
    carrier: dict[str, str]

    def finish(self, status: int | None, error: str | None) -> None:
        """The exchange ended: HTTP status (None for MCP or when no answer came; an answer whose body
        never came whole has its status and an error) and an error type (OpenTelemetry `error.type`:
        the status as text for an HTTP error answer, `timeout` when the call's deadline cut it, else
        an exception's class name)."""


class ObserverFactory(Protocol):
    """(kind, source, method or tool, url or server, route, resend_count) → an Observation, or None to skip
    this one. `route`: an HTTP request's documented operation (`Route`), None when unknown;
    `resend_count`: 0 for a call's first request, n for its n-th retry (OpenTelemetry HTTP semconv
    `http.request.resend_count`): each attempt is observed on its own."""

    def __call__(self, kind: UpstreamKind, source: str, name: str, target: str, route: Route | None = None, *,
                 resend_count: int = 0) -> Observation | None: ...

_FACTORIES: list[ObserverFactory] = []


def add_upstream_observer(factory: ObserverFactory) -> Callable[[], None]:
    """Register a factory; returns a function that removes it."""
    _FACTORIES.append(factory)

    def remove() -> None:
        if factory in _FACTORIES:
            _FACTORIES.remove(factory)

    return remove


class _Many:
    __slots__ = ("parts", "carrier")

    def __init__(self, parts: list[Observation]) -> None:
        self.parts = parts
        self.carrier: dict[str, str] = {}
        for part in parts:
            self.carrier.update(part.carrier)

    def finish(self, status: int | None, error: str | None) -> None:
        for part in self.parts:
            try:
                part.finish(status, error)
            except Exception:  # an observer never fails a call
                pass


def observed_upstream(kind: UpstreamKind, source: str, name: str,
                      target: Callable[[], str], route: Route | None = None, *,
                      resend_count: int = 0) -> Observation | None:
    """Begin watching one upstream exchange; None when nobody watches (the common, free case).

    `target` gives the URL or server for traces, already redacted (called only when watched). It is
    also scrubbed of every configured secret here, as log lines are: a URL is built from the model's
    arguments, and an argument may hold a secret's value (a span is exported, so it is output too)."""
    if not _FACTORIES:
        return None
    where = target()
    if SECRETS:
        where = SECRETS.scrub_text(where)
    parts: list[Observation] = []
    for factory in _FACTORIES:
        try:
            observation = factory(kind, source, name, where, route, resend_count=resend_count)
        except Exception:
            continue
        if observation is not None:
            parts.append(observation)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else _Many(parts)


CallMarker = Callable[[str], "tuple[str, str] | None"]
"""call id → (trace id, span id) of the span the call runs in, as hex, or None when it is not traced."""

_MARKERS: list[CallMarker] = []


def add_call_marker(marker: CallMarker) -> Callable[[], None]:
    """Register the tracer's `mark_call` (a server with traces on); returns a function that removes it."""
    _MARKERS.append(marker)

    def remove() -> None:
        if marker in _MARKERS:
            _MARKERS.remove(marker)

    return remove


def mark_call(call_id: str) -> tuple[str, str] | None:
    """Name the call `call_id` on the span it runs in, and get that span's (trace id, span id), so the
    call's log line and audit record join its trace; None when nobody traces (one empty-list check)."""
    for marker in _MARKERS:
        try:
            ids = marker(call_id)
        except Exception:  # an observer never fails a call
            continue
        if ids is not None:
            return ids
    return None
