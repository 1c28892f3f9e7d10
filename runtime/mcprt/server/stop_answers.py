"""Every MCP request still running when the server stops gets a JSON-RPC answer, not a cut connection.

`toolset.stopping` answers a `tools/call` outliving the drain with a tool error; every other request
(a proxied `resources/read`, `prompts/get`, `completion/complete`, a `tools/list` waiting on a slow
upstream, …) used to be cut by the shutdown: over HTTP the client got a bare 500, over stdio the pipe
closed under it. `StopAnswers`, a server middleware (it wraps every request's handler on every path:
the SDK's session, the lean HTTP and stdio paths and the 2026-07-28 per-request path all run the
SDK's request kernel, middleware included), registers each request's task in `RUNNING` as
`call_tool` does; when the stop ends the calls in flight (`RUNNING.end_all`), a request that is not a
tool call's own answer un-cancels its task and raises `MCPError`, which the transport sends as the
request's JSON-RPC error response before the server closes.

The error: code -32603 (JSON-RPC 2.0 §5.1 "Internal error": the server could not complete a valid
request; the SDK's own "Too many open sessions" refusal uses it too), a message a model or a person
can act on, and `data` for programs: `{"reason": "shutting_down", "retrySafe": bool}`. `retrySafe`
is true for the methods that only read or set idempotent state (MCP 2025-06-18 server/resources,
server/prompts, server/utilities/completion, logging; 2026-07-28 server/discover), and false for a
method this module does not know (an extension may change something). A `tools/call` the stop ends
inside its call pipeline keeps its tool error (`toolset.stopping.STOPPED`), which tells the model
whether its upstream may have acted.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ..errors import CHECK_FIRST
from ..toolset.stopping import RUNNING

SHUTTING_DOWN_CODE = -32603  # JSON-RPC 2.0 §5.1 Internal error

# Requests that read, or set state idempotently: sent again to another (or the restarted) server,
# they do the same.
RETRY_SAFE = frozenset({
    "ping", "initialize", "server/discover", "tools/list",
    "resources/list", "resources/templates/list", "resources/read", "resources/subscribe",
    "resources/unsubscribe", "prompts/list", "prompts/get", "completion/complete", "logging/setLevel",
    "subscriptions/listen",
})

MESSAGE = ("mcprt is shutting down: the {method} request was stopped after {seconds:.0f} s, before its answer "
           "arrived ({why}). {retry}")
RETRY = "It only reads, so sending it again is safe: retry in a few seconds (a restarted server or another replica answers)."
MAYBE = ("Retry in a few seconds if repeating it is safe (a restarted server or another replica answers); "
         f"{CHECK_FIRST}.")


def stopped_error(method: str, seconds: float, why: str) -> Any:
    """The `MCPError` answering a `method` request the stop ended after `seconds` (s), because `why`
    (`toolset.stopping.OUTLASTED_DRAIN` or `TOLD_TO_STOP`)."""
    from mcp.shared.exceptions import MCPError

    safe = method in RETRY_SAFE
    message = MESSAGE.format(method=method, seconds=seconds, why=why, retry=RETRY if safe else MAYBE)
    return MCPError(SHUTTING_DOWN_CODE, message, {"reason": "shutting_down", "retrySafe": safe})


# Said to the client whatever sits in front: a load balancer retrying it (HAProxy as deploy/plain-hosts sets it)
# never lets the client read it, and an L4 one (a Kubernetes Service) cannot retry, so no promise that one does
# (the fleet trial read "a load balancer retries it" from a Service that never would). The connection closes
# (`Connection: close`): a new one is routed to a replica still in rotation.
REFUSED = ("mcprt is shutting down: this replica takes no new requests, and this one was not started, so sending it "
           "again is safe. Send it again on a new connection (Retry-After says when): behind a load balancer that "
           "reaches a replica still serving.")


def refused_while_draining(request_id: str | int | None) -> dict[str, Any]:
    """The JSON-RPC error response (JSON-RPC 2.0 §5) a request gets from a draining replica (HTTP 503):
    -32603 with `data: {"reason": "shutting_down", "retrySafe": true}` (the request never started,
    so sending it again is always safe); `request_id` as the request carried it, else None."""
    from .invalid_messages import error  # here: this module loads before the SDK's types

    return error(request_id, SHUTTING_DOWN_CODE, REFUSED, {"reason": "shutting_down", "retrySafe": True})


class StopAnswers:
    """Server middleware: registers each request in `RUNNING`; one the stop ends answers
    `stopped_error` (see the module docstring). Notifications have no answer and are not registered."""

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        method = ctx.method
        if method.startswith("notifications/"):
            return await call_next(ctx)
        started = time.perf_counter()
        task = RUNNING.enter()
        try:
            return await call_next(ctx)
        except asyncio.CancelledError:
            if not RUNNING.take_stop(task):
                raise  # the client's cancellation (or its leaving): nothing to answer
            assert task is not None
            task.uncancel()
            raise stopped_error(method, time.perf_counter() - started, RUNNING.why) from None
        finally:
            RUNNING.leave(task)
