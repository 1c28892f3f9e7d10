"""Relaying what a proxied server asks of the client during a call: sampling, elicitation, roots, logs.

The upstream connection is shared by every client of mcprt, so each server→client request must go
to the client whose call caused it, and to no other (a prompt for a password must never reach
another user). Which call that is:

- on streamable HTTP and in the 2026-07-28 multi-round-trip flow, the SDK runs the callback in the
  context of the task that sent the call (its context-carrying streams), so a context variable set
  around the call names the caller exactly;
- on stdio (JSON-RPC has no "related request" field), it is the call the question names by its
  trace context: each upstream request carries a W3C `traceparent` in `params._meta` (SEP-414, the
  MCP SDKs' trace propagation; the current span's, or a fresh non-recording one made for the
  request when none is current), and a server that continues that trace (the SDKs do, by default)
  sends its questions with a `traceparent` of the same trace. The one call in flight whose trace
  (and, among calls sharing a trace, whose span) the question carries gets it;
- else it is the source's only call in flight; with several in flight it is refused with an error
  saying so, never guessed — except over stdio, where every call in flight is the one client's, so
  that client is asked (below). One exception: calls whose questions are out with a 2026-07-28
  client (the peer's `awaiting_client`: the upstream waits for answers the client may never send,
  for up to the round's lifetime) do not count when they and the one other call are the same
  principal's (`principal`) — an abandoned round must not stop that caller's next calls from
  asking, and a question can still never reach another principal's client.

What a question says reaches the client without mcprt's configured secrets (`_relay`).

A caller that cannot be reached (stateless HTTP, a 2026-07-28 client, a client without the
capability) makes the relay answer the upstream with a JSON-RPC error at once — no hang.

The one exception to "no call, no addressee": mcprt served over stdio has exactly one client, the
process that started it, so what names no call goes to that client (the runtime's
`SoleClientSlot`, set by server/sole_client.py) — the filesystem server's `roots/list` right after
its handshake or on a roots change, a server's log messages between calls — as it would reach it
without mcprt in between. No call's time limit bounds such a request, so the relay does: the
source's `startup_timeout` for `roots/list` (a client answers it from memory), `ASK_CLIENT`
seconds for sampling and elicitation (a person or a model answers); past it the upstream gets a
-32001 error saying so, and the client a `notifications/cancelled`. A question during a call is bounded
the same way, and the call's own `timeout` (the server's time: call_clock.py) stands still meanwhile. That client's roots changes are
passed on to every proxied server (server/sole_client.py). Over HTTP the upstream connection is
shared by every session: one client's roots must not decide what another's calls reach, so there
nothing is guessed.

A request no one client made — `resources/subscribe`/`unsubscribe`, one upstream subscription for every client
subscribed to the URI (`Relay.unaddressed`) — has no addressee: what its server asks meanwhile is refused (to
the sole stdio client it goes as before), never relayed to the client of another call in flight. A question that
names no call (its server sends no trace context) while such a request is out is refused too: it may be that
request's.

A URL-mode elicitation's `notifications/elicitation/complete` (MCP 2025-11-25) names the upstream's
`elicitationId` and no client: it goes to the one session that was sent that question, by what was
remembered when the question was relayed (url_asks.py), and to no session when that cannot be told.

What names no call — no caller context, no trace context of a call in flight — cannot be proven anyone's: a call
that ended may still be running upstream (a server reads `notifications/cancelled` only after it started the request:
a trial's bob cancelled after 5–50 ms and his server's `step 1 of 20` came after his call had left the table; a server
that ignores cancellation runs on), and a call that was answered may have left a background job that logs on the
session (a server's session-level `send_log_message`, which over HTTP comes on the GET stream, not the call's
response stream). So the one guess kept — the source's only call in flight gets it — is made only when it cannot
cross principals: when every call in flight on the source, and every client's call that ended (answered or not)
within its window, is the same principal's (`Principal.owner`) as the receiver's (`_one_principal`). Each call's window is its
own time limit after it ended (`_WINDOW_SECONDS` without one), kept per principal (`_recent`), so bob's cancel
withholds only what alice could not be proven to own, for his call's window, and alice's own provable messages
(her call's response stream over HTTP; a trace context) reach her meanwhile. A message whose trace context names no
call in flight is never given to the one call that is: it names another request (one that ended, or none of mcprt's).

Log messages (`notifications/message`) follow the same rule: to the one caller they belong to (by the
caller context, by a `traceparent` in the message's `_meta`, or as the source's only call in flight),
and to no client when that cannot be told (several calls in flight, none, or another principal's call in flight or
ended within its window: a late log of a call that has ended is no less that caller's). The exception for calls waiting on their client does not apply to
logs: such a call's server is still running and may log, so with alice's call waiting on her answer and
bob's running, a log of alice's call reached bob. Those go to mcprt's own log, for the operator. They
were sent to every connected client, so a server logging `processing <alice's argument>` while
alice's and bob's calls ran showed alice's data to bob and to every idle client. They are counted
(`UNROUTED_LOGS`: the `mcprt_unrouted_log_messages_total` metric) and logged at a bounded rate: the first of
a source with why it reached no client, at the server's level; the rest at debug, with an info summary at most
once every `_UNROUTED_SUMMARY_SECONDS` (a trial's chatty server made 11 % of mcprt's log lines, each repeating
the same 330-byte explanation).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp_types as types

from ...contracts import CLIENT_ANSWER_SECONDS, ClientPeer, RelayError, SoleClientSlot
from ...scrubbing import SECRETS
from .call_clock import CallClock
from .url_asks import UrlAsks, url_ask_of

# MCP log levels (RFC 5424 severities, MCP spec "Logging") as Python's.
_PYTHON_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "notice": logging.INFO, "warning": logging.WARNING,
                  "error": logging.ERROR, "critical": logging.CRITICAL, "alert": logging.CRITICAL,
                  "emergency": logging.CRITICAL}
_SHOWN_CHARS = 2_000  # a server's log data can be anything JSON: one line of it, bounded


def _shown(data: Any) -> str:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + f"… ({len(text) - _SHOWN_CHARS} more chars)"


CALLER: contextvars.ContextVar["_Call | None"] = contextvars.ContextVar("mcprt_relay_caller", default=None)

# W3C Trace Context §3.2 `traceparent`: version-traceid-parentid-flags (lowercase hex; version 00's layout,
# which later versions keep as their prefix).
_TRACEPARENT = re.compile(r"^\s*[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")


_WINDOW_SECONDS = 30.0  # s a request without a time limit may still run upstream (or its job log) after it ended
_UNROUTED_SUMMARY_SECONDS = 60.0  # s between two info summaries of a source's log messages for no one client

UNROUTED_LOGS: Counter[str] = Counter()
"""source name → the server's log messages that reached no client since the process started (across reloads,
as `mcprt_unrouted_log_messages_total` must never go down)."""

# s: how long a client may take to answer sampling or elicitation (a person may be answering), in a call or
# outside any; the call's timeout stands still meanwhile. `roots/list` gets the source's startup_timeout.
ASK_CLIENT = CLIENT_ANSWER_SECONDS


@dataclass(eq=False)
class _Call:
    """One upstream request in flight: who asked it, and the trace context it carries upstream."""

    peer: ClientPeer | None
    trace_id: int
    span_id: int
    clock: CallClock | None = None  # the call's time limit, stopped while its client is asked
    # the questions of this call out with its client: cancelled when the call ends (`Relay.calling`), so the
    # client is told they are void, as a server's own cancelled request tells it
    asks: set[anyio.CancelScope] = field(default_factory=set)
    # why no client may be asked for this request (`Relay.unaddressed`); None: an ordinary call
    refusal: str | None = None


@contextmanager
def _traced_request() -> Iterator[tuple[int, int]]:
    """Around one upstream request: (trace id, span id) of the trace context it carries (SEP-414: the SDK
    client writes the current span's `traceparent` into `params._meta`). With no span current (tracing off)
    a fresh non-recording one is made current meanwhile — its ids are random, so each request's are its own."""
    from opentelemetry import context, trace  # the SDK imports the OpenTelemetry API already

    current = trace.get_current_span().get_span_context()
    if current.is_valid:
        yield current.trace_id, current.span_id
        return
    fresh = trace.SpanContext(trace_id=secrets.randbits(128) or 1, span_id=secrets.randbits(64) or 1,
                              is_remote=False, trace_flags=trace.TraceFlags.get_default())
    token = context.attach(trace.set_span_in_context(trace.NonRecordingSpan(fresh)))
    try:
        yield fresh.trace_id, fresh.span_id
    finally:
        context.detach(token)


def _owner(peer: ClientPeer | None) -> str | None:
    """The principal a peer's calls are made by (`Principal.owner`), None when unknown."""
    principal = getattr(peer, "principal", None)
    return getattr(principal, "owner", None)


def _trace_of(meta: Any) -> tuple[int, int] | None:
    """(trace id, parent span id) of a server→client request's `_meta.traceparent`, if it has one."""
    value = meta.get("traceparent") if isinstance(meta, Mapping) else None
    match = _TRACEPARENT.match(value) if isinstance(value, str) else None
    return (int(match.group(1), 16), int(match.group(2), 16)) if match else None


class Relay:
    """Per-source bookkeeping of calls in flight and the SDK client callbacks that relay to them."""

    def __init__(self, source: str, log: logging.Logger, sole_client: SoleClientSlot | None = None,
                 roots_within: float = 30.0) -> None:
        self.source = source
        self.log = log
        self._in_flight: list[_Call] = []
        self._unaddressed: list[_Call] = []  # requests no one client made (`unaddressed`)
        self._sole = sole_client or SoleClientSlot()  # the runtime's one stdio client (none over HTTP)
        self._within = {"roots/list": roots_within}  # s a client may take to answer (else ASK_CLIENT)
        self.url_asks = UrlAsks(source, log)  # who was sent each URL-mode elicitation, for its completion
        # principal (`Principal.owner`; None: unknown) → time.monotonic() until which a call of theirs that ended
        # may still have its server running or logging for it (module doc: each call's own window)
        self._recent: dict[str | None, float] = {}
        self._unrouted_told = False  # the first log message for no one client was logged with its reason
        self._unrouted_since = 0  # such messages logged at debug since the last summary
        self._unrouted_summary_at = 0.0  # time.monotonic() of the last summary

    @contextmanager
    def _tracked(self, call: _Call, into: list[_Call]) -> Iterator[_Call]:
        """Around one upstream request: `call` is the caller context (HTTP) and kept in `into` (its trace
        context, which the request carries upstream, ties a stdio server's question to it)."""
        token = CALLER.set(call)
        into.append(call)
        try:
            yield call
        finally:
            into.remove(call)
            CALLER.reset(token)
            if call.peer is not None:  # a client's call: its server may still run it, or a job it left, and log
                self._ended(call)  # (mcprt's own requests, peer None, are no principal's: nothing to cross)

    def _ended(self, call: _Call) -> None:
        """`call` ended (answered or not): for its time limit its principal's messages naming no call may come."""
        within = call.clock.timeout if call.clock is not None else _WINDOW_SECONDS
        owner = _owner(call.peer)
        now = time.monotonic()
        for key in [key for key, until in self._recent.items() if until <= now]:  # bounded by the principals active
            del self._recent[key]
        self._recent[owner] = max(self._recent.get(owner, 0.0), now + within)

    def _one_principal(self, receiver: _Call) -> str | None:
        """Why a message naming no call may not go to `receiver` (None: it may): every call in flight, and every
        call that ended within its window, must be the receiver's principal's, so a guess never crosses them."""
        owner = _owner(receiver.peer)
        if owner is None:
            return "its caller is of no known principal"
        if any(_owner(call.peer) != owner for call in self._in_flight):
            return "another principal's call is in progress"
        now = time.monotonic()
        late = [until - now for key, until in self._recent.items() if key != owner and until > now]
        if late:
            return (f"another principal's call on it ended within the last {max(late):.0f}s of its window "
                    "(its server may still be running it, or a job it left)")
        return None

    @contextmanager
    def calling(self, peer: ClientPeer | None, clock: CallClock | None = None) -> Iterator[_Call]:
        """Around one upstream request: the peer its server→client requests go to (`clock`: the request's
        time limit, stopped while that peer is asked). Yields the call, for `settle`."""
        with _traced_request() as (trace_id, span_id), \
                self._tracked(_Call(peer, trace_id, span_id, clock), self._in_flight) as call:
            try:
                yield call
            except anyio.get_cancelled_exc_class():
                # A call cancelled by its client (`notifications/cancelled`) or its time limit: its questions still
                # out are void. Cancelling their requests makes the SDK tell the client so, with
                # `notifications/cancelled` naming each (MCP 2025-11-25 basic/utilities/cancellation; what a server
                # the client talks to directly sends when the handler that asked is cancelled), so no dialog stays
                # open for a call that is gone and no late answer is taken. A call that was answered leaves them
                # be: a question it was told from may be the server's own (a `roots/list` after a roots change).
                for ask in list(call.asks):
                    ask.cancel()
                raise

    @contextmanager
    def unaddressed(self, refusal: str) -> Iterator[_Call]:
        """Around an upstream request no one client made — `resources/subscribe` and `unsubscribe`: one upstream
        subscription serves every client subscribed to the URI; `refusal` says so. What the server asks
        meanwhile is refused (RelayError: the server hears `refusal`), never relayed to the client of another
        call that happens to be in flight: by the caller context (HTTP), by the request's trace context
        (stdio), and — a server that sends no trace context — any question that names no call while such a
        request is out (`_addressee`). Over stdio mcprt has one client, whom it goes to (`SoleClientSlot`)."""
        with _traced_request() as (trace_id, span_id), \
                self._tracked(_Call(None, trace_id, span_id, refusal=refusal), self._unaddressed) as call:
            yield call

    @staticmethod
    async def settle(call: _Call, within: float = 2.0) -> None:
        """Wait, at most `within` seconds, until the questions `calling` voided as `call` ended have told
        their client (the SDK writes `notifications/cancelled` as each request unwinds). A request the client
        cancelled must wait for this before it ends: its response stream, which carries the notification to
        that client, closes with it."""
        with anyio.move_on_after(within):
            while call.asks:
                await anyio.sleep(0.01)

    def caller(self, meta: Any = None, *, question: bool = True) -> ClientPeer:
        """The client to ask: the one whose call sent the question (see the module docstring);
        `meta`: the question's `_meta` (its trace context). RelayError when that cannot be told.

        `question=False` (a log message): the rule that passes over calls waiting on their client does
        not apply — a call whose question is out is still running upstream and may log, so with several
        calls in flight only the caller context or the trace context names the addressee."""
        return self._addressee(meta, question)[0]

    def _addressee(self, meta: Any, question: bool) -> tuple[ClientPeer, _Call | None]:
        """`caller`, and the call it was told from (None: the sole client, for no one call)."""
        call = CALLER.get()
        if call is not None and call.peer is not None:
            return call.peer, call
        refused = call if call is not None and call.refusal else self._unaddressed_by(meta)
        refusal = refused.refusal if refused is not None else None
        if refusal is None and self._unaddressed and self._tied(meta) is None:
            # A question naming no call (a server that sends no trace context) while a request no one client made
            # is out may be that request's: ambiguous, so refused, not guessed to be the call in flight's (review
            # of proxyleft: alice, calling a tool, was asked on behalf of bob's subscribe).
            refusal = (f"{self._unaddressed[0].refusal}; this request names no call (no trace context in its "
                       "_meta), so it may be that request's")
        if refusal is not None:
            if self._sole.peer is not None:  # mcprt's one client: the subscriber
                return self._sole.peer, None
            raise RelayError(refusal)
        if not self._in_flight:
            if self._sole.peer is not None:
                return self._sole.peer, None
            raise RelayError(f"mcprt has no client call in progress on source '{self.source}' to relay this to")
        tied = self._tied(meta)
        if tied is not None:
            return self._reachable(tied.peer), tied
        if _trace_of(meta) is not None:  # it names a request, and not one in flight: never another call's
            if self._sole.peer is not None:
                return self._sole.peer, None
            raise RelayError(f"this request's trace context names no call in progress on source '{self.source}' "
                             "(a call that has ended, e.g. cancelled by its client); it is not relayed to the "
                             "client of another call")
        if len(self._in_flight) > 1:
            asking = [call for call in self._in_flight if not getattr(call.peer, "awaiting_client", False)]
            if not (question and len(asking) == 1):  # (a peer with a principal is an MCP client)
                if self._sole.peer is not None:  # every call in flight is that one client's
                    return self._sole.peer, None
                raise RelayError(f"source '{self.source}' has several calls in progress and this request names none "
                                 "of them (no trace context of one of their calls in its _meta); mcprt relays such "
                                 "server→client requests only while one call runs (over stdio: to its one client)")
            receiver = asking[0]
        else:
            receiver = self._in_flight[0]
        why = self._one_principal(receiver)
        if why is not None:  # the guess could cross principals (module doc)
            if self._sole.peer is not None:
                return self._sole.peer, None
            raise RelayError(f"this request names no call on source '{self.source}' (no trace context in its _meta, "
                             f"not on a call's own response stream) and {why}; mcprt relays it to no client")
        return self._reachable(receiver.peer), receiver

    def _unaddressed_by(self, meta: Any) -> _Call | None:
        """The request in `unaddressed` whose trace context the question carries, if any: by its trace, and by
        its span too when a call in flight shares that trace (as `_tied` tells calls of one trace apart)."""
        trace = _trace_of(meta) if self._unaddressed else None
        if trace is None:
            return None
        shared = any(call.trace_id == trace[0] for call in self._in_flight)
        return next((call for call in self._unaddressed
                     if call.trace_id == trace[0] and (not shared or call.span_id == trace[1])), None)

    def _tied(self, meta: Any) -> _Call | None:
        """The one call in flight whose trace the question carries (by trace, then by span), if any."""
        trace = _trace_of(meta)
        if trace is None:
            return None
        same = [call for call in self._in_flight if call.trace_id == trace[0]]
        if len(same) > 1:  # calls of one trace (a client's parallel calls): the span tells them apart
            same = [call for call in same if call.span_id == trace[1]]
        return same[0] if len(same) == 1 else None

    @staticmethod
    def _reachable(peer: ClientPeer | None) -> ClientPeer:
        if peer is None:
            raise RelayError("the caller of this tool is not an MCP client (e.g. `mcprt call`) and cannot be asked")
        return peer

    async def _relay(self, method: str, params: Any, result_model: Any, context: Any = None) -> Any:
        try:
            peer, call = self._addressee(getattr(context, "meta", None), True)
            wire = params.model_dump(by_alias=True, mode="json", exclude_none=True) if params is not None else None
            # Without mcprt's configured secrets (`scrub_prose`: an elicitation's message and schema or URL, a
            # sampling request's messages, tool use and system prompt). Here, because every question of
            # both eras passes here: a handshake-era request and the `inputRequests` of a 2026-07-28
            # `InputRequiredResult` (which the SDK hands to these callbacks; its `requestState` goes back
            # to the server only and is left as written).
            wire = await SECRETS.scrub_prose_async(wire)  # a sampling message's image: off the loop when large
            within = self._within.get(method, ASK_CLIENT)
            clock = call.clock if call is not None else None
            url = url_ask_of(method, params, wire, peer)  # remembered before it is sent: a completion may come
            ask = self.url_asks.remember(*url) if url is not None else None  # while the client still answers
            voided = anyio.CancelScope()  # cancelled when the call that asked ends first (`calling`)
            if call is not None:
                call.asks.add(voided)
            try:
                with voided, anyio.move_on_after(within) as bound, (clock.client_turn() if clock else nullcontext()):
                    result = await peer.request(method, wire)
                if voided.cancelled_caught:
                    raise RelayError(f"the call that asked {method} ended before the client answered")
                if bound.cancelled_caught:
                    who = "mcprt's client" if peer is self._sole.peer else "the client"
                    raise RelayError(f"{who} did not answer {method} within {within:g}s", types.REQUEST_TIMEOUT)
                answer = result_model.model_validate(result, by_name=False)
            except BaseException:
                if ask is not None:  # never sent, refused, voided or unanswered: no interaction is under way
                    self.url_asks.forget(ask)
                raise
            finally:
                if call is not None:
                    call.asks.discard(voided)
            if ask is not None and getattr(answer, "action", None) != "accept":
                self.url_asks.forget(ask)  # declined or cancelled: the user is not sent to the page
            return answer
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
        return await self._relay("sampling/createMessage", params, model, context)

    async def elicitation(self, context: Any, params: Any) -> Any:
        return await self._relay("elicitation/create", params, types.ElicitResult, context)

    async def list_roots(self, context: Any) -> Any:
        return await self._relay("roots/list", None, types.ListRootsResult, context)

    async def logging(self, params: types.LoggingMessageNotificationParams) -> None:
        wire = params.model_dump(by_alias=True, mode="json", exclude_none=True)
        try:
            peer = self.caller(wire.get("_meta"), question=False)
        except RelayError as exc:
            self._unrouted(wire, exc)
            return
        try:
            await peer.log(wire)
        except Exception as exc:  # a client gone mid-call must not break the upstream connection
            self.log.debug("source %s: log not relayed: %s", self.source, exc)

    def _unrouted(self, wire: dict[str, Any], why: RelayError) -> None:
        """A log message that reaches no client: counted, and logged at a bounded rate (module docstring).
        Its data was scrubbed of configured secrets on arrival (vetting.py)."""
        UNROUTED_LOGS[self.source] += 1
        data = _shown(wire.get("data"))
        if not self._unrouted_told:
            self._unrouted_told = True
            self._unrouted_summary_at = time.monotonic()
            self.log.log(_PYTHON_LEVELS.get(str(wire.get("level")), logging.INFO),
                         "source %s: log message for no one client (%s): %s — further ones are counted in "
                         "mcprt_unrouted_log_messages_total and logged at debug, with a summary at most every %gs",
                         self.source, why, data, _UNROUTED_SUMMARY_SECONDS)
            return
        self.log.debug("source %s: log message for no one client: %s", self.source, data)
        self._unrouted_since += 1
        now = time.monotonic()
        if now - self._unrouted_summary_at >= _UNROUTED_SUMMARY_SECONDS:
            self.log.info("source %s: %d more log messages for no one client in the last %.0fs (%d since start)",
                          self.source, self._unrouted_since, now - self._unrouted_summary_at,
                          UNROUTED_LOGS[self.source])
            self._unrouted_since = 0
            self._unrouted_summary_at = now

    async def elicitation_complete(self, elicitation_id: str) -> None:
        """The server's `notifications/elicitation/complete`: to the one session that was sent that URL-mode
        elicitation, under the id it was given, or to none (url_asks.py)."""
        await self.url_asks.complete(elicitation_id)

    def callbacks(self) -> dict[str, Any]:
        """Keyword arguments for the SDK `Client`: declaring them advertises the capabilities upstream."""
        return {
            "sampling_callback": self.sampling,
            "elicitation_callback": self.elicitation,
            "list_roots_callback": self.list_roots,
            "logging_callback": self.logging,
        }
