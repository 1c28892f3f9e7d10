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
  did not exist), locally and across replicas.

A tools/list_changed for an adopted session reaches the client on the replica holding its GET
stream: every replica reloads the same manifest itself (see README, "Running several replicas").

The SDK offers no constructor hook for its session manager; `share_sessions` swaps the class of
the instance `streamable_http_app()` built (private attribute `_session_manager`, SDK 2.3). The
replica tests fail loudly if a future SDK changes that.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskStatus
from mcp.server.connection import Connection
from mcp.server.runner import serve_connection
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER, StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher
from mcp_types import InitializeRequestParams
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION
from starlette.types import Message, Receive, Scope, Send

from ..identity.principal import from_scope
from ..observability.log import log_event
from ..state.redis_client import StateUnavailable

if TYPE_CHECKING:
    from ..state.sessions import SessionRecords
    from .lean import LeanPath
    from .notify import Notifier

_opening_principal: contextvars.ContextVar[str | None] = contextvars.ContextVar("mcprt_opening_principal",
                                                                                 default=None)
MAX_CAPTURED_BODY = 1_000_000


class SharedSessionManager(StreamableHTTPSessionManager):
    """The SDK's session manager plus shared session records and per-principal session ownership."""

    records: SessionRecords | None
    notifier: Notifier | None
    lean: LeanPath | None  # how each session's POSTs are answered (lean.py); None: as the SDK does
    _owners: dict[str, str | None]

    def _init_shared(self, records: SessionRecords | None, notifier: Notifier | None) -> None:
        self.records = records
        self.notifier = notifier
        self.lean = None
        self._owners = {}

    async def _handle_stateful_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = from_scope(scope)
        name = principal.name if principal is not None else None
        session_id = _header(scope, MCP_SESSION_ID_HEADER)
        if session_id is not None:
            if session_id in self._server_instances:
                if self._owners.get(session_id, name) != name:
                    await _not_found(scope, receive, send)
                    return
                if self.records is not None:
                    await self.records.touch(session_id)
            elif self.records is not None and not await self._adopt(session_id, name):
                await _not_found(scope, receive, send)
                return
        token = _opening_principal.set(name)
        try:
            await super()._handle_stateful_request(scope, receive, send)
        finally:
            _opening_principal.reset(token)

    def _admit_session(self, requestor: Any) -> StreamableHTTPServerTransport | None:
        transport = super()._admit_session(requestor)
        if transport is not None and transport.mcp_session_id is not None:
            self._owners[transport.mcp_session_id] = _opening_principal.get()
            if self.lean is not None:
                self.lean.adopt(transport)
        return transport

    async def _serve_opening_request(self, http_transport: StreamableHTTPServerTransport, scope: Scope,
                                     receive: Receive, send: Send) -> None:
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
            log_event("session not shared: other replicas will not know it", logging.WARNING, error=str(exc))

    async def _adopt(self, session_id: str, principal: str | None) -> bool:
        """Serve a session another replica opened; False when it is unknown or someone else's."""
        assert self.records is not None
        try:
            record = await self.records.get(session_id)
        except StateUnavailable as exc:
            log_event("session lookup failed", logging.WARNING, error=str(exc))
            return False
        if record is None or record.principal != principal:
            return False
        async with self._session_creation_lock:
            if session_id in self._server_instances:
                return True  # adopted meanwhile by a concurrent request
            if self.max_sessions is not None and len(self._server_instances) >= self.max_sessions:
                return False
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
        assert self._task_group is not None
        await self._task_group.start(self._run_adopted, session_id, transport, record)
        log_event("session adopted from shared state", logging.DEBUG, session=session_id[:12])
        return True

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
        self._owners.pop(session_id, None)
        await super()._discard_session(session_id, transport)
        if self.records is not None:
            self.records.forget_local(session_id)
            if deleted:  # the client ended the session (DELETE): no replica should serve it again
                with anyio.CancelScope(shield=True):
                    await self.records.delete(session_id)


def share_sessions(server: Any, records: SessionRecords | None, notifier: Notifier | None) -> SharedSessionManager:
    """Turn the session manager that `server.streamable_http_app()` built into a SharedSessionManager."""
    manager = getattr(server, "_session_manager", None)
    if not isinstance(manager, StreamableHTTPSessionManager):
        raise RuntimeError("the MCP SDK's session manager was not found (SDK changed?): cannot share sessions")
    manager.__class__ = SharedSessionManager
    manager._init_shared(records, notifier)  # type: ignore[attr-defined]
    return manager  # type: ignore[return-value]


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.lower().encode("latin-1")
    for key, value in scope.get("headers", ()):
        if key == wanted:
            return value.decode("latin-1")
    return None


def _initialize_params(body: bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if isinstance(message, list):  # a JSON-RPC batch (2025-03-26)
        message = next((m for m in message if isinstance(m, dict) and m.get("method") == "initialize"), None)
    if not isinstance(message, dict) or message.get("method") != "initialize":
        return None
    params = message.get("params")
    return params if isinstance(params, dict) else None


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": None,
                       "error": {"code": -32600, "message": "Session not found"}}).encode()
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
