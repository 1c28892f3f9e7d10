"""Serving the sources' resources, templates and prompts, and what proxied servers send clients.

Handlers read `holder.current.offers` on every request (a reload's swap is seen at once) and route
by exposed URI or name to the owning source (offerings/offerset.py). Besides:

- `resources/subscribe`: one upstream subscription per URI however many clients subscribe;
  `resources/updated` from upstream goes to the clients subscribed to that URI only;
- `logging/setLevel` is remembered per connection; relayed log messages below it are dropped
  (MCP 2025-11-25 §server/utilities/logging);
- `SessionPeer` is the calling client for server→client requests relayed during a call
  (sources/mcp/relay.py): same session, same request stream, or a clear error when the transport
  cannot carry a request to the client (stateless HTTP);
- `with_client` is the one place that decides how a request's client is asked (the session, rounds,
  or not at all) — for tool calls (app.py) as for prompts and resources (here);
- a proxied server asking the client during `prompts/get` or `resources/read`: relayed like a
  tool call's questions (a 2026-07-28 client gets `InputRequiredResult` rounds, roundtrip.py); during
  `completion/complete`, to the requester on its session (that era has no rounds for a completion);
  a cancelled request voids its questions at its client before it ends, as a tool call does;
- a method whose capability is not advertised right now (no source offers resources, prompts or
  completions: `app.McprtServer.get_capabilities`) is answered -32601 "Method not found", as the
  spec has a server answer a method gated behind a capability it did not declare (MCP
  2026-07-28 schema, `MethodNotFoundError`); HTTP 404 in that era.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

import mcp_types as types
from mcp.server import ServerRequestContext
from mcp.server.connection import Connection
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp.shared.message import ServerMessageMetadata
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ConfigDict

from ..observability.log import log_event
from ..offerings.model import OfferError, OfferUnavailable
from ..scrubbing import SECRETS
from ..contracts import RelayError
from ..toolset.toolset import ToolSetHolder
from . import connection_state
from .notify import connection_of
from .not_found import not_found_in, resource_not_found
from .pagination import refuse_cursor
from .upstream_errors import relayed as relayed_error
from .url_elicitation import SessionCompletions, completions_of, for_handshake_client, undeclared_mode

if TYPE_CHECKING:
    from ..identity.principal import Principal
    from ..offerings.offerset import OfferSet
    from .roundtrip import RoundTrips

LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


class _Raw(BaseModel):
    """A client result kept as sent (every field, known or not)."""

    model_config = ConfigDict(extra="allow")


_REQUEST_MODELS: dict[str, tuple[type[BaseModel], types.ClientCapabilities]] = {
    "sampling/createMessage": (types.CreateMessageRequest, types.ClientCapabilities(sampling=types.SamplingCapability())),
    "elicitation/create": (types.ElicitRequest, types.ClientCapabilities(elicitation=types.ElicitationCapability())),
    "roots/list": (types.ListRootsRequest, types.ClientCapabilities(roots=types.RootsCapability())),
}


class LogLevels:
    """The `logging/setLevel` of each connection (key: session id, or "stdio")."""

    def __init__(self) -> None:
        self._levels: dict[int, str] = {}

    def set(self, connection: Connection | None, level: str) -> None:
        if connection is not None:
            key = id(connection)
            if key not in self._levels and not connection_state.on_close(connection, partial(self._levels.pop, key, None)):
                return  # closed: kept, the level would pass to the next connection given its id
            self._levels[key] = level

    def allows(self, connection: Connection | None, level: str) -> bool:
        wanted = self._levels.get(id(connection)) if connection is not None else None
        if wanted is None or level not in LEVELS or wanted not in LEVELS:
            return True
        return LEVELS.index(level) >= LEVELS.index(wanted)


def _request_of(method: str, params: dict[str, Any] | None, protocol_version: str, can_send: bool,
                has_capability: Callable[[types.ClientCapabilities], bool],
                capabilities: types.ClientCapabilities | None) -> BaseModel:
    """The typed server→client request to relay, or RelayError saying why this client cannot be sent it
    (`capabilities`: the client's, for what `has_capability` does not tell: the elicitation mode)."""
    model, capability = _REQUEST_MODELS[method]
    if protocol_version in MODERN_PROTOCOL_VERSIONS:
        raise RelayError(f"the client speaks MCP {protocol_version}, where a server cannot send it "
                         f"{method} during a call through mcprt")
    if not can_send:
        raise RelayError(f"this request is answered without a stream to the client (stateless HTTP, or a "
                         f"request in a JSON-RPC batch), where mcprt cannot send it {method}; serve without "
                         "--stateless, or send the request alone, to relay it")
    if not has_capability(capability):
        raise RelayError(f"the client does not support {method.split('/')[0]}")
    if method == "elicitation/create":
        undeclared = undeclared_mode(params, capabilities)
        if undeclared is not None:
            raise RelayError(undeclared[1])
        params = for_handshake_client(params)  # a 2026-07-28 upstream's URL mode lacks this era's elicitationId
    return model.model_validate({"method": method, "params": params}, by_name=False)


class SessionPeer:
    """The client of one `tools/call`, `prompts/get` or `resources/read`, as the relay sees it
    (contracts.ClientPeer)."""

    def __init__(self, ctx: ServerRequestContext[Any], levels: LogLevels, principal: Principal | None = None) -> None:
        self._ctx = ctx
        self._levels = levels
        self.principal = principal  # who called (the relay routes a stdio question only among one principal's calls)

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        ctx = self._ctx
        request = _request_of(method, params, ctx.protocol_version, ctx.session.can_send_request,
                              ctx.session.check_client_capability, ctx.session.client_capabilities)
        try:
            result = await ctx.session.send_request(
                request,  # type: ignore[arg-type]
                _Raw,
                metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
            )
        except MCPError as exc:
            raise RelayError(f"the client answered {method} with an error: {exc.message}", exc.code) from None
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)

    async def log(self, params: dict[str, Any]) -> None:
        await send_log(self._ctx, self._levels, params)

    @property
    def completions(self) -> SessionCompletions | None:
        """Where a URL-mode elicitation sent to this client is said complete (url_elicitation.py)."""
        return completions_of(connection_of(self._ctx), self._ctx.protocol_version)


