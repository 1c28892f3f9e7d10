"""A proxied MCP server as a source: its tools as Operations, kept alive by a supervisor task.

Lifecycle
  Opening starts the server (or connects) and lists its tools within `startup_timeout`; failing
  that is a manifest diagnostic saying why. A supervisor task then owns the connection: when the
  server dies (process exit, or a call that finds the connection gone) it reconnects with
  exponential backoff — `restart_delay` (1 s), 2 s, 4 s … capped at 30 s, reset after a connection
  that stayed up for 30 s. Meanwhile calls answer at once with a ToolCallError ("source 'x' is restarting
  (attempt N); try again in a few seconds") rather than waiting: a model gets a clear, retryable
  answer and no call hangs on a server that may never come back.
Tool list changes
  An upstream `notifications/tools/list_changed` (or, on a 2026-07-28 connection, a
  `subscriptions/listen` event) makes the source list again; when the listing differs it calls
  `on_tools_changed(name)` so the runtime rebuilds and tells its own clients. A reconnect lists
  again the same way. `operations` always returns the current list.
Resources, templates and prompts
  Listed alongside the tools when the server offers them (and the manifest does not switch them
  off), relisted on their list_changed notifications, and served through `offerings` (this object
  is their `OfferProvider`). Subscriptions are remembered and renewed after a reconnect;
  `resources/updated` goes up as an `on_event(name, "resource_updated", uri)`.
Server→client requests during a call (sampling, elicitation, roots) and log messages are relayed
to the calling client (relay.py); outside any call, to mcprt's one client when served over stdio,
whose roots changes the server is told of (`client_roots_changed`, also once it is up again when
it was (re)starting at the time).
A session the server no longer knows
  A `url:` server that restarted (or ended our session) answers HTTP 404 to the old `Mcp-Session-Id`
  (on a request, or on the GET stream the SDK reopens, once a GET of the session was served: http.py
  `HttpStatus.note`). MCP 2025-11-25 basic/transports ("Session
  Management"): the client MUST start a new session with a new initialize. The source does so at once
  (a restart, counted and logged; the next one after a connection up for under RENEW_AT_ONCE_AFTER
  seconds waits its backoff, so a server refusing every session cannot make it spin). A request that
  met that 404 was not run, so it is sent again once on the new session: a tools/call within what is
  left of its own timeout, the others (resources, prompts, completion, subscribe) within `startup_timeout`
  again; an error in another form on that connection is an answer (`_names_session`).
Malformed things the server says
  Every message passes vetting.py before the SDK reads it: a malformed list item, call result,
  notification or stray response costs only itself, with a warning. Listings are assembled here
  (`_pages`): at most MAX_PAGES pages and MAX_LISTED_ITEMS items, ended by a repeated cursor, the
  first of two items with one key kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.subscriptions import ListenNotSupportedError
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ...errors import (CHECK_FIRST, MAY_HAVE_ACTED, CallTimeout, Diagnostic, McprtError, SourceUnavailable, ToolCallError,
                       UpstreamError, UpstreamRefused)
from ...contracts import CallContext, ClientPeer, Operation, SoleClientSlot, UpstreamResult
from ...observability.hooks import observed_upstream
from ...schema.structured_check import StructuredCheck
from ...offerings.model import OfferError, OfferUnavailable, Offerings, PromptOffer, ResourceOffer, TemplateOffer
from ...scrubbing import scrub_error_data, scrub_error_text
from .connectors import SESSION_GONE, Connector
from .delivery import Delivery, tracking
from .lost import is_transport_loss
from .convert import listing_signature, to_upstream, tool_operations
from .call_clock import CallClock
from .relay import UNROUTED_LOGS, Relay
from .request_meta import forwarded_meta
from .url_asks import COMPLETIONS, url_asks_of_error
from .vetting import complainer, is_stand_in
from .wellformed import shown

BACKOFF_CAP = 30.0
RENEW_AT_ONCE_AFTER = 1.0  # seconds a connection must have been up for its session's loss to renew at once
DRAIN_TIMEOUT = 5.0  # seconds the requests out on a connection whose session is gone get to meet their 404
CLOSE_TIMEOUT = 15.0
# consecutive liveness checks without an answer, and with nothing else heard from the server since the first,
# before a server with calls still out (each inside its timeout) is taken as hung: a single-threaded server
# working on one call answers nothing else meanwhile, and restarting it would lose every call it holds
BUSY_MISSES = 3
MAX_PAGES = 100  # of one listing (tools, resources, templates or prompts); README "Proxied MCP servers"
MAX_LISTED_ITEMS = 10_000  # of one listing
_T = TypeVar("_T")
_LOST_ERRORS: tuple[type[BaseException], ...] = (
    httpx2.TransportError,
    anyio.ClosedResourceError,
    anyio.BrokenResourceError,
    anyio.EndOfStream,
)
# Of those, the ones raised before a request could reach the server (no connection, a closed pipe).
_NOT_SENT_ERRORS: tuple[type[BaseException], ...] = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    anyio.ClosedResourceError,
    anyio.BrokenResourceError,
)


async def _subscription(client: Client, uri: str, *, subscribe: bool) -> types.EmptyResult:
    """`resources/subscribe` (or `unsubscribe`) of `uri`, sent as a plain request of the client's session.

    Only a server that advertises `resources.subscribe` gets it (`supports_subscribe`): a handshake-era
    server, since 2026-07-28 has no such request (SEP-2577: subscriptions are `Client.listen()`). The SDK's
    `subscribe_resource` wrappers warn of that removal on every call, whatever the server's era, and those
    warnings were raw lines on stderr amid `MCPRT_LOG_FORMAT=json` (soak trial F3); the request itself is
    current MCP 2025-11-25 (server/resources "Subscriptions")."""
    request: types.SubscribeRequest | types.UnsubscribeRequest
    if subscribe:
        request = types.SubscribeRequest(params=types.SubscribeRequestParams(uri=uri))
    else:
        request = types.UnsubscribeRequest(params=types.UnsubscribeRequestParams(uri=uri))
    return await client.session.send_request(request, types.EmptyResult)


@dataclass(frozen=True)
class Wants:
    """Which of the server's other features the manifest proxies."""

    resources: bool = True
    prompts: bool = True


