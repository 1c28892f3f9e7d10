"""The one place a proxied server's messages are checked before the SDK's client reads them.

`vetted(transport, source, log)` wraps a transport (stdio or streamable HTTP: an async context
manager yielding the SDK's (read, write) streams). It notes each request going out (id → method and
protocol version) and reads each message coming in:
  - a list result (`tools/list`, `resources/list`, `resources/templates/list`, `prompts/list`) loses
    its malformed items (wellformed.py), so one bad item never fails the listing and with it the
    source; the SDK's own re-listings (e.g. before checking a call's structured content) get the
    same, since they pass here too;
  - a `tools/call` result keeps its usable part or becomes a tool error saying what was wrong;
  - a malformed `resources/read`, `prompts/get` or `completion/complete` answer fails that request
    with a one-line reason (there is no usable part to keep);
  - a notification whose params do not validate, and a response to no request of ours, are dropped;
  - every notification's params, and every error's message and data, lose mcprt's configured secrets
    (`SECRETS.scrub_prose`: log data and logger, progress and status messages), whatever carries them on
    (the session, a task's status, mcprt's own log), so a secret the server (or an API it calls) echoes
    reaches none of them — also when a check below fails (`_VettedRead`: fail closed). Results are
    scrubbed where they are used (`scrub_upstream`, the listings), after the checks below; questions
    (elicitation, sampling) where both eras' pass, a handshake-era request and the `inputRequests` of a
    2026-07-28 `InputRequiredResult` result alike (relay.py `Relay._relay`).
Each problem is logged once, as a warning naming the source, the item and what is wrong; nothing
else is lost. Messages that are not JSON at all are dropped by the transport (stdio.py), which also
turns an answer with a readable `id` but a malformed envelope into an error for that request.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Self

import anyio
import mcp_types as types
from mcp_types import methods as protocol
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from ...scrubbing import SECRETS
from .lost import Link
from .wellformed import ANSWERS, LISTS, Complain, MalformedPage, result_problem, shown, vet_call_result, vet_listing

PROTOCOL_VERSION_META = "io.modelcontextprotocol/protocolVersion"  # 2026-07-28 stamps it on every request
_MAX_PENDING = 10_000  # requests remembered while unanswered (a timed-out one may never be)
_SDK_PARSE_FAILURES = ("Failed to parse JSON response", "Failed to parse SSE message")
NOT_A_RESPONSE = "the server's answer was not a valid JSON-RPC response (its `result` must be an object)"
# The end of stdio.py's stand-in answer for a message over MCPRT_MAX_MESSAGE_BYTES: like NOT_A_RESPONSE, an
# error mcprt made in the server's place (a tool error for the model), never one the server sent to relay.
OVERSIZED = "bytes per message (MCPRT_MAX_MESSAGE_BYTES); ask for less"


def is_stand_in(code: int, message: str) -> bool:
    """Whether an error answer is one mcprt made in the server's place (a malformed or oversized answer) rather
    than the server's own JSON-RPC error (which is relayed as sent, `server/upstream_errors.py`)."""
    return code == types.INTERNAL_ERROR and (message == NOT_A_RESPONSE or message.endswith(OVERSIZED))


def _without_sdk_parse_traceback(record: logging.LogRecord) -> bool:
    """The SDK's HTTP transport logs a failed parse with pydantic's whole report and a traceback;
    `Vetter.incoming` logs it once, in one line naming the source."""
    return not (record.name == "mcp.client.streamable_http"
                and record.getMessage() in ("Error parsing JSON response", "Error parsing SSE message"))


logging.getLogger("mcp.client.streamable_http").addFilter(_without_sdk_parse_traceback)


def complainer(source: str, log: logging.Logger) -> Complain:
    """How a proxied server's problems are reported: one warning `source NAME: text` on `log`."""
    def complain(text: str) -> None:
        log.warning("source %s: %s", source, text)

    return complain


def _scrubbed(message: SessionMessage) -> SessionMessage:
    """`message` without configured secrets in a notification's params or an error's message and data
    (module docstring); a result or a request as it is. The same object when nothing is found."""
    inner = message.message
    if not SECRETS or isinstance(inner, types.JSONRPCResponse):
        return message
    if isinstance(inner, types.JSONRPCError):
        sent = inner.error.model_dump(by_alias=True, exclude_none=True)
        error = SECRETS.scrub_prose(sent)
        if error is sent:
            return message
        inner = types.JSONRPCError(jsonrpc="2.0", id=inner.id, error=types.ErrorData.model_validate(error))
    elif isinstance(inner, types.JSONRPCNotification):
        params = SECRETS.scrub_prose(inner.params)
        if params is inner.params:
            return message
        inner = inner.model_copy(update={"params": params})
    else:
        return message
    return SessionMessage(inner, metadata=message.metadata)


