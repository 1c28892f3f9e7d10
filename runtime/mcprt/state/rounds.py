"""2026-07-28 input rounds across replicas: a retry that reaches a replica that does not hold the call.

A proxied server's question to a 2026-07-28 client becomes an `InputRequiredResult`; the upstream
call keeps running in the replica that started it (the *owner*, `server.roundtrip`), and the
client's retry (`inputResponses` + `requestState`, MCP 2026-07-28 "multi round-trip requests") may
reach any replica behind a round-robin balancer. This module carries such a retry to the owner:

- **Who holds a state.** When the owner hands out a `requestState` it writes
  `<prefix>round:<sha256(state)>` = its replica id, expiring with the state (`claim`). The state
  itself stays an opaque 192-bit random handle: a client cannot forge one, and a tampered or
  made-up state names no record, which answers exactly as an unknown state does today. This was
  chosen over signing the owner's id into the state: no key has to be shared (and rotated) by
  every replica, and a forged id cannot send a retry anywhere. Once a state can no longer be
  resumed — the owner resumed it (a local or a forwarded retry), it expired, or a retry found a
  record naming this replica for a state it no longer holds — its record is deleted (`release`),
  off the request's path: a retry of the used state then finds no record and is refused as any
  unknown state, and Redis does not keep one key per round for the state's whole lifetime.
- **Forwarding.** A replica that does not hold a state reads the record (one GET) and publishes the
  client's answers and principal on the owner's channel `<prefix>rounds:<replica id>` (`forward`).
  The owner resumes the call exactly as a local retry (the same principal check: another
  principal's retry is refused and the call stays waiting for its own client) and publishes the
  outcome — the final result or the next `InputRequiredResult` — on the sender's channel, keyed by
  a random message id: an answer reaches only the request that asked for it.
- **Bounded waits.** PUBLISH returns how many subscribers got the message: 0 means the owner's
  process is gone (each replica subscribes while it serves), and so does its channel's subscriber
  count (`PUBSUB NUMSUB`) dropping to 0 while waiting, checked every `LIVENESS_POLL` seconds:
  either answers "the replica holding this call stopped; call the tool again". A wait never lasts
  past the state's lifetime, and at most `MAX_WAITING` forwarded retries wait (and `MAX_WORKING`
  resumed ones run) per replica.

- **Tasks.** The same channels carry a task's `tasks/update` (its `inputResponses`) and `tasks/cancel` to
  the replica running it (`forward_task`, op `task`; the sender checked the caller against the task's
  record, `state.tasks`), and `alive` tells whether a task's replica still listens.
- **Handshake-era messages.** They also carry a handshake-era client's JSON-RPC message that concerns
  what one replica holds — its response to a server→client request, its `notifications/cancelled` —
  to that replica (`forward_message`, op `message`; `server.client_messages` decides where it goes and
  delivers it), and `replicas` names every replica listening, for a message whose holder is unknown.

What the channel carries (the client's answers, the tool's result) is as sensitive as the rest of
Redis (README, "Running several replicas"). `redis` is imported by the caller that built the client.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.shared.exceptions import MCPError

from ..contracts import ToolResult
from ..errors import ToolCallError
from ..identity.principal import Principal
from ..observability.log import Outage, log_event
from ..stopping import stop_tasks
from .redis_client import COMMAND_TIMEOUT, guarded, is_redis_error, listen, unavailable
from .write_back import write_back

if TYPE_CHECKING:
    from redis.asyncio import Redis

LIVENESS_POLL = 1.0  # s between checks that the owner still listens while a forwarded retry waits
MAX_WAITING = 1000  # forwarded retries waiting for their owner's answer, per replica
MAX_WORKING = 1000  # retries forwarded to this replica being resumed at once
RESUBSCRIBE_WAIT = 2.0  # s a forwarded retry waits for this replica's own channel to be back
SEEN = 4096  # message ids remembered to drop a duplicate (a PUBLISH retried after a lost reply)

# A resumed request's outcome: a tool's result, the next round, or a `prompts/get` / `resources/read`
# result (a dict in wire form); a JSON-RPC error it raised (`MCPError`) travels as one too.
Outcome = ToolResult | types.InputRequiredResult | dict[str, Any]
Resume = Callable[[str, Principal | None, dict[str, Any]], Awaitable[Outcome]]

# the call had started (it asked its client a question): a flat "call again" repeats a side effect
OWNER_STOPPED = ("the replica holding this call stopped; the call had started and may have acted in part: if it "
                 "changes something, check first whether it took effect before calling the tool again")
# (action "update" | "cancel", task id, input responses) → whether this replica runs the task
TaskAction = Callable[[str, str, dict[str, Any]], Awaitable[bool]]
# (session id, sender's principal, JSON-RPC message) → whether this replica held what it concerns
MessageAction = Callable[[str, Principal | None, dict[str, Any]], Awaitable[bool]]


class RoundLost(ToolCallError):
    """A forwarded retry got no outcome: its owner stopped, or the link to it broke (a tool error)."""


class OwnerStopped(RoundLost):
    """The replica a retry or message was sent to stopped (no longer listens on its channel): what it
    held is gone with it, unlike the transient `RoundLost`s (link being restored, too many waiting)."""

    def __init__(self) -> None:
        super().__init__(OWNER_STOPPED)


class RoundRelay:
    """One replica's end of the relay: it claims the states it hands out, forwards retries for
    states another replica holds, and resumes retries forwarded to it (see the module docstring)."""

    def __init__(self, client: Redis, *, prefix: str, ttl: float) -> None:
        self.replica = secrets.token_hex(8)  # this process; a restarted replica is a new one
        self._client = client
        self._prefix = prefix
        self._ttl_ms = int(ttl * 1000)
        self._ttl = ttl
        self._resume: Resume | None = None
        # A task's update or cancel carried here from another replica (`state.tasks`): set by the server.
        self.on_task: TaskAction | None = None
        # A handshake-era client's message carried here from another replica: set by the server.
        self.on_message: MessageAction | None = None
        # Counts a resumed call as work in progress (the HTTP drain waits for it); set by the server.
        self.hold: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._working: dict[str, asyncio.Task[None]] = {}
        self._seen: collections.deque[str] = collections.deque(maxlen=SEEN)
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._releasing: set[asyncio.Task[None]] = set()
        # states claimed here and not released yet → monotonic time they expire (for `restore`)
        self._claimed: dict[str, float] = {}
        self._sharing = Outage("rounds not shared: a retry reaching another replica will not find the calls held "
                               "here until shared state works again", "rounds are shared again")

    def _channel(self, replica: str) -> str:
        return f"{self._prefix}rounds:{replica}"

    def _record(self, state: str) -> str:
        # A digest, not the state: the keys Redis keeps (and its backups) hold no usable state.
        return f"{self._prefix}round:{hashlib.sha256(state.encode()).hexdigest()}"

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self, resume: Resume, *, timeout: float = 5.0) -> None:
        """Listen on this replica's channel, resuming forwarded retries with `resume`; returns once
        subscribed (so a state this replica claims can be forwarded to it from then on)."""
        self._resume = resume
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen(), name="round relay listener")
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout)
        except TimeoutError:
            log_event("round relay not subscribed yet: until it is, a retry for a call held here that reaches "
                      "another replica is told this one stopped", logging.WARNING)

    async def aclose(self) -> None:
        if self._releasing:  # deletes already sent get a moment to land; the rest expire with their states
            await asyncio.wait(self._releasing, timeout=COMMAND_TIMEOUT)
        # bounded even when a task is mid-command (`stopping.stop_tasks`: a lost cancel hung `gather`)
        tasks, self._listener = [self._listener, *self._working.values(), *self._releasing], None
        await stop_tasks(tasks, what="round relay")
        self._fail_waiting("this replica is stopping")

    # --- owner side ---------------------------------------------------------------------------

    async def claim(self, state: str) -> None:
        """Record that this replica holds `state` (for as long as the state lives). A Redis failure
        is logged, not raised: the state still works on a retry that reaches this replica."""
        now = time.monotonic()
        self._claimed = {held: until for held, until in self._claimed.items() if until > now}  # drop expired
        self._claimed[state] = now + self._ttl
        try:
            await self._client.set(self._record(state), self.replica, px=self._ttl_ms)
        except Exception as exc:
            if not is_redis_error(exc):
                raise
            self._sharing.failed(error=str(unavailable(exc)))  # once per outage, not per round
        else:
            self._sharing.worked()

    async def restore(self) -> int:
        """Write back the records of the states this replica holds that Redis no longer has, after it
        lost its data (`server.shared_state`): without them a retry reaching another replica is refused
        as unknown (-32602) while the call still waits here. SET NX with the remaining lifetime; returns
        how many were written; raises StateUnavailable."""
        now = time.monotonic()
        return await write_back(self._client, [(self._record(state), self.replica, int((until - now) * 1000))
                                               for state, until in self._claimed.items()])

    def release(self, state: str) -> None:
        """Delete the record of a state that can no longer be resumed (see the module docstring), in the
        background: the resumed call does not wait for Redis, and when Redis fails the record only
        lingers until it expires (a retry it leads to the owner is refused there as unknown)."""
        self._claimed.pop(state, None)
        task = asyncio.get_running_loop().create_task(self._delete(state))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _delete(self, state: str) -> None:
        try:
            await self._client.delete(self._record(state))
        except Exception as exc:  # noqa: BLE001 - see `release`: the record expires with the state
            log_event("used round's record not deleted; it expires with the state", logging.DEBUG,
                      error=type(exc).__name__)

    async def _listen(self) -> None:
        async def subscribed() -> None:
            self._subscribed.set()

        def lost() -> None:  # what waited on this channel cannot be answered
            self._subscribed.clear()
            self._fail_waiting("the link to the shared state (Redis) broke while another replica resumed it")

        await listen(self._client, self._channel(self.replica), self._on_message, name="round relay",
                     on_subscribed=subscribed, on_lost=lost)

    def _on_message(self, data: Any) -> None:
        try:
            message = json.loads(data)
            kind, message_id = message["op"], str(message["id"])
        except (TypeError, ValueError, KeyError):
            log_event("round relay message ignored: not one mcprt sends", logging.WARNING)
            return
        if kind == "outcome":
            future = self._waiting.get(message_id)
            if future is not None and not future.done():
                future.set_result(message)
        elif kind in ("resume", "task", "message"):
            if message_id in self._seen:
                return  # a PUBLISH retried by the client library: resumed once already
            self._seen.append(message_id)
            self._working[message_id] = asyncio.get_running_loop().create_task(self._serve(message))
        elif kind == "cancel":  # the client of the forwarded retry gave up: so does the call
            task = self._working.get(message_id)
            if task is not None:
                task.cancel()

    async def _serve(self, message: dict[str, Any]) -> None:
        message_id, sender = str(message["id"]), str(message.get("from"))
        try:
            with self.hold():
                await self._answer(message_id, sender, message)
        except asyncio.CancelledError:
            pass  # cancelled by the sender (its client left) or by this replica stopping
        except Exception as exc:  # noqa: BLE001 - Redis failed past its retries: the sender's own checks meet it too
            log_event("forwarded round not answered", logging.WARNING, error=f"{type(exc).__name__}: {exc}")
        finally:
            self._working.pop(message_id, None)

    async def _answer(self, message_id: str, sender: str, message: dict[str, Any]) -> None:
        try:
            if len(self._working) > MAX_WORKING or self._resume is None:
                answer: dict[str, Any] = {"error": "too many calls are being resumed on the replica holding "
                                                   "this one; call the tool again"}
            elif message.get("op") == "task":  # a task's update or cancel (the sender checked the principal)
                held = self.on_task is not None and await self.on_task(
                    str(message["action"]), str(message["task"]), dict(message.get("responses") or {}))
                answer = {"result": {"wire": {"held": held}}}
            elif message.get("op") == "message":  # the sender checked the session's principal; so does `on_message`
                held = self.on_message is not None and await self.on_message(
                    str(message["session"]), _principal_from(message.get("principal")), dict(message["message"]))
                answer = {"result": {"wire": {"held": held}}}
            else:
                try:
                    outcome = await self._resume(str(message["state"]), _principal_from(message.get("principal")),
                                                 dict(message.get("responses") or {}))
                    answer = {"result": _encode(outcome)}
                except MCPError as exc:  # another principal's retry, a capability the client lacks: its error
                    answer = {"rpc_error": exc.error.model_dump(mode="json", exclude_none=True)}
            payload = json.dumps({"op": "outcome", "id": message_id, **answer}, default=str)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - answered, so the sender does not wait in vain
            log_event("forwarded round failed", logging.WARNING, error=f"{type(exc).__name__}: {exc}")
            payload = json.dumps({"op": "outcome", "id": message_id, "error": (
                f"the replica holding this call could not resume it ({type(exc).__name__}); call the tool again")})
        log_event("round resumed for another replica", logging.DEBUG, sender=sender)
        if not await self._client.publish(self._channel(sender), payload):
            # the sender stopped (or is reconnecting, and then fails its waits itself)
            log_event("forwarded round's outcome reached no replica", logging.WARNING, sender=sender)

    # --- receiving side -----------------------------------------------------------------------

    async def forward(self, state: str, principal: Principal | None, responses: dict[str, Any]) -> Outcome | None:
        """The outcome of resuming `state` on the replica holding it, or None when no replica does
        (unknown, expired or tampered with: the caller answers as for an unknown state).

        Raises `RoundLost` when the owner stopped (or stops while resuming), `StateUnavailable`
        when Redis does not answer, and the owner's `MCPError` (another principal's retry: -32602; a
        capability the client lacks: -32021). Cancelling this (the client left) cancels the resumed call.
        """
        owner = await guarded(self._client.get(self._record(state)))
        if owner is None:
            return None
        if owner.decode() == self.replica:  # ours but no longer in memory: used or expired, its deletion lost
            self.release(state)
            return None
        message = {"op": "resume", "state": state, "principal": _principal_wire(principal), "responses": responses}
        return _decode(await self._exchange(owner.decode(), message))

    async def forward_task(self, owner: str, action: str, task_id: str, responses: dict[str, Any]) -> bool:
        """Carry a task's `tasks/update` (`action` "update", with `responses`) or `tasks/cancel` to the
        replica running it (`owner`, the task record's `replica`); whether that replica runs it.
        Raises `RoundLost` when it stopped, `StateUnavailable` when Redis does not answer."""
        message = {"op": "task", "action": action, "task": task_id, "responses": responses}
        outcome = _decode(await self._exchange(owner, message))
        return bool(isinstance(outcome, dict) and outcome.get("held"))

    async def forward_message(self, owner: str, session: str, principal: Principal | None,
                              message: dict[str, Any]) -> bool:
        """Carry a handshake-era client's JSON-RPC `message` (wire form) of `session` to the replica
        `owner`; whether that replica held what it concerns (the request it answers or cancels).
        Raises `RoundLost` when it stopped (or stops before answering), `StateUnavailable` when Redis
        does not answer."""
        fields = {"op": "message", "session": session, "principal": _principal_wire(principal), "message": message}
        outcome = _decode(await self._exchange(owner, fields))
        return bool(isinstance(outcome, dict) and outcome.get("held"))

    async def replicas(self) -> list[str]:
        """The ids of the replicas listening now (this one included), from their channels (`PUBSUB
        CHANNELS`). Raises `StateUnavailable` when Redis does not answer."""
        start = len(self._channel(""))
        # the prefix holds the server's name, which may hold glob characters: matched literally
        literal = "".join(f"\\{c}" if c in "*?[]\\" else c for c in self._channel(""))
        channels = await guarded(self._client.pubsub_channels(f"{literal}*"))
        return [bytes(channel).decode()[start:] for channel in channels]

    async def alive(self, replica: str) -> bool:
        """That replica still serves (listens on its channel). Raises `StateUnavailable` when Redis does
        not answer."""
        return replica == self.replica or await self._listening(replica)

    async def _exchange(self, owner_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Send `fields` to `owner_id` and wait for its outcome message (see `forward`)."""
        if len(self._waiting) >= MAX_WAITING:
            raise RoundLost("too many retries are waiting for other replicas here; try again shortly")
        if not self._subscribed.is_set():  # the owner's answer could not reach this replica
            try:
                await asyncio.wait_for(self._subscribed.wait(), RESUBSCRIBE_WAIT)
            except TimeoutError:
                raise RoundLost("the link to the shared state (Redis) is being restored; call the tool again "
                                "shortly") from None
        message_id = secrets.token_hex(12)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[message_id] = future  # before publishing: a fast owner answers at once
        sent = False
        try:
            message = {**fields, "id": message_id, "from": self.replica}
            if not await self._publish(owner_id, json.dumps(message, default=str)):
                raise OwnerStopped()
            sent = True
            log_event("round forwarded to the replica holding the call", logging.DEBUG, owner=owner_id)
            answer = await self._until_answered(future, owner_id)
        except asyncio.CancelledError:
            if sent:
                await self._cancel_quietly(owner_id, message_id)
            raise
        finally:
            self._waiting.pop(message_id, None)
        if "error" in answer:
            raise RoundLost(str(answer["error"]))
        if "rpc_error" in answer:
            raise MCPError.from_error_data(types.ErrorData.model_validate(answer["rpc_error"]))
        return dict(answer["result"])

    async def _until_answered(self, future: asyncio.Future[dict[str, Any]], owner: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._ttl  # a fence only: the owner's own call is bounded sooner
        while True:
            done, _ = await asyncio.wait({future}, timeout=LIVENESS_POLL)
            if done:
                return future.result()
            if not await self._listening(owner):
                raise OwnerStopped()
            if loop.time() > deadline:
                raise RoundLost("the replica holding this call gave no answer in time; call the tool again")

    async def _publish(self, owner: str, message: str) -> bool:
        return int(await guarded(self._client.publish(self._channel(owner), message))) > 0

    async def _listening(self, owner: str) -> bool:
        counts = await guarded(self._client.pubsub_numsub(self._channel(owner)))
        return any(int(count) > 0 for _, count in counts)

    async def _cancel_quietly(self, owner: str, message_id: str) -> None:
        try:
            await self._client.publish(self._channel(owner), json.dumps({"op": "cancel", "id": message_id}))
        except Exception as exc:  # noqa: BLE001 - the owner's call then ends with its own state's expiry
            log_event("forwarded round not cancelled", logging.DEBUG, error=type(exc).__name__)

    def _fail_waiting(self, why: str) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_result({"error": f"{why}; call the tool again"})


def _principal_wire(principal: Principal | None) -> dict[str, Any] | None:
    # `by_client` too: without it a client acting for itself came back as another caller (`Principal` equality),
    # so its own forwarded retry was refused
    return None if principal is None else {**principal.as_template_context(), "by_client": principal.by_client}


def _principal_from(wire: Mapping[str, Any] | None) -> Principal | None:
    """The sender's principal as it authenticated it (compared with the call's own by the owner; the
    access token never travels: the resumed call keeps the one it started with)."""
    if wire is None:
        return None
    return Principal(wire["sub"], wire["kind"], wire.get("client_id"), frozenset(wire.get("scopes") or ()),
                     MappingProxyType(dict(wire.get("claims") or {})), by_client=bool(wire.get("by_client")))


def _encode(outcome: Outcome) -> dict[str, Any]:
    if isinstance(outcome, types.InputRequiredResult):
        return {"input_required": outcome.model_dump(by_alias=True, mode="json", exclude_none=True)}
    if isinstance(outcome, ToolResult):
        return {"tool_result": dataclasses.asdict(outcome)}
    return {"wire": dict(outcome)}  # prompts/get, resources/read: already in wire form


def _decode(wire: Mapping[str, Any]) -> Outcome:
    if "input_required" in wire:
        return types.InputRequiredResult.model_validate(wire["input_required"], by_name=False)
    if "wire" in wire:
        return dict(wire["wire"])
    return ToolResult(**wire["tool_result"])