@dataclass
class Listing:
    """One complete listing of the server: tools, and what else it offers."""

    tools: list[types.Tool]
    resources: list[types.Resource]
    templates: list[types.ResourceTemplate]
    prompts: list[types.Prompt]

    def signature(self) -> str:
        rest = [[item.model_dump(by_alias=True, mode="json", exclude_none=True) for item in group]
                for group in (self.resources, self.templates, self.prompts)]
        return listing_signature(self.tools) + repr(rest)



RESTARTS: Counter[str] = Counter()
"""Reconnects of a proxied server, by source name, since the process started: a counter
(`mcprt_source_restarts_total`) must never go down, and a reload that reopens a source makes a new
`McpServerSource` under the same name, so the tally lives here, not on the object."""


class _SessionGone(Exception):
    """A request met the server's 404 for our session: it was not run (see the module docstring)."""


class McpServerSource:
    """The running form of a `command:` or `url:` source. Holds no reference to the manifest."""

    def __init__(
        self,
        name: str,
        kind: str,
        connector: Connector,
        startup_timeout: float,
        on_tools_changed: Callable[[str], None] | None,
        *,
        wants: Wants | None = None,
        on_event: Callable[[str, str, Any], None] | None = None,
        sole_client: SoleClientSlot | None = None,
        liveness: tuple[float, float] = (0.0, 5.0),
        restart_delay: float = 1.0,
    ) -> None:
        self.name = name
        self.restart_delay = restart_delay  # s before the first restart; doubled per attempt up to BACKOFF_CAP
        # (ping_every, ping_timeout) seconds: the liveness check (`_watch_liveness`); ping_every 0: none
        self.ping_every, self.ping_timeout = liveness
        self._check_now = anyio.Event()  # a call timed out: ping at once
        self._heard_at = 0.0  # time.monotonic() when the server last sent anything (an answer, a notification)
        self.kind = kind
        self.fingerprint = ""
        self.connector = connector
        self.startup_timeout = startup_timeout
        self.on_tools_changed = on_tools_changed
        self.log = logging.getLogger(f"mcprt.source.{name}")
        self._complain = complainer(name, self.log)
        self.attempt = 0  # restarts since the last stable connection
        self._next_attempt_at = 0.0  # time.monotonic() when the next connection attempt starts (`retry_after`)
        self.state = "starting"  # starting | up | down (never up since it opened) | restarting | closed
        self.last_error: str | None = None  # why the connection was last lost (status page)
        self._client: Client | None = None
        # the connection calls go to now (the source itself until the first): a verdict its calls' HTTP
        # answers gave (source_health) belongs to one connection, and a reconnect starts afresh
        self.connection: object = self
        self._operations: list[Operation] = []
        self._result_checks: dict[str, StructuredCheck] = {}  # by upstream tool name: its outputSchema's check
        self._signature: str | None = None
        # while it opens: where a listing's findings (a tool left out, arguments renamed) go as warnings, so
        # `validate` (and `--strict`) says them as it does a Python source's; None after: then only logged
        self.open_findings: list[Diagnostic] | None = None
        self._lost = anyio.Event()
        self._relist = anyio.Event()
        self._closed = anyio.Event()
        self._ready = anyio.Event()
        self._connected = anyio.Event()  # set (and replaced) each time a connection comes up, or on close
        self._renew = False  # the connection was lost with its session: reconnect without the backoff
        self._renewing = False  # … and the supervisor is doing so now (calls wait for it: `_current`)
        self._in_flight: Counter[int] = Counter()  # requests out, by id() of the connection they went on
        self._drained = anyio.Event()  # set when a connection's last request ends, or on close (`_serve` waits)
        self._startup_error: str | None = None
        self._may_start_down = False
        self._task: asyncio.Task[None] | None = None
        self.wants = wants or Wants()
        self.on_event = on_event
        self._sole = sole_client or SoleClientSlot()  # the runtime's one stdio client (relay.py)
        self._roots_known = 0  # the sole client's `roots_changes` the server's roots are current with
        self.relay = Relay(name, self.log, self._sole, startup_timeout)
        self._offerings: Offerings | None = None
        self._subscribed: set[str] = set()  # upstream URIs some client subscribed to
        self.supports_subscribe = False
        self.supports_completion = False
        self.asks_client = True  # a proxied server may ask its client during prompts/get or resources/read

    # --- RunningSource -----------------------------------------------------------------------------

    @property
    def restarts(self) -> int:
        """Reconnects of the server under this source name since the process started (across reloads)."""
        return RESTARTS[self.name]

    @property
    def unrouted_logs(self) -> int:
        """The server's log messages that reached no client since the process started (relay.UNROUTED_LOGS)."""
        return UNROUTED_LOGS[self.name]

    @property
    def elicitation_completions(self) -> tuple[tuple[str, int], ...]:
        """(result, count) of the server's `notifications/elicitation/complete` since the process started
        (url_asks.COMPLETIONS), by result name."""
        return tuple(sorted((result, count) for (source, result), count in COMPLETIONS.items() if source == self.name))

    @property
    def operations(self) -> list[Operation]:
        return list(self._operations)

    @property
    def offerings(self) -> Offerings | None:
        """The server's resources, templates and prompts (None when it offers none)."""
        return self._offerings

    def local_files(self) -> list[Path]:
        """Files named in the command line (e.g. `server.py`): editing one restarts the server on reload."""
        return list(getattr(self.connector, "files", ()))

    async def start(self, *, may_start_down: bool = False) -> None:
        """Connect and list; raise McprtError (with the reason) if the first connection fails.

        `may_start_down` (`mcprt up` without `--strict`): a failed first connection leaves the source
        open and `down` instead, with no tools, `down_reason` saying why; the supervisor keeps trying
        with the restart backoff (`restart_delay`, doubled … 30 s) and, once the server answers, lists its tools and
        calls `on_tools_changed` like any list change, so clients get `tools/list_changed`."""
        self._may_start_down = may_start_down
        self._task = asyncio.create_task(self._supervise(), name=f"mcprt-source-{self.name}")
        try:
            await self._ready.wait()
        except asyncio.CancelledError:
            # Whoever opened us gave up (a superseded reload): end the process we started, then stop.
            await asyncio.shield(self.aclose())
            raise
        if self._startup_error is not None and not may_start_down:
            await self.aclose()
            raise McprtError(self._startup_error)

    retry_schedule = f"after 1 s, 2 s, 4 s … then every {BACKOFF_CAP:g} s"  # of `_supervise`, for messages

    @property
    def down_reason(self) -> str | None:
        """Why the source has been down since it opened (`start(may_start_down=True)`), else None."""
        return self._startup_error if self.state == "down" else None

    async def aclose(self) -> None:
        """Stop the supervisor; it closes the connection (and ends the process group)."""
        self.state = "closed"
        self._closed.set()
        self._lost.set()
        self._connected.set()
        self._drained.set()
        task = self._task
        if task is None or task.done():
            return
        if not self._ready.is_set():  # still starting: nothing to wind down gracefully
            self._startup_error = self._startup_error or "the source was closed while starting"
            self._ready.set()
            task.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(task), CLOSE_TIMEOUT)
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
        except asyncio.TimeoutError:
            task.cancel()
            self.log.warning("source %s did not close within %ss", self.name, CLOSE_TIMEOUT)

    # --- calls ---------------------------------------------------------------------------------------

    def invoker(self, upstream_name: str) -> Callable[[dict[str, Any], CallContext], Any]:
        async def invoke(arguments: dict[str, Any], context: CallContext) -> UpstreamResult:
            return await self.call(upstream_name, arguments, context)

        return invoke

    async def call(self, upstream_name: str, arguments: dict[str, Any], context: CallContext) -> UpstreamResult:
        """Send the call; `context.never_started` is set when it ends before anything was sent (the server down, or
        the call cut while it waited for a session being opened): it did nothing, so the policy gives back what it
        took for it, an approval of one call (review of govleft, problem 3: only a Python lane's queue said so)."""

        def cut() -> None:
            context.never_started = True

        def unsent() -> ToolCallError:
            cut()
            return self._unavailable_call()

        try:
            client = await self._current(context.timeout)
        except BaseException:  # cut (its client, its session, a drain) while it waited for a renewed session
            cut()
            raise
        if client is None:
            raise unsent()
        watch = observed_upstream("mcp", self.name, upstream_name, lambda: self.connector.target)
        carrier = None if watch is None else watch.carrier
        try:
            result = await self._on_session(
                client, context.timeout,
                lambda on, retry_within: self._call(on, upstream_name, arguments, context, carrier, retry_within),
                unsent, retry_gets="rest", cut_unsent=cut)
        except _HttpAnswer as answer:
            # An HTTP error status, as an OpenAPI upstream's: the call's event carries it, so the source's
            # health follows it by the same rule (observability/source_health.py: a run of 5xx → degraded)
            if watch is not None:
                watch.finish(answer.status, None)
            text = f"{context.tool}: server '{self.name}' answered the call with an HTTP error, not an MCP result"
            return UpstreamResult(kind="text", body=text, raw_bytes=0, status=answer.status, is_error=True)
        except BaseException as exc:
            if watch is not None:
                watch.finish(None, type(exc).__name__)
            raise
        upstream = to_upstream(result)
        problem = None if upstream.is_error else await self._nonconformance(upstream_name, upstream)
        if watch is not None:
            watch.finish(None, "tool_error" if result.is_error else "invalid_result" if problem else None)
        if problem is not None:
            self.log.warning("source %s: tool %s returned a result its outputSchema refuses (%s); answered as a "
                             "tool error", self.name, upstream_name, problem)
            raise UpstreamError(f"{context.tool}: server '{self.name}' returned a result that does not conform to "
                                f"the outputSchema of its tool '{upstream_name}' ({problem}), so it was not passed "
                                "on. This is the server's fault, not the arguments': calling again with the same "
                                "arguments will likely fail the same way")
        return upstream

    async def _nonconformance(self, upstream_name: str, upstream: UpstreamResult) -> str | None:
        """What is wrong with a successful result of a tool that declares an outputSchema, by path and types
        only (`StructuredCheck.problem`), or None. MCP 2025-11-25 server/tools "Output Schema": a server MUST
        send structured results that conform, and the SDK clients refuse the whole call otherwise, so a
        result passed on would crash the calling agent instead of telling it. A conforming result is passed
        on untouched. A structuredContent that is not an object was dropped by vetting (wellformed.py)."""
        check = self._result_checks.get(upstream_name)
        if check is None:
            return None
        if upstream.structured is None:
            return "no structuredContent"
        if upstream.raw_bytes > _CHECK_ON_LOOP_BYTES:
            # a bad result's wording walks it with jsonschema (1.7 s at 1.4 MB): off the loop, which every
            # session shares (review of carried, problem 10), as shaping does a prune
            return await asyncio.to_thread(check.problem, upstream.structured)
        return check.problem(upstream.structured)

    async def _call(self, client: Client, upstream_name: str, arguments: dict[str, Any], context: CallContext,
                    carrier: dict[str, str] | None, retry_within: float | None) -> types.CallToolResult:
        """The call on `client`; `retry_within`: None for its first sending, else the seconds it has when sent
        again on a renewed session (`_on_session`)."""
        called = context  # the call's own context: the copies below are the sending's (progress, time left)

        def sent_nothing() -> None:
            called.never_started = True

        with self._out(client):
            if context.progress is not None:  # (none asked: no progress token is sent, so none comes)
                context = replace(context, progress=self._hearing(context.progress))
            if retry_within is None:
                return await self._call_on(client, upstream_name, arguments, context, carrier, None, sent_nothing)
            limit = f"the {retry_within:.1f}s left of its {context.timeout:g}s once the server's session was renewed"
            return await self._call_on(client, upstream_name, arguments, replace(context, timeout=retry_within),
                                       carrier, limit, sent_nothing)

    async def _call_on(self, client: Client, upstream_name: str, arguments: dict[str, Any], context: CallContext,
                       carrier: dict[str, str] | None, limit: str | None,
                       sent_nothing: Callable[[], None]) -> types.CallToolResult:
        """`limit`: how a timeout's message words the time the call had (None: "`context.timeout`s");
        `sent_nothing`: called when the request is known never to have left (`CallContext.never_started`)."""
        # `timeout` bounds the server's time: it stands still while the server waits on the client (call_clock.py)
        clock = CallClock(context.timeout)
        call = None
        try:
            with clock.scope, self.relay.calling(context.peer, clock) as call, tracking() as delivery:
                result = await client.call_tool(
                    upstream_name,
                    arguments,
                    progress_callback=context.progress,  # type: ignore[arg-type]  # same signature
                    # the client's vendor keys (request_meta.py), and W3C trace context in params._meta, as the
                    # MCP semantic conventions propose
                    meta={**forwarded_meta(context.meta), **(carrier or {})} or None,  # type: ignore[arg-type]
                )
                self._heard()
                return result
            raise TimeoutError  # the clock ran out: the scope cancelled the request (the SDK tells the server)
        except anyio.get_cancelled_exc_class():
            if call is not None:  # the client cancelled: its questions out are void, and it is told so (relay.py)
                with anyio.CancelScope(shield=True):
                    await self.relay.settle(call)
            raise
        except TimeoutError:
            self._check_now.set()  # a server that answers nothing may hang: the liveness check pings it now
            raise CallTimeout(self._timed_out(context.tool, clock, limit)) from None
        except MCPError as exc:
            if self._lost_by(client, exc):  # the request was out: the server may have acted on it
                self._connection_lost(client, f"the connection ended during a call ({exc.message})")
                raise self._lost_call_error(context.tool, delivery, sent_nothing) from None  # unless it never left
            self._check_session(client, exc)
            if exc.code == types.REQUEST_TIMEOUT:
                self._check_now.set()
                raise CallTimeout(self._timed_out(context.tool, clock, limit)) from None
            self._heard()  # an error it answered: it lives
            status = self.connector.answered_status(exc)
            if status is not None:
                raise _HttpAnswer(status) from None
            # the upstream's words, as the model, the log line (`error_message`) and a relayed error carry
            # them: configured secrets, URL and literal credentials out (scrubbing.errors: one rule for both)
            message, data = self._refused(exc, context.peer)
            refused = f"{context.tool}: server '{self.name}' refused the call: {message}"
            if is_stand_in(exc.code, exc.message):
                raise ToolCallError(refused) from None  # mcprt's stand-in for a malformed or oversized answer
            raise UpstreamRefused(refused, exc.code, message, data) from None
        except _LOST_ERRORS as exc:
            self._connection_lost(client, f"{type(exc).__name__} during a call")
            if isinstance(exc, _NOT_SENT_ERRORS):  # the request never reached the server
                sent_nothing()
                raise self._unavailable_call() from None
            raise self._lost_call_error(context.tool, delivery, sent_nothing) from None
        except RuntimeError as exc:  # e.g. the SDK's input-required rounds ran out
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ToolCallError(f"{context.tool}: server '{self.name}' returned an invalid result: {reason}") from None
        except Exception as exc:  # e.g. the server asked for input (elicitation) that a proxy cannot give
            self.log.debug("source %s: call to %s failed", self.name, upstream_name, exc_info=exc)
            raise ToolCallError(f"{context.tool}: calling server '{self.name}' failed: {type(exc).__name__}") from None

    @staticmethod
    def _timed_out(tool: str, clock: CallClock, limit: str | None) -> str:
        return f"{tool}: the server did not answer within {limit or f'{clock.timeout:g}s'}{clock.not_counting()}"

    async def client_roots_changed(self) -> None:
        """Tell the server `notifications/roots/list_changed` (it may ask `roots/list` again) unless it
        knows of every change of mcprt's one client's roots already (MCP 2025-11-25 client/roots "Root
        List Changes"). Bounded by `startup_timeout` (a server not reading its stdin holds no one up);
        never raises. A server not connected yet is told once it is (`_supervise`): one (re)starting
        asked `roots/list` after its handshake, maybe before the change."""
        client = self._client
        if client is None or self._roots_known == self._sole.roots_changes:
            return
        self._roots_known = self._sole.roots_changes
        try:
            with anyio.fail_after(self.startup_timeout), warnings.catch_warnings():
                warnings.simplefilter("ignore", MCPDeprecationWarning)  # the SDK marks roots deprecated for 2026-07-28
                await client.send_roots_list_changed()
        except Exception as exc:  # a server gone or restarting: its next handshake asks anyway
            self.log.debug("source %s: roots/list_changed not sent: %s", self.name,
                           f"not within {self.startup_timeout:g}s" if isinstance(exc, TimeoutError) else exc)

    def _refused(self, exc: MCPError, peer: ClientPeer | None) -> tuple[str, Any]:
        """The upstream's JSON-RPC error `message` and `data` as mcprt relays and logs them (one scrubbing rule
        for both: scrubbing.errors); each URL-mode elicitation of a -32042 among them is remembered for
        `peer`'s session, as a relayed `elicitation/create` is, so its completion reaches that session
        (url_asks.url_asks_of_error)."""
        data = scrub_error_data(exc.data)
        for ask in url_asks_of_error(exc.code, exc.data, data, peer):
            self.relay.url_asks.remember(*ask)
        return scrub_error_text(exc.message), data

    # --- resources and prompts (OfferProvider) -----------------------------------------------------

    async def _request(self, what: str, send: Callable[[Client], Any], peer: ClientPeer | None = None, *,
                       for_every_client: bool = False) -> Any:
        """`send` on the current connection within `startup_timeout` (of the server's time: it stands still
        while the server waits on `peer`, whom what the server asks meanwhile goes to; call_clock.py).
        `for_every_client`: the request is made for every client (a shared subscription), so what the server
        asks meanwhile goes to no one (`Relay.unaddressed`)."""
        client = await self._current(self.startup_timeout)

        def unavailable() -> OfferError:
            return OfferUnavailable(self.unavailable_message(), self.retry_after())

        if client is None:
            raise unavailable()
        return await self._on_session(
            client, self.startup_timeout,
            lambda on, retry_within: self._request_on(on, what, send, peer, retry_within is not None,
                                                      for_every_client),
            unavailable, retry_gets="all")

    async def _request_on(self, client: Client, what: str, send: Callable[[Client], Any],
                          peer: ClientPeer | None, renewed: bool, for_every_client: bool = False) -> Any:
        """`send` on `client` within `startup_timeout`; `renewed`: it is sent again on a renewed session."""
        clock = CallClock(self.startup_timeout)
        asking: Any
        if for_every_client:
            asking = self.relay.unaddressed(f"{what} is one upstream subscription made for every client subscribed "
                                            "to the resource, so there is no one client to ask")
        else:  # tracked with no peer too: what its server sends meanwhile is no other call's (relay.py)
            asking = self.relay.calling(peer, clock)
        call = None
        try:
            with clock.scope, asking as call, self._out(client):
                return await send(client)
            raise TimeoutError  # the clock ran out: the scope cancelled the request
        except anyio.get_cancelled_exc_class():
            if call is not None:  # the client cancelled: its questions out are void, and it is told so before
                with anyio.CancelScope(shield=True):  # this request's stream ends (relay.py), as a tool call's
                    await self.relay.settle(call)
            raise
        except TimeoutError:
            again = " (sent again once the server's session was renewed)" if renewed else ""
            raise OfferError(f"server '{self.name}' did not answer {what} within {self.startup_timeout:g}s"
                             f"{again}{clock.not_counting()}", types.INTERNAL_ERROR) from None
        except MCPError as exc:
            if self._lost_by(client, exc):
                self._connection_lost(client, f"the connection ended during {what} ({exc.message})")
                raise OfferUnavailable(self.unavailable_message(), self.retry_after()) from None
            self._check_session(client, exc)
            message, data = self._refused(exc, peer)
            raise OfferError(message, exc.code, data) from None
        except _LOST_ERRORS as exc:
            self._connection_lost(client, f"{type(exc).__name__} during {what}")
            raise OfferUnavailable(self.unavailable_message(), self.retry_after()) from None

    async def read_resource(self, uri: str, *, peer: ClientPeer | None = None) -> dict[str, Any]:
        result = await self._request("resources/read", lambda c: c.read_resource(uri), peer)
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)

    async def get_prompt(self, name: str, arguments: Mapping[str, str] | None, *,
                         peer: ClientPeer | None = None) -> dict[str, Any]:
        result = await self._request("prompts/get", lambda c: c.get_prompt(name, dict(arguments or {})), peer)
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)

    async def complete(self, ref: dict[str, Any], argument: dict[str, Any],
                       context: dict[str, Any] | None, *, peer: ClientPeer | None = None) -> dict[str, Any]:
        if ref.get("type") == "ref/prompt":
            typed_ref: Any = types.PromptReference(type="ref/prompt", name=ref["name"])
        else:
            typed_ref = types.ResourceTemplateReference(type="ref/resource", uri=ref["uri"])
        arguments = (context or {}).get("arguments")
        result = await self._request("completion/complete", lambda c: c.complete(
            typed_ref, {"name": argument["name"], "value": argument.get("value", "")}, context_arguments=arguments),
            peer)
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)

    async def subscribe(self, uri: str) -> None:
        self._subscribed.add(uri)
        await self._request("resources/subscribe", lambda c: _subscription(c, uri, subscribe=True),
                            for_every_client=True)

    async def unsubscribe(self, uri: str) -> None:
        self._subscribed.discard(uri)
        await self._request("resources/unsubscribe", lambda c: _subscription(c, uri, subscribe=False),
                            for_every_client=True)

    def _emit(self, kind: str, data: Any) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(self.name, kind, data)
        except Exception:
            self.log.exception("source %s: event handler failed for %s", self.name, kind)

    def unavailable_message(self) -> str:
        if self.state == "closed":
            return f"source '{self.name}' is closed"
        attempt = self.attempt if self.state == "restarting" else self.attempt + 1
        return f"source '{self.name}' is restarting (attempt {attempt}); try again in a few seconds"

    def retry_after(self) -> int:
        """Whole seconds until the server's next connection attempt ends, at least 1: when a request refused
        meanwhile is worth sending again (`mcprt/retryAfter`, `data.retryAfter`)."""
        return max(1, math.ceil(self._next_attempt_at - time.monotonic()) + 1)

    def _unavailable_call(self) -> SourceUnavailable:
        return SourceUnavailable(self.unavailable_message(), self.retry_after())

    def lost_during_call_message(self, tool: str) -> str:
        """For a call in flight when the connection ended: unlike a call made while the source is known
        to be down, it may have reached the server (and may be what ended it), so "just try again" is
        not the whole story for a call that changes something."""
        return (f"{tool}: the connection to server '{self.name}' ended before it answered. {MAY_HAVE_ACTED}: "
                f"{CHECK_FIRST} ({self.unavailable_message()}).")

    def _lost_call_error(self, tool: str, delivery: Delivery, sent_nothing: Callable[[], None]) -> UpstreamError:
        """The error of a call whose connection ended before an answer: "did not run" when the transport
        said its request was never sent (a refused connection: safe to repeat; then `sent_nothing()`), else
        "may have acted"."""
        unsent = delivery.not_sent
        if unsent is None:
            return UpstreamError(self.lost_during_call_message(tool))
        sent_nothing()
        reason = self.connector.explain(unsent)  # "cannot connect to URL: connection refused"
        return UpstreamError(f"{tool}: {reason}. The call was not sent, so it did not run: it is safe to try "
                             f"again later ({self.unavailable_message()}).", unreachable=True)

    def _connection_lost(self, client: Client, why: str, *, renew: bool = False) -> None:
        """`renew`: the server is there but forgot the session: the supervisor reconnects at once."""
        if self._client is client:
            self._complain(why)
            self.last_error = why  # no exception follows a lost connection: the status page's reason is this
            self._client = None
            self._renew = renew
            self._lost.set()

    def _lost_by(self, client: Client, exc: MCPError) -> bool:
        """Whether `exc` from a request on `client` says the connection (or the request's answer) was lost,
        by what happened to the connection (lost.py), never by its code alone: a server's own -32000 is an
        answer. A connection this source already gave up (lost, renewed, closing) has ended for its requests."""
        return is_transport_loss(client, exc) or (exc.code == types.CONNECTION_CLOSED and self._client is not client)

    def _check_session(self, client: Client, exc: MCPError) -> None:
        """Raise _SessionGone (after handing the connection back) when `exc` is the server's 404 for our session."""
        # The flag alone is the connection's (another request's 404, or the GET stream's): with it, only an
        # error in a 404's form says this request met it too; a genuine error that ran must not be re-sent.
        if _session_expired(exc) or (self.connector.session_gone() and _names_session(exc)):
            self._connection_lost(client, SESSION_GONE, renew=True)
            raise _SessionGone from None

    @contextlib.contextmanager
    def _out(self, client: Client) -> Any:
        """Around a request on `client`: counted, so a lost session's connection is closed only once the
        requests sent on it have met their 404 (`_serve`)."""
        self._in_flight[id(client)] += 1
        try:
            yield
        finally:
            self._in_flight[id(client)] -= 1
            if not self._in_flight[id(client)]:
                del self._in_flight[id(client)]
                self._drained.set()  # wakes `_serve` draining this connection

    async def _on_session(self, client: Client, within: float,
                          send: Callable[[Client, float | None], Awaitable[_T]],
                          unavailable: Callable[[], Exception], *, retry_gets: Literal["rest", "all"],
                          cut_unsent: Callable[[], None] | None = None) -> _T:
        """`send(client, None)` (its first sending, on its own time limit `within`, seconds); when that met the
        server's 404 for our session (`_SessionGone`: it was not run), once more on the session that replaces
        `client`, once up within `within`: `send(renewed, seconds)` with `retry_gets` "rest" the seconds left
        of `within` (a tools/call: its timeout covers the renewal), "all" `within` again (resources, prompts,
        completion, subscribe: each sending gets `startup_timeout`). Module docstring, "A session the server
        no longer knows". Raises `unavailable()` when no new session is up in time, none of `within` is left,
        or the request meets the 404 there too (then nothing ran). `cut_unsent`: called when the request is cut
        while it waits for that new session (nothing was run either)."""
        try:
            return await send(client, None)
        except _SessionGone:
            pass
        started = time.monotonic()
        try:
            renewed = await self._renewed(client, within)
        except BaseException:
            if cut_unsent is not None:
                cut_unsent()
            raise
        left = within - (time.monotonic() - started) if retry_gets == "rest" else within
        if renewed is None or left <= 0:
            raise unavailable() from None
        try:
            return await send(renewed, left)
        except _SessionGone:
            raise unavailable() from None

    async def _current(self, within: float) -> Client | None:
        """The connection to send on: while a new session is being opened (a moment, not a restart to wait
        out) the one that comes up, within `within` seconds; else the current one (None: down)."""
        if self._client is None and (self._renew or self._renewing):
            return await self._renewed(None, min(within, self.startup_timeout))
        return self._client

    async def _renewed(self, old: Client | None, within: float) -> Client | None:
        """The connection that replaces `old`, once up (None if none is within `within` seconds)."""
        with anyio.move_on_after(within):
            while (client := self._client) is None or client is old:
                if self._closed.is_set():
                    return None
                await self._connected.wait()
            return client
        return None

    # --- supervision -------------------------------------------------------------------------------

    async def _supervise(self) -> None:
        while not self._closed.is_set():
            self._lost = anyio.Event()
            self._relist = anyio.Event()
            up_since: float | None = None
            self._roots_known = self._sole.roots_changes  # the server asks roots/list after its handshake
            try:
                with anyio.fail_after(self.startup_timeout) as startup:
                    async with self.connector.connect(self._on_message, self.relay.callbacks()) as client:
                        listing = await self._list_everything(client)
                        tools = listing.tools
                        await self._resubscribe(client)
                        startup.deadline = math.inf
                        self._install(listing, notify=self._ready.is_set())
                        came_up = self.state == "down"
                        self._client, self.state, up_since = client, "up", time.monotonic()
                        self.connection = client
                        self._renewing = False
                        self._connected.set()  # wakes calls waiting for a renewed session (`_renewed`)
                        self._connected = anyio.Event()
                        if not self._ready.is_set():
                            self._ready.set()
                        elif came_up:
                            self._startup_error = None
                            self.connector.quiet = False  # its stderr is news again
                            self.log.info("source %s: up after %d attempts (%d tools); it serves now",
                                          self.name, self.attempt, len(tools))
                            self.attempt = 0  # a later failure is a fresh one: retried after 1 s
                        else:
                            self.log.info("source %s: reconnected (%d tools)", self.name, len(tools))
                        await self.client_roots_changed()  # changed while it started: it may have asked before
                        await self._serve(client)
            except Exception as exc:
                reason = self.connector.explain(exc)
                if _leaf(exc).__class__ is TimeoutError:
                    reason += f" (startup_timeout: {self.startup_timeout:g}s)"
                if not self._ready.is_set():
                    self._startup_error = self.last_error = reason
                    self._ready.set()
                    if not self._may_start_down:
                        return
                    self._went_down()
                elif not self._closed.is_set():  # after a lost connection, its teardown may fail too
                    self.last_error = reason
                    # a source down since it opened said why once (the pool's start-up line): retries are debug
                    level = logging.DEBUG if self.state == "down" else logging.INFO if up_since else logging.WARNING
                    self.log.log(level, "source %s: %s", self.name, reason)
            finally:
                self._client = None
                self._renewing = False
                self.relay.url_asks.upstream_ended()  # its elicitation ids: a new connection may reuse them
            if self._closed.is_set():
                return
            if not self._ready.is_set():  # ended before becoming ready without an exception
                self._startup_error = self.last_error = "the server closed the connection during startup"
                self._ready.set()
                if not self._may_start_down:
                    return
                self._went_down()
            if up_since is not None and time.monotonic() - up_since >= BACKOFF_CAP:
                self.attempt = 0
            self.attempt += 1
            never_up = self.state == "down"
            if not never_up:
                RESTARTS[self.name] += 1
                self.state = "restarting"
            delay = min(BACKOFF_CAP, self.restart_delay * 2.0 ** (self.attempt - 1))
            renew, self._renew = self._renew, False
            if renew and up_since is not None and time.monotonic() - up_since >= RENEW_AT_ONCE_AFTER:
                self.log.warning("source %s: server %s answers; starting a new session (attempt %d)",
                                 self.name, self.connector.target, self.attempt)
                self._renewing = True
                continue
            self.log.log(logging.DEBUG if never_up else logging.WARNING,
                         "source %s: server %s is down; restarting in %gs (attempt %d)",
                         self.name, self.connector.target, delay, self.attempt)
            self._next_attempt_at = time.monotonic() + delay
            with anyio.move_on_after(delay):
                await self._closed.wait()

    def _went_down(self) -> None:
        """Down since it opened (`start(may_start_down=True)`): retried quietly — its reason was said
        once (the start-up warning, with the server's last stderr lines), so each retry's stderr is debug."""
        self.state = "down"
        self.connector.quiet = True

    async def _serve(self, client: Client) -> None:
        """Until the connection is lost or the source closes: follow tool-list changes."""
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._relister, client)
            if client.protocol_version in MODERN_PROTOCOL_VERSIONS:
                tasks.start_soon(self._listen_for_changes, client)

            async def gone() -> None:
                why = await self.connector.wait_gone()
                self._connection_lost(client, why, renew=self.connector.session_gone())

            async def closing() -> None:
                await self._closed.wait()
                self._lost.set()

            tasks.start_soon(gone)
            tasks.start_soon(closing)
            if self.ping_every > 0:
                tasks.start_soon(self._watch_liveness, client)
            await self._lost.wait()
            if self._renew:
                # The session is gone, the server is there: what was sent on it gets its 404 (not run: sent
                # again on the new session) instead of "connection closed" (which may have run).
                with anyio.move_on_after(DRAIN_TIMEOUT):
                    while self._in_flight[id(client)] and not self._closed.is_set():
                        self._drained = anyio.Event()
                        await self._drained.wait()
            tasks.cancel_scope.cancel()

    async def _watch_liveness(self, client: Client) -> None:
        """Ping the server every `ping_every` seconds, and at once after a call timed out; one that does not
        answer within `ping_timeout` hangs (a frozen process, SIGSTOP, a deadlock: its pipe or socket stays
        open, so nothing else notices): its connection is dropped like a lost one, and the supervisor
        restarts it (a hung process is killed at once, without the graces of a stop; the same backoff as after
        an exit). Any answer, an error included, says it lives. MCP 2025-11-25 basic/utilities/ping: "If no response is received
        within a reasonable timeout period, the sender MAY … attempt to reset the connection".

        A server busy with a call answers nothing else meanwhile when it works one request at a time (a
        single-threaded server, a CPU-bound async tool, a `url:` server under load): while any call on this
        connection is still out (inside its own timeout), it is taken as hung only after `BUSY_MISSES`
        consecutive checks went unanswered and nothing at all arrived from it since the first (no answer,
        no progress, no notification): restarting it would end every call it holds with "may have acted".
        One ping is out at a time: a late answer to it still counts as heard."""
        missed_since: float | None = None  # when the first of the checks now unanswered was sent
        misses = 0
        answered = anyio.Event()
        answered.set()  # no ping out
        async with anyio.create_task_group() as pings:
            while True:
                self._check_now = anyio.Event()
                with anyio.move_on_after(self.ping_every):
                    await self._check_now.wait()
                if self._client is not client:
                    pings.cancel_scope.cancel()
                    return
                sent = time.monotonic()
                if answered.is_set():  # else the last one is still out: wait on it, rather than pile up pings
                    answered = anyio.Event()
                    pings.start_soon(self._ping, client, answered)
                with anyio.move_on_after(self.ping_timeout):
                    await answered.wait()
                if answered.is_set():
                    missed_since, misses = None, 0
                    continue
                if missed_since is None or self._heard_at >= missed_since:
                    missed_since, misses = sent, 0  # something came since the last miss: count afresh
                misses += 1
                if self._in_flight[id(client)] and misses < BUSY_MISSES:
                    self.log.info("source %s: the server did not answer a ping within %gs while %d call(s) "
                                  "are out on it: taken as busy (check %d of %d)", self.name, self.ping_timeout,
                                  self._in_flight[id(client)], misses, BUSY_MISSES)
                    continue
                busy = f" {misses} times in a row, with calls out and nothing heard from it" if misses > 1 else ""
                why = f"the server did not answer a ping within {self.ping_timeout:g}s{busy} (it hangs)"
                if self._client is client:
                    self.connector.hangs()  # ended at once: a hung process waits out no grace
                self._connection_lost(client, why)
                if self._client is None and not self._closed.is_set():
                    self.state = "restarting"  # from now: its process is ended (which takes a few seconds), then restarted
                pings.cancel_scope.cancel()
                return

    async def _ping(self, client: Client, answered: anyio.Event) -> None:
        """One liveness request (`_watch_liveness`); its answer, an error included, sets `answered` and
        counts as heard. A lost connection is `gone`'s to handle."""
        try:
            if client.protocol_version in MODERN_PROTOCOL_VERSIONS:  # 2026-07-28 has no ping
                await client.list_tools()
            else:
                with warnings.catch_warnings():  # the SDK marks ping deprecated for 2026-07-28 on every connection
                    warnings.simplefilter("ignore", MCPDeprecationWarning)
                    ping = client.send_ping()
                await ping
        except Exception as exc:  # noqa: BLE001 - an answer (an error), or a lost connection
            if isinstance(exc, MCPError) and self._lost_by(client, exc):
                return
        self._heard()
        answered.set()

    def _heard(self) -> None:
        """The server sent something (an answer, progress, a notification): it lives (`_watch_liveness`)."""
        self._heard_at = time.monotonic()

    def _hearing(self, progress: Callable[[float, float | None, str | None], Awaitable[None]]
                 ) -> Callable[[float, float | None, str | None], Awaitable[None]]:
        """The client's `progress` callback, noting first that the server spoke (`_heard`)."""
        async def heard(done: float, total: float | None, message: str | None) -> None:
            self._heard()
            await progress(done, total, message)
        return heard

    async def _on_message(self, message: Any) -> None:
        if not isinstance(message, Exception):
            self._heard()
        if isinstance(message, (types.ToolListChangedNotification, types.ResourceListChangedNotification,
                                types.PromptListChangedNotification)):
            self._relist.set()
        elif isinstance(message, types.ResourceUpdatedNotification):
            self._emit("resource_updated", str(message.params.uri))
        elif isinstance(message, types.ElicitCompleteNotification):
            await self.relay.elicitation_complete(message.params.elicitation_id)
        elif isinstance(message, Exception):
            self.log.debug("source %s: transport reported %s: %s", self.name, type(message).__name__, message)

    async def _relister(self, client: Client) -> None:
        while True:
            await self._relist.wait()
            self._relist = anyio.Event()
            try:
                with anyio.fail_after(self.startup_timeout):
                    listing = await self._list_everything(client)
            except Exception as exc:
                self.log.warning("source %s: listing tools after a change failed: %s", self.name,
                                 self.connector.explain(exc))
                continue
            self._install(listing, notify=True)

    async def _listen_for_changes(self, client: Client) -> None:
        """2026-07-28 connections announce list changes on a `subscriptions/listen` stream."""
        delay = 1.0
        first = True
        while True:
            try:
                async with client.listen(tools_list_changed=True, prompts_list_changed=self.wants.prompts,
                                         resources_list_changed=self.wants.resources) as subscription:
                    if not first:
                        self._relist.set()  # events may have been missed while re-subscribing
                    first, delay = False, 1.0
                    async for _event in subscription:
                        self._relist.set()
                return  # the server ended the stream gracefully
            except ListenNotSupportedError:
                return
            except MCPError as exc:
                if exc.code == types.METHOD_NOT_FOUND:
                    return
                self.log.debug("source %s: change subscription failed: %s", self.name, exc.message)
            except Exception as exc:
                self.log.debug("source %s: change subscription lost: %s", self.name, exc)
            await anyio.sleep(delay)
            delay = min(BACKOFF_CAP, delay * 2)

    async def _list_everything(self, client: Client) -> Listing:
        """Tools, and the resources, templates and prompts the server advertises and the manifest wants."""
        capabilities = client.server_capabilities
        # A server may offer only resources or prompts: asking it for tools would be an error.
        complain = self._complain
        tools = (await _pages(client.list_tools, "tools", "tools/list", lambda t: t.name, complain)
                 if capabilities.tools is not None else [])
        listing = Listing(tools, [], [], [])
        if self.wants.resources and capabilities.resources is not None:
            listing.resources = await _pages(client.list_resources, "resources", "resources/list",
                                             lambda r: str(r.uri), complain)
            listing.templates = await _pages(client.list_resource_templates, "resource_templates",
                                             "resources/templates/list", lambda t: t.uri_template, complain)
        if self.wants.prompts and capabilities.prompts is not None:
            listing.prompts = await _pages(client.list_prompts, "prompts", "prompts/list", lambda p: p.name, complain)
        self.supports_subscribe = bool(capabilities.resources and capabilities.resources.subscribe)
        self.supports_completion = capabilities.completions is not None
        return listing

    async def _resubscribe(self, client: Client) -> None:
        """After a reconnect, the new session knows none of our subscriptions."""
        for uri in sorted(self._subscribed):
            try:
                await _subscription(client, uri, subscribe=True)
            except Exception as exc:
                self.log.warning("source %s: renewing the subscription to %s failed: %s", self.name, uri, exc)

    def _install(self, listing: Listing, *, notify: bool) -> None:
        signature = listing.signature()
        if signature == self._signature:
            return
        tools = listing.tools

        def finding(message: str) -> None:  # said once: as the opening's warning, or later (a re-listing) logged
            if self.open_findings is not None:
                self.open_findings.append(Diagnostic("", 0, 0, f"source '{self.name}': {message}", "warning"))
            else:
                self.log.warning("source %s: %s", self.name, message)

        self._operations = tool_operations(
            tools, self.invoker,
            lambda name, reason: finding(f"tool {name} left out: {reason}"),
            lambda name, pairs: finding(
                f"tool {name}: " + ", ".join(f"argument '{upstream}' served as '{arg}'" for upstream, arg in pairs)
                + " (model APIs accept only A-Z a-z 0-9 _ . - in argument names; the original name is said in its "
                "description, and sent upstream)"))
        self._result_checks = _result_checks(self._operations, self._result_checks)
        offerings = Offerings(
            provider=self,
            resources=tuple(ResourceOffer(str(r.uri), _wire(r)) for r in listing.resources),
            templates=tuple(TemplateOffer(t.uri_template, _wire(t)) for t in listing.templates),
            prompts=tuple(PromptOffer(p.name, _wire(p)) for p in listing.prompts),
        )
        self._offerings = None if offerings.empty else offerings
        self._signature = signature
        if notify:
            self.log.info("source %s: tool list changed (%d tools)", self.name, len(tools))
            if self.on_tools_changed is not None:
                try:
                    self.on_tools_changed(self.name)
                except Exception:
                    self.log.exception("source %s: on_tools_changed callback failed", self.name)