class Vetter:
    """Per connection: the requests in flight, and the checks on what comes back."""

    def __init__(self, source: str, log: logging.Logger) -> None:
        self.source = source
        self.log = log
        self.complain = complainer(source, log)
        self.version: str | None = None  # from the initialize answer (handshake era)
        self._pending: OrderedDict[Any, tuple[str, str | None]] = OrderedDict()

    def outgoing(self, message: SessionMessage) -> None:
        request = message.message
        if not isinstance(request, types.JSONRPCRequest):
            return
        meta = (request.params or {}).get("_meta")
        version = meta.get(PROTOCOL_VERSION_META) if isinstance(meta, dict) else None
        self._pending[request.id] = (request.method, version if isinstance(version, str) else None)
        while len(self._pending) > _MAX_PENDING:
            self._pending.popitem(last=False)

    def incoming(self, message: SessionMessage) -> SessionMessage | None:
        """The message as the SDK should see it, or None to drop it."""
        message = _scrubbed(message)
        inner = message.message
        if isinstance(inner, types.JSONRPCNotification):
            return message if self._notification_ok(inner) else None
        if not isinstance(inner, (types.JSONRPCResponse, types.JSONRPCError)):
            return message  # a request from the server: the SDK answers (and checks) it
        sent = self._pending.pop(inner.id, None)
        if sent is None:
            self.complain(f"a response to no request of mcprt's (id {shown(inner.id)}) was ignored")
            return None
        if isinstance(inner, types.JSONRPCError):
            if inner.error.code == types.PARSE_ERROR and inner.error.message.startswith(_SDK_PARSE_FAILURES):
                # The SDK's HTTP transport could not read the answer (e.g. `"result": 42`) and failed the
                # request with pydantic's report: say it in one line, to the log and to the caller.
                self.complain(f"the answer to request {shown(inner.id)} ({sent[0]}) was not a valid JSON-RPC "
                              "response (its `result` must be an object)")
                error = types.ErrorData(code=types.INTERNAL_ERROR, message=NOT_A_RESPONSE)
                return SessionMessage(types.JSONRPCError(jsonrpc="2.0", id=inner.id, error=error),
                                      metadata=message.metadata)
            return message
        method, version = sent
        version = version or self.version
        if method == "initialize":
            found = inner.result.get("protocolVersion")
            self.version = found if isinstance(found, str) else None
            return message
        if method in LISTS:
            try:
                result = vet_listing(method, version, inner.result, self.complain)
            except MalformedPage as exc:
                self.complain(str(exc))
                error = types.ErrorData(code=types.INTERNAL_ERROR, message=str(exc))
                return SessionMessage(types.JSONRPCError(jsonrpc="2.0", id=inner.id, error=error),
                                      metadata=message.metadata)
        elif method == "tools/call":
            result = vet_call_result(version, inner.result, self.complain, f"server '{self.source}'")
        elif method in ANSWERS and (problem := result_problem(method, version, inner.result)) is not None:
            # No usable part to keep (one resource's contents, one prompt): that request fails, saying why.
            text = f"the server's {method} answer is malformed ({problem})"
            self.complain(text)
            error = types.ErrorData(code=types.INTERNAL_ERROR, message=text)
            return SessionMessage(types.JSONRPCError(jsonrpc="2.0", id=inner.id, error=error), metadata=message.metadata)
        else:
            return message
        if result is inner.result:
            return message
        return SessionMessage(types.JSONRPCResponse(jsonrpc="2.0", id=inner.id, result=result),
                              metadata=message.metadata)

    def _notification_ok(self, notification: types.JSONRPCNotification) -> bool:
        try:
            protocol.parse_server_notification(notification.method, self.version or "2025-11-25",
                                               notification.params)
        except KeyError:
            return True  # not a method of this version's core tables: the SDK routes or drops it
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in error["loc"])
            self.complain(f"{notification.method} with invalid params ignored ({where}: {error['msg']})")
            return False
        return True


class _Wrapped:
    """A transport stream with `Vetter` in between: closing, `async with` and every other attribute are
    the inner stream's."""

    def __init__(self, inner: Any, vetter: Vetter) -> None:
        self._inner = inner
        self._vetter = vetter

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _VettedRead(_Wrapped):
    """The transport's read stream, through `Vetter.incoming` (dropped messages are skipped); its end is
    noted on the connection's `Link` (lost.py: what tells a lost connection from a server's -32000)."""

    def __init__(self, inner: Any, vetter: Vetter, link: Link) -> None:
        super().__init__(inner, vetter)
        self._link = link

    @property
    def last_context(self) -> Any:
        # The SDK runs server→client callbacks in the context of the request that caused them
        # (relay.py relies on it): the context of the message just returned, as the inner stream saw it.
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        while True:
            try:
                item = await self._inner.receive()
            except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
                self._link.ended = True  # before the SDK wakes the requests waiting on this connection
                raise
            except anyio.get_cancelled_exc_class():
                # The SDK's one reader stops only when the connection is torn down (its transport failed,
                # e.g. a refused POST, or the client is closing): it then wakes the waiting requests with
                # CONNECTION_CLOSED, after this.
                self._link.ended = True
                raise
            if not isinstance(item, SessionMessage):
                return item  # a transport fault: the SDK reports it
            try:
                vetted = self._vetter.incoming(item)
            except Exception:  # a bug in the checks must not cost the connection...
                self._vetter.log.exception("source %s: checking a message failed", self._vetter.source)
                try:  # ...nor let a secret through: the message goes on unchecked but scrubbed
                    return _scrubbed(item)
                except Exception:
                    self._vetter.log.exception("source %s: scrubbing a message failed; it was dropped",
                                               self._vetter.source)
                    continue
            if vetted is not None:
                return vetted

    def __aiter__(self) -> _VettedRead:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None


class _NotingWrite(_Wrapped):
    """The transport's write stream, noting each request for `Vetter.incoming`."""

    async def send(self, item: Any) -> None:
        if isinstance(item, SessionMessage):
            self._vetter.outgoing(item)
        await self._inner.send(item)  # same task: a context-carrying stream captures the caller's context



@asynccontextmanager
async def vetted(transport: AbstractAsyncContextManager[Any], source: str,
                 log: logging.Logger, link: Link | None = None) -> AsyncIterator[tuple[Any, Any]]:
    """`transport` with every message checked on its way in (see the module docstring); `link`: where the
    end of its read stream is noted (lost.py)."""
    vetter = Vetter(source, log)
    async with transport as (read, write):
        yield _VettedRead(read, vetter, link or Link()), _NotingWrite(write, vetter)