async def send_log(ctx: ServerRequestContext[Any], levels: LogLevels, params: dict[str, Any]) -> None:
    """One `notifications/message` (params, wire form) of the work `ctx`'s request waits on, to its client,
    as the negotiated version defines: handshake era, filtered by the connection's `logging/setLevel`
    (MCP 2025-11-25, server/utilities/logging); 2026-07-28, only when the request's `_meta` asked for a
    level (`io.modelcontextprotocol/logLevel`), at or above it, on that request's response stream (MCP
    2026-07-28, server/utilities/logging; the SDK's request session enforces both)."""
    await log_within_level(levels, connection_of(ctx), params,
                           partial(ctx.session.send_log_message, related_request_id=ctx.request_id))


async def log_within_level(levels: LogLevels, connection: Connection | None, params: dict[str, Any],
                           send: Callable[[str, Any, str | None], Awaitable[None]]) -> None:
    """`send(level, data, logger)` for one `notifications/message` (params, wire form) unless `connection`'s
    `logging/setLevel` is above its level (MCP 2025-11-25, server/utilities/logging)."""
    level = params.get("level", "info")
    if not levels.allows(connection, level):
        return
    with warnings.catch_warnings():  # the SDK marks logging deprecated for 2026-07-28; clients that
        warnings.simplefilter("ignore", MCPDeprecationWarning)  # ask still get it (no raw line on stderr)
        sending = send(level, params.get("data"), params.get("logger"))
    await sending


