"""Streamable HTTP: the SDK's app behind mcprt's guard, plus `/healthz`, served by uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import uvicorn
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from ..errors import McprtError, StateUnavailable
from ..identity.principal import BEARER
from ..manifest.model import KEEP_ALIVE_DEFAULT, ServerConfig
from ..toolset.toolset import ToolSetHolder

if TYPE_CHECKING:
    from ..identity.resource import ResourceServer
    from ..state.sessions import SessionRecords
from .app import McprtServer
from .guard import GuardPolicy, HttpGuard, make_policy
from .limits import connection_settings, session_limits
from .notify import Notifier
from .lean import LeanPath, answer_stateless_in_json
from .lean_modern import answer_modern_lean
from .lifecycle import InFlight, Readiness
from .options import LOOPBACK_PROXIES, ServeOptions
from .empty_refusals import fill_empty_refusals, fill_oversized_refusal
from .post_headers import check_post_headers
from .resume import ignore_unreplayable_resumes
from .session_versions import check_session_versions
from .shared_sessions import share_sessions
from .slashes import redirect_slashes_under
from .step_up import challenge_scope_steps

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"


def build_http_app(
    server: McprtServer,
    holder: ToolSetHolder,
    config: ServerConfig,
    notifier: Notifier,
    options: ServeOptions,
    *,
    manifest_health: Callable[[], dict[str, Any]] | None = None,
    callable_tools: Callable[[], int] | None = None,
    readiness: Readiness | None = None,
    session_records: SessionRecords | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    guarded_routes: Callable[[GuardPolicy], list[Route]] | None = None,
) -> ASGIApp:
    """The ASGI app for `mcprt up --transport http`: guard → (MCP endpoint | /healthz).

    `/healthz` needs no token, so it says only counts and whether the manifest on disk is the one
    being served (`manifest_health()`), never names (not even the server's) nor file contents or error
    text: `tools` listed, `audit` (with an audit log: `status` ok/failing, records `pending`, `dropped`,
    `failed_writes`), `callable`
    tools a call may reach now (`callable_tools()`: not those of a source that is restarting or not
    running), open `sessions`. `guarded_routes(policy)`
    adds routes that authenticate themselves against the same policy (`/metrics`, `/status`).
    """
    http = config.http
    resource_server = oauth_resource_server(config, options.path, options.public_url)
    metadata_paths: tuple[str, ...] = ()
    if resource_server is not None:
        from ..identity.resource import metadata_paths as paths_for

        metadata_paths = paths_for(options.path, options.public_prefix + options.path)
    policy = make_policy(
        tokens=named_tokens(config),
        bind_host=options.host,
        allowed_hosts=options.allowed_hosts,
        allowed_origins=http.allowed_origins,
        public_url=options.public_url,
        max_request_bytes=int(http.max_request_bytes),
        resource_server=resource_server,
        token_free_paths=metadata_paths,
    )

    readiness = readiness or Readiness()

    async def healthz(request: Request) -> JSONResponse:
        toolset = holder.current
        manifest = manifest_health() if manifest_health is not None else {"status": notifier.manifest_status}
        body: dict[str, Any] = {
            "status": "ok",
            "tools": len(toolset.listed),
            "callable": callable_tools() if callable_tools is not None else len(toolset.tools) + len(toolset.extra),
            "manifest": manifest,
            "sessions": len(notifier.sessions),
        }
        audit = readiness.audit()
        if audit is not None:  # counts and a state, never the path or the OS error's text
            body["audit"] = {"status": audit.state, "pending": audit.pending, "dropped": audit.dropped,
                             "failed_writes": audit.failed_writes}
        return JSONResponse(body)

    async def readyz(request: Request) -> JSONResponse:
        ready, report = await readiness.report()
        return JSONResponse({**report, "tools": len(holder.current.listed)}, status_code=200 if ready else 503)

    sessions = session_limits(http)
    routes = [Route(HEALTH_PATH, healthz, methods=["GET"]), Route(READY_PATH, readyz, methods=["GET"])]
    if resource_server is not None:
        routes += [Route(path, protected_resource_metadata(resource_server, holder), methods=["GET"])
                   for path in metadata_paths]
    app = server.streamable_http_app(
        streamable_http_path=options.path,
        json_response=options.json_response,
        stateless_http=options.stateless,
        # Host/Origin are checked by HttpGuard (loopback + manifest allow-lists), not by the SDK,
        # whose automatic localhost-only lists would refuse the manifest's extra hosts.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        max_request_body_size=int(http.max_request_bytes),
        session_idle_timeout=sessions.idle_timeout,
        max_sessions=sessions.total,
        host=options.host,
        custom_starlette_routes=[*routes, *extra_routes,
                                 *(guarded_routes(policy) if guarded_routes is not None else [])],
    )
    # A route that needed the shared state while Redis was down answers 503 with the error tool calls get,
    # never a bare 500 with a traceback (the policy routes answer it themselves, forms included).
    app.add_exception_handler(StateUnavailable, state_unavailable)
    # `/status/` → `/status` under `public_url`'s path prefix, not outside it (Starlette's Location drops it)
    redirect_slashes_under(app.router, options.public_prefix)
    # MCPRT_HTTP_LEAN=0: every request through the SDK's own paths (JSON unless it may stream
    # still holds); for measuring the lean paths, and a way out should one misbehave.
    lean = os.environ.get("MCPRT_HTTP_LEAN", "1") != "0"
    if not options.stateless:
        # Sessions answer only to the principal that opened them, are capped per client and, with
        # shared state, any replica serves any session.
        manager = share_sessions(server, session_records, notifier, sessions)
        if server.subscriptions is not None:  # an update goes to the replica holding the session's GET stream
            server.subscriptions.elsewhere = manager.relay_updated
        # Each POSTed request answered with one JSON body unless it may stream; tools/call and
        # tools/list on the lean path (lean.py).
        manager.lean = LeanPath(manager, holder, notifier)
        manager.lean.enabled = lean
    else:
        manager = server._session_manager
        answer_stateless_in_json(manager, holder)  # JSON unless the request may stream
    if lean:  # 2026-07-28 tools/call and tools/list that cannot stream: in the request's task (lean_modern.py)
        answer_modern_lean(manager, holder)
    # a call refused only for a missing scope gets the scope challenge — once the session checks would pass
    if resource_server is not None:
        challenge_scope_steps(manager, holder, resource_server, sessions=not options.stateless)
    # first of all: a session's request (or an initialize) with a version its era does not know
    check_session_versions(manager, sessions=not options.stateless)
    # the SDK's refusals without a body (2026-07-28: non-POST 405, a listen's 406) get a JSON-RPC error body
    fill_empty_refusals(manager)
    # a GET's Last-Event-ID with no events kept: a fresh stream (the SDK answered 500)
    ignore_unreplayable_resumes(manager)
    # before that: a POST whose Content-Type or Accept cannot be served gets its JSON-RPC error at once
    check_post_headers(manager)
    # around the SDK's body limit: its plain-text 413 for a chunked body past the limit gets a JSON-RPC error
    fill_oversized_refusal(manager, int(http.max_request_bytes))
    return HttpGuard(InFlight(app, readiness, options.path, max_body=int(http.max_request_bytes)), policy,
                     mcp_path=options.path)


async def state_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The answer to a request whose route raised StateUnavailable: the policy endpoints' 503
    (`policy.http.outage_answer`)."""
    from ..policy.http import outage_answer

    assert isinstance(exc, StateUnavailable)  # registered for it alone
    return outage_answer(exc)


def build_side_app(config: ServerConfig, host: str, routes: Callable[[GuardPolicy], list[Route]],
                   options: ServeOptions) -> ASGIApp:
    """The stdio transport's small listener (`/metrics`, `/status`) on `host` behind the same guard
    rules (`options`: the accepted Host names and public URL)."""
    from starlette.applications import Starlette

    http = config.http
    policy = make_policy(tokens=named_tokens(config), bind_host=host, allowed_hosts=options.allowed_hosts,
                         allowed_origins=http.allowed_origins, public_url=options.public_url,
                         max_request_bytes=int(http.max_request_bytes))
    app = Starlette(routes=routes(policy), exception_handlers={StateUnavailable: state_unavailable})
    redirect_slashes_under(app.router, options.public_prefix)
    return HttpGuard(app, policy)


def oauth_resource_server(config: ServerConfig, path: str, public_base: str | None = None) -> ResourceServer | None:
    """The OAuth resource server of `server.auth.oauth` (None without it); imports identity lazily.
    `public_base`: `server.public_url` (or the audience's base), from which it builds the URLs it advertises."""
    if config.auth is None or config.auth.oauth is None:
        return None
    from ..identity.resource import ResourceServer

    return ResourceServer(config.auth.oauth, path, public_base + path if public_base else None)


def protected_resource_metadata(resource_server: ResourceServer,
                                holder: ToolSetHolder | None = None) -> Callable[[Request], Awaitable[JSONResponse]]:
    """The RFC 9728 §3.2 answer: the metadata as JSON, readable by browser-based clients (CORS).
    `scopes_supported` holds the required scopes and, from the tool set served now (`holder`), every
    scope a policy rule names: the scopes a client may be asked to step up to (`step_up`)."""

    async def metadata(request: Request) -> JSONResponse:
        resource = resource_server.resource(request.url.scheme, request.headers.get("host"))
        gate = holder.current.gate if holder is not None else None
        return JSONResponse(
            resource_server.metadata(resource, gate.scopes if gate is not None else ()),
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=3600"},
        )

    return metadata


def named_tokens(config: ServerConfig) -> dict[str, str]:
    """Inbound static tokens → principal name (`bearer` for the unnamed `bearer_tokens`)."""
    if config.auth is None:
        return {}
    tokens = {t.get_secret_value(): BEARER for t in config.auth.bearer_tokens}
    tokens.update({secret.get_secret_value(): name for name, secret in config.auth.tokens.items()})
    return tokens


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: `mcprt up` owns SIGINT/SIGTERM/SIGHUP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def end_sse_streams() -> None:
    """Ask every open SSE response (GET streams, streaming POSTs) to finish so shutdown is prompt.

    The SDK streams with sse-starlette, which ends its streams when uvicorn's signal handler runs;
    `mcprt up` owns the signals, so it raises the library's documented exit flag itself.
    """
    try:
        from sse_starlette.sse import AppStatus
    except ImportError:  # pragma: no cover - comes with the SDK
        return
    AppStatus.should_exit = True


async def serve_http(app: ASGIApp, sock: socket.socket, stop: asyncio.Event,
                     on_started: Callable[[], Any] | None = None,
                     on_stopping: Callable[[], Any] | None = None,
                     keep_alive: float = KEEP_ALIVE_DEFAULT, mcp_path: str | None = None,
                     process_stops: bool = True, trusted_proxies: tuple[str, ...] = LOOPBACK_PROXIES,
                     on_server: Callable[[uvicorn.Server], Any] | None = None) -> None:
    """Serve until `stop` is set; open streams are asked to end, and cut after a short grace.
    `keep_alive`: seconds an idle connection stays open (`server.http.keep_alive_timeout`); `mcp_path`:
    the MCP endpoint the app serves (None for a listener without one). `process_stops`: this stop is the
    process's own, so every SSE stream of the process is ended (sse-starlette's flag is process-wide and
    never reset) and uvicorn's cut-stream errors are silenced; False for a server stopped while the process
    goes on serving (`state_wait`'s placeholder), whose stop must leave the real server's streams alone.
    `trusted_proxies`: the addresses whose X-Forwarded-Proto/-For set a request's scheme and client
    (`ServeOptions.trusted_proxies`; passed explicitly, so uvicorn's FORWARDED_ALLOW_IPS is never read).
    `on_server`: given the uvicorn server before it serves (the drain reads its open connections:
    `connection_clients`)."""
    config = uvicorn.Config(
        app,
        log_config=None,  # never touch logging; uvicorn's own access log would go to stdout
        access_log=False,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=2,
        ws="none",
        proxy_headers=True,
        forwarded_allow_ips=list(trusted_proxies),
        **connection_settings(keep_alive, mcp_path),  # keep-alive, header deadline, connection cap, fd limit (see limits.py)
    )
    server = _QuietServer(config)

    async def stop_when_asked() -> None:
        await stop.wait()
        if process_stops:
            # Streams ended this way close without a final chunk; uvicorn logs each as an error,
            # which at shutdown is noise, not news.
            logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
            end_sse_streams()
        if on_stopping is not None:
            on_stopping()
        server.should_exit = True

    if on_server is not None:
        on_server(server)
    watcher = asyncio.create_task(stop_when_asked())
    started = asyncio.create_task(_announce_when_started(server, on_started))
    try:
        await server.serve(sockets=[sock])
    finally:
        watcher.cancel()
        started.cancel()
    if not server.started and not stop.is_set():
        raise McprtError("the HTTP server did not start (see the messages above)")


def connection_clients(server: uvicorn.Server) -> set[tuple[str, int]]:
    """The peer addresses (host, port) of `server`'s open connections: one per connection (an ASGI scope's
    `client`), so a request can be told to come on a connection opened before some moment."""
    clients: set[tuple[str, int]] = set()
    for connection in list(server.server_state.connections):
        client = getattr(connection, "client", None)
        if client:
            clients.add((str(client[0]), int(client[1])))
    return clients


async def _announce_when_started(server: uvicorn.Server, on_started: Callable[[], Any] | None) -> None:
    while not server.started:
        await asyncio.sleep(0.01)
    if on_started is not None:
        on_started()
