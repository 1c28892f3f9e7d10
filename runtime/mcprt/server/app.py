"""The MCP server: the SDK's low-level `Server` reading the live tool set on every request.

Handlers read `holder.current` each time, so a reload's swap is visible to the very next request;
a call keeps the ToolSet (and Tool) it started with, so a swap never disturbs a call in flight.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping
from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.caching import CacheHint
from mcp.server.context import CallNext, HandlerResult
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.models import InitializationOptions
from mcp.server.subscriptions import ListenHandler
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from .. import __version__
from ..identity.principal import ANONYMOUS, STDIO, Principal, from_scope
from ..manifest.model import ServerConfig
from ..observability import tracing
from ..observability.events import new_call_id
from ..policy.rules import repeat_is_safe
from ..scrubbing import SECRETS
from ..contracts import ToolResult
from ..toolset.invoke import call_tool, error_result, resolve_or_refuse
from ..toolset.toolset import ToolSet, ToolSetHolder
from .limits import client_key, session_limits
from .listen_cap import ClientListenCap
from .notify import Notifier, SessionTracker, connection_of
from .eras import defines, shape_result
from .offers import LogLevels, install_offer_handlers, with_client
from .pagination import refuse_cursor
from .params_errors import explain_invalid_params
from .early import server_instructions
from .roundtrip import RoundTrips
from .results import to_call_result
from .upstream_errors import relayed as relayed_error
from .streaming import may_request
from .tasks import EXTENSION, TaskService, client_declares_tasks, missing_extension


class McprtServer(Server[Any]):
    """A low-level Server that always advertises `tools.listChanged` (unless it cannot deliver it).

    The streamable HTTP session manager calls `create_initialization_options()` without arguments,
    which would advertise `listChanged: false`; overriding the default keeps stdio and HTTP alike.
    """

    def __init__(self, *args: Any, tools_changed: bool = True, holder: ToolSetHolder | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tools_changed = tools_changed
        self.holder = holder
        self.listen_handler: ListenHandler | None = None  # 2026-07-28 subscription streams
        self.subscriptions: Any = None  # offers.Subscriptions, set by build_server
        self.round_trips = RoundTrips()  # 2026-07-28 calls waiting for client input (roundtrip.py)
        self.tasks: TaskService | None = None  # the tasks extension (tasks.py), set by build_server
        self.levels = LogLevels()  # each connection's logging/setLevel, set by build_server

    def get_capabilities(self, notification_options: NotificationOptions | None = None,
                         experimental_capabilities: dict[str, dict[str, Any]] | None = None,
                         extensions: dict[str, dict[str, Any]] | None = None, *,
                         protocol_version: str | None = None) -> types.ServerCapabilities:
        """Advertise resources, prompts and completions only when some source offers them now."""
        capabilities = super().get_capabilities(notification_options, experimental_capabilities, extensions,
                                                protocol_version=protocol_version)
        if self.holder is None:
            return capabilities
        offers = self.holder.current.offers
        update: dict[str, Any] = {}
        if not offers.has_resources:
            update["resources"] = None
        elif capabilities.resources is not None:
            modern = protocol_version in MODERN_PROTOCOL_VERSIONS
            update["resources"] = capabilities.resources.model_copy(update={
                # 2026-07-28 resource subscriptions ride `subscriptions/listen`, which mcprt does not
                # forward upstream yet: say so rather than promise updates that never come.
                "subscribe": False if modern else offers.subscribe,
                "list_changed": capabilities.resources.list_changed if modern else self.tools_changed,
            })
        if not offers.has_prompts:
            update["prompts"] = None
        elif capabilities.prompts is not None and protocol_version not in MODERN_PROTOCOL_VERSIONS:
            update["prompts"] = capabilities.prompts.model_copy(update={"list_changed": self.tools_changed})
        if not offers.completions:
            update["completions"] = None
        if capabilities.extensions and EXTENSION in capabilities.extensions and (
                protocol_version not in MODERN_PROTOCOL_VERSIONS or not self.holder.current.has_tasks):
            # Defined from 2026-07-28 on (SEP-2663), and only worth declaring with a task-supporting tool.
            extensions = {k: v for k, v in capabilities.extensions.items() if k != EXTENSION}
            update["extensions"] = extensions or None
        return capabilities.model_copy(update=update) if update else capabilities

    def close_listen_streams(self) -> None:
        """End every `subscriptions/listen` stream gracefully (at shutdown)."""
        if self.listen_handler is not None:
            self.listen_handler.close()

    @property
    def server_info_stamp(self) -> dict[str, Any]:
        """The SDK's 2026-07-28 `serverInfo` stamp, a fresh copy per access as the SDK's is, made
        by a JSON-value copy instead of `copy.deepcopy` (a few µs less on every 2026 answer)."""
        return _copy_json(self._server_info_stamp_source)

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        options = notification_options or NotificationOptions(tools_changed=self.tools_changed)
        return super().create_initialization_options(options, experimental_capabilities, extensions)


def build_server(
    holder: ToolSetHolder,
    config: ServerConfig,
    notifier: Notifier,
    *,
    tools_changed: bool = True,
    levels: LogLevels | None = None,
) -> McprtServer:
    """An MCP server for `holder`'s tools, named and instructed by the manifest's `server:` block.

    `tools_changed=False` for stateless HTTP, where handshake-era clients cannot be notified.
    """
    levels = levels or LogLevels()
    server: McprtServer  # built below; `call` reads its round trips (the relay is set when serving)

    async def list_tools(ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None) -> dict[str, Any]:
        # One page: the listing is built once per tool set and shared by every request, so no
        # answer carries a `nextCursor` and any cursor a client sends is one mcprt never issued.
        refuse_cursor(params)
        result: dict[str, Any] = {"tools": holder.current.list_tools_for(principal_of(ctx))}
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            result["resultType"] = "complete"  # required from 2026-07-28 on
        return result

    async def call(ctx: ServerRequestContext[Any],
                   params: types.CallToolRequestParams
                   ) -> types.CallToolResult | dict[str, Any] | types.InputRequiredResult:
        # Keep this reference for the whole call: hot reload closes a replaced source only once the
        # tool set that used it is no longer referenced, so a call in flight is never cut off.
        started = time.perf_counter()
        toolset = holder.current
        principal = principal_of(ctx)
        # a tool a policy hides is unknown to this caller
        call_id = new_call_id()
        found = resolve_or_refuse(
            toolset, params.name, principal, started=started, call_id=call_id, session_id=session_id_of(ctx),
            request_id=None if ctx.request_id is None else str(ctx.request_id),
            message=lambda: toolset.unknown_tool_message(params.name, principal, reloading=holder.reloading,
                                                         incoming=holder.incoming))
        if isinstance(found, ToolResult):  # no call runs, yet it is logged and published as every call is
            return to_call_result(found, params.name)
        tool = found
        async def run(peer: Any) -> ToolResult:
            # `offers`: resource links, embedded resources and the source's resource URIs in structuredContent name
            # URIs a client reads through mcprt: with the prefix of the source that answered (through discovery's
            # call tool, the operation's: review of hostfix/proxyfix, problem 4), before the result size limit
            # (review of proxyleft #5), a direct answer and a task's result alike
            return await call_tool(
                tool,
                params.arguments,
                request_id=None if ctx.request_id is None else str(ctx.request_id),
                progress=_progress_reporter(ctx),
                principal=principal,
                session_id=session_id_of(ctx),
                peer=peer,
                meta=params.meta,
                offers=toolset.offers,
            )

        modern = ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
        # through discovery's call tool: the operation (only the tasks extension's era asks which it is)
        reached = tool.reached(params.arguments, principal) if modern else tool
        task_support = reached.task_support if modern else "forbidden"
        as_task = task_support != "forbidden" and client_declares_tasks(ctx)
        if task_support == "required" and not as_task:  # it runs only as a task (SEP-2663 §Capability Negotiation)
            raise missing_extension(f"tool {reached.name}"
                                    + (f" (called through {tool.name})" if reached is not tool else ""))
        assert server.tasks is not None
        try:
            # How the client is asked (its session, rounds, or not at all) is `with_client`'s decision; a
            # call that outlasts `server.tasks.answer_within` becomes a task (tasks.py).
            outcome = await with_client(
                ctx, params, run, levels=levels, principal=principal, round_trips=server.round_trips,
                may_ask=may_request(tool, toolset),
                escalate=server.tasks.escalation(principal, reached.name, retry_safe=repeat_is_safe(reached))
                if as_task else None,
                within=server.tasks.answer_within)
            if isinstance(outcome, (types.InputRequiredResult, dict)):  # a round; a CreateTaskResult
                return outcome
            result = outcome
        except MCPError:  # round trips: a requestState this caller cannot resume, a missing client capability
            raise
        except Exception as exc:  # call_tool never raises for tool problems; this is a last fence
            result = error_result(f"internal error in mcprt while calling {tool.name}: {type(exc).__name__}")
            result.outcome = "internal"
        if tracing.ACTIVE is not None:
            tracing.ACTIVE.annotate_call(result.raw_bytes, result.sent_bytes, result.outcome)
        if result.protocol_error is not None:  # a proxied server's JSON-RPC error: the same error (upstream_errors.py)
            error = relayed_error(result.protocol_error["code"], result.protocol_error["message"],
                                  result.protocol_error.get("data"), ctx.protocol_version)
            if error is not None:
                raise error
        return to_call_result(result, tool.name)

    def input_schema(name: str) -> Mapping[str, Any] | None:
        tool = holder.current.get(name)
        return None if tool is None else tool.input_schema

    listen_handler = ListenHandler(notifier.bus)
    server = McprtServer(
        config.name,
        version=__version__,
        instructions=server_instructions(config.instructions, holder.current),
        # 2026-07-28 clients may cache tools/list; a reload can change it at any moment, and the
        # listing is the same for every caller.
        # Proxied listings change as upstreams change, so they are not cached either; a read may
        # depend on who asks upstream, so it is private.
        cache_hints={"tools/list": CacheHint(ttl_ms=0, scope="public"),
                     "prompts/list": CacheHint(ttl_ms=0, scope="public"),
                     "resources/list": CacheHint(ttl_ms=0, scope="public"),
                     "resources/templates/list": CacheHint(ttl_ms=0, scope="public"),
                     "resources/read": CacheHint(ttl_ms=0, scope="private")},
        on_list_tools=list_tools,
        on_call_tool=call,
        on_subscriptions_listen=ClientListenCap(
            notifier.counting_listens(listen_handler), session_limits(config.http).per_client,
            lambda ctx: client_key(principal_of(ctx), getattr(ctx.request, "scope", None))),
        get_tool_input_schema=input_schema,
        tools_changed=tools_changed,
        holder=holder,
    )
    server.listen_handler = listen_handler
    server.levels = levels
    server.tasks = TaskService(config.tasks)
    server.tasks.install(server, principal_of)
    server.extensions[EXTENSION] = {}  # advertised in 2026-07-28 `server/discover` (get_capabilities)
    # resources/*, prompts/*, completion/complete, logging/setLevel (levels gate relayed log messages)
    server.subscriptions = install_offer_handlers(server, holder, levels, server.round_trips, principal_of)
    server.middleware.append(SessionTracker(notifier))
    server.middleware.append(CachedToolListing(holder))
    server.middleware.append(shape_for_version)  # the cached listing is already shaped
    server.middleware.append(explain_invalid_params)  # innermost: a params check's failure, named by field
    return server


async def shape_for_version(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware: every result scrubbed of configured secrets, and as the client's negotiated
    protocol version defines it (`eras.shape_result`; the SDK shapes all handshake versions as 2025-11-25). `initialize` is
    shaped for the version it answers (the connection takes it only after this chain)."""
    result = await call_next(ctx)
    if not isinstance(result, dict):
        return result
    # The one outbound rule for results: no configured secret reaches a client in any of them (a tool
    # description an upstream document or MCP server wrote, resources/read text, prompts), not only in
    # tool results. Prose only (`scrub_prose`): names, keys and URIs are identifiers; a resource's `blob`
    # (or an image's `data`) of more than a megabyte is decoded in a worker thread, not on the loop. tools/call
    # results were scrubbed by `toolset.scrub.scrub_upstream`, and the tools/list listing where it is built
    # (`ToolSet.list_tools`): neither pays for it again here.
    if ctx.method not in ("tools/call", "tools/list"):
        result = await SECRETS.scrub_prose_async(result)
    version = result.get("protocolVersion") if ctx.method == "initialize" else ctx.protocol_version
    return shape_result(ctx.method, version, result) if isinstance(version, str) else result