class ConnectionPeer:
    """A whole connection as the relay's addressee, for what a proxied server sends outside any call
    (contracts.ClientPeer): mcprt served over stdio has this one client (sole_client.py `SoleClient`).
    Requests and log messages go on the connection's standalone channel; no call's timeout bounds a
    request here, so the relay bounds it (sources/mcp/relay.py `ASK_CLIENT`)."""

    def __init__(self, connection: Connection, levels: LogLevels) -> None:
        self._connection = connection
        self._levels = levels
        self.principal = None  # unknown: no call names it

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        connection = self._connection
        request = _request_of(method, params, connection.protocol_version, connection.has_standalone_channel,
                              connection.check_capability, connection.client_capabilities)
        try:
            return await connection.send_raw_request(method, request.model_dump(  # type: ignore[attr-defined]
                by_alias=True, mode="json", exclude_none=True).get("params"))
        except MCPError as exc:
            raise RelayError(f"the client answered {method} with an error: {exc.message}", exc.code) from None

    async def log(self, params: dict[str, Any]) -> None:
        await log_within_level(self._levels, self._connection, params, self._connection.log)

    @property
    def completions(self) -> SessionCompletions | None:
        return completions_of(self._connection, None)


async def with_client(ctx: ServerRequestContext[Any], params: types.InputResponseRequestParams,
                      run: Callable[[Any], Awaitable[Any]], *, levels: LogLevels, principal: Principal | None,
                      round_trips: RoundTrips | None, may_ask: bool, answers_stop: bool = True,
                      escalate: Callable[[Any], Awaitable[Any]] | None = None, within: float = 0.0) -> Any:
    """`run(peer)` with the way this request's client can be asked what the work asks (a proxied server's
    elicitation, sampling, roots), decided here for every request that may relay:

    - a handshake-era client is asked on its session (`SessionPeer`: same request stream);
    - a 2026-07-28 client is asked through `InputRequiredResult` rounds (`round_trips`, roundtrip.py)
      when the work may ask (`may_ask`), when the request is a round's retry (`requestState`) or when
      the call may become a task (`escalate`, after `within` seconds); the result is then the work's,
      an `InputRequiredResult` or a `CreateTaskResult`;
    - otherwise it runs with the request's own `SessionPeer`, which refuses to ask (this era cannot be
      asked mid-call) but sends log messages: no round trip is armed (a task, a queue and a wait per request).

    Log messages of the work go to this request's client either way (`send_log`; in rounds, to the
    request waiting on the call at that moment).

    Raises what `RoundTrips.call` raises (`MCPError` -32602 for a `requestState` this caller cannot
    resume, -32021 for a capability the client lacks). `answers_stop`: the work answers a server stop
    itself (a tool call does; a prompt or a resource read does not)."""
    if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS or round_trips is None \
            or not (may_ask or escalate is not None or params.request_state is not None):
        return await run(SessionPeer(ctx, levels, principal))
    return await round_trips.call(params, principal, ctx.session.check_client_capability, run,
                                  capabilities=ctx.session.client_capabilities,
                                  answers_stop=answers_stop, escalate=escalate, within=within,
                                  log_to=partial(send_log, ctx, levels))




