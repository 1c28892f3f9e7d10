"""Relaying a proxied server's questions to a 2026-07-28 client: the multi-round-trip flow.

A 2026-07-28 client cannot be sent a request in the middle of a call; instead the server answers
`tools/call` with an `InputRequiredResult` (`inputRequests` + an opaque `requestState`) and the
client calls again with `inputResponses` and that state (MCP 2026-07-28, "multi round-trip
requests"). mcprt keeps the upstream call running in the meantime: each question the upstream asks
becomes one input request; the client's answer resolves it and the call goes on, until it returns
its result or asks again.

The state lives in this process for `STATE_TTL` seconds (replicas need sticky routing), is bound to
the caller's principal (another client cannot resume it) and, when it expires, the upstream call is
cancelled.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types

from ..identity.principal import Principal
from ..contracts import RelayError, ToolResult
from ..shaping.sent import sent_size
from ..toolset.stopping import RUNNING

STATE_TTL = 600.0
MAX_PENDING = 1000

_CAPABILITIES = {
    "sampling/createMessage": types.ClientCapabilities(sampling=types.SamplingCapability()),
    "elicitation/create": types.ClientCapabilities(elicitation=types.ElicitationCapability()),
    "roots/list": types.ClientCapabilities(roots=types.RootsCapability()),
}


@dataclass
class _Pending:
    principal: Principal | None
    asks: asyncio.Queue[tuple[str, dict[str, Any] | None, asyncio.Future[dict[str, Any]]]]
    task: asyncio.Task[ToolResult] | None = None
    waiting: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    expiry: asyncio.TimerHandle | None = None


class QueuePeer:
    """A ClientPeer whose requests become input requests of the next InputRequiredResult."""

    def __init__(self, pending: _Pending, supports: Callable[[types.ClientCapabilities], bool]) -> None:
        self._pending = pending
        self._supports = supports

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        capability = _CAPABILITIES.get(method)
        if capability is not None and not self._supports(capability):
            raise RelayError(f"the client does not support {method.split('/')[0]}")
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        await self._pending.asks.put((method, params, future))
        return await future

    async def log(self, params: dict[str, Any]) -> None:
        return None  # 2026-07-28 log messages are per-request opt-in; a resumed call has no stream for them


class RoundTrips:
    """Calls waiting for a 2026-07-28 client's input, by request state."""

    def __init__(self) -> None:
        self._pending: dict[str, _Pending] = {}

    async def call(
        self,
        params: types.CallToolRequestParams,
        principal: Principal | None,
        supports: Callable[[types.ClientCapabilities], bool],
        start: Callable[[QueuePeer], Awaitable[ToolResult]],
    ) -> ToolResult | types.InputRequiredResult:
        if params.request_state is not None:
            pending = self._pending.pop(params.request_state, None)
            if pending is None or pending.principal != principal:
                if pending is not None:  # not this caller's: put it back untouched
                    self._pending[params.request_state] = pending
                return _error("this requestState is unknown or has expired (mcprt keeps it in memory for "
                              f"{STATE_TTL:g}s, in one process); call the tool again")
            if pending.expiry is not None:
                pending.expiry.cancel()
            for key, response in (params.input_responses or {}).items():
                future = pending.waiting.pop(key, None)
                if future is not None and not future.done():
                    wire = response.model_dump(by_alias=True, mode="json", exclude_none=True) \
                        if hasattr(response, "model_dump") else dict(response)
                    future.set_result(wire)
            for key, future in pending.waiting.items():  # questions left unanswered
                if not future.done():
                    future.set_exception(RelayError(f"the client gave no answer to input request {key}"))
            pending.waiting = {}
        else:
            if len(self._pending) >= MAX_PENDING:
                return _error("too many calls are waiting for client input; try again later")
            pending = _Pending(principal, asyncio.Queue())
            pending.task = asyncio.get_running_loop().create_task(start(QueuePeer(pending, supports)))
        return await self._next(pending)

    async def _next(self, pending: _Pending) -> ToolResult | types.InputRequiredResult:
        assert pending.task is not None
        asked = asyncio.ensure_future(pending.asks.get())
        try:
            done, _ = await asyncio.wait({pending.task, asked}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            asked.cancel()
            request = asyncio.current_task()
            if RUNNING.take_stop(request):  # the stop ended this request and the call with it
                assert request is not None
                request.uncancel()
                return await pending.task  # the call's own "restarting" answer (toolset.stopping), at once
            pending.task.cancel()  # the client gave up: so does the upstream call
            raise
        if asked not in done:
            asked.cancel()
            return pending.task.result()
        questions = [asked.result()]
        while not pending.asks.empty():
            questions.append(pending.asks.get_nowait())
        requests: dict[str, Any] = {}
        for method, params, future in questions:
            key = f"r{secrets.token_hex(4)}"
            pending.waiting[key] = future
            requests[key] = {"method": method, **({"params": params} if params is not None else {})}
        state = secrets.token_urlsafe(24)
        self._pending[state] = pending
        pending.expiry = asyncio.get_running_loop().call_later(STATE_TTL, self._expire, state)
        return types.InputRequiredResult.model_validate({"inputRequests": requests, "requestState": state},
                                                        by_name=False)

    def _expire(self, state: str) -> None:
        pending = self._pending.pop(state, None)
        if pending is not None and pending.task is not None:
            pending.task.cancel()


def _error(message: str) -> ToolResult:
    content = [{"type": "text", "text": message}]
    return ToolResult(content=content, is_error=True, sent_bytes=sent_size(content))
