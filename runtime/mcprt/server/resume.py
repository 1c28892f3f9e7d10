"""A GET stream asked to resume (`Last-Event-ID`) where no events were kept: a fresh stream, not a 500.

MCP basic/transports (2025-06-18 and later), "Resumability and Redelivery": a client MAY resume a broken
stream with a GET carrying `Last-Event-ID`, and the server MAY use it to replay what followed. Events
are replayable only from an event store, which mcprt does not configure, so it never assigns the event
ids a client could send back. The SDK, seeing the header, went to replay anyway; without a store its
`_replay_events` returned without answering, and uvicorn sent `500 text/plain` ("ASGI callable returned
without starting response"). Without a store the header is dropped here and the client gets what any
GET gets: a fresh stream (a client that sends an id mcprt never issued has nothing to miss from it).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

LAST_EVENT_ID = b"last-event-id"


def ignore_unreplayable_resumes(manager: object) -> None:
    """Put `UnreplayableResume` in front of everything the manager routes a request to; whether
    events are kept is read per request (`manager.event_store`)."""
    limited = manager.asgi_app  # type: ignore[attr-defined]
    limited.app = UnreplayableResume(limited.app, lambda: getattr(manager, "event_store", None) is not None)


class UnreplayableResume:
    """Passes every request to `inner`; a GET's `Last-Event-ID` is removed when `replayable()` is false."""

    def __init__(self, inner: ASGIApp, replayable: Callable[[], bool]) -> None:
        self.inner = inner
        self.replayable = replayable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "GET" and not self.replayable():
            headers = scope.get("headers", ())
            if any(name == LAST_EVENT_ID for name, _ in headers):
                scope = {**scope, "headers": [(n, v) for n, v in headers if n != LAST_EVENT_ID]}
        await self.inner(scope, receive, send)
