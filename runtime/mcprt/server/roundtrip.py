"""Relaying a proxied server's questions to a 2026-07-28 client: the multi-round-trip flow.

A 2026-07-28 client cannot be sent a request in the middle of a call; instead the server answers
`tools/call` (or `prompts/get`, `resources/read`) with an `InputRequiredResult` (`inputRequests`
+ an opaque `requestState`) and the client calls again with `inputResponses` and that state (MCP
2026-07-28, "multi round-trip requests"). mcprt keeps the upstream call running in the meantime: each question the upstream asks
becomes one input request; the client's answer resolves it and the call goes on, until it returns
its result or asks again. Questions the upstream asks together (a server awaiting several at
once) arrive a moment apart; those that follow the first within `BATCH_WINDOW` share its round.

A question needing a capability the client did not declare (`_meta` clientCapabilities) is refused
to the upstream with MissingRequiredClientCapabilityError (-32021); if the call then fails, the
client gets that error (with `data.requiredCapabilities`, HTTP 400) rather than the upstream's
failure: the request needed what the client lacks (MCP 2026-07-28, SEP-2575). An upstream that
copes without it (asks another way) answers as usual.

The state lives in this process for `STATE_TTL` seconds (replicas need sticky routing), is bound to
the caller's principal (another client cannot resume it) and, when it expires, the upstream call is
cancelled. An unknown, expired, altered or another caller's `requestState` is answered with
JSON-RPC error -32602 (the SDK's own `RequestStateBoundary` answers the same): a client must not
be able to resume a round it does not hold.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types
from mcp.shared.exceptions import MCPError

from ..identity.principal import Principal
from ..contracts import RelayError
from ..toolset.stopping import RUNNING

STATE_TTL = 600.0
MAX_PENDING = 1000
BATCH_WINDOW = 0.05  # seconds a round waits for more questions after the latest one
SERVER_BUSY = -32000  # JSON-RPC's implementation-defined server error range

_CAPABILITIES = {
    "sampling/createMessage": types.ClientCapabilities(sampling=types.SamplingCapability()),
    "elicitation/create": types.ClientCapabilities(elicitation=types.ElicitationCapability()),
    "roots/list": types.ClientCapabilities(roots=types.RootsCapability()),
}


@dataclass
class _Pending:
    principal: Principal | None
    asks: asyncio.Queue[tuple[str, dict[str, Any] | None, asyncio.Future[dict[str, Any]]]]
    task: asyncio.Task[Any] | None = None
    waiting: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    expiry: asyncio.TimerHandle | None = None
    refused: dict[str, Any] = field(default_factory=dict)  # capabilities asked for but not declared
    answers_stop: bool = True  # the work answers a server stop itself (a tool call's STOPPED result)


class QueuePeer:
    """A ClientPeer whose requests become input requests of the next InputRequiredResult."""

    def __init__(self, pending: _Pending, supports: Callable[[types.ClientCapabilities], bool]) -> None:
        self._pending = pending
        self._supports = supports

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        capability = _CAPABILITIES.get(method)
        if capability is not None and not self._supports(capability):
            self._pending.refused.update(capability.model_dump(by_alias=True, mode="json", exclude_none=True))
            raise RelayError(f"the client did not declare the {method.split('/')[0]} capability",
                             types.MISSING_REQUIRED_CLIENT_CAPABILITY)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        await self._pending.asks.put((method, params, future))
        return await future

    @property
    def principal(self) -> Principal | None:
        return self._pending.principal

    @property
    def awaiting_client(self) -> bool:
        """A round is out with the client: the call waits for its answers (relay.py routes by this)."""
        return bool(self._pending.waiting)

    async def log(self, params: dict[str, Any]) -> None:
        return None  # 2026-07-28 log messages are per-request opt-in; a resumed call has no stream for them


class RoundTrips:
    """Calls waiting for a 2026-07-28 client's input, by request state."""

    def __init__(self) -> None:
        self._pending: dict[str, _Pending] = {}

    async def call(
        self,
        params: types.InputResponseRequestParams,
        principal: Principal | None,
        supports: Callable[[types.ClientCapabilities], bool],
        start: Callable[[QueuePeer], Awaitable[Any]],
        *,
        answers_stop: bool = True,
    ) -> Any:
        """`start(peer)`'s result, or an `InputRequiredResult` while it waits for the client.

        Raises `MCPError` -32602 for a `requestState` this caller cannot resume, and -32021 when the
        call failed after asking for a capability the client did not declare. `answers_stop`: the
        started work answers a server stop itself (`call_tool` does); otherwise the stop's
        cancellation ends it and reaches the request (`stop_answers.StopAnswers` answers it).
        """
        if params.request_state is not None:
            pending = self._pending.pop(params.request_state, None)
            if pending is None or pending.principal != principal:
                if pending is not None:  # not this caller's: put it back untouched
                    self._pending[params.request_state] = pending
                raise MCPError(types.INVALID_PARAMS, "Invalid or expired requestState: mcprt keeps a round's "
                               f"state in memory for {STATE_TTL:g}s, in one process; send the request again "
                               "without it")
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
                raise MCPError(SERVER_BUSY, "too many requests are waiting for client input; try again later")
            pending = _Pending(principal, asyncio.Queue(), answers_stop=answers_stop)
            pending.task = asyncio.get_running_loop().create_task(start(QueuePeer(pending, supports)))
        return await self._next(pending)

    async def _next(self, pending: _Pending) -> Any:
        assert pending.task is not None
        asked = asyncio.ensure_future(pending.asks.get())
        try:
            done, _ = await asyncio.wait({pending.task, asked}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            asked.cancel()
            request = asyncio.current_task()
            if pending.answers_stop and RUNNING.take_stop(request):  # the stop ended this request and the call
                assert request is not None
                request.uncancel()
                return await pending.task  # the call's own "restarting" answer (toolset.stopping), at once
            pending.task.cancel()  # the client gave up: so does the upstream call
            raise
        if asked not in done:
            asked.cancel()
            return _outcome(pending)
        questions = [asked.result()]
        try:
            while True:  # the questions asked together with this one
                while not pending.asks.empty():
                    questions.append(pending.asks.get_nowait())
                try:
                    questions.append(await asyncio.wait_for(pending.asks.get(), BATCH_WINDOW))
                except asyncio.TimeoutError:
                    break
        except asyncio.CancelledError:
            pending.task.cancel()  # the client gave up while the round was forming
            raise
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


def _outcome(pending: _Pending) -> Any:
    """The finished call's result; -32021 when it failed after a capability the client lacks was refused."""
    assert pending.task is not None
    failed = pending.task.exception() is not None or getattr(pending.task.result(), "is_error", False)
    if failed and pending.refused:
        names = ", ".join(sorted(pending.refused))
        raise MCPError(types.MISSING_REQUIRED_CLIENT_CAPABILITY,
                       f"this request needs the client capability {names}, which the client did not declare",
                       {"requiredCapabilities": pending.refused})
    return pending.task.result()
