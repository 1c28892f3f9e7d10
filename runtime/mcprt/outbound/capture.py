"""Opt-in capture of HTTP exchanges, for `mcprt record`.

Nothing is captured unless a caller enters `capturing()`: every exchange an `HttpUpstream` completes
inside that context (the request as sent, without credentials, and the decoded response) is then
appended to the list it yields. When unused it costs one ContextVar lookup per call. Secrets never
reach the list: credentials are stamped below the request object it reads, and sensitive header and
query values are redacted on the way in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request/response pair, as the executor saw it (the last hop of any redirects)."""

    method: str
    url: str  # redacted: no user info, sensitive query values replaced
    request_headers: list[tuple[str, str]]  # redacted
    request_body: bytes | None
    status: int
    response_headers: list[tuple[str, str]]  # redacted
    response_body: bytes  # decoded (gzip/deflate already undone), at most the response limit
    truncated: bool


_SINK: ContextVar[list[Exchange] | None] = ContextVar("mcprt_http_capture", default=None)


@contextmanager
def capturing() -> Iterator[list[Exchange]]:
    """Capture the exchanges of every upstream call made in this context (and tasks it starts)."""
    sink: list[Exchange] = []
    token = _SINK.set(sink)
    try:
        yield sink
    finally:
        _SINK.reset(token)


def capture_sink() -> list[Exchange] | None:
    """The active capture list, or None (the common case: nothing to do)."""
    return _SINK.get()
