"""Relaying a proxied server's questions to a 2026-07-28 client: the multi-round-trip flow.

A 2026-07-28 client cannot be sent a request in the middle of a call; instead the server answers
`tools/call` with an `InputRequiredResult` (`inputRequests` + an opaque `requestState`) and the
client calls again with `inputResponses` and that state (MCP 2026-07-28, "multi round-trip
requests"). mcprt keeps the upstream call running in the meantime: each question the upstream asks
becomes one input request; the client's answer resolves it and the call goes on, until it returns
its result or asks again.

The state lives in this process for `STATE_TTL` seconds, is bound to the caller's principal
(another client cannot resume it) and, when it expires, the upstream call is cancelled. With
`server.state` a retry that reaches another replica is carried to this one and back
(`state.rounds`, set as `RoundTrips.relay`); without it, replicas would need sticky routing.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import mcp_types as types

from ..identity.principal import Principal
from ..contracts import RelayError, ToolResult
from ..errors import ToolCallError
from ..shaping.sent import sent_size
from ..toolset.stopping import RUNNING

if TYPE_CHECKING:
    from ..state.rounds import RoundRelay

STATE_TTL = 600.0
MAX_PENDING = 1000
UNKNOWN_STATE = "this requestState is unknown or has expired; call the tool again"
UNKNOWN_LOCAL_STATE = ("this requestState is unknown or has expired (mcprt keeps it in memory for "
                       f"{STATE_TTL:g}s, in the process that started the call: replicas behind a load "
                       "balancer need `server.state` to serve it on any of them); call the tool again")

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
        self.relay: RoundRelay | None = None  # set when replicas share `server.state` (serve.py)

    async def call(
        self,
        params: types.CallToolRequestParams,
        principal: Principal | None,
        supports: Callable[[types.ClientCapabilities], bool],
        start: Callable[[QueuePeer], Awaitable[ToolResult]],
    ) -> ToolResult | types.InputRequiredResult:
        if params.request_state is not None:
            responses = {key: _wire(response) for key, response in (params.input_responses or {}).items()}
            return await self.resume(params.request_state, principal, responses, forward=True)
        if len(self._pending) >= MAX_PENDING:
            return _error("too many calls are waiting for client input; try again later")
        pending = _Pending(principal, asyncio.Queue())
        pending.task = asyncio.get_running_loop().create_task(start(QueuePeer(pending, supports)))
        return await self._next(pending)

    async def resume(self, state: str, principal: Principal | None, responses: dict[str, Any], *,
                     forward: bool = False) -> ToolResult | types.InputRequiredResult:
        """A retry: the client's `responses` (wire form, by input request key) answer the questions of
        the call `state` names, and the call goes on. Only `principal`, who started it, may resume
        it. With `forward`, a state another replica holds is resumed there (`state.rounds`); the
        relay calls this with `forward=False` on the replica that holds it."""
        pending = self._pending.pop(state, None)
        if pending is None or pending.principal != principal:
            if pending is not None:  # not this caller's: put it back untouched
                self._pending[state] = pending
            elif forward and self.relay is not None:
                try:
                    outcome = await self.relay.forward(state, principal, responses)
                except ToolCallError as exc:  # the owner stopped; Redis does not answer
                    return _error(str(exc))
                if outcome is not None:
                    return outcome
            return _error(UNKNOWN_STATE if self.relay is not None else UNKNOWN_LOCAL_STATE)
        if pending.expiry is not None:
            pending.expiry.cancel()
        for key, response in responses.items():
            future = pending.waiting.pop(key, None)
            if future is not None and not future.done():
                future.set_result(response)
        for key, future in pending.waiting.items():  # questions left unanswered
            if not future.done():
                future.set_exception(RelayError(f"the client gave no answer to input request {key}"))
        pending.waiting = {}
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
        if self.relay is not None:  # so a retry reaching another replica is carried here
            await self.relay.claim(state)
        return types.InputRequiredResult.model_validate({"inputRequests": requests, "requestState": state},
                                                        by_name=False)

    def _expire(self, state: str) -> None:
        pending = self._pending.pop(state, None)
        if pending is not None and pending.task is not None:
            pending.task.cancel()


def _wire(response: Any) -> dict[str, Any]:
    """An input response in wire form (the SDK model, or a dict already)."""
    if hasattr(response, "model_dump"):
        return response.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dict(response)


def _error(message: str) -> ToolResult:
    content = [{"type": "text", "text": message}]
    return ToolResult(content=content, is_error=True, sent_bytes=sent_size(content))