class Subscriptions:
    """Which connections subscribed to which exposed URI; one upstream subscription per URI."""

    def __init__(self, holder: ToolSetHolder) -> None:
        self._holder = holder
        self._by_uri: dict[str, dict[int, Connection]] = {}
        self._uris_of: dict[int, set[str]] = {}  # by connection: what it subscribed to, until it closes
        self._subscribing: dict[str, asyncio.Future[Any]] = {}  # by URI: the upstream subscribe under way
        self._waiting: dict[str, set[int]] = {}  # by URI: the connections awaiting that subscribe
        self._releasing: set[asyncio.Task[None]] = set()  # upstream unsubscribes under way (kept referenced)
        # with shared sessions (replicas): hands `connection`'s update to the replica holding its GET stream when
        # this one does not (True: relayed; shared_sessions.SharedSessionManager.relay_updated)
        self.elsewhere: Callable[[Connection, str], Awaitable[bool]] | None = None

    async def subscribe(self, connection: Connection, uri: str) -> None:
        """Subscribe `connection` to `uri`'s updates. MCPError -32601 (method not found) when no source
        supports subscriptions (`resources.subscribe` is not advertised: MCP 2025-11-25 §server/resources
        "Capabilities", §basic "JSON-RPC" error codes), -32602 when the source owning `uri` does not while
        another does, resource not found for an unknown URI (not_found.py: -32002, or -32602 with
        `data.uri` in 2026-07-28): a success would promise updates that never come."""
        offers = self._holder.current.offers
        if not offers.subscribe:
            raise MCPError(code=types.METHOD_NOT_FOUND, message="Method not found: resources/subscribe (no source of "
                           "this server supports resource subscriptions; resources.subscribe is not advertised)")
        _refuse_unsafe(offers, uri)
        owner = offers.resolve_uri(uri)
        if owner is None:
            raise resource_not_found(uri, connection.protocol_version, f"no source offers the resource {uri}")
        source, upstream, provider = owner
        if not provider.supports_subscribe:
            raise MCPError(code=types.INVALID_PARAMS, message=f"the resource {uri} cannot be subscribed to: its "
                           f"source '{source}' does not support resource subscriptions")
        held = self._uris_of.get(id(connection))
        if held is None:  # one exit callback per connection, however often it (un)subscribes
            if not connection_state.on_close(connection, partial(self._forget_all, connection)):
                return  # it closed (a request answered after its session's DELETE): nothing to keep for it
            held = self._uris_of[id(connection)] = set()
        if uri not in self._by_uri:  # no upstream subscription yet: one call, shared by who asks meanwhile
            call = self._subscribing.get(uri)
            if call is None:
                call = self._subscribing[uri] = asyncio.ensure_future(provider.subscribe(upstream))
                call.add_done_callback(partial(self._settled, uri))
            # registered only once the upstream accepted: a refused subscribe (the resource does not
            # exist) leaves nothing behind, so asking again is refused again rather than answered ok
            waiting = self._waiting.setdefault(uri, set())
            waiting.add(id(connection))
            try:
                await _offer_call(asyncio.shield(call), ResourceAsked(uri, upstream, connection.protocol_version))
            finally:
                waiting.discard(id(connection))
                if not waiting and self._waiting.get(uri) is waiting:
                    del self._waiting[uri]
        if self._uris_of.get(id(connection)) is not held:
            # It closed while the upstream answered: nothing to keep for it. If no one else listens or waits
            # on the URI, the upstream subscription just made has no listener: end it (review of mendp26,
            # problem 6: it was kept for good, and every later subscribe added another).
            if uri not in self._by_uri and not self._waiting.get(uri):
                await self._release(uri)
            return
        self._by_uri.setdefault(uri, {})[id(connection)] = connection
        held.add(uri)

    def _settled(self, uri: str, call: asyncio.Future[Any]) -> None:
        """The upstream subscribe of `uri` ended. Accepted, with no connection listening or still waiting
        on it (every asker's request was cancelled, as a closed session's is), it is ended upstream."""
        self._subscribing.pop(uri, None)
        if call.cancelled() or call.exception() is not None or uri in self._by_uri or self._waiting.get(uri):
            return
        task = asyncio.ensure_future(self._release(uri))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def unsubscribe(self, connection: Connection, uri: str) -> None:
        await self._forget(uri, connection)

    async def _forget_all(self, connection: Connection) -> None:
        for uri in self._uris_of.pop(id(connection), set()):
            await self._forget(uri, connection)

    async def _forget(self, uri: str, connection: Connection) -> None:
        self._uris_of.get(id(connection), set()).discard(uri)
        listeners = self._by_uri.get(uri)
        if not listeners or listeners.pop(id(connection), None) is None or listeners:
            return
        del self._by_uri[uri]
        await self._release(uri)

    async def _release(self, uri: str) -> None:
        """End the upstream subscription of `uri`, which no connection listens to any more."""
        owner = self._holder.current.offers.resolve_uri(uri)
        if owner is not None and owner[2].supports_subscribe:
            try:
                await owner[2].unsubscribe(owner[1])
            except Exception as exc:  # the upstream may be gone; our side is forgotten anyway
                log_event("upstream unsubscribe failed", logging.DEBUG, uri=uri, error=str(exc))

    async def updated(self, source: str, upstream_uri: str) -> int:
        uri = self._holder.current.offers.exposed_uri(source, upstream_uri)
        sent = 0
        for connection in list(self._by_uri.get(uri, {}).values()):
            try:
                if self.elsewhere is None or not await self.elsewhere(connection, uri):
                    await connection.send_resource_updated(uri)
                sent += 1
            except Exception as exc:
                log_event("resources/updated not delivered", logging.DEBUG, error=type(exc).__name__)
        return sent


