"""Whether a call's request to a `url:` server was sent at all, told by the real transport error.

The SDK's streamable HTTP transport POSTs each request in a task of its own; a POST that fails ends the
transport, and every call in flight then reads only "connection closed" (MCP `CONNECTION_CLOSED`), which
cannot tell a request the server may have acted on from one that never left: a trial calling a server
already dead (connection refused) was told "the upstream may or may not have acted on it". The POST's task
runs in the calling task's context (the SDK starts it from its sender's `contextvars` context), so the
call opens a `Delivery` (`tracking`) and the HTTP transport notes on it a failure that sent nothing
(`note_failure`): a refused or timed-out connect (RFC 9293 §3.5: a reset answering a SYN carries no data).

Other requests run in the same context once the call's POST was delivered: the SDK's GET resuming a broken
SSE stream (MCP 2025-11-25 basic/transports §Resumability), the `tools/list` checking the result's schema,
the POST answering a sampling or elicitation request. A refused connect of one of those says nothing of
whether the call ran (a server that acted and then died refuses them all), so only the call's own
`tools/call` POST is judged (`is_call_request`), and only until the server answered it (`note_sent`): a
false "did not run" invites a repeat of a call that ran, the worst outcome, so in doubt the call "may have
acted".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import json

import httpx2

# the failures of a request that never reached the server: no connection was made
_UNSENT_ERRORS: tuple[type[BaseException], ...] = (httpx2.ConnectError, httpx2.ConnectTimeout)


@dataclass(slots=True)
class Delivery:
    """One call's request: `unsent` is the transport error that kept it from being sent (None: it was
    sent, or no request failed); `sent` whether the server answered the call's POST (it reached the server)."""

    unsent: BaseException | None = None
    sent: bool = False

    @property
    def not_sent(self) -> BaseException | None:
        """The error that kept the call from the server, when it surely never reached it; else None."""
        return None if self.sent else self.unsent


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


def is_call_request(method: str, body: bytes) -> bool:
    """Whether an HTTP request (`method`, its JSON-RPC `body`) is a `tools/call` request: the call's own POST,
    not a GET resuming its stream nor another request run in its context (module docstring)."""
    if method != "POST" or b"tools/call" not in body:  # cheap test first: most requests are not calls
        return False
    try:
        message = json.loads(body)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("method") == "tools/call"


def note_sent() -> None:
    """Called by the HTTP transport when the server answered the call's POST: the call reached it."""
    delivery = _CURRENT.get()
    if delivery is not None:
        delivery.sent = True


def note_failure(exc: BaseException) -> None:
    """Called by the HTTP transport with the error of the call's POST: kept when it means nothing was sent,
    unless an earlier POST of the call was answered (a later one's refusal cannot unsend it)."""
    delivery = _CURRENT.get()
    if delivery is not None and not delivery.sent and isinstance(exc, _UNSENT_ERRORS):
        delivery.unsent = exc