class CachedToolListing:
    """Server middleware answering `tools/list` from a cache of the SDK's own result.

    The SDK validates and sieves every result against the negotiated protocol version; for a large
    tool set (GitHub's 1,223 operations) that costs 80-300 ms per tools/list. The listing only
    changes when the tool set is swapped, so the sieved result is kept per (tool set, version,
    tools hidden from the caller). A 2026-07-28 result carries its envelope (`resultType`, the
    cache hint, the `serverInfo` stamp): the same for every request, so it is kept with it (every
    2026-07-28 client lists tools in a request of its own). Paginated requests go through the SDK
    unchanged, as does anything before a handshake-era session's handshake completed.

    The set the cache belongs to is held by a weak reference: a strong one kept a set a reload
    replaced alive until the next tools/list, and hot reload closes a replaced source only once its
    set is unreferenced (`reload.drain`), so a replaced proxied server lingered for its tools' longest
    timeout (31 s by default) after every reload that followed a listing.
    """

    def __init__(self, holder: ToolSetHolder) -> None:
        self._holder = holder
        self._toolset: weakref.ref[ToolSet] | None = None
        self._by_version: dict[tuple[str, frozenset[str]], dict[str, Any]] = {}

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/list":
            return await call_next(ctx)
        modern = ctx.protocol_version in MODERN_PROTOCOL_VERSIONS  # no handshake in that era
        if (ctx.params or {}).get("cursor") is not None or not (modern or _handshake_done(ctx)):
            return await call_next(ctx)
        toolset = self._holder.current
        if self._toolset is None or self._toolset() is not toolset:
            self._toolset, self._by_version = weakref.ref(toolset), {}
        # A policy may hide tools from some principals: one cached listing per hidden set.
        hidden = toolset.gate.hidden(principal_of(ctx)) if toolset.gate is not None else frozenset()
        key = (ctx.protocol_version, hidden)
        cached = self._by_version.get(key)
        if cached is not None:
            return cached
        result = await call_next(ctx)
        if isinstance(result, dict) and self._toolset() is toolset and len(self._by_version) < 256:
            self._by_version[key] = result
        return result


