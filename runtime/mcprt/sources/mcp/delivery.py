"""Whether a call's request to a `url:` server was sent at all, told by the real transport error.

The SDK's streamable HTTP transport POSTs each request in a task of its own; a POST that fails ends the
transport, and every call in flight then reads only "connection closed" (MCP `CONNECTION_CLOSED`), which
cannot tell a request the server may have acted on from one that never left: a trial calling a server
already dead (connection refused) was told "the upstream may or may not have acted on it". The POST's task
runs in the calling task's context (the SDK starts it from its sender's `contextvars` context), so the
call opens a `Delivery` (`tracking`) and the HTTP transport notes on it a failure that sent nothing
(`note_failure`): a refused or timed-out connect (RFC 9293 §3.5: a reset answering a SYN carries no data).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import httpx2

# the failures of a request that never reached the server: no connection was made
_UNSENT_ERRORS: tuple[type[BaseException], ...] = (httpx2.ConnectError, httpx2.ConnectTimeout)


@dataclass(slots=True)
class Delivery:
    """One call's request: `unsent` is the transport error that kept it from being sent (None: it was
    sent, or no request failed)."""

    unsent: BaseException | None = None


_CURRENT: ContextVar[Delivery | None] = ContextVar("mcprt_mcp_delivery", default=None)


@contextmanager
def tracking() -> Iterator[Delivery]:
    """Around one call: what the transport tells of its request's fate lands in the yielded Delivery."""
    delivery = Delivery()
    token = _CURRENT.set(delivery)
    try:
        yield delivery
    finally:
        _CURRENT.reset(token)


def note_failure(exc: BaseException) -> None:
    """Called by the HTTP transport with a request's error: kept when it means nothing was sent."""
    delivery = _CURRENT.get()
    if delivery is not None and isinstance(exc, _UNSENT_ERRORS):
        delivery.unsent = exc
