"""The 2026-07-28 POST path: `tools/call` and `tools/list` answered in the request's own task.

A 2026-07-28 request is self-contained: one POST, its protocol version, client info and
capabilities in `params._meta`, routing headers that repeat them (`MCP-Protocol-Version`,
`Mcp-Method`, `Mcp-Name`), no session (MCP 2026-07-28, basic/transports "Streamable HTTP").
The SDK's entry for it (`handle_modern_request`) answers in SSE mode by running the handler as a
sibling task in a task group, with a memory stream for notifications, a task watching for the
client's disconnect and a timer that commits to `text/event-stream` after 15 s of silence, and
writes the answer with pydantic and `json.dumps`. For a request whose answer can carry nothing
before the result (`streaming.may_stream` is false: no progress token, a tool that sends nothing
back) all of that is plumbing. Here such a request is answered in the request's task:

- every check before dispatch is the SDK's own and in its order (Content-Type and Accept as
  `post_headers` reads them, which answered any refused one already; the JSON-RPC envelope, duplicated routing headers, the envelope/header ladder
  `classify_inbound_request`, `Mcp-Param-*` headers against the tool's input schema); a request
  that fails any of them, or is anything but one plain request, is handed to the SDK's entry
  unchanged (body replayed), which writes the refusal it always writes;
- the request runs through the SDK's request kernel (as `serve_one` runs it: a born-ready
  `Connection` from the envelope, method/params validation, middleware, the handler, the
  per-version result sieve, the `serverInfo` stamp, the connection's exit stack unwound when
  anything is on it), with the same dispatch context the SDK's JSON mode uses;
- errors map as the SDK maps them (`modern_error_data`) with the HTTP status its table gives
  (`ERROR_CODE_HTTP_STATUS`);
- cancellation in this era is the client closing the response stream: a watcher task waits
  for `http.disconnect` and cancels the request (as the SDK's SSE mode does), started once the
  call has run 50 ms (most calls end sooner; a timer is cheaper than a task per call);
- the answer is one `application/json` body written once by orjson (`wire_json`).

What differs from the SDK's SSE mode is only the framing choice for long calls: a call silent
for more than 15 s is still answered with JSON (the SDK would switch to SSE to send keep-alive
pings), as the SDK's own JSON mode (`--json-response`) answers. `MCPRT_HTTP_LEAN=0` turns the
path off.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server._streamable_http_modern import _mcp_param_rejection, _SingleExchangeDispatchContext
from mcp.server.connection import Connection
from mcp.server.runner import modern_error_data
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    MCP_PROTOCOL_VERSION_HEADER,
    InboundLadderRejection,
    classify_inbound_request,
    find_duplicated_routing_header,
)
from mcp.shared.message import ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from mcp_types import JSONRPCRequest
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import wire_json
from .lean import Replay, serve_one
from .streaming import may_stream

if TYPE_CHECKING:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

    from ..toolset.toolset import ToolSetHolder

LEAN_METHODS = frozenset({"tools/call", "tools/list"})
_VERSION_HEADER = MCP_PROTOCOL_VERSION_HEADER.lower().encode("latin-1")
_JSON = b"application/json"


def answer_modern_lean(manager: StreamableHTTPSessionManager, holder: ToolSetHolder) -> None:
    """Route 2026-07-28 `tools/call`/`tools/list` POSTs that cannot stream to `ModernLean`.

    Sits inside the manager's request-body limit (the body it sees is whole and bounded), in
    front of whatever the manager routes to (the SDK's dispatch, or the stateless handshake-era
    router of `lean.answer_stateless_in_json`).
    """
    limited = manager.asgi_app
    limited.app = ModernLean(manager, holder, limited.app)  # type: ignore[attr-defined]


class ModernLean:
    """The ASGI router and the lean answer (see the module docstring)."""

    def __init__(self, manager: StreamableHTTPSessionManager, holder: ToolSetHolder, inner: ASGIApp) -> None:
        self.manager = manager
        self.holder = holder
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        version = _version_header(scope)
        if scope.get("method") != "POST" or version is None or version in HANDSHAKE_PROTOCOL_VERSIONS:
            await self.inner(scope, receive, send)
            return
        first = await receive()
        replay = Replay(first, receive)
        message = _plain_request(first)
        if message is None or not await self._answer(scope, replay, send, message):
            await self.inner(scope, replay, send)

    async def _answer(self, scope: Scope, receive: Replay, send: Send, decoded: dict[str, Any]) -> bool:
        """Answer `decoded` here; False (nothing sent) when the SDK's entry must answer instead."""
        method = decoded.get("method")
        if method not in LEAN_METHODS or may_stream(method, decoded.get("params"), self.holder.current):
            return False
        request = Request(scope, receive)
        try:
            req = JSONRPCRequest.model_validate(decoded)
        except ValidationError:
            return False
        if find_duplicated_routing_header(request.headers.items()) is not None:
            return False
        verdict = classify_inbound_request(decoded, headers=dict(request.headers))
        if isinstance(verdict, InboundLadderRejection):
            return False
        app = self.manager.app
        lifespan_state = self.manager._lifespan_state
        if await _mcp_param_rejection(app, request, req, verdict, lifespan_state) is not None:
            return False
        connection = Connection.from_envelope(verdict.protocol_version, verdict.client_info,
                                              verdict.client_capabilities)
        dctx = _SingleExchangeDispatchContext(
            transport=TransportContext(kind="streamable-http", can_send_request=False, headers=request.headers),
            request_id=req.id,
            message_metadata=ServerMessageMetadata(request_context=request),
        )  # no sink and no progress token: nothing can precede the result (may_stream said so)
        cancel = anyio.CancelScope()
        watch = _DisconnectWatch(receive, cancel)
        answer: dict[str, Any] | None = None
        status = 200
        try:
            with cancel:
                try:
                    result = await serve_one(app, dctx, req.method, req.params, connection, lifespan_state)
                    answer = {"jsonrpc": "2.0", "id": req.id, "result": result}
                except Exception as exc:
                    error = modern_error_data(exc)
                    status = ERROR_CODE_HTTP_STATUS.get(error.code, 200)
                    answer = {"jsonrpc": "2.0", "id": req.id,
                              "error": error.model_dump(mode="json", by_alias=True, exclude_none=True)}
        finally:
            watch.stop()
        if answer is None:  # the client went away: nobody to answer (as on the SDK's SSE path)
            return True
        body = wire_json.dumps(answer)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", _JSON), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        return True


