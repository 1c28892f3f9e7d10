"""Relaying what a proxied server asks of the client during a call: sampling, elicitation, roots, logs.

The upstream connection is shared by every client of mcprt, so each server→client request must go
to the client whose call caused it, and to no other (a prompt for a password must never reach
another user). Which call that is:

- on streamable HTTP and in the 2026-07-28 multi-round-trip flow, the SDK runs the callback in the
  context of the task that sent the call (its context-carrying streams), so a context variable set
  around the call names the caller exactly;
- on stdio (JSON-RPC has no "related request" field), it is the source's only call in flight; with
  several in flight the request is refused with an error saying so, never guessed. One exception:
  calls whose questions are out with a 2026-07-28 client (the peer's `awaiting_client`: the
  upstream waits for answers the client may never send, for up to the round's lifetime) do not
  count when they and the one other call are the same principal's (`principal`) — an abandoned
  round must not stop that caller's next calls from asking, and a question can still never reach
  another principal's client.

A caller that cannot be reached (stateless HTTP, a 2026-07-28 client, a client without the
capability) makes the relay answer the upstream with a JSON-RPC error at once — no hang.

Log messages (`notifications/message`) follow the same rule: to the one caller they belong to, and
to no client when that cannot be told (several calls in flight on stdio, or none: a late log of a
call that has ended is no less that caller's). Those go to mcprt's own log, for the operator. They
were sent to every connected client, so a server logging `processing <alice's argument>` while
alice's and bob's calls ran showed alice's data to bob and to every idle client.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import mcp_types as types

from ...contracts import ClientPeer, RelayError

# MCP log levels (RFC 5424 severities, MCP spec "Logging") as Python's.
_PYTHON_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "notice": logging.INFO, "warning": logging.WARNING,
                  "error": logging.ERROR, "critical": logging.CRITICAL, "alert": logging.CRITICAL,
                  "emergency": logging.CRITICAL}
_SHOWN_CHARS = 2_000  # a server's log data can be anything JSON: one line of it, bounded


def _shown(data: Any) -> str:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + f"… ({len(text) - _SHOWN_CHARS} more chars)"


CALLER: contextvars.ContextVar[ClientPeer | None] = contextvars.ContextVar("mcprt_relay_caller", default=None)


class Relay:
    """Per-source bookkeeping of calls in flight and the SDK client callbacks that relay to them."""

    def __init__(self, source: str, log: logging.Logger) -> None:
        self.source = source
        self.log = log
        self._in_flight: list[ClientPeer | None] = []

    @contextmanager
    def calling(self, peer: ClientPeer | None) -> Iterator[None]:
        """Around one upstream request: the peer its server→client requests go to."""
        token = CALLER.set(peer)
        self._in_flight.append(peer)
        try:
            yield
        finally:
            self._in_flight.remove(peer)
            CALLER.reset(token)

    def caller(self) -> ClientPeer:
        peer = CALLER.get()
        if peer is not None:
            return peer
        if not self._in_flight:
            raise RelayError(f"mcprt has no client call in progress on source '{self.source}' to relay this to")
        if len(self._in_flight) > 1:
            asking = [peer for peer in self._in_flight if not getattr(peer, "awaiting_client", False)]
            first = getattr(self._in_flight[0], "principal", None)
            one_principal = first is not None and all(getattr(peer, "principal", None) == first
                                                      for peer in self._in_flight)
            if len(asking) == 1 and one_principal:  # (a peer with a principal is an MCP client)
                return asking[0]
            raise RelayError(f"source '{self.source}' has several calls in progress and this transport does not say "
                             "which one asks; mcprt relays server→client requests over stdio only while one call runs")
        peer = self._in_flight[0]
        if peer is None:
            raise RelayError("the caller of this tool is not an MCP client (e.g. `mcprt call`) and cannot be asked")
        return peer

    async def _relay(self, method: str, params: Any, result_model: Any) -> Any:
        try:
            peer = self.caller()
            wire = params.model_dump(by_alias=True, mode="json", exclude_none=True) if params is not None else None
            result = await peer.request(method, wire)
            return result_model.model_validate(result, by_name=False)
        except RelayError as exc:
            self.log.info("source %s: %s not relayed: %s", self.source, method, exc)
            return types.ErrorData(code=exc.code, message=str(exc))
        except Exception as exc:  # the client answered with an error or something invalid
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            code = getattr(exc, "code", types.INTERNAL_ERROR)
            return types.ErrorData(code=code if isinstance(code, int) else types.INTERNAL_ERROR,
                                   message=f"the client refused {method}: {message}")

    # --- SDK client callbacks ---------------------------------------------------------------------

    async def sampling(self, context: Any, params: types.CreateMessageRequestParams) -> Any:
        model = types.CreateMessageResultWithTools if getattr(params, "tools", None) else types.CreateMessageResult
        return await self._relay("sampling/createMessage", params, model)

    async def elicitation(self, context: Any, params: Any) -> Any:
        return await self._relay("elicitation/create", params, types.ElicitResult)

    async def list_roots(self, context: Any) -> Any:
        return await self._relay("roots/list", None, types.ListRootsResult)

    async def logging(self, params: types.LoggingMessageNotificationParams) -> None:
        wire = params.model_dump(by_alias=True, mode="json", exclude_none=True)
        try:
            peer = self.caller()
        except RelayError as exc:
            self.log.log(_PYTHON_LEVELS.get(str(wire.get("level")), logging.INFO),
                         "source %s: log message for no one client (%s): %s", self.source, exc,
                         _shown(wire.get("data")))
            return
        try:
            await peer.log(wire)
        except Exception as exc:  # a client gone mid-call must not break the upstream connection
            self.log.debug("source %s: log not relayed: %s", self.source, exc)

    def callbacks(self) -> dict[str, Any]:
        """Keyword arguments for the SDK `Client`: declaring them advertises the capabilities upstream."""
        return {
            "sampling_callback": self.sampling,
            "elicitation_callback": self.elicitation,
            "list_roots_callback": self.list_roots,
            "logging_callback": self.logging,
        }
