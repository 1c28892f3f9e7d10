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

The state lives in this process for `STATE_TTL` seconds, is bound to the caller's principal
(another client cannot resume it) and, when it expires, the upstream call is cancelled. An unknown,
expired, altered or another caller's `requestState` is answered with JSON-RPC error -32602 (the
SDK's own `RequestStateBoundary` answers the same): a client must not be able to resume a round it
does not hold. With `server.state` a retry that reaches another replica is carried to the one
holding the call and back (`state.rounds`, set as `RoundTrips.relay`); when that replica stopped,
or the shared state does not answer, the retry gets -32000 saying so. Without it, replicas would
need sticky routing, and the -32602 error says so.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.shared.exceptions import MCPError

from ..identity.principal import Principal
from ..contracts import CLIENT_ANSWER_SECONDS, RelayError
from ..errors import SERVER_ERROR, ToolCallError
from ..toolset.stopping import RUNNING
from .url_elicitation import undeclared_mode

if TYPE_CHECKING:
    from ..state.rounds import RoundRelay

STATE_TTL = CLIENT_ANSWER_SECONDS
MAX_PENDING = 1000
BATCH_WINDOW = 0.05  # seconds a round waits for more questions after the latest one
UNKNOWN_STATE = "Invalid or expired requestState; send the request again without it"
UNKNOWN_LOCAL_STATE = ("Invalid or expired requestState: mcprt keeps a round's state in memory for "
                       f"{STATE_TTL:g}s, in the process that started the call (replicas behind a load balancer "
                       "need `server.state` to serve it on any of them); send the request again without it")

LogSink = Callable[[dict[str, Any]], Awaitable[None]]  # sends one `notifications/message` params (wire form)

_KEEP: Any = object()  # `resume(escalate=)` not given: the call keeps what its first request allowed

_CAPABILITIES = {
    "sampling/createMessage": types.ClientCapabilities(sampling=types.SamplingCapability()),
    "elicitation/create": types.ClientCapabilities(elicitation=types.ElicitationCapability()),
    "roots/list": types.ClientCapabilities(roots=types.RootsCapability()),
}


