"""The handshake-era POST path: one JSON body unless the answer may stream, and a lean tools/call.

The SDK's `StreamableHTTPServerTransport` answers every POSTed request of a session the same way,
fixed when the transport is built (`json_response`): all SSE, or all JSON. mcprt answers each
request in the lightest way that keeps the protocol (`streaming.may_stream` decides):

- **may stream** (a progress token; a tool that may send server→client requests): the SDK's SSE
  answer, unchanged;
- **`tools/call` and `tools/list`** that cannot stream, on an initialized session: answered
  directly here, in the request's own task. The request runs through the SDK's own request kernel
  (`ServerRunner.on_request`: method and params validation, the server's middleware, the handler,
  the per-version result sieve), so every guarantee of that path holds; what is skipped is the
  transport plumbing around it: the session task's memory streams, the dispatcher, the message
  router and the SSE framing. JSON is parsed and written by orjson (`wire_json`), once per message;
- **anything else** that cannot stream: sent through the session task as the SDK does, and its
  response returned as one `application/json` body (request-scoped notifications, which only a
  stream could carry, are dropped as in the SDK's JSON mode).

Kept as on the SDK path (each is tested by the serving, proxy, policy, identity and replica
suites): the Accept (406) and Content-Type (415) rules (`post_headers`, before the SDK), the session id checks (400/404), the
idle-timeout accounting (the override sits below `handle_request`), the principal (the guard's
ASGI scope is the request the handler sees), JSON-RPC errors mapped as the SDK's dispatcher maps
them (`MCPError` → its code; invalid params → -32602; anything else code 0), and cancellation:
a `notifications/cancelled` naming a request answered here cancels it, and the POST is answered
with the era's `-32800 Request cancelled` (MCP 2025-06-18, basic/utilities/cancellation). The SDK
keeps every request it is given: the resumable case (an event store), bodies that are not one
plain JSON-RPC request (responses, notifications, malformed envelopes), uninitialized sessions and
unknown sessions — except a 2025-03-26 session's batch, served here (`batches.py`: each request
through the same kernel as `LeanPath.answer`, the answers in one JSON array).

With shared state, a session's POSTed response to a server→client request sent by another replica, and a
`notifications/cancelled` for a request running on another one, are handed to that replica instead
(`client_messages`, before anything else here).

The override is one private method of the SDK's transport (`_handle_post_request`, SDK 2.3) and
reads a few of its attributes; the suites above fail loudly if a future SDK changes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types
from mcp.server.connection import Connection
from mcp.server.runner import ServerRunner, aclose_shielded
from mcp.server.streamable_http import (
    MCP_SESSION_ID_HEADER,
    REQUEST_CANCELLED,
    REQUEST_STREAM_BUFFER_SIZE,
    EventMessage,
    StreamableHTTPServerTransport,
)
from mcp.shared.dispatcher import CallOptions, as_request_id, coerce_request_id
from mcp.shared.exceptions import NoBackChannelError
from mcp.shared.jsonrpc_dispatcher import handler_exception_to_error_data
from mcp.shared.message import ServerMessageMetadata, SessionMessage
from mcp.shared.transport_context import TransportContext
from mcp_types import INTERNAL_ERROR, ErrorData, JSONRPCError, JSONRPCRequest, JSONRPCResponse, RequestId
from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive, Scope, Send

from ..errors import SERVER_ERROR
from ..identity.principal import from_scope
from ..observability.log import logger
from . import connection_state, wire_json
from .batches import BATCH_VERSION, batch_of, serve_batch
from .client_messages import CANCELLED, ClientMessages, Refused
from .invalid_messages import body_refusal, error, plain_message
from .streaming import may_stream

if TYPE_CHECKING:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

    from ..toolset.toolset import ToolSetHolder
    from .notify import Notifier

LEAN_METHODS = frozenset({"tools/call", "tools/list"})
_JSON_HEADERS = [(b"content-type", b"application/json")]


@dataclass
class _LeanDispatchContext:
    """The SDK's `DispatchContext` for one request answered with one JSON body.

    A JSON body carries only the response (the SDK's JSON mode says the same): no server→client
    request (`NoBackChannelError`, as `can_send_request` is False) and no request-scoped
    notification. `streaming.may_stream` sends every request that could need them to the SSE path.
    """

    transport: TransportContext
    request_id: RequestId
    message_metadata: ServerMessageMetadata
    cancel_requested: anyio.Event = field(default_factory=anyio.Event)
    can_send_request: bool = False

    async def send_raw_request(self, method: str, params: Mapping[str, Any] | None,
                               opts: CallOptions | None = None) -> dict[str, Any]:
        raise NoBackChannelError(method)

    async def notify(self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None) -> None:
        logger.debug("dropped %s: the request is answered with one JSON body", method)

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        return None  # no progress token, else the request would have gone the SSE way


@dataclass
class _Running:
    scope: anyio.CancelScope
    dctx: _LeanDispatchContext


class LeanPath:
    """What the lean answers need from the serving process: the server, its sessions' connections,
    the manager's lifespan state, and the requests being answered (for cancellation)."""

    def __init__(self, manager: StreamableHTTPSessionManager, holder: ToolSetHolder, notifier: Notifier) -> None:
        self.manager = manager
        self.holder = holder
        self.notifier = notifier
        self.enabled = True  # False: JSON-unless-streaming only, every request through the session task
        self._running: dict[tuple[str | None, RequestId], _Running] = {}
        # with shared state: a client's response or cancellation for a call another replica holds goes there
        self.messages: ClientMessages | None = None

    def adopt(self, transport: StreamableHTTPServerTransport) -> None:
        """Make a session's transport answer its POSTs the lean way (a class swap: the manager
        builds the transport itself, with no hook to choose its class)."""
        transport.__class__ = LeanTransport
        transport.lean = self  # type: ignore[attr-defined]

    def cancel(self, session_id: str | None, params: Any) -> None:
        """Apply a `notifications/cancelled` to a request answered here (others are the SDK's)."""
        request_id = as_request_id(params.get("requestId")) if isinstance(params, Mapping) else None
        running = None if request_id is None else self._running.get((session_id, coerce_request_id(request_id)))
        if running is not None:
            running.dctx.cancel_requested.set()
            running.scope.cancel()

    def running(self, session_id: str | None, request_id: RequestId) -> bool:
        """Whether the request `request_id` (coerced) of the session is being answered here."""
        return (session_id, request_id) in self._running

    async def answer(self, session_id: str | None, connection: Connection, request: Request,
                     message: dict[str, Any]) -> dict[str, Any]:
        """The JSON-RPC response object for one request, as the SDK's dispatcher would write it."""
        request_id: RequestId = message["id"]
        method: str = message["method"]
        dctx = _LeanDispatchContext(
            transport=TransportContext(kind="jsonrpc", can_send_request=False),
            request_id=request_id,
            message_metadata=ServerMessageMetadata(request_context=request, can_send_request=False),
        )
        key = (session_id, coerce_request_id(request_id))
        running = _Running(anyio.CancelScope(), dctx)
        self._running[key] = running
        try:
            with running.scope:
                try:
                    runner = connection_state.runner(connection, self.manager.app, self.manager._lifespan_state)
                    result = await runner.on_request(dctx, method, message.get("params"))
                finally:
                    if self._running.get(key) is running:
                        del self._running[key]
                if not dctx.cancel_requested.is_set():
                    return {"jsonrpc": "2.0", "id": request_id, "result": result}
        except Exception as exc:
            if not dctx.cancel_requested.is_set():
                error = handler_exception_to_error_data(exc)
                if error is None:
                    logger.exception("handler for %r raised", method)
                    error = ErrorData(code=0, message=str(exc))  # the SDK dispatcher's catch-all (v1 compat)
                return {"jsonrpc": "2.0", "id": request_id,
                        "error": error.model_dump(mode="json", by_alias=True, exclude_unset=True)}
        # Cancelled by the client: this era ends the request's answer with an error (the SDK's
        # `_terminate_unanswered_request` does the same on its path).
        return {"jsonrpc": "2.0", "id": request_id, "error": {"code": REQUEST_CANCELLED, "message": "Request cancelled"}}


class LeanTransport(StreamableHTTPServerTransport):
    """The SDK's session transport, answering each POSTed request as `LeanPath` describes."""

    lean: LeanPath

    async def _handle_post_request(self, scope: Scope, request: Request, receive: Receive, send: Send) -> None:
        # Content-Type and Accept were checked once, in front of everything the manager routes
        # (`post_headers.PostHeaderCheck`): a refused one never gets here.
        try:
            body = await request.body()  # it stays cached on `request` for the SDK
        except ClientDisconnect:  # gone (or cut off as too slow) before its body arrived: nobody to answer,
            return  # and no "Exception in ASGI application" traceback for a client's hang-up
        # Resumable streams are the SDK's; so is a body that is not one plain request or notification,
        # unless the SDK's adapter would refuse it with pydantic's report: then `invalid_messages`
        # answers 400 naming what is wrong (not JSON, not a request, a batch — each batched request
        # by its id). A malformed response from the client is left to the SDK, as before.
        if self.lean.messages is not None and await self._carried(request, body, send):
            return
        message = plain_jsonrpc(body) if self._event_store is None else None
        if message is None:
            if await self._served_batch(request, body, send):
                return
            refusal = body_refusal(body)
            if refusal is not None:
                await _send_json(refusal, send, HTTPStatus.BAD_REQUEST, self.mcp_session_id)
            else:
                await super()._handle_post_request(scope, request, receive, send)
            return
        method = message.get("method")
        if "id" not in message:  # a notification: the SDK acknowledges and delivers it
            if method == "notifications/cancelled":
                self.lean.cancel(self.mcp_session_id, message.get("params"))
            await super()._handle_post_request(scope, request, receive, send)
            return
        toolset = self.lean.holder.current
        if may_stream(method, message.get("params"), toolset):
            await super()._handle_post_request(scope, request, receive, send)
            return
        if method == "initialize":
            claimed = request.headers.get(MCP_SESSION_ID_HEADER)
            if claimed and claimed != self.mcp_session_id:  # the SDK answers that with 404
                await super()._handle_post_request(scope, request, receive, send)
                return
        elif not await self._validate_request_headers(request, send):
            return
        try:
            connection = self.lean.notifier.connection(self.mcp_session_id) if self.mcp_session_id else None
            if (self.lean.enabled and method in LEAN_METHODS and connection is not None
                    and connection.initialize_accepted):
                answer = await self.lean.answer(self.mcp_session_id, connection, request, message)
                await _send_json(wire_json.dumps(answer), send, session_id=self.mcp_session_id)
                return
            await self._answer_through_session(scope, request, send, message)
        except Exception:
            logger.exception("error handling POST request")
            response = self._create_error_response("Error handling POST request", HTTPStatus.INTERNAL_SERVER_ERROR,
                                                   INTERNAL_ERROR)
            await response(scope, receive, send)

    async def _carried(self, request: Request, body: bytes, send: Send) -> bool:
        """Hand a response or cancellation concerning a call another replica holds to that replica
        (`client_messages`) and answer 202, or the error saying why it could not be; False (nothing
        sent) for any other body, which is served here."""
        messages, session_id = self.lean.messages, self.mcp_session_id
        if messages is None or session_id is None or (b'"method"' in body and CANCELLED.encode() not in body):
            return False  # a request or a notification of another kind: the common case, not parsed twice
        try:
            message = wire_json.loads(body)
        except (ValueError, RecursionError):
            return False
        holder = messages.holder(session_id, message) if isinstance(message, dict) else None
        if holder is None:
            return False
        if not await self._validate_request_headers(request, send):
            return True
        try:
            await messages.carry(session_id, from_scope(request.scope), message, holder)
        except Refused as exc:
            await _send_json(wire_json.dumps(error(None, SERVER_ERROR, str(exc))), send, exc.status, session_id)
            return True
        await send({"type": "http.response.start", "status": HTTPStatus.ACCEPTED,
                    "headers": [(b"content-length", b"0"), (MCP_SESSION_ID_HEADER.encode(), session_id.encode())]})
        await send({"type": "http.response.body", "body": b""})
        return True

    async def _served_batch(self, request: Request, body: bytes, send: Send) -> bool:
        """Serve `body` when it is a batch of a session that negotiated 2025-03-26 (`batches.py`): one
        JSON array of answers, or 202 with no body when it held only notifications and responses.
        False (nothing sent) for anything else."""
        elements = batch_of(body) if self.mcp_session_id else None
        connection = self.lean.notifier.connection(self.mcp_session_id) if elements and self.mcp_session_id else None
        if connection is None or not connection.initialize_accepted or connection.protocol_version != BATCH_VERSION:
            return False
        if not await self._validate_request_headers(request, send):
            return True
        session_id, writer = self.mcp_session_id, self._read_stream_writer
        assert writer is not None, "connect() runs before any request is served"

        async def answer(message: dict[str, Any]) -> dict[str, Any]:
            if self.lean.enabled:
                return await self.lean.answer(session_id, connection, request, message)
            # MCPRT_HTTP_LEAN=0: through the session task, as every request then goes (`plain_message`
            # passed it as the SDK reads a request, so it parses)
            reply = await self._through_session(request, JSONRPCRequest.model_validate(message, by_name=False))
            if reply is None:
                return error(message["id"], INTERNAL_ERROR, "Session terminated before the request completed")
            return reply.model_dump(mode="json", by_alias=True, exclude_unset=True)

        async def deliver(message: dict[str, Any]) -> None:
            if message.get("method") == "notifications/cancelled":
                self.lean.cancel(session_id, message.get("params"))
            try:
                parsed = types.jsonrpc_message_adapter.validate_python(message, by_name=False)
            except ValidationError:  # a notification the SDK would refuse alone too: nothing to answer
                logger.debug("dropped a batched message the SDK does not take")
                return
            await writer.send(SessionMessage(parsed, metadata=self._message_metadata(request)))

        answers = await serve_batch(elements, answer, deliver)
        if answers is not None:
            await _send_json(answers, send, session_id=session_id)
        else:
            await send({"type": "http.response.start", "status": HTTPStatus.ACCEPTED,
                        "headers": [(b"content-length", b"0"), (MCP_SESSION_ID_HEADER.encode(), session_id.encode())]})
            await send({"type": "http.response.body", "body": b""})
        return True

    async def _answer_through_session(self, scope: Scope, request: Request, send: Send,
                                      message: dict[str, Any]) -> None:
        """The SDK's JSON-mode answer, chosen per request: through the session task, one JSON body."""
        try:
            parsed = JSONRPCRequest.model_validate(message, by_name=False)
        except ValidationError:  # the SDK answers a malformed envelope with its 400
            await super()._handle_post_request(scope, request, request.receive, send)
            return
        answer = await self._through_session(request, parsed)
        if answer is None:
            response = self._create_error_response("Session terminated before the request completed",
                                                   HTTPStatus.INTERNAL_SERVER_ERROR, INTERNAL_ERROR)
        else:
            response = self._create_json_response(answer)
        await response(scope, request.receive, send)

    async def _through_session(self, request: Request, parsed: JSONRPCRequest) -> JSONRPCResponse | JSONRPCError | None:
        """`parsed`'s answer from the session task (None: the session ended first)."""
        writer = self._read_stream_writer
        assert writer is not None, "connect() runs before any request is served"
        request_id = str(parsed.id)
        self._request_streams[request_id] = anyio.create_memory_object_stream[EventMessage](REQUEST_STREAM_BUFFER_SIZE)
        reader = self._request_streams[request_id][1]
        metadata = ServerMessageMetadata(
            request_context=request,
            on_request_unanswered=partial(self._terminate_unanswered_request, parsed.id),
            can_send_request=False,
        )
        await writer.send(SessionMessage(parsed, metadata=metadata))
        try:
            while True:
                event = await reader.receive()
                if isinstance(event.message, JSONRPCResponse | JSONRPCError):
                    return event.message
                # Request-scoped notifications have no wire in one JSON body (as in the SDK's JSON mode).
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            return None
        finally:
            await self._clean_up_memory_streams(request_id)


async def _send_json(body: bytes, send: Send, status: int = HTTPStatus.OK, session_id: str | None = None) -> None:
    """Send `body` (JSON) as the whole response, with `Mcp-Session-Id` when the request has a session."""
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    if session_id:
        headers.append((MCP_SESSION_ID_HEADER.encode(), session_id.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Replay:
    """A request's `receive`, giving back the first message once (it was read ahead, to route)."""

    __slots__ = ("_first", "_receive")

    def __init__(self, first: Message, receive: Receive) -> None:
        self._first: Message | None = first
        self._receive = receive

    async def __call__(self) -> Message:
        first, self._first = self._first, None
        return first if first is not None else await self._receive()


async def serve_one(app: Any, dctx: Any, method: str, params: Mapping[str, Any] | None, connection: Connection,
                    lifespan_state: Any) -> dict[str, Any]:
    """The SDK's `serve_one` for a born-ready 2026-07-28 `Connection` (both lean paths of that era),
    unwinding the connection's exit stack only when something was put on it: the shielded,
    time-bounded unwind of an empty stack (a cancel scope, a backend look-up) costs a few per cent
    of a call."""
    try:
        return await ServerRunner(app, connection, lifespan_state).on_request(dctx, method, params)
    finally:
        if connection.exit_stack._exit_callbacks:  # type: ignore[attr-defined]  # a deque in contextlib
            await aclose_shielded(connection)


class _JsonAnswers:
    """The session manager as seen by one stateless request that cannot stream: the same in every
    respect but `json_response` (the SDK reads it when it builds that request's transport)."""

    json_response = True

    def __init__(self, manager: StreamableHTTPSessionManager) -> None:
        self._manager = manager

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)


def answer_stateless_in_json(manager: StreamableHTTPSessionManager, holder: ToolSetHolder) -> None:
    """Stateless HTTP (`--stateless`), handshake era: a POSTed request that cannot stream
    (`streaming.may_stream`) is answered with one JSON body, the others with SSE as before.

    A stateless request gets a transport of its own, built from the manager's `json_response`;
    this routes each request to the manager's own stateless handler with that one setting
    chosen for it (2026-07-28 requests keep the SDK's entry, which already answers in JSON unless
    the handler emits something first). The body is read here once and handed on unchanged.
    """
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from mcp.server.transport_security import RequestBodyLimitMiddleware
    from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

    if not manager.stateless or manager.json_response:
        return
    inner = manager._handle_request
    as_json = _JsonAnswers(manager)
    version_header = MCP_PROTOCOL_VERSION_HEADER.lower().encode("latin-1")

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        version = next((v.decode("latin-1") for k, v in scope["headers"] if k == version_header), None)
        if scope.get("method") != "POST" or manager._task_group is None or (
                version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS):
            await inner(scope, receive, send)
            return
        first = await receive()
        replay = Replay(first, receive)
        # its Content-Type and Accept: checked once, in front (`post_headers.PostHeaderCheck`)
        whole = first["type"] == "http.request" and not first.get("more_body")
        body = first.get("body", b"")
        message = plain_jsonrpc(body) if whole else None  # one parse for the common, valid request
        if message is None and whole:
            refusal = body_refusal(body)  # not JSON, not a request, a batch (invalid_messages)
            if refusal is not None:
                await _send_json(refusal, send, HTTPStatus.BAD_REQUEST)
                return
        if message is None or "id" not in message or may_stream(message["method"], message.get("params"),
                                                                 holder.current):
            await inner(scope, replay, send)
            return
        await StreamableHTTPSessionManager._handle_stateless_request(as_json, version, scope, replay, send)  # type: ignore[arg-type]

    manager.asgi_app = RequestBodyLimitMiddleware(route, manager.max_request_body_size)


def plain_jsonrpc(text: bytes | str) -> dict[str, Any] | None:
    """`text` as one plain JSON-RPC 2.0 request or notification (`invalid_messages.plain_message`),
    else None (then the SDK takes it). Used by both lean paths (streamable HTTP here, stdio in
    `stdio_lean.py`)."""
    try:
        message = wire_json.loads(text)  # type: ignore[arg-type]  # pydantic_core reads str too
    except (ValueError, RecursionError):
        return None
    return plain_message(message)