def _copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists and immutable scalars)."""
    if isinstance(value, dict):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    return value


def principal_of(ctx: ServerRequestContext[Any, Any]) -> Principal:
    """Who sent this request: the principal the HTTP guard attached, or the stdio parent."""
    request = ctx.request
    scope = getattr(request, "scope", None)
    if scope is None:  # stdio: the parent process is the trust boundary
        return STDIO
    return from_scope(scope) or ANONYMOUS


def session_id_of(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """The streamable HTTP session id (`Mcp-Session-Id`), or None (stdio, stateless HTTP)."""
    headers = getattr(ctx.request, "headers", None)
    return None if headers is None else headers.get("mcp-session-id")


def _handshake_done(ctx: ServerRequestContext[Any, Any]) -> bool:
    connection = connection_of(ctx)
    return connection is not None and connection.initialize_accepted


def _progress_reporter(ctx: ServerRequestContext[Any]) -> Any:
    """A progress callable for the call pipeline, only when the client asked (sent a progressToken)."""
    meta = ctx.meta or {}
    if meta.get("progress_token") is None and meta.get("progressToken") is None:  # type: ignore[typeddict-item]
        return None
    session = ctx.session
    with_message = defines("ProgressNotification", "message", ctx.protocol_version)  # not in 2024-11-05

    async def report(progress: float, total: float | None = None, message: str | None = None) -> None:
        await session.report_progress(progress, total, message if with_message else None)

    return report
