"""A handshake-era client's messages that concern what one replica holds, carried to that replica.

With shared sessions (`shared_sessions`) any replica serves any POST of a session, but a call runs —
and waits — on the replica its `tools/call` reached. Two kinds of client→server message concern
such a call, and must reach that replica whichever one the balancer picks (MCP 2025-11-25,
basic/transports "Sending Messages to the Server"; basic/utilities/cancellation):

- **a response** (result or error) to a server→client request (`elicitation/create`,
  `sampling/createMessage`, `roots/list`): the replica that sent the request waits for it. Each
  replica mints its request ids as `<replica id>-<n>` (`tag_request_ids`), so the id itself names
  the replica waiting — no lookup, and ids never collide between replicas (JSON-RPC ids must be
  unique among a sender's requests in flight, and to the client all replicas are one sender);
- **`notifications/cancelled`** for a request the client sent: the replica running it cancels it.
  Request ids are the client's, so a cancellation for a request not running here goes to every
  other replica (cancellations are rare; a replica not running it ignores it, as the spec allows).

Both travel on the round relay's channels (`state.rounds`, op `message`: one channel per replica,
bounded waits, the holder's liveness watched). The POST is answered 202 only once the message was
handed to the replica holding what it concerns; when that replica stopped the answer is 410 (the
request it answers is gone with it), when Redis does not answer 503, each with a JSON-RPC error
without an id (MCP 2025-11-25, transports: "If the server cannot accept the input, it MUST return
an HTTP error status code"). The holder delivers the message into the session's own transport,
exactly as if it had been POSTed there, after checking the session is held there for the same
principal (the sender checked it too): nothing one client sends reaches another's session.

Other client notifications (`notifications/initialized`, `roots/list_changed`, progress) concern
no call held elsewhere: mcprt keeps no state for them, so they stay on the replica they reach.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.shared.dispatcher import coerce_request_id
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from ..identity.principal import Principal
from ..observability.log import log_event
from ..state.redis_client import StateUnavailable
from ..state.rounds import OwnerStopped, RoundLost

if TYPE_CHECKING:
    from mcp.server.connection import Connection

    from ..state.rounds import RoundRelay
    from .shared_sessions import SharedSessionManager

CANCELLED = "notifications/cancelled"


class Refused(Exception):
    """A message that could not be handed to the replica holding what it concerns: the POST's HTTP
    status and the message of its JSON-RPC error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ClientMessages:
    """One replica's end: it tags the request ids it mints, carries messages to their holders
    (`carry`) and delivers those carried to it (`deliver`, the relay's `on_message`)."""

    def __init__(self, relay: RoundRelay, manager: SharedSessionManager) -> None:
        self._relay = relay
        self._manager = manager
        relay.on_message = self.deliver
        # the other replicas listening at the last look (None: never looked); with Redis down, a
        # cancellation when none was is the common "request just finished" race: taken (202) as before
        self._others: list[str] | None = None

    @property
    def replica(self) -> str:
        return self._relay.replica

    def tag_request_ids(self, connection: Connection) -> None:
        """Make the session's dispatcher mint this replica's request ids (`<replica>-<n>`, a string:
        JSON-RPC allows it). Idempotent; a connection without a dispatcher (stateless) is left alone."""
        dispatcher = connection.outbound
        if not isinstance(dispatcher, JSONRPCDispatcher) or "_allocate_id" in vars(dispatcher):
            return
        numbers = itertools.count(1)
        dispatcher._allocate_id = lambda: f"{self.replica}-{next(numbers)}"  # type: ignore[method-assign]

    def holder(self, session_id: str, message: Mapping[str, Any]) -> str | None:
        """The other replica `message` must reach, if any: for a response, the replica its id names;
        for a cancellation, "*" (every other replica) unless the request runs here; else None."""
        if "method" not in message and ("result" in message or "error" in message):
            owner, dash, _ = str(message.get("id")).rpartition("-")
            return owner if dash and owner != self.replica and len(owner) == len(self.replica) else None
        if message.get("method") == CANCELLED:
            params = message.get("params")
            request_id = params.get("requestId") if isinstance(params, Mapping) else None
            return None if request_id is None or self._runs_here(session_id, request_id) else "*"
        return None

    def _runs_here(self, session_id: str, request_id: Any) -> bool:
        lean = self._manager.lean
        key = coerce_request_id(request_id)
        if lean is not None and lean.running(session_id, key):
            return True
        connection = lean.notifier.connection(session_id) if lean is not None else None
        in_flight = getattr(connection.outbound, "_in_flight", {}) if connection is not None else {}
        return key in in_flight

    async def carry(self, session_id: str, principal: Principal | None, message: dict[str, Any],
                    holder: str) -> None:
        """Hand `message` of `session_id` to `holder` (a replica id, or "*": every other replica).
        Raises `Refused` (410: the holder stopped; 503: Redis does not answer)."""
        try:
            if holder != "*":
                held = await self._relay.forward_message(holder, session_id, principal, message)
            else:
                try:
                    others = [r for r in await self._relay.replicas() if r != self.replica]
                except StateUnavailable:
                    if self._others != []:
                        raise
                    others = []  # this replica was alone: nothing elsewhere to cancel
                self._others = others
                results = await asyncio.gather(*(self._relay.forward_message(r, session_id, principal, message)
                                                 for r in others), return_exceptions=True)
                for result in results:  # a replica that stopped meanwhile held nothing of this session;
                    # any other failure (Redis, link being restored, too many waiting, no answer in
                    # time) may have lost the cancellation: refused (503), never a 202
                    if isinstance(result, BaseException) and not isinstance(result, OwnerStopped):
                        raise result
                held = any(result is True for result in results)
        except StateUnavailable:
            raise Refused(HTTPStatus.SERVICE_UNAVAILABLE, "the shared state (Redis) does not answer, so this "
                          "message cannot reach the replica holding the call it concerns; send it again shortly"
                          ) from None
        except OwnerStopped:
            raise Refused(HTTPStatus.GONE, "the replica holding the request this message concerns stopped; that "
                          "request is gone with it") from None
        except RoundLost as exc:  # the link to Redis is being restored, too many waiting: transient
            raise Refused(HTTPStatus.SERVICE_UNAVAILABLE, f"this message could not reach the replica holding "
                          f"the call it concerns: {exc}") from None
        log_event("client message carried to the replica holding its call", logging.DEBUG,
                  method=message.get("method", "response"), held=held)

    async def deliver(self, session_id: str, principal: Principal | None, message: dict[str, Any]) -> bool:
        """Deliver a message carried here into `session_id`'s transport, as if POSTed here; whether the
        session is held here for that principal (and, for a response, its request still waits here)."""
        manager = self._manager
        transport = manager.transport(session_id, principal.owner if principal is not None else None)
        writer = getattr(transport, "_read_stream_writer", None)
        if transport is None or writer is None:
            return False
        if message.get("method") == CANCELLED:
            params = message.get("params")
            if not isinstance(params, Mapping) or not self._runs_here(session_id, params.get("requestId")):
                return False  # not running here: another replica's, or over already
            if manager.lean is not None:
                manager.lean.cancel(session_id, params)
        elif not self._waits_here(session_id, message.get("id")):
            return False
        try:
            parsed = types.jsonrpc_message_adapter.validate_python(message, by_name=False)
        except ValidationError:
            return False
        await writer.send(SessionMessage(parsed))
        return True

    def _waits_here(self, session_id: str, request_id: Any) -> bool:
        lean = self._manager.lean
        connection = lean.notifier.connection(session_id) if lean is not None else None
        pending = getattr(connection.outbound, "_pending", {}) if connection is not None else {}
        return request_id is not None and coerce_request_id(request_id) in pending


def carry_client_messages(server: Any, relay: RoundRelay) -> ClientMessages | None:
    """With shared state, make the handshake-era sessions of `server` (built by `http.build_http_app`)
    carry their clients' responses and cancellations to the replica holding the call; None when its
    sessions are not shared (stateless HTTP)."""
    from .shared_sessions import SharedSessionManager

    manager = getattr(server, "_session_manager", None)
    if not isinstance(manager, SharedSessionManager) or manager.lean is None:
        return None
    messages = ClientMessages(relay, manager)
    manager.lean.messages = messages
    manager.lean.notifier.on_track.append(messages.tag_request_ids)
    return messages
