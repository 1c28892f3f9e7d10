"""Handshake-era sessions that any replica can serve (no load-balancer affinity).

The SDK's `StreamableHTTPSessionManager` keeps sessions in process: a request carrying a session id
that another replica created answers 404. `SharedSessionManager` extends it in three places:

- opening a session: once `initialize` succeeded, and before its response leaves, the session's
  record (protocol version, the client's initialize params, the principal) goes to Redis, so the
  client's next request finds it on whichever replica the balancer picks;
- an unknown session id: the record is read (one Redis round trip, once per session per replica)
  and the session is *adopted*: a local transport with that id, and a connection that starts
  initialized from the record, so no new handshake is needed;
- every request: a session answers only to the principal that opened it (404 otherwise, as if it
  did not exist), locally and across replicas;
- admission: sessions are capped per client and in total (`SessionLimits`, see `_admission`).

A tools/list_changed for an adopted session reaches the client on the replica holding its GET
stream: every replica reloads the same manifest itself (see README, "Running several replicas").
A resource subscription lives on the replica that took the `resources/subscribe`; its `resources/updated` go
to the session wherever its GET stream is: held elsewhere (a subscribe sent to another replica by round robin,
or the stream reconnected to another), the update goes on the events channel and the replica holding the
stream sends it (`relay_updated`). Before, such a subscribe was acknowledged and then silent (soak trial F2),
then refused — but a stream that moved after the subscribe was still silent (its review).

The SDK offers no constructor hook for its session manager; `share_sessions` swaps the class of
the instance `streamable_http_app()` built (private attribute `_session_manager`, SDK 2.3). The
replica tests fail loudly if a future SDK changes that.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskStatus
from mcp.server.connection import Connection
from mcp.server.runner import serve_connection
from mcp.server.streamable_http import GET_STREAM_KEY, MCP_SESSION_ID_HEADER, StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher
from mcp_types import InitializeRequestParams
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION
from starlette.types import Message, Receive, Scope, Send

from ..identity.principal import from_scope
from ..observability.log import Outage, log_event
from ..state.redis_client import StateUnavailable
from .lean import Replay
from .limits import MAX_RETRY_AFTER, client_key
from .refusals import as_refusal, refusal_message

if TYPE_CHECKING:
    from ..state.sessions import SessionRecords
    from .limits import SessionLimits
    from .lean import LeanPath
    from .notify import Notifier

MAX_CAPTURED_BODY = 1_000_000


class SharedSessionManager(StreamableHTTPSessionManager):
    """The SDK's session manager plus shared session records, per-principal session ownership and
    per-client session caps."""

    records: SessionRecords | None
    notifier: Notifier | None
    limits: SessionLimits | None
    lean: LeanPath | None  # how each session's POSTs are answered (lean.py); None: as the SDK does
    _owners: dict[str, str | None]
    _clients: dict[str, str]  # session id → client key (see `client_key`)
    _last_used: dict[str, float]  # session id → monotonic time its last request arrived
    _connecting: dict[str, anyio.Event]  # adopted sessions whose transport is not connected yet

    def _init_shared(self, records: SessionRecords | None, notifier: Notifier | None,
                     limits: SessionLimits | None = None) -> None:
        self.records = records
        self.notifier = notifier
        self.limits = limits
        self.lean = None
        self._owners = {}
        self._clients = {}
        self._last_used = {}
        self._connecting = {}
        self._relaying: set[asyncio.Task[None]] = set()  # relayed resources/updated being sent here
        # Once each way per outage, not per session or request (a Redis outage under traffic).
        self._sharing = Outage("sessions not shared: other replicas will not know the sessions opened here "
                               "until shared state works again", "sessions are shared again")
        self._lookups = Outage("session lookups failed: sessions opened on other replicas answer 404 here "
                               "until shared state works again", "session lookups work again")
        if records is not None:
            records.on_ended.append(self._ended_elsewhere)
            records.on_updated.append(self._updated_elsewhere)

    async def _handle_stateful_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = from_scope(scope)
        name = principal.owner if principal is not None else None
        client = client_key(principal, scope)
        session_id = _header(scope, MCP_SESSION_ID_HEADER)
        if session_id is not None:
            await self._until_connected(session_id)
            if session_id in self._server_instances:
                if self._owners.get(session_id, name) != name:
                    await _not_found(scope, receive, send)
                    return
                if self.records is not None:
                    await self.records.touch(session_id)
            elif self.records is not None and not await self._adopt(session_id, name, client):
                await _not_found(scope, receive, send)
                return
            if session_id in self._server_instances:  # (an unknown id answers 404 below: nothing kept)
                self._last_used[session_id] = time.monotonic()
            await super()._handle_stateful_request(scope, receive, send)
            return
        # A request without a session id opens one (the SDK's own branch, with mcprt's admission).
        # Only an `initialize` can: anything else is refused by the SDK (400 "Missing session ID")
        # and the session discarded, so it must not cost the client an idle session of its own —
        # which only admission at the client's cap would do, so only then is the body read ahead.
        # (A client reaching its cap meanwhile, by its own concurrent requests, is admitted as
        # every session-less request was before this check.)
        may_open = True
        if self._at_client_cap(client):
            receive, may_open = await _peek_opening(scope, receive)
        async with self._session_creation_lock:
            refusal = self._admission(client) if may_open else None
            transport = None if refusal is not None else self._open(name, client)
        if transport is None:
            await (refusal or _Refusal(503, MAX_RETRY_AFTER, "Too many open sessions on this server", 0))(
                scope, receive, send)
            return
        await self._serve_opening_request(transport, scope, receive, send)

    def transport(self, session_id: str, principal: str | None) -> StreamableHTTPServerTransport | None:
        """The transport of `session_id` when this replica holds it for `principal` (its owner key,
        `Principal.owner`), else None."""
        transport = self._server_instances.get(session_id)
        if transport is None or transport.is_terminated or self._owners.get(session_id, principal) != principal:
            return None
        return transport

    def _at_client_cap(self, client: str) -> bool:
        """Whether `client` holds as many sessions as `SessionLimits.per_client` allows."""
        limits = self.limits
        return limits is not None and sum(who == client for who in self._clients.values()) >= limits.per_client

    def _admission(self, client: str) -> _Refusal | None:
        """Make room for one more session of `client`, or say why not (call under the creation lock).

        Over the per-client cap, the client's least recently used *idle* session (no request in
        flight, no open GET stream) is ended — its id answers 404 from now on, which tells a client
        to initialize again (MCP transports, "Session Management") — rather than the new one refused:
        clients that open a session per task and never send DELETE (common) keep working, and the
        cost of a client's excess falls only on that client's own oldest sessions. When every one of
        its sessions is busy, the answer is 429 (RFC 6585 §4) with `Retry-After`. Over the total cap
        it is 503 with `Retry-After` (the SDK's status for the same condition).
        """
        retry = int(math.ceil(min(self.session_idle_timeout or MAX_RETRY_AFTER, MAX_RETRY_AFTER)))
        limits = self.limits
        mine = [sid for sid, who in self._clients.items() if who == client]
        if limits is not None and len(mine) >= limits.per_client:
            idle = [sid for sid in mine if _idle(self._server_instances.get(sid))]
            if not idle:
                log_event("session refused: the client holds its maximum of busy sessions", logging.WARNING,
                          client=client, limit=limits.per_client)
                return _Refusal(429, retry, f"Too many open sessions for this client (limit {limits.per_client}, "
                                "all in use): end one (HTTP DELETE) or retry later", limits.per_client)
            self._evict(min(idle, key=lambda sid: self._last_used.get(sid, 0.0)), client)
        total = self.max_sessions
        if total is not None and len(self._server_instances) >= total:
            log_event("session refused: the server holds its maximum of sessions", logging.WARNING, limit=total)
            return _Refusal(503, retry, f"Too many open sessions on this server (limit {total}): retry later", total)
        return None

    def _open(self, principal: str | None, client: str) -> StreamableHTTPServerTransport | None:
        transport = self._admit_session(None)  # owners are mcprt's principals (`_owners`), not the SDK's
        if transport is not None and transport.mcp_session_id is not None:
            session_id = transport.mcp_session_id
            self._owners[session_id] = principal
            self._clients[session_id] = client
            self._last_used[session_id] = time.monotonic()
            if self.lean is not None:
                self.lean.adopt(transport)
        return transport

    def _forget(self, session_id: str) -> StreamableHTTPServerTransport | None:
        """Stop knowing `session_id` here (its requests answer 404 from now on); its transport, if any.
        Popped first, so the end of its transport does not delete the shared record a second time."""
        transport = self._server_instances.pop(session_id, None)
        self._owners.pop(session_id, None)
        self._clients.pop(session_id, None)
        self._last_used.pop(session_id, None)
        return transport

    def _evict(self, session_id: str, client: str) -> None:
        """End `session_id` to make room: forgotten at once (404 from now on), its transport and
        shared record ended in the background."""
        transport = self._forget(session_id)
        log_event("idle session ended: the client opened one past its limit", logging.INFO,
                  client=client, session=session_id[:12])
        if transport is not None and self._task_group is not None:
            self._task_group.start_soon(self._end_evicted, session_id, transport)

    def _ended_elsewhere(self, session_id: str, evicted: bool) -> bool:
        """`session-ended` from the events channel: the session was ended (DELETE, eviction) on some
        replica. Held here, it kept serving requests that reached this replica until it idled out; so
        it ends here too — unless it was evicted (the evicting replica judged it idle from its own view
        only) and is busy here (a call in flight, an open GET stream): then it is kept, and its record
        written back (`SessionRecords.revive`), so the client loses neither the call nor its session.
        Returns whether it is kept."""
        transport = self._server_instances.get(session_id)
        if transport is None or transport.is_terminated or self._task_group is None:
            return False  # not held here, or being ended here already (this replica's own message)
        if evicted and not _idle(transport):
            log_event("session evicted on another replica kept here: it is in use here", logging.INFO,
                      session=session_id[:12])
            self._task_group.start_soon(self._revive, session_id)
            return True
        self._forget(session_id)
        log_event("session ended on another replica; ended here too", logging.DEBUG, session=session_id[:12])
        self._task_group.start_soon(self._end_evicted, session_id, transport, False)
        return False

    async def _revive(self, session_id: str) -> None:
        assert self.records is not None
        try:
            await self.records.revive(session_id)
        except StateUnavailable as exc:
            # Its own line, not the outage's: that one is logged once per outage (so this went unseen when
            # Redis was already failing) and says sharing resumes when Redis is back, which this record
            # does not — it stays gone, and the session is served by this replica only.
            log_event("session evicted on another replica and kept here could not be written back: other "
                      "replicas answer 404 for it", logging.WARNING, session=session_id[:12], error=str(exc))

    async def _end_evicted(self, session_id: str, transport: StreamableHTTPServerTransport,
                           delete: bool = True) -> None:
        """End `transport`; with `delete`, the shared record too (no other replica may adopt it)."""
        with anyio.CancelScope(shield=True):
            if not transport.is_terminated:
                await transport.terminate()
            if self.records is not None and delete:
                self.records.forget_local(session_id)
                # no other replica may adopt it either (unless busy there: `_ended_elsewhere`); a Redis
                # failure is logged there (it never raised, so the line this caught was never written)
                await self.records.delete(session_id, evicted=True)

    async def _serve_opening_request(self, http_transport: StreamableHTTPServerTransport, scope: Scope,
                                     receive: Receive, send: Send) -> None:
        send = _naming_no_discarded_session(send)
        if self.records is None:
            await super()._serve_opening_request(http_transport, scope, receive, send)
            return
        body = bytearray()

        async def receive_and_keep() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) < MAX_CAPTURED_BODY:
                body.extend(message.get("body", b""))
            return message

        async def record_then_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                await self._record(http_transport.mcp_session_id, bytes(body))
            await send(message)

        await super()._serve_opening_request(http_transport, scope, receive_and_keep, record_then_send)

    async def _record(self, session_id: str | None, body: bytes) -> None:
        from ..state.sessions import SessionRecord

        assert self.records is not None
        params = _initialize_params(body)
        if session_id is None or params is None:
            return
        requested = params.get("protocolVersion")
        # The version the handshake settles on (MCP lifecycle: the server answers with the
        # client's version when it supports it, else its latest).
        version = requested if requested in HANDSHAKE_PROTOCOL_VERSIONS else LATEST_HANDSHAKE_VERSION
        record = SessionRecord(version, params, self._owners.get(session_id), time.time())
        try:
            await self.records.put(session_id, record)
        except StateUnavailable as exc:
            self._sharing.failed(error=str(exc))
        else:
            self._sharing.worked()

    def _holds_stream(self, session_id: str) -> bool | None:
        """Whether this replica holds `session_id`'s GET stream (MCP 2025-11-25 basic/transports, "Listening for
        Messages from the Server"), where `resources/updated` goes; None when it cannot tell (an SDK whose
        transport has no `_request_streams`, SDK 2.3's open streams by request id, GET's key while it is open:
        tests/replicas/test_subscribe_replicas.py pins it)."""
        transport = self._server_instances.get(session_id)
        if transport is None:
            return False
        streams = getattr(transport, "_request_streams", None)
        return GET_STREAM_KEY in streams if isinstance(streams, Mapping) else None

    async def relay_updated(self, connection: Connection, uri: str) -> bool:
        """Subscriptions live on the replica that took the `resources/subscribe`; the session's GET stream may be
        on another (a subscribe sent elsewhere by round robin, an SSE reconnect: soak trial F2 and its review).
        When this replica does not hold it, the update goes on the events channel to the one that does
        (`_updated_elsewhere`) and True is returned; False: send it here (one process, or the stream is here).
        A replica that cannot tell relays too, and the holder's check decides. StateUnavailable is logged."""
        if self.records is None or connection.session_id is None or self._holds_stream(connection.session_id):
            return False
        try:
            await self.records.relay_updated(connection.session_id, uri)
        except StateUnavailable as exc:
            log_event("resources/updated not relayed to the replica holding the session's stream", logging.WARNING,
                      session=connection.session_id[:12], uri=uri, error=str(exc))
        return True

    def _updated_elsewhere(self, session_id: str, uri: str) -> None:
        """`resource-updated` from the events channel: sent to the session when this replica holds its GET
        stream (or cannot tell but serves the session), on its connection's standalone channel."""
        connection = self.notifier.connection(session_id) if self.notifier is not None else None
        if connection is None or self._holds_stream(session_id) is False:
            return
        sending = asyncio.get_running_loop().create_task(self._send_updated(connection, uri),
                                                         name="relayed resources/updated")
        self._relaying.add(sending)  # kept referenced until sent
        sending.add_done_callback(self._relaying.discard)

    @staticmethod
    async def _send_updated(connection: Connection, uri: str) -> None:
        try:
            await connection.send_resource_updated(uri)
        except Exception as exc:  # the stream closed meanwhile: as an update to a closed stream here
            log_event("resources/updated not delivered", logging.DEBUG, error=type(exc).__name__)

    async def _adopt(self, session_id: str, principal: str | None, client: str) -> bool:
        """Serve a session another replica opened; False when it is unknown or someone else's, or when
        this replica has no room for it (the client then initializes again, and learns why)."""
        assert self.records is not None
        try:
            record = await self.records.get(session_id)
        except StateUnavailable as exc:
            self._lookups.failed(error=str(exc))
            return False
        self._lookups.worked()
        if record is None or record.principal != principal:
            return False
        async with self._session_creation_lock:
            if session_id in self._server_instances:  # adopted meanwhile by a concurrent request
                adopting = None
            elif self._admission(client) is not None:
                return False
            else:
                transport = StreamableHTTPServerTransport(
                    mcp_session_id=session_id,
                    is_json_response_enabled=self.json_response,
                    event_store=self.event_store,
                    security_settings=self.security_settings,
                    retry_interval=self.retry_interval,
                    idle_timeout=self.session_idle_timeout,
                )
                if self.lean is not None:
                    self.lean.adopt(transport)
                self._server_instances[session_id] = transport
                self._owners[session_id] = principal
                self._clients[session_id] = client
                # Until its task has connected the transport the SDK cannot take a request for it ("No
                # read stream writer available"): concurrent requests for this id wait (`_until_connected`).
                adopting = self._connecting[session_id] = anyio.Event()
        if adopting is None:
            await self._until_connected(session_id)
            return session_id in self._server_instances and self._owners.get(session_id) == principal
        assert self._task_group is not None
        self.records.hold(session_id, record)  # forgotten when the session ends (`_discard_session`)
        try:
            await self._task_group.start(self._run_adopted, session_id, transport, record)
        finally:
            self._connecting.pop(session_id, None)
            adopting.set()
        log_event("session adopted from shared state", logging.DEBUG, session=session_id[:12])
        return True

    async def _until_connected(self, session_id: str) -> None:
        """Wait while another request of this session is adopting it on this replica (a client sends its
        first requests to a new replica concurrently: a balancer spreads them)."""
        connecting = self._connecting.get(session_id)
        if connecting is not None:
            await connecting.wait()

    async def _run_adopted(self, session_id: str, transport: StreamableHTTPServerTransport, record: Any,
                           *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        try:
            async with transport.connect() as (read_stream, write_stream):
                dispatcher: JSONRPCDispatcher[Any] = JSONRPCDispatcher(
                    read_stream, write_stream, inline_methods=frozenset({"initialize"})
                )
                connection = Connection.for_loop(dispatcher, session_id=session_id,
                                                 protocol_version_hint=record.protocol_version)
                if record.client_params:
                    try:
                        connection.client_params = InitializeRequestParams.model_validate(record.client_params)
                    except ValueError:
                        pass
                connection.initialized.set()  # the handshake happened on the replica that opened it
                if self.notifier is not None:
                    self.notifier.track(connection)
                task_status.started()
                scope = transport.idle_scope or anyio.CancelScope()
                with scope:
                    await serve_connection(self.app, dispatcher, connection=connection,
                                           lifespan_state=self._lifespan_state)
        except Exception:
            logging.getLogger("mcprt").exception("adopted session %s crashed", session_id[:12])
        finally:
            await self._discard_session(session_id, transport)

    async def _discard_session(self, session_id: str, transport: StreamableHTTPServerTransport) -> None:
        deleted = transport.is_terminated and session_id in self._server_instances
        if self._server_instances.get(session_id) is transport:  # not a newer session reusing the id
            self._owners.pop(session_id, None)
            self._clients.pop(session_id, None)
            self._last_used.pop(session_id, None)
        await super()._discard_session(session_id, transport)
        if self.records is not None:
            self.records.forget_local(session_id)
            if deleted:  # the client ended the session (DELETE): no replica should serve it again
                with anyio.CancelScope(shield=True):
                    await self.records.delete(session_id)


def share_sessions(server: Any, records: SessionRecords | None, notifier: Notifier | None,
                   limits: SessionLimits | None = None) -> SharedSessionManager:
    """Turn the session manager that `server.streamable_http_app()` built into a SharedSessionManager."""
    manager = getattr(server, "_session_manager", None)
    if not isinstance(manager, StreamableHTTPSessionManager):
        raise RuntimeError("the MCP SDK's session manager was not found (SDK changed?): cannot share sessions")
    manager.__class__ = SharedSessionManager
    manager._init_shared(records, notifier, limits)  # type: ignore[attr-defined]
    return manager  # type: ignore[return-value]


def _idle(transport: StreamableHTTPServerTransport | None) -> bool:
    # The SDK counts requests in flight (an open GET stream is one) for its idle timer, from the
    # moment the session's task connected the transport (`idle_scope` set): a session still being
    # opened is busy. When the count cannot be read (a changed SDK) the session counts as busy too:
    # refused, never evicted.
    return (transport is not None and transport.idle_scope is not None
            and getattr(transport, "_requests_in_flight", 1) == 0)


class _Refusal:
    """An HTTP refusal to open a session: the endpoint's refusal body (`refusals.refusal_message`, with
    `data.limit` and `data.retryAfter`) and `Retry-After`."""

    def __init__(self, status: int, retry_after: int, message: str, limit: int) -> None:
        self.status = status
        self.retry_after = retry_after

        self.body = json.dumps(refusal_message(status, message, data={"limit": limit, "retryAfter": retry_after})
                               ).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(self.body)).encode()),
            (b"retry-after", str(self.retry_after).encode())]})
        await send({"type": "http.response.body", "body": self.body})


