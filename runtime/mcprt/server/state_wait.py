"""Starting before the shared state (Redis) answers: wait for it, within a bound, visibly.

`mcprt up` with `server.state` exited 2 at once when Redis did not answer, so pods started before
Redis (a fresh cluster, Redis restarting during a rollout) crash-looped under Kubernetes' growing
back-off, and `/readyz`'s "shared state not reached yet" could never be seen. Now the connection is
retried (0.25 s, doubling to 2 s between attempts) for up to `MCPRT_STATE_WAIT` seconds (default 60),
then `mcprt up` exits 2 as before. Over HTTP the port answers meanwhile: `/healthz` 200 (the process
lives: no liveness restart), `/readyz` 503 `{"status": "shared state not reached yet"}` (no traffic
yet), every other request 503 with `Retry-After: 1` and a JSON-RPC error whose `data.retrySafe` is
true (nothing was started). The waiting server uses a duplicate of the listening socket, so the
real server takes over the same socket: connections arriving in between wait in its backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ..errors import McprtError, StateRefused
from ..observability.log import log_event
from ..settings import env_limit
from .stop_answers import SHUTTING_DOWN_CODE  # the drain's refusal code: retry-safe either way

T = TypeVar("T")

REFUSAL_BODY_MAX = 1_000_000  # bytes of a request read for its id while waiting (larger: answered with id null)
STATE_WAIT_SECONDS = 60.0  # MCPRT_STATE_WAIT: how long `mcprt up` waits for the shared state at start
FIRST_RETRY_SECONDS = 0.25
MAX_RETRY_SECONDS = 2.0
NOT_REACHED = "shared state not reached yet"
WAITING = ("mcprt is starting: its shared state (Redis) has not answered yet, and this request was not started, so "
           "sending it again is safe. Send it again shortly (Retry-After says when).")


def state_wait() -> float:
    """Seconds `mcprt up` waits for the shared state at start before exiting 2 (`MCPRT_STATE_WAIT`, default 60)."""
    return env_limit("MCPRT_STATE_WAIT", STATE_WAIT_SECONDS)


class StoppedWhileWaiting(Exception):
    """`stopping` was set (SIGTERM/SIGINT) while the shared state was awaited: nothing was served yet."""


async def open_when_reachable(open_state: Callable[[], Awaitable[T]], sock: socket.socket | None,
                              stopping: asyncio.Event | None = None) -> T:
    """`await open_state()`, retried while it raises McprtError (Redis not answering) for up to
    `state_wait()` seconds; meanwhile `sock` (HTTP; None over stdio) answers as the module docstring says.
    A `StateRefused` (Redis answered but refused the credentials or a permission) is raised at once: it is
    not a matter of time. Raises the last McprtError, naming the wait, once the time is up; StoppedWhileWaiting as soon as
    `stopping` is set between attempts (a SIGTERM must not wait out the whole `MCPRT_STATE_WAIT`)."""
    from .http import serve_http

    waited = state_wait()
    deadline = time.monotonic() + waited
    delay = FIRST_RETRY_SECONDS
    stop = asyncio.Event()
    placeholder: asyncio.Task[None] | None = None
    attempts = 0
    try:
        while True:
            try:
                return await open_state()
            except StateRefused:  # credentials or permissions: permanent, so exit 2 now, not after the wait
                raise
            except McprtError as exc:
                attempts += 1
                if attempts == 1:  # said once, with the reason; the outcome follows (connected, or exit 2)
                    log_event("shared state not reached yet; waiting for it", logging.WARNING, error=str(exc),
                              wait_s=round(waited, 1))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise McprtError(f"{exc} Waited {waited:g} s for it (MCPRT_STATE_WAIT).") from None
                if placeholder is None and sock is not None:
                    placeholder = asyncio.create_task(serve_http(waiting_app, sock.dup(), stop, process_stops=False),
                                                      name="mcprt-state-wait")
                if stopping is None:
                    await asyncio.sleep(min(delay, left))
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stopping.wait(), min(delay, left))
                    if stopping.is_set():
                        raise StoppedWhileWaiting from None
                delay = min(delay * 2, MAX_RETRY_SECONDS)
    finally:
        stop.set()
        if placeholder is not None:
            await asyncio.gather(placeholder, return_exceptions=True)


async def waiting_app(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                      send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    """The ASGI app answering while the shared state is awaited (see the module docstring)."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    path = scope.get("path", "")
    if path == "/healthz":
        status, body, extra = 200, {"status": "starting", "state": "unreachable"}, []
    elif path == "/readyz":
        status, body, extra = 503, {"status": NOT_REACHED, "state": "unreachable"}, []
    else:
        from .invalid_messages import error
        from .lifecycle import REFUSAL_BODY_WAIT, read_body, refusal_body

        # answered by the request's id when it can be read (briefly: a trickled body is not waited for), as the
        # drain's refusal is; the fleet trial's `"id": 7` came back `"id": null`
        received = None
        if scope.get("method") == "POST":
            with contextlib.suppress(TimeoutError):
                received = await asyncio.wait_for(read_body(receive, REFUSAL_BODY_MAX), REFUSAL_BODY_WAIT)
        status, extra = 503, [(b"retry-after", b"1")]
        payload = refusal_body(received, lambda request_id: error(request_id, SHUTTING_DOWN_CODE, WAITING,
                                                                  {"reason": "starting", "retrySafe": True}))
        await _answer(send, status, payload, extra)
        return
    await _answer(send, status, json.dumps(body).encode(), extra)


async def _answer(send: Callable[[dict[str, Any]], Awaitable[None]], status: int, payload: bytes,
                  extra: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            (b"cache-control", b"no-store"), *extra,
                            # unready: the client's next request opens a new connection, which a balancer routes to
                            # a ready replica (as `lifecycle.InFlight` closes while unready; the review of fleetfix)
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})