class _DisconnectWatch:
    """Cancels `scope` when the client closes the connection (this era's cancellation).

    The watching task starts only once the call has run `WATCH_AFTER` seconds: most calls end
    sooner, and a timer costs a fraction of a task that must be started and cancelled on every
    call. A client that goes away earlier is noticed then, the call cancelled at most that late.
    """

    WATCH_AFTER = 0.05  # seconds

    __slots__ = ("_receive", "_scope", "_timer", "_task")

    def __init__(self, receive: Receive, scope: anyio.CancelScope) -> None:
        self._receive = receive
        self._scope = scope
        self._task: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(self.WATCH_AFTER, self._start)

    def _start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self._scope.cancel()

    def stop(self) -> None:
        self._timer.cancel()
        if self._task is not None:
            self._task.cancel()


def _version_header(scope: Scope) -> str | None:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == _VERSION_HEADER), None)


def _plain_request(first: Message) -> dict[str, Any] | None:
    """The whole body as one JSON object with an `id`, parsed as the SDK's entry parses it
    (`json.loads`), or None."""
    if first.get("type") != "http.request" or first.get("more_body"):
        return None
    try:
        decoded = json.loads(first.get("body", b""))
    except (ValueError, RecursionError):
        return None
    return decoded if isinstance(decoded, dict) and "id" in decoded else None