def _refuse_unsafe(offers: OfferSet, uri: str) -> None:
    """-32602 (invalid params) for a URI whose template variable would step out of its place
    (`OfferSet.unsafe_uri`), before any source sees it."""
    problem = offers.unsafe_uri(uri)
    if problem is not None:
        raise MCPError(code=types.INVALID_PARAMS, message=problem)


def _unknown(offers: OfferSet, what: str, name: str, *kinds: str) -> str:
    """The -32602 message for a prompt, resource or template no source serves under `name`, naming what the
    client perhaps meant: the served name of an item its server calls `name` (before a `prefix` or rename)."""
    meant = offers.exposed_as(name, *kinds)
    hint = f" (mcprt serves the {what} its server calls '{name}' as {' and '.join(repr(m) for m in meant)})" if meant else ""
    return f"unknown {what} '{name}'{hint}"


def _complete(ctx: ServerRequestContext[Any], result: Any) -> Any:
    """`result` as a 2026-07-28 client must get it: with `resultType` ("complete" unless the result says
    otherwise, as an `InputRequiredResult` round does; MCP 2026-07-28 schema, `Result.resultType` is
    required). A provider's own answer (a Python function's contents, a handshake-era server's) has none,
    and the SDK refused it as an invalid result: such a client could read no Python resource and get no
    Python prompt. Older versions get it as it is."""
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and isinstance(result, dict):
        result.setdefault("resultType", "complete")
    return result


class ResourceAsked(NamedTuple):
    """The resource a request names: `uri` as the client wrote it, `upstream_uri` as its source serves it,
    and the client's `protocol_version` (which decides how "not found" is answered: not_found.py)."""

    uri: str
    upstream_uri: str
    protocol_version: str | None


async def _offer_call(awaitable: Any, resource: ResourceAsked | None = None, *,
                      protocol_version: str | None = None) -> Any:
    """Await a provider call; its OfferError becomes the JSON-RPC error the client receives, scrubbed of
    configured secrets as every tool error is (`toolset.invoke.error_result`): one rule for every provider's
    errors, whatever they quote (a Python function's exception text; a proxied server's own are scrubbed
    already, where they enter mcprt). With `resource` (a `resources/read` or `resources/subscribe`), a
    provider's "resource not found" of either era (a proxied server's -32002, or SEP-2164 -32602 with
    `data.uri`; a Python source's -32002) reaches the client as its own era defines it, naming the URI the
    client asked for (not_found.py). Any other error with `data` (only a proxied server's has it) is relayed
    as upstream_errors.py says, for a client of `protocol_version` (`resource.protocol_version` with a
    resource): code, message and `data` with secret-looking values hidden; a code that version lacks
    (-32042 outside 2025-11-25) as -32603 with the message."""
    try:
        return await awaitable
    except OfferUnavailable as exc:  # mcprt's own refusal, not the upstream's: its data goes as it is
        raise MCPError(code=exc.code, message=SECRETS.scrub_text(str(exc)), data=exc.data) from None
    except OfferError as exc:
        message = SECRETS.scrub_text(str(exc))
        if resource is not None and not_found_in(exc.code, exc.data, resource.upstream_uri):
            raise resource_not_found(resource.uri, resource.protocol_version, message) from None
        if exc.data is None:
            raise MCPError(code=exc.code, message=message) from None
        version = resource.protocol_version if resource is not None else protocol_version
        error = relayed_error(exc.code, message, exc.data, version)
        raise (error or MCPError(code=types.INTERNAL_ERROR, message=message)) from None