async def _peek_opening(scope: Scope, receive: Receive) -> tuple[Receive, bool]:
    """Read a session-less request's body ahead to tell whether it can open a session, i.e. is a
    POSTed `initialize`; the receive callable that replays it, and that verdict.

    The manager's RequestBodyLimitMiddleware (SDK 2.3, around everything the manager routes to)
    has already read the whole bounded body and hands it over as one `http.request` message, so
    one message is read. One that is not a whole body (a client gone midway) counts as one that
    may open a session, as every request did before: the rule is the SDK's to apply.
    """
    if scope.get("method") != "POST":
        return receive, False  # GET / DELETE without a session id: the SDK answers 400
    first = await receive()
    whole = first["type"] == "http.request" and not first.get("more_body", False)
    may_open = not whole or _initialize_params(first.get("body", b""), batches=False) is not None
    return Replay(first, receive), may_open


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.lower().encode("latin-1")
    for key, value in scope.get("headers", ()):
        if key == wanted:
            return value.decode("latin-1")
    return None


def _initialize_params(body: bytes, *, batches: bool = True) -> dict[str, Any] | None:
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if isinstance(message, list) and batches:  # a JSON-RPC batch (2025-03-26)
        message = next((m for m in message if isinstance(m, dict) and m.get("method") == "initialize"), None)
    if not isinstance(message, dict) or message.get("method") != "initialize":
        return None
    params = message.get("params")
    return params if isinstance(params, dict) else None


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:

    body = json.dumps(as_refusal(404, {"jsonrpc": "2.0", "id": None,
                                       "error": {"code": -32600, "message": "Session not found"}})).encode()
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


_SESSION_HEADER = MCP_SESSION_ID_HEADER.lower().encode("latin-1")


def _naming_no_discarded_session(send: Send) -> Send:
    """`send` for a request that opens a session: an error answer (status 400 and up) loses its
    `Mcp-Session-Id`, as the SDK discards a session whose opening request fails — the header would
    name a session that no longer exists (MCP 2025-06-18, Transports, "Session Management": the id
    is assigned by the response that carries the InitializeResult)."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] >= 400:
            message = {**message, "headers": [(name, value) for name, value in message.get("headers", [])
                                              if name.lower() != _SESSION_HEADER]}
        await send(message)

    return sending