@dataclass
class Conversation:
    """A started call that may ask its client questions (through its `QueuePeer`).

    Shared by the two ways a 2026-07-28 client answers them: `InputRequiredResult` rounds
    (`RoundTrips`) and a task's `input_required` status (`tasks.run`, answered by `tasks/update`).
    `escalate` (with `within` seconds): how the call becomes a task when it runs longer than that
    without asking (`server.tasks`); it returns the `CreateTaskResult`, or None when no task can be
    created now (the call is then answered directly).
    """

    principal: Principal | None
    asks: asyncio.Queue[tuple[str, dict[str, Any] | None, asyncio.Future[dict[str, Any]]]]
    task: asyncio.Task[Any] | None = None
    waiting: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    expiry: asyncio.TimerHandle | None = None
    refused: dict[str, Any] = field(default_factory=dict)  # capabilities asked for but not declared
    answers_stop: bool = True  # the work answers a server stop itself (a tool call's STOPPED result)
    escalate: Callable[[Conversation], Awaitable[Any]] | None = None
    within: float = 0.0
    task_id: str | None = None  # the task this call runs as, once it became one (audit, metrics)
    # Where the call's log messages go: the stream of the request now waiting on it (the first request,
    # then each round's retry); None between rounds, as a task, or resumed from another replica. MCP
    # 2026-07-28 (server/utilities/logging) allows `notifications/message` only on the stream carrying
    # the response of the request that asked for them.
    log_to: LogSink | None = None

    async def turn(self, within: float | None = None) -> dict[str, Any] | None:
        """Wait for the call's next move: None when it ended (`outcome()` has its result), else the
        questions it asked (together: those following the first within `BATCH_WINDOW`), keyed by
        fresh unguessable keys, `{key: {"method", "params"}}`, now waiting for `answer`.

        Raises TimeoutError when `within` seconds pass first (the call goes on). Cancelling a turn
        while questions are being gathered cancels the call.
        """
        assert self.task is not None
        asked = asyncio.ensure_future(self.asks.get())
        try:
            done, _ = await asyncio.wait({self.task, asked}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            asked.cancel()
            raise
        if asked not in done:
            asked.cancel()  # a question put meanwhile stays queued for the next turn
            if not done:
                raise TimeoutError
            return None
        questions = [asked.result()]
        try:
            while True:  # the questions asked together with this one (a queued one is taken at once)
                try:
                    questions.append(await asyncio.wait_for(self.asks.get(), BATCH_WINDOW))
                except asyncio.TimeoutError:
                    break
        except asyncio.CancelledError:
            self.task.cancel()  # the client gave up while the round was forming
            raise
        requests: dict[str, Any] = {}
        for method, params, future in questions:
            key = f"r{secrets.token_hex(8)}"
            self.waiting[key] = future
            requests[key] = {"method": method, **({"params": params} if params is not None else {})}
        return requests

    def answer(self, responses: Mapping[str, Any], *, all_given: bool) -> None:
        """Resolve the waiting questions `responses` (wire form, by key) answers; keys not waiting are
        ignored. `all_given`: the client answered all it will (a round's retry), so a question left
        unanswered fails; otherwise (a task's `tasks/update`) it keeps waiting."""
        for key, response in responses.items():
            future = self.waiting.pop(key, None)
            if future is not None and not future.done():
                future.set_result(response)
        if all_given:
            for key, future in self.waiting.items():  # questions left unanswered
                if not future.done():
                    future.set_exception(RelayError(f"the client gave no answer to input request {key}"))
            self.waiting = {}

    def outcome(self) -> Any:
        """The ended call's result; MCPError -32021 when it failed after a capability the client
        lacks was refused (see the module docstring)."""
        return _outcome(self)


class QueuePeer:
    """A ClientPeer whose requests become input requests of the next InputRequiredResult."""

    def __init__(self, pending: Conversation, supports: Callable[[types.ClientCapabilities], bool],
                 capabilities: types.ClientCapabilities | None = None) -> None:
        self._pending = pending
        self._supports = supports
        self._capabilities = capabilities  # the request's clientCapabilities: for the elicitation mode

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        capability = _CAPABILITIES.get(method)
        if capability is not None and not self._supports(capability):
            self._pending.refused.update(capability.model_dump(by_alias=True, mode="json", exclude_none=True))
            raise RelayError(f"the client did not declare the {method.split('/')[0]} capability",
                             types.MISSING_REQUIRED_CLIENT_CAPABILITY)
        undeclared = undeclared_mode(params, self._capabilities) if method == "elicitation/create" else None
        if undeclared is not None:
            required, message = undeclared
            self._pending.refused.setdefault("elicitation", {}).update(required["elicitation"])
            raise RelayError(message, types.MISSING_REQUIRED_CLIENT_CAPABILITY)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        await self._pending.asks.put((method, params, future))
        return await future

    @property
    def principal(self) -> Principal | None:
        return self._pending.principal

    @property
    def task_id(self) -> str | None:
        """The task this call runs as, once it became one (`call_tool` puts it on its CallEvent)."""
        return self._pending.task_id

    @property
    def awaiting_client(self) -> bool:
        """A round is out with the client: the call waits for its answers (relay.py routes by this)."""
        return bool(self._pending.waiting)

    async def log(self, params: dict[str, Any]) -> None:
        """To the request now waiting on the call, if any (`Conversation.log_to`); else dropped: no other
        stream may carry it."""
        sink = self._pending.log_to
        if sink is not None:
            await sink(params)


class RoundTrips:
    """Calls waiting for a 2026-07-28 client's input, by request state."""

    def __init__(self) -> None:
        self._pending: dict[str, Conversation] = {}
        self.relay: RoundRelay | None = None  # set when replicas share `server.state` (serve.py)

    async def call(
        self,
        params: types.InputResponseRequestParams,
        principal: Principal | None,
        supports: Callable[[types.ClientCapabilities], bool],
        start: Callable[[QueuePeer], Awaitable[Any]],
        *,
        answers_stop: bool = True,
        escalate: Callable[[Conversation], Awaitable[Any]] | None = None,
        within: float = 0.0,
        log_to: LogSink | None = None,
        capabilities: types.ClientCapabilities | None = None,
    ) -> Any:
        """`start(peer)`'s result, or an `InputRequiredResult` while it waits for the client, or (with
        `escalate`) what `escalate` returns when the call runs `within` seconds without asking.

        Raises `MCPError` -32602 for a `requestState` this caller cannot resume, and -32021 when the
        call failed after asking for a capability the client did not declare. `answers_stop`: the
        started work answers a server stop itself (`call_tool` does); otherwise the stop's
        cancellation ends it and reaches the request (`stop_answers.StopAnswers` answers it).
        `log_to`: this request's log stream (`Conversation.log_to`), while it waits on the call.
        `capabilities`: the request's clientCapabilities, for what `supports` does not tell (the
        elicitation mode, url_elicitation.undeclared_mode).
        """
        if params.request_state is not None:
            responses = {key: _wire(response) for key, response in (params.input_responses or {}).items()}
            return await self.resume(params.request_state, principal, responses, forward=True, escalate=escalate,
                                     log_to=log_to)
        if len(self._pending) >= MAX_PENDING:
            raise MCPError(SERVER_ERROR, "too many requests are waiting for client input; try again later")
        pending = Conversation(principal, asyncio.Queue(), answers_stop=answers_stop, escalate=escalate,
                               within=within)
        pending.task = asyncio.get_running_loop().create_task(start(QueuePeer(pending, supports, capabilities)))
        return await self._waited_on(pending, log_to)

    async def resume(self, state: str, principal: Principal | None, responses: dict[str, Any], *,
                     forward: bool = False, escalate: Any = _KEEP, log_to: LogSink | None = None) -> Any:
        """A retry: the client's `responses` (wire form, by input request key) answer the questions of
        the call `state` names, and the call goes on; its result, or the next `InputRequiredResult`.

        Only `principal`, who started it, may resume it (else `MCPError` -32602, the call left waiting).
        `escalate`: whether (and how) the call may now become a task, as this retry's request allows
        (a client declares the tasks extension per request); a retry carried from another replica keeps
        the first request's.
        With `forward`, a state another replica holds is resumed there (`state.rounds`); the relay calls
        this with `forward=False` on the replica that holds it. Raises `MCPError` -32000 when that
        replica stopped or the shared state does not answer.
        """
        pending = self._pending.pop(state, None)
        if pending is None or pending.principal != principal:
            if pending is not None:  # not this caller's: put it back untouched
                self._pending[state] = pending
            elif forward and self.relay is not None:
                try:
                    outcome = await self.relay.forward(state, principal, responses)
                except ToolCallError as exc:  # the holder stopped; Redis does not answer
                    raise MCPError(SERVER_ERROR, str(exc)) from None
                if outcome is not None:
                    return outcome
            raise MCPError(types.INVALID_PARAMS, UNKNOWN_STATE if self.relay is not None else UNKNOWN_LOCAL_STATE)
        if pending.expiry is not None:
            pending.expiry.cancel()
        if self.relay is not None:  # this state is used: its shared record goes (a retry of it stays refused)
            self.relay.release(state)
        if escalate is not _KEEP:
            pending.escalate = escalate
        pending.answer(responses, all_given=True)
        return await self._waited_on(pending, log_to)

    async def _waited_on(self, pending: Conversation, log_to: LogSink | None) -> Any:
        """`_next(pending)`, with the call's log messages sent to `log_to` until this request is answered."""
        pending.log_to = log_to
        try:
            return await self._next(pending)
        finally:
            if pending.log_to is log_to:
                pending.log_to = None

    async def _next(self, pending: Conversation) -> Any:
        assert pending.task is not None
        try:
            questions = await pending.turn(pending.within if pending.escalate is not None else None)
        except TimeoutError:  # still running, nothing asked: it becomes a task (`escalate`)
            assert pending.escalate is not None
            created = await pending.escalate(pending)
            if created is not None:
                return created
            pending.escalate = None  # no task now (limits): answered directly, as before tasks
            return await self._next(pending)
        except asyncio.CancelledError:
            request = asyncio.current_task()
            if pending.answers_stop and RUNNING.take_stop(request):  # the stop ended this request and the call
                assert request is not None
                request.uncancel()
                return await pending.task  # the call's own "restarting" answer (toolset.stopping), at once
            pending.task.cancel()  # the client gave up: so does the upstream call
            raise
        if questions is None:
            return _outcome(pending)
        state = secrets.token_urlsafe(24)
        self._pending[state] = pending
        pending.expiry = asyncio.get_running_loop().call_later(STATE_TTL, self._expire, state)
        if self.relay is not None:  # so a retry reaching another replica is carried here
            await self.relay.claim(state)
        return types.InputRequiredResult.model_validate({"inputRequests": questions, "requestState": state},
                                                        by_name=False)

    def _expire(self, state: str) -> None:
        pending = self._pending.pop(state, None)
        if pending is not None and self.relay is not None:
            self.relay.release(state)
        if pending is not None and pending.task is not None:
            pending.task.cancel()


def _outcome(pending: Conversation) -> Any:
    """The finished call's result; -32021 when it failed after a capability the client lacks was refused."""
    assert pending.task is not None
    failed = pending.task.exception() is not None or getattr(pending.task.result(), "is_error", False)
    if failed and pending.refused:
        names = ", ".join(sorted(pending.refused))
        raise MCPError(types.MISSING_REQUIRED_CLIENT_CAPABILITY,
                       f"this request needs the client capability {names}, which the client did not declare",
                       {"requiredCapabilities": pending.refused})
    return pending.task.result()


def _wire(response: Any) -> dict[str, Any]:
    """An input response in wire form (the SDK model, or a dict already)."""
    if hasattr(response, "model_dump"):
        return response.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dict(response)
