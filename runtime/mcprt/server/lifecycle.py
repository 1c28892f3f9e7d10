"""Readiness and graceful shutdown for replicas behind a load balancer.

- `/healthz` (liveness) answers as long as the process serves.
- `/readyz` (readiness) answers 200 once the tool set is compiled and the shared state backend (if
  any) has been reached, and while the server is not draining; else 503 with the reason. A state
  backend that stops answering *after* it was reached leaves readiness at 200, reported as
  `{"status": "degraded", "state": "unreachable since …"}`: the backend is shared by every replica,
  so failing readiness on it would take every replica out of the balancer at once (a cascading
  failure) although calls that need no shared state still work. The outage shows in the
  `mcprt_state_up` gauge and the state client's log lines (loss and recovery, once each). A backend that
  answers but refuses writes (Redis full: `maxmemory` with `noeviction`) is degraded the same way,
  `{"status": "degraded", "state": "writes refused since …: …"}`, and shows in `mcprt_state_writable` 0
  (`mcprt_state_up` stays 1: it answers its PING).
- On SIGTERM the server drains: readiness turns false at once (the balancer stops sending), every answer
  from then on says `Connection: close`, and a request on a connection that was open when the drain began is
  still served, once (its client chose no replica: an L4 balancer keeps its connection here and retries nothing),
  so each client reconnects to a ready replica — but only during the first `KEPT_SHARE` of `drain_timeout`, so a
  call so served has the rest to finish; later it is refused like a new connection's (not started: safe to send
  again), not started to be cut by the deadline; other new
  work (`initialize`, `tools/call`, … ; cheap reads such as `tools/list` and `ping` are still answered:
  `ANSWERED_WHILE_DRAINING`) gets 503 with `Retry-After: 1`, `Connection: close` (a balancer retries them on another
  replica) and a JSON-RPC error by the request's id, as every refusal on the MCP endpoint is written
  (`stop_answers.refused_while_draining`: `data.reason` "shutting_down"; it was `{"error": …}`),
  requests in flight get up to `server.http.drain_timeout` to finish; those still running then
  are answered (a tool call with a tool error, any other request with a JSON-RPC error:
  `toolset.stopping`, `server.stop_answers`). While a balancer still sends requests (each refused),
  the server stays until none has arrived for `DRAIN_QUIET` seconds (within the same drain timeout),
  then stops: a replica that exits while the balancer still counts it in rotation closes keep-alive
  connections the balancer is reusing at that instant, and HAProxy answers such a request (not the
  first of its client connection) by closing the client's connection without a response, for the
  client to retry (which an MCP client does not do): `Server disconnected without sending a response`.
  A balancer that marked the replica down (its health check read `/readyz`'s 503) sends nothing more.
  A server whose `/readyz` nobody ever asked is in no health-checked rotation: it stops as soon as
  its requests are done (a lone `mcprt up` stopped with Ctrl-C does not linger).
  Long-lived GET streams (server→client notifications) are not waited for: clients reopen them
  through the balancer, on another replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Receive, Scope, Send

from ..observability.log import rfc3339

if TYPE_CHECKING:
    from ..observability.audit import AuditHealth

STATE_CHECK_EVERY = 1.0  # seconds a state PING result is reused by /readyz
STATE_WATCH_EVERY = 5.0  # seconds between PINGs when no probe asks (the metric stays current)
# seconds without an MCP request after which a draining replica takes it that no balancer sends it
# any more: while it is in a busy rotation requests arrive far more often. Under light load the gap
# may be longer and the replica leaves before the balancer's health check noticed, which costs at
# most a refused connection (retried elsewhere) unless a request lands in the very instant of exit.
DRAIN_QUIET = 0.5
# the share of `drain_timeout` during which a request on a connection kept from before the drain is still served
# (`Readiness.start_draining`): one arriving later could not finish before the deadline cut it, after its tool may
# have acted, so it is refused as not started (the review of fleetfix: a 8 s call sent 3 s into a 8 s drain was cut)
KEPT_SHARE = 0.5
REFUSAL_BODY_WAIT = 0.2  # seconds a draining replica reads a request's body (its id; whether it is cheap)
ANSWERED_WHILE_DRAINING = frozenset({
    "ping", "tools/list", "resources/list", "resources/templates/list", "prompts/list", "tasks/get",
})
"""Requests a draining replica still answers on an open session (MCP method names; `Mcp-Session-Id` given, or
any 2026-07-28 request: `_continues`):
cheap reads that start no work. The official
SDK client's `call_tool` sends `tools/list` right after a result whose tool's output schema it has not cached
(to validate the result): refused, the client reported the call it had just completed as failed, with "send it
again" -- and a side-effecting tool ran twice. Notifications (`notifications/cancelled` of a call in flight) and
responses to the server's own requests (an elicitation's answer) pass too; `initialize`, `tools/call`,
`resources/read`, `prompts/get` and every other request are new work, refused."""


class Readiness:
    """What `/readyz` reports; `draining` is set by the stop sequence.

    `state_ping` checks the shared state backend (a Redis PING); `state_reached` says it already
    answered once (`mcprt up` pings it before serving). Until it has answered, the replica is not
    ready; after that, an outage only degrades readiness (see the module docstring).
    """

    def __init__(self, state_ping: Callable[[], Awaitable[object]] | None = None,
                 state_reached: bool = False, sources_down: Callable[[], list[str]] | None = None,
                 audit: Callable[[], AuditHealth | None] | None = None,
                 state_writes: Callable[[], tuple[float, str] | None] | None = None) -> None:
        self.draining = False
        # the peer addresses of the HTTP server's open connections (set by serve: `http.connection_clients`)
        self.connections: Callable[[], set[tuple[str, int]]] = set
        # the connections open when the drain began (`start_draining`) that have not had their one more answer
        self.kept_at_drain: set[tuple[str, int]] = set()
        self.serve_kept_until = 0.0  # time.monotonic() after which a kept connection's request is refused too
        # the latest `report` was not ready (draining, audit refusing, state not reached): answers close their
        # connection (`InFlight`), so a client's next request opens a new one, which a balancer routes to a ready
        # replica — an L4 one (a Kubernetes Service) keeps a kept-alive connection on this replica otherwise
        self.unready = False
        # since when (epoch seconds) and why the state backend refuses writes, else None (`SharedState.writes_refused`)
        self._state_writes = state_writes or (lambda: None)
        # the audit log's state: failing with `audit_on_failure: refuse` the replica refuses every call, so it
        # is not ready (503, the balancer sends calls to replicas that can record them); with `serve` degraded
        self.audit = audit or (lambda: None)
        # names of the sources `/status` shows down or restarting (down since the start, exited, hung, an upstream
        # refusing connections): degraded, not unready — the others still serve, every replica shares an upstream
        # (failing readiness on it would empty the balancer), and a proxied server restarts on its own
        self._sources_down = sources_down or (lambda: [])
        # a health check asked `/readyz` at least once: something (a balancer, Kubernetes) takes this
        # replica in and out of rotation by it, so the stop sequence waits for it to stop sending
        self.probed = False
        self._state_ping = state_ping
        self._checked_at = 0.0
        self._state_reached = state_reached
        self.state_lost_at: float | None = None  # epoch seconds of the first failed PING of an outage

    async def report(self) -> tuple[bool, dict[str, str | int]]:
        """(ready, body fields), remembered as `unready`. `status` is "ready", "degraded", "draining", "audit log
        failing" (503: the audit log cannot be written and `audit_on_failure: refuse` refuses every call) or "shared state not
        reached yet", plus `audit` ("ok" or "failing") when an audit log is configured (failing with
        `audit_on_failure: serve`: "degraded", still ready), `state` ("ok", "unreachable since
        <RFC 3339 UTC time>" or "writes refused since <time>: <why>") when a state backend is configured and `sources_down` (how many; "degraded",
        still ready) while sources are `down` or `restarting` on `/status`. Counts only, never names, as `/healthz`: the
        path needs no token (which sources are down is on the authenticated `/status`, and in
        `mcprt_source_up`). Marks the replica `probed`."""
        ready, body = await self._report()
        self.unready = not ready
        return ready, body

    def start_draining(self, serve_kept_for: float = 0.0) -> None:
        """The stop's drain begins: `/readyz` answers 503 from now on; the connections open now are noted
        (`kept_at_drain`): a request on one arriving within `serve_kept_for` seconds (the first `KEPT_SHARE` of
        `drain_timeout`) is still served, once, with `Connection: close` (`InFlight`); later ones are refused."""
        self.kept_at_drain = set(self.connections())
        self.serve_kept_until = time.monotonic() + max(0.0, serve_kept_for)
        self.draining = True

    def serves_kept(self, client: tuple[str, int] | None) -> bool:
        """Whether a request from `client` (an ASGI scope's peer address) is the one more answer its connection,
        open when the drain began, still gets: only while enough of `drain_timeout` is left for it to finish."""
        if not self.draining or not client or time.monotonic() >= self.serve_kept_until:
            return False
        peer = (str(client[0]), int(client[1]))
        if peer not in self.kept_at_drain:
            return False
        self.kept_at_drain.discard(peer)
        return True

    async def _report(self) -> tuple[bool, dict[str, str | int]]:
        self.probed = True
        if self.draining:
            return False, {"status": "draining"}
        down = self._sources_down()
        extra: dict[str, str | int] = {"sources_down": len(down)} if down else {}
        audit = self.audit()
        if audit is not None:
            extra["audit"] = audit.state
            if audit.refusing:
                return False, {"status": "audit log failing", **extra}
        degraded = bool(down) or (audit is not None and audit.state != "ok")
        if self._state_ping is None:
            return True, {"status": "degraded" if degraded else "ready", **extra}
        await self._ping_state()
        if not self._state_reached:
            return False, {"status": "shared state not reached yet", "state": "unreachable"}
        state = self.state_text()
        if state != "ok":
            return True, {"status": "degraded", "state": state, **extra}
        return True, {"status": "degraded" if degraded else "ready", "state": "ok", **extra}

    def state_text(self) -> str | None:
        """The state backend as `/readyz` and `/status.json` word it, from the last checks (no new PING): "ok",
        "unreachable since <RFC 3339 time>", "writes refused since <time>: <why>", "not reached yet"; None
        without a backend."""
        if self._state_ping is None:
            return None
        if not self._state_reached:
            return "not reached yet"
        if self.state_lost_at is not None:
            return f"unreachable since {rfc3339(self.state_lost_at)}"
        refused = self._state_writes()
        if refused is not None:
            return f"writes refused since {rfc3339(refused[0])}: {refused[1]}"
        return "ok"

    @property
    def state_up(self) -> bool | None:
        """Whether the state backend answered its last PING (None: no backend), for the
        `mcprt_state_up` gauge; kept fresh by `watch_state` even when nobody probes `/readyz`."""
        if self._state_ping is None:
            return None
        return self._state_reached and self.state_lost_at is None

    @property
    def state_writable(self) -> bool | None:
        """Whether the state backend takes this replica's writes (None: no backend), for `mcprt_state_writable`:
        False while it refuses them (full with `noeviction`, read-only) although it answers PING."""
        if self._state_ping is None:
            return None
        return self._state_writes() is None

    async def watch_state(self, every: float = STATE_WATCH_EVERY) -> None:
        """PING the backend every `every` seconds while serving (runs until cancelled)."""
        while self._state_ping is not None:
            await self._ping_state()
            await asyncio.sleep(every)

    async def _ping_state(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < STATE_CHECK_EVERY:
            return
        self._checked_at = now
        assert self._state_ping is not None
        try:
            await asyncio.wait_for(self._state_ping(), 1.0)
        except Exception:  # noqa: BLE001 - any failure means "unreachable"; the state client logs why
            if self.state_lost_at is None:
                self.state_lost_at = time.time()
            return
        self._state_reached = True
        self.state_lost_at = None


class InFlight:
    """ASGI middleware counting MCP requests in progress and refusing new ones while draining.

    GET requests (standalone SSE streams) are not counted: they last as long as the client wants.
    """

    def __init__(self, app: ASGIApp, readiness: Readiness, mcp_path: str, max_body: int = 1_000_000) -> None:
        self.app = app
        self.readiness = readiness
        self.mcp_path = mcp_path.rstrip("/") or "/"
        self.max_body = max_body  # bytes of a refused request read for its id (`server.http.max_request_bytes`)
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.refused = 0  # MCP requests answered 503 because the server drains
        self._last_arrival = float("-inf")  # time.monotonic() of the latest MCP request
        self._last_done = float("-inf")  # time.monotonic() the latest counted request ended
        self.answered_while_draining = 0  # cheap requests answered while draining (ANSWERED_WHILE_DRAINING)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # decided when the answer starts (a call in flight when the drain begins closes too): the client's next
            # request opens a new connection, which a balancer routes to a ready replica
            send = _closing(send, lambda: self.readiness.draining or self.readiness.unready)
        if scope["type"] != "http" or scope.get("path", "").rstrip("/") != self.mcp_path:
            await self.app(scope, receive, send)
            return
        before, self._last_arrival = self._last_arrival, time.monotonic()
        if self.readiness.serves_kept(scope.get("client")):
            # A connection this replica already had when the drain began: whoever sent on it chose no replica (an L4
            # balancer such as a Kubernetes Service keeps a kept-alive connection where it was, and retries
            # nothing), so a refusal here failed the call (the fleet trial: 5 of 250 in a rolling restart). It is
            # served once, answered with `Connection: close` (above): the client's next request opens a new
            # connection, which the balancer routes to a ready replica. The drain waits for it as for any call;
            # only early in the drain (`KEPT_SHARE`), so it has time to finish.
            with self.hold():
                await self.app(scope, receive, send)
            return
        if self.readiness.draining and scope.get("method") != "DELETE":
            # the body for the id and what it asks, and only briefly: a trickled body was refused (uvicorn's
            # 500) only once complete, seconds later, instead of at once
            try:
                body = await asyncio.wait_for(read_body(receive, self.max_body), REFUSAL_BODY_WAIT)
            except asyncio.TimeoutError:
                body = None  # answered with id null
            if (scope.get("method") == "POST" and body is not None and _continues(scope)
                    and starts_no_work(body)):
                # a cheap read keeps the drain no longer (`wait_unsent`): a client polling `tools/list` every
                # 0.3 s held a replica whose last call had ended at 2.8 s up to its whole drain_timeout (6 s)
                self._last_arrival = before
                self.answered_while_draining += 1
                with self.hold(quiet=True):
                    await self.app(scope, _replaying(body, receive), send)
                return
            self.refused += 1
            await _send_unavailable(send, body)
            return
        if scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        with self.hold():
            await self.app(scope, receive, send)

    @contextlib.contextmanager
    def hold(self, *, quiet: bool = False) -> Iterator[None]:
        """Count one unit of work in progress: an MCP POST, or a call this replica resumes for a
        2026-07-28 retry another replica received (`state.rounds`), which the drain waits for too.
        `quiet`: its end does not restart the drain's quiet time (a cheap read answered while draining)."""
        self.count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.count -= 1
            if not quiet:
                self._last_done = time.monotonic()
            if self.count == 0:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no counted request is in progress; False when `timeout` (s) ran out first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def wait_unsent(self, quiet: float, timeout: float) -> bool:
        """While draining: wait until no MCP request has arrived, and none ended, for `quiet` seconds (a
        balancer that still sends requests has not marked this replica down yet; a client that just got
        its result sends its follow-up `tools/list` within milliseconds: `ANSWERED_WHILE_DRAINING`); False
        when `timeout` (s) ran out first. A replica quiet for the last `quiet` seconds returns at once."""
        deadline = time.monotonic() + timeout
        while (left := max(self._last_arrival, self._last_done) + quiet - time.monotonic()) > 0:
            if time.monotonic() + left > deadline:
                await asyncio.sleep(max(0.0, deadline - time.monotonic()))
                return False
            await asyncio.sleep(left)
        return True


def starts_no_work(body: bytes) -> bool:
    """Whether a POST `body` a draining replica receives holds only messages it still takes: requests
    of `ANSWERED_WHILE_DRAINING`, notifications and responses (a 2025-03-26 batch: every member)."""
    from . import wire_json

    try:
        message = wire_json.loads(body)
    except (ValueError, RecursionError):
        return False
    messages = message if isinstance(message, list) and message else [message]
    for item in messages:
        if not isinstance(item, dict):
            return False
        method = item.get("method")
        if method is None:  # a response to the server's request (an elicitation's answer): no new work
            if "result" not in item and "error" not in item:
                return False
            continue
        if not isinstance(method, str):
            return False
        if "id" in item and method not in ANSWERED_WHILE_DRAINING:
            return False  # a request that starts work
        if "id" not in item and not method.startswith("notifications/"):
            return False
    return True


def _continues(scope: Scope) -> bool:
    """Whether the request is an open conversation's, whose cheap reads a draining replica answers: one
    naming a session (`Mcp-Session-Id`, the handshake era), or any 2026-07-28 request (`MCP-Protocol-Version`:
    that era has no session, so the method alone decides; SEP-2575). The SDK `Client`'s default `mode="auto"`
    settles on 2026-07-28 against mcprt: its follow-up `tools/list` after a result was refused ("not started,
    send it again") though the call had run. A handshake-era request without a session is a new client's
    (`initialize`), which a balancer retries on another replica."""
    for name, value in scope.get("headers") or ():
        if name == b"mcp-session-id":
            return True
        if name == b"mcp-protocol-version" and value.decode("latin-1") in MODERN_PROTOCOL_VERSIONS:
            return True
    return False


def _closing(send: Send, when: Callable[[], bool]) -> Send:
    """`send` adding `Connection: close` to the response's head when `when()` says so as it starts (RFC 9112
    §9.6; uvicorn then closes the connection once the response is written), unless the app already said so."""

    async def closing(message: Any) -> None:
        if message["type"] == "http.response.start" and when():
            headers = list(message.get("headers") or [])
            if not any(name.lower() == b"connection" for name, _ in headers):
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await send(message)

    return closing


def _replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` for the app after the body was read: the body once, then the connection's own messages
    (a disconnect)."""
    sent = False

    async def replay() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """A request's body when it is at most `limit` bytes, else None (then nothing more is read: the
    answer closes the connection)."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None  # the client left
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body", False):
            return bytes(body)


def refusal_body(body: bytes | None, answer: Callable[[Any], dict[str, Any]] | None = None) -> bytes:
    """The JSON-RPC error(s) a draining replica answers a request `body` with (`answer(id)`, by default
    `stop_answers.refused_while_draining`; a replica still waiting for its shared state gives its own,
    `state_wait`): by the request's id when the body is a request, each request of a batch by its own,
    else one error with id null (JSON-RPC 2.0 §5: an id that cannot be read)."""
    from . import wire_json
    from .invalid_messages import request_id_of
    from .stop_answers import refused_while_draining

    refused_while_draining = answer or refused_while_draining
    try:
        message = wire_json.loads(body) if body else None
    except (ValueError, RecursionError):
        message = None
    if isinstance(message, list):  # a 2025-03-26 batch: an array of answers (JSON-RPC 2.0 §6)
        ids = [rid for rid in map(request_id_of, message) if rid is not None]
        if ids:
            return wire_json.dumps([refused_while_draining(rid) for rid in ids])
    return wire_json.dumps(refused_while_draining(request_id_of(message)))


async def _send_unavailable(send: Send, request_body: bytes | None) -> None:
    # 503 + Retry-After: a balancer retries it elsewhere; Connection: close, so it stops reusing this
    # replica's connection (and the rest of an unread body is not expected)
    body = refusal_body(request_body)
    await send({
        "type": "http.response.start",
        "status": 503,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"retry-after", b"1"), (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": body})