def install_offer_handlers(server: Any, holder: ToolSetHolder, levels: LogLevels,
                           round_trips: RoundTrips | None = None,
                           principal_of: Callable[[Any], Principal] | None = None) -> Subscriptions:
    """Register resources/*, prompts/*, completion/complete and logging/setLevel on `server`.

    With `round_trips` (and `principal_of`, who asks), what a proxied server asks the client during
    `prompts/get` and `resources/read` reaches a 2026-07-28 client as `InputRequiredResult` rounds.
    """
    subscriptions = Subscriptions(holder)

    def offering(kind: str) -> Any:
        """The current offers, or -32601 when none of `kind` is offered (so none is advertised)."""
        offers = holder.current.offers
        offered = {"resources": offers.has_resources, "prompts": offers.has_prompts,
                   "completions": offers.completions}[kind]
        if not offered:
            raise MCPError(code=types.METHOD_NOT_FOUND, message=f"Method not found: no source offers {kind}")
        return offers

    async def relayed(ctx: ServerRequestContext[Any], params: types.InputResponseRequestParams, provider: Any,
                      run: Callable[[Any], Awaitable[dict[str, Any]]]) -> Any:
        """`run(peer)` with the client to ask, as `with_client` decides."""
        return _complete(ctx, await with_client(ctx, params, run, levels=levels,
                                                principal=None if principal_of is None else principal_of(ctx),
                                                round_trips=round_trips if principal_of is not None else None,
                                                may_ask=provider.asks_client, answers_stop=False))

    def page(key: str, items: list[dict[str, Any]], ctx: ServerRequestContext[Any]) -> dict[str, Any]:
        return _complete(ctx, {key: items})

    async def list_resources(ctx: ServerRequestContext[Any], params: Any) -> dict[str, Any]:
        refuse_cursor(params)  # one page, as tools/list (server/pagination.py)
        return page("resources", offering("resources").list_resources(), ctx)

    async def list_templates(ctx: ServerRequestContext[Any], params: Any) -> dict[str, Any]:
        refuse_cursor(params)
        return page("resourceTemplates", offering("resources").list_templates(), ctx)

    async def read(ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams) -> dict[str, Any]:
        offers = offering("resources")
        uri = str(params.uri)
        _refuse_unsafe(offers, uri)
        owner = offers.resolve_uri(uri)
        if owner is None:
            raise resource_not_found(uri, ctx.protocol_version)
        source, upstream, provider = owner

        async def run(peer: Any) -> dict[str, Any]:
            result = await _offer_call(provider.read_resource(upstream, peer=peer),
                                       ResourceAsked(uri, upstream, ctx.protocol_version))
            for content in result.get("contents", []):
                if isinstance(content, dict) and isinstance(content.get("uri"), str):
                    content["uri"] = offers.exposed_uri(source, content["uri"])
            return result

        return await relayed(ctx, params, provider, run)

    async def subscribe(ctx: ServerRequestContext[Any], params: types.SubscribeRequestParams) -> types.EmptyResult:
        offering("resources")
        connection = connection_of(ctx)
        if connection is not None:
            await subscriptions.subscribe(connection, str(params.uri))
        return types.EmptyResult()

    async def unsubscribe(ctx: ServerRequestContext[Any], params: types.UnsubscribeRequestParams) -> types.EmptyResult:
        connection = connection_of(ctx)
        if connection is not None:
            await subscriptions.unsubscribe(connection, str(params.uri))
        return types.EmptyResult()

    async def list_prompts(ctx: ServerRequestContext[Any], params: Any) -> dict[str, Any]:
        refuse_cursor(params)
        return page("prompts", offering("prompts").list_prompts(), ctx)

    async def get_prompt(ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams) -> dict[str, Any]:
        offers = offering("prompts")
        prompt = offers.prompts.get(params.name)
        if prompt is None:
            raise MCPError(code=types.INVALID_PARAMS, message=_unknown(offers, "prompt", params.name, "prompts"))
        async def run(peer: Any) -> dict[str, Any]:
            result = await _offer_call(prompt.provider.get_prompt(prompt.upstream, params.arguments, peer=peer),
                                       protocol_version=ctx.protocol_version)
            for message in result.get("messages", []):  # embedded resources and links: read through mcprt
                if isinstance(message, dict) and "content" in message:
                    message["content"] = offers.exposed_block(prompt.source, message["content"])
            return result

        return await relayed(ctx, params, prompt.provider, run)

    async def complete(ctx: ServerRequestContext[Any], params: types.CompleteRequestParams) -> dict[str, Any]:
        offers = offering("completions")
        ref = params.ref.model_dump(by_alias=True, mode="json", exclude_none=True)
        item = offers.completion_target(ref)
        if item is not None:  # named as its server names it
            ref = {**ref, "name" if ref.get("type") == "ref/prompt" else "uri": item.upstream}
        if item is None:  # MCP 2025-11-25 server/utilities/completion "Error Handling": invalid prompt name
            raise MCPError(code=types.INVALID_PARAMS, message=_unknown(offers, *(
                ("prompt", ref.get("name", ""), "prompts") if ref.get("type") == "ref/prompt"
                else ("resource or resource template", ref.get("uri", ""), "templates", "resources"))))
        if not item.provider.supports_completion:
            return _complete(ctx, {"completion": {"values": [], "hasMore": False}})
        argument = params.argument.model_dump(by_alias=True, mode="json")
        context = params.context.model_dump(by_alias=True, mode="json", exclude_none=True) if params.context else None
        # The requester is whom its server's questions meanwhile go to, and whose cancel voids them (with no
        # addressee they went to whichever one call was in flight, another client's, or were refused). On its
        # session only: a completion has no `InputRequiredResult` in 2026-07-28 (mcp_types MONOLITH_RESULTS),
        # so that era's client is not asked (`SessionPeer` refuses, and the server hears why).
        peer = SessionPeer(ctx, levels, None if principal_of is None else principal_of(ctx))
        return _complete(ctx, await _offer_call(item.provider.complete(ref, argument, context, peer=peer),
                                                protocol_version=ctx.protocol_version))

    async def set_level(ctx: ServerRequestContext[Any], params: types.SetLevelRequestParams) -> types.EmptyResult:
        levels.set(connection_of(ctx), params.level)
        return types.EmptyResult()

    for method, model, handler in (
        ("resources/list", types.PaginatedRequestParams, list_resources),
        ("resources/templates/list", types.PaginatedRequestParams, list_templates),
        ("resources/read", types.ReadResourceRequestParams, read),
        ("resources/subscribe", types.SubscribeRequestParams, subscribe),
        ("resources/unsubscribe", types.UnsubscribeRequestParams, unsubscribe),
        ("prompts/list", types.PaginatedRequestParams, list_prompts),
        ("prompts/get", types.GetPromptRequestParams, get_prompt),
        ("completion/complete", types.CompleteRequestParams, complete),
        ("logging/setLevel", types.SetLevelRequestParams, set_level),
    ):
        server.add_request_handler(method, model, handler)
    return subscriptions


class UpstreamEvents:
    """Runtime events from sources → clients: `resources/updated` to the clients that subscribed.
    (A log message no one call explains is not sent to clients: `sources.mcp.relay`.)"""

    def __init__(self, subscriptions: Subscriptions) -> None:
        self._subscriptions = subscriptions
        self._pending: set[asyncio.Task[Any]] = set()

    def __call__(self, source: str, kind: str, data: Any) -> None:
        if kind == "resource_updated":
            self._spawn(self._subscriptions.updated(source, data))

    def _spawn(self, coro: Any) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:
            coro.close()
            return
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
