"""The stdio per-call path: `tools/call` and `tools/list` answered beside the SDK's session, not through it.

The SDK serves stdio as one session task: every line is parsed into a pydantic message, sent through
a memory stream to the dispatcher, routed, handled, and the answer goes back through another memory
stream and pydantic serialization. `StdioLean` reads the client's lines itself (after `early`'s
hand-over: its replayed lines first) and, for the two per-call methods, skips that plumbing:

- **`tools/call` and `tools/list`** that cannot stream (`streaming.may_stream`: no progress token,
  no tool that may send requests back) on a session whose protocol era is known: answered in a task
  of their own through the SDK's own request kernel (`ServerRunner.on_request`: method and params
  validation, the server's middleware — observability, session tracking, the cached listing —, the
  handler, the per-version result sieve), written once by orjson (`wire_json`);
  - handshake era (2024-11-05 … 2025-11-25): on the session's own `Connection` (the one the SDK
    built at `initialize`, tracked by `notify.SessionTracker`), once the SDK accepted `initialize`;
    before that, every request is the SDK's, so it answers them exactly as it always did;
  - 2026-07-28: per request, as the SDK's modern stream does (`classify_inbound_request`, a
    born-ready `Connection.from_envelope`, `serve_one`); a request whose envelope the ladder
    refuses is the SDK's to refuse;
- **a batch of a session that negotiated 2025-03-26** (the one version with batches): each request
  answered through the same kernel, the answers in one array on one line (`batches.py`);
- **lines the SDK would drop without a word** (not JSON, not a JSON-RPC 2.0 request, another
  version's batch): answered -32700 / -32600 here (`invalid_messages`), so a client never waits for
  an answer that cannot come; with `MCPRT_STDIO_LEAN=0` they are the SDK's again (dropped);
- **everything else** (initialize, notifications, responses to server→client requests, other
  methods, requests that may stream, lines that are not one plain JSON-RPC request, requests of the
  other era): handed to the SDK's session unchanged and in the order read.

Kept as on the SDK's path (and tested against it with `MCPRT_STDIO_LEAN=0`): answers to concurrent
calls in any order, each id answered once; `notifications/cancelled` stops a lean call and it is not
answered (the SDK's stdio dispatcher does the same; MCP 2025-06-18 basic/utilities/cancellation:
receivers SHOULD "not send a response for the cancelled request"; on stdio the notification is the
only way to cancel, 2026-07-28 basic/patterns/cancellation), and the notification is still handed
to the SDK; errors mapped as the SDK's dispatcher maps them (`MCPError` → its code, invalid
params → -32602 with empty data, anything else code 0; the modern era's catch-all is -32603); at stdin's
EOF the calls running get a grace to finish and be answered (`stdio.finish_at_eof`), those still running then answered `-32000 Connection closed: …
may or may not have acted …` on both paths (`stdio.finish_at_eof`), the rest cancelled as the SDK does; the principal
is `STDIO` (no request object, as on the SDK's stdio path). `MCPRT_STDIO_LEAN=0` turns this off.

The era is decided as the SDK decides it (`runner.serve_dual_era_loop`): by the client's first
request — the 2026-07-28 envelope on anything but `initialize` opens a modern session, anything
else a handshake one. A first request this module cannot classify as surely as the SDK (not a plain
request object) leaves the whole session to the SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.connection import Connection, NotifyOnlyOutbound
from mcp.server.runner import modern_error_data
from mcp.shared.dispatcher import CallOptions, as_request_id, coerce_request_id
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import InboundLadderRejection, classify_inbound_request
from mcp.shared.jsonrpc_dispatcher import handler_exception_to_error_data
from mcp.shared.transport_context import TransportContext
from mcp_types import CONNECTION_CLOSED, PROTOCOL_VERSION_META_KEY, ErrorData, RequestId
from pydantic import ValidationError

from ..observability.log import logger
from . import connection_state, wire_json
from .lean import LEAN_METHODS, _LeanDispatchContext, plain_jsonrpc, serve_one
from .batches import BATCH_VERSION, batch_of, serve_batch
from .invalid_messages import BATCH, refuse_batch, refusals
from .notify import STDIO_KEY
from .streaming import may_stream

if TYPE_CHECKING:
    from .app import McprtServer
    from .notify import Notifier
    from .stdio import StdioWire

LEGACY, MODERN, UNKNOWN = "handshake", "modern", "unknown"
_TRANSPORT = TransportContext(kind="jsonrpc", can_send_request=False)  # immutable: one for every lean request
_EOF = None
HANDSHAKE_WAIT = 5.0  # seconds a batch waits for the SDK to take the early phase's handshake over


@dataclass
class _StdioDispatchContext(_LeanDispatchContext):
    """One lean request's `DispatchContext` on stdio: no server→client requests (only calls that
    cannot make any come here), but notifications ride the pipe, as on the SDK's stdio path, until
    the handler returned."""

    lane: StdioLean | None = None
    closed: bool = False

    async def notify(self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None) -> None:
        if self.closed or self.lane is None:
            logger.debug("dropped %s: the request was answered", method)
            return
        await self.lane.notify(method, params)


@dataclass
class _Running:
    dctx: _StdioDispatchContext
    scope: anyio.CancelScope
    task: asyncio.Task[None] | None = None
    answer_started: bool = False


class _PipeOutbound:
    """The connection-scoped channel of a modern session (wrapped in the SDK's `NotifyOnlyOutbound`,
    which refuses server→client requests and drops change notifications, as on the SDK's path)."""

    def __init__(self, lane: StdioLean) -> None:
        self._lane = lane

    async def send_raw_request(self, method: str, params: Mapping[str, Any] | None,
                               opts: CallOptions | None = None) -> dict[str, Any]:
        raise AssertionError("unreachable: NotifyOnlyOutbound refuses requests")  # pragma: no cover

    async def notify(self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None) -> None:
        await self._lane.notify(method, params)


class StdioLean:
    """Reads the wire, answers the per-call methods, hands the rest to the SDK (module docstring).

    `sdk_lines()` is what the SDK's `stdio_server(stdin=…)` reads; `pump()` runs until stdin ends,
    then ends the calls still in flight (each answered `-32000 Connection closed`, `stdio.finish_at_eof`).
    """

    def __init__(self, server: McprtServer, notifier: Notifier, wire: StdioWire, lifespan_state: Any) -> None:
        assert server.holder is not None, "build_server gives the server its holder"
        self.server = server
        self.holder = server.holder
        self.notifier = notifier
        self.wire = wire
        self.lifespan_state = lifespan_state
        self.era: str | None = None  # decided by the first request, as the SDK decides it
        self._to_sdk: asyncio.Queue[str | None] = asyncio.Queue()
        self._running: dict[RequestId, _Running] = {}
        self._closing = False  # stdin ended: a request starting now (a batch's next) is cancelled at once
        self._tasks: set[asyncio.Task[None]] = set()
        self._connection: Connection | None = None  # the handshake-era session's, once its handshake is in
        self._modern_outbound = NotifyOnlyOutbound(_PipeOutbound(self))
        # anyio's Event() and CancelScope() look the running backend up (sniffio) on every call: several
        # per cent of the server's CPU per call; the backend's own classes, taken once, build the same objects.
        self._new_event: Callable[[], anyio.Event] = type(anyio.Event())
        self._new_scope: Callable[[], anyio.CancelScope] = type(anyio.CancelScope())
        self.answered = 0  # requests answered here (for tests and the debug log)

    # --- the SDK's side ----------------------------------------------------------------------

    async def sdk_lines(self) -> AsyncIterator[str]:
        """The lines the SDK reads: everything `pump()` does not answer, in the order read."""
        while True:
            line = await self._to_sdk.get()
            if line is _EOF:
                return
            yield line

    # --- reading -----------------------------------------------------------------------------

    async def pump(self) -> None:
        """Route every line of the wire until stdin ends; then end the SDK's input and the calls here."""
        try:
            async for line in self.wire.sdk_stdin():
                self.route(line)
            if self.wire.lines.client_closed:  # the client's EOF, not a stop: ready answers are written first
                from .stdio import finish_at_eof

                await finish_at_eof(self.wire, lambda: len(self._tasks))
        finally:
            self._to_sdk.put_nowait(_EOF)
            await self.shutdown()

    def route(self, line: str) -> None:
        """Answer `line` here or hand it to the SDK; never awaits, so the SDK's order is the wire's."""
        message = plain_jsonrpc(line)
        if message is None:
            elements = batch_of(line) if self.era == LEGACY else None
            if elements is not None:  # perhaps a 2025-03-26 session's: decided once its handshake is in
                self._spawn(self._batch(elements))
                return
            refused = refusals(line)  # what the SDK would drop without a word (invalid_messages.py)
            if refused is not None:
                self._refuse(*refused)
                return
            if self.era is None and _looks_like_request(line):
                self.era = UNKNOWN  # a first request the SDK may judge otherwise: the session is the SDK's
            self._to_sdk.put_nowait(line)
            return
        method = message["method"]
        if "id" not in message:
            if method == "notifications/cancelled":
                self.cancel(message.get("params"))
            self._to_sdk.put_nowait(line)  # the SDK sees every notification, as without this path
            return
        params = message.get("params")
        modern = _has_envelope(params)
        if self.era is None:
            self.era = MODERN if modern and method != "initialize" else LEGACY
        if method in LEAN_METHODS and self._lean_ok(modern) and not may_stream(method, params, self.holder.current):
            self._start(message)
            return
        self.wire.expect(message["id"])  # answered by the SDK: awaited at stdin's end (stdio.finish_at_eof)
        self._to_sdk.put_nowait(line)

    def _lean_ok(self, modern: bool) -> bool:
        if self.era == MODERN:
            return modern
        if self.era != LEGACY or modern:  # the SDK refuses an enveloped request on a handshake session
            return False
        connection = self.notifier.connection(STDIO_KEY)
        if connection is None or not connection.initialize_accepted:
            return False  # before the handshake completed: the SDK decides, as it always did
        self._connection = connection
        return True

    # --- answering ---------------------------------------------------------------------------

    def _refuse(self, answers: list[dict[str, Any]], batch: bool = False) -> None:
        """Write the error answers to a line that is not a JSON-RPC request the SDK would serve: a
        batch's as one array on one line (JSON-RPC 2.0 §6), even for a one-request batch."""
        logger.warning("stdio: refused a message that is not a JSON-RPC 2.0 request (%s)",
                       ", ".join(str(answer["error"]["code"]) for answer in answers) or "a malformed response")
        if not answers:
            return
        data = wire_json.dumps(answers) + b"\n" if batch else b"".join(
            wire_json.dumps(answer) + b"\n" for answer in answers)
        self._spawn(self.wire.send(data))

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.get_running_loop().create_task(work)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _batch(self, elements: list[Any]) -> None:
        """A batch of a handshake session: served when the session negotiated 2025-03-26 (`batches.py`;
        its answers on one line), else refused as `invalid_messages` refuses batches. The handshake the
        early phase answered may still be on its way through the SDK: waited for, briefly."""
        with anyio.move_on_after(HANDSHAKE_WAIT):
            while not self._lean_ok(False):
                await self.notifier.tracked(STDIO_KEY)
        connection = self.notifier.connection(STDIO_KEY)
        if not self._lean_ok(False) or connection is None or connection.protocol_version != BATCH_VERSION:
            self._refuse(refuse_batch(elements, BATCH), batch=True)
            return

        async def deliver(message: dict[str, Any]) -> None:
            if message.get("method") == "notifications/cancelled":
                self.cancel(message.get("params"))
            self._to_sdk.put_nowait(wire_json.dumps(message).decode())  # as if it came alone

        answers = await serve_batch(elements, self._answer_batched, deliver)
        if answers is not None:
            await self.wire.send(answers + b"\n")

    async def _answer_batched(self, message: dict[str, Any]) -> dict[str, Any] | None:
        """One batched request's response object (None: the client cancelled it): through the kernel
        as a lean call, in flight like one (`cancel`, and `-32000 Connection closed` at stdin's end)."""
        answer = await self._run(message, self._track(message))
        self.answered += answer is not None
        return answer

    def _start(self, message: dict[str, Any]) -> None:
        running = self._track(message)
        running.task = asyncio.get_running_loop().create_task(self._answer(message, running))
        self._tasks.add(running.task)
        running.task.add_done_callback(self._tasks.discard)

    def _track(self, message: dict[str, Any]) -> _Running:
        """A request in flight (`_running`, by its id), for `cancel` and `shutdown`."""
        request_id: RequestId = message["id"]
        dctx = _StdioDispatchContext(
            transport=_TRANSPORT,
            request_id=request_id,
            message_metadata=None,  # as on the SDK's stdio path: no request object, so the principal is STDIO
            cancel_requested=self._new_event(),
            lane=self,
        )
        running = _Running(dctx, self._new_scope())
        if self._closing:
            running.scope.cancel()
        # Duplicate ids in flight: the newer one is the one a cancel names (the SDK overwrites too).
        self._running[coerce_request_id(request_id)] = running
        return running

    async def _answer(self, message: dict[str, Any], running: _Running) -> None:
        answer = await self._run(message, running)
        if answer is None:
            return  # the client cancelled it: no answer (MCP basic/utilities/cancellation)
        self.answered += 1
        await self.wire.send(wire_json.dumps(answer) + b"\n")

    async def _run(self, message: dict[str, Any], running: _Running) -> dict[str, Any] | None:
        """The response object of a tracked request; `-32000 Connection closed` when shut down
        unanswered; None when the client cancelled it."""
        request_id: RequestId = message["id"]
        key = coerce_request_id(request_id)
        dctx = running.dctx
        answer: dict[str, Any] | None = None
        try:
            with running.scope:
                try:
                    answer = await self._response(dctx, message)
                finally:
                    dctx.closed = True
                    if self._running.get(key) is running:  # identity: a newer call may reuse the id
                        del self._running[key]
        finally:
            if answer is None and not dctx.cancel_requested.is_set():  # shut down with the call unanswered
                answer = {"jsonrpc": "2.0", "id": request_id,
                          "error": {"code": CONNECTION_CLOSED, "message": "Connection closed"}}
        if dctx.cancel_requested.is_set():
            return None
        running.answer_started = True
        return answer

    async def _response(self, dctx: _StdioDispatchContext, message: dict[str, Any]) -> dict[str, Any]:
        """The JSON-RPC response object for `message`, errors mapped as the SDK's dispatcher maps them."""
        request_id: RequestId = message["id"]
        try:
            result = await self._handle(dctx, message["method"], message.get("params"))
            return {"jsonrpc": "2.0", "id": request_id, "result": result}
        except Exception as exc:
            error = handler_exception_to_error_data(exc)
            if error is None:
                logger.exception("handler for %r raised", message["method"])
                error = ErrorData(code=0, message=str(exc))  # the SDK dispatcher's catch-all (v1 compat)
            return {"jsonrpc": "2.0", "id": request_id,
                    "error": error.model_dump(mode="json", by_alias=True, exclude_unset=True)}

    async def _handle(self, dctx: _StdioDispatchContext, method: str, params: Mapping[str, Any] | None) -> Any:
        if self.era == LEGACY:
            assert self._connection is not None
            runner = connection_state.runner(self._connection, self.server, self.lifespan_state)
            return await runner.on_request(dctx, method, params)
        # The modern stream's request path (runner._serve_modern_stream), for a request whose envelope
        # passed the ladder (`_lean_ok`); a refused envelope never comes here.
        route = classify_inbound_request({"method": method, "params": params})
        if isinstance(route, InboundLadderRejection):
            raise MCPError(code=route.code, message=route.message, data=route.data)
        connection = Connection.from_envelope(route.protocol_version, route.client_info, route.client_capabilities,
                                              outbound=self._modern_outbound)
        try:
            return await serve_one(self.server, dctx, method, params, connection, self.lifespan_state)
        except (MCPError, ValidationError):
            raise
        except Exception as exc:
            error = modern_error_data(exc)
            raise MCPError(code=error.code, message=error.message, data=error.data) from exc

    async def notify(self, method: str, params: Mapping[str, Any] | None) -> None:
        """Write one notification (a lean call's log message, a modern session's channel)."""
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = dict(params)
        await self.wire.send(wire_json.dumps(message) + b"\n")

    # --- cancelling and stopping -------------------------------------------------------------

    def cancel(self, params: Any) -> None:
        """Apply a `notifications/cancelled` to a call answered here (others are the SDK's)."""
        request_id = as_request_id(params.get("requestId")) if isinstance(params, Mapping) else None
        if request_id is not None:
            self.wire.cancelled(request_id)  # the SDK's too: a cancelled request is not answered
        running = None if request_id is None else self._running.get(coerce_request_id(request_id))
        if running is not None and not running.answer_started:
            running.dctx.cancel_requested.set()
            running.scope.cancel()

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel the calls in flight (each is answered `-32000 Connection closed`, as the SDK's
        dispatcher answers its own at EOF) and wait for their answers to be written (bounded)."""
        self._closing = True
        for running in list(self._running.values()):
            running.scope.cancel()
        tasks = list(self._tasks)  # also those answered but still writing
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            logger.warning("%d stdio calls did not stop within %.0f s of stdin's end", len(pending), timeout)


def _looks_like_request(line: str) -> bool:
    """A line that may carry a request id (cheap: only consulted before the era is known)."""
    return '"id"' in line


def _has_envelope(params: Any) -> bool:
    """The 2026-07-28 envelope marker (`params._meta` carries the protocol version key), as the SDK tests it."""
    if not isinstance(params, Mapping):
        return False
    meta = params.get("_meta")
    return isinstance(meta, Mapping) and PROTOCOL_VERSION_META_KEY in meta