_CHECK_ON_LOOP_BYTES = 64 * 1024  # a result larger is checked in a worker thread (`_nonconformance`)


def _result_checks(operations: list[Operation], before: dict[str, StructuredCheck]) -> dict[str, StructuredCheck]:
    """A check per tool that declares an outputSchema, by upstream name; one whose schema did not change keeps
    its compiled validator across a re-listing (compiled on first use: `StructuredCheck`)."""
    checks = {}
    for op in operations:
        if op.output_schema is not None:
            kept = before.get(op.key)
            checks[op.key] = kept if kept is not None and kept.schema == op.output_schema else \
                StructuredCheck(op.output_schema, formats=False)
    return checks


class _HttpAnswer(Exception):
    """A call answered with an HTTP error status instead of a JSON-RPC message (`Connector.answered_status`)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _session_expired(exc: MCPError) -> bool:
    """A remote server that restarted no longer knows our session (the SDK's spelling of HTTP 404)."""
    return exc.code == types.INVALID_REQUEST and exc.message == "Session terminated"


def _names_session(exc: MCPError) -> bool:
    """The JSON-RPC error a server puts in the body of its 404 for an unknown session: "Session not found"
    (the Python SDK, -32600; the TypeScript SDK, -32001) or the client SDK's own "Session terminated"."""
    return "session" in exc.message.lower()


def _wire(item: Any) -> dict[str, Any]:
    return item.model_dump(by_alias=True, mode="json", exclude_none=True)


async def _pages(fetch: Callable[..., Any], field: str, method: str, key: Callable[[Any], str],
                 complain: Callable[[str], None]) -> list[Any]:
    """Every page of a paginated list request, each item once (MCP 2025-11-25 utilities/pagination).

    Bounded: at most MAX_PAGES pages and MAX_LISTED_ITEMS items; a cursor the server already sent (a
    loop) ends the listing. An empty page with a cursor is followed, like any other. A later item
    with an earlier one's key (name, URI) is left out. Each of these is said once through `complain`;
    what was listed until then is kept.
    """
    items: list[Any] = []
    keys: set[str] = set()
    cursor: str | None = None
    seen: set[str] = set()
    for page_number in range(1, MAX_PAGES + 1):
        page = await fetch(cursor=cursor)
        for item in getattr(page, field):
            name = key(item)
            if name in keys:
                complain(f"{method}: {shown(name)} is listed again; the first one is kept")
                continue
            if len(items) >= MAX_LISTED_ITEMS:
                complain(f"{method}: more than {MAX_LISTED_ITEMS:,} items; the rest are left out")
                return items
            keys.add(name)
            items.append(item)
        cursor = page.next_cursor
        if not cursor:
            return items
        if cursor in seen:
            complain(f"{method}: the server sent cursor {shown(cursor)} again (a cursor loop); "
                     f"the listing ends after {page_number} pages")
            return items
        seen.add(cursor)
    complain(f"{method}: more than {MAX_PAGES} pages; the listing ends there")
    return items
