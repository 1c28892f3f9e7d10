"""Wire the operating sinks to a serving process: metrics, audit log, traces and the status page.

`Observatory.start()` subscribes the sinks to the event bus and the upstream hooks; `routes()` are
`/metrics`, `/status`, `/status.json` and `/status/login`, served by the HTTP transport on its own
port, or for stdio by a small listener (`server.observability.listen` / `--metrics-port`).

Authentication is the MCP endpoint's: when tokens are configured, `/metrics` and `/status.json`
need `Authorization: Bearer`; a browser opening `/status` gets a sign-in form that posts the token in its
body (`/status/login`; a `?token=` in the address is refused, `TOKEN_IN_ADDRESS`), after which an HttpOnly,
SameSite=Strict signed cookie naming its principal (never the
token; `browser_login`) admits it for 12 hours to `/status…` and `/policy…` on every replica serving the
same tokens. Without inbound auth (loopback only) the pages are open.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import __version__
from ..identity.principal import from_scope
from ..observability.events import BUS
from ..observability.hooks import add_call_marker, add_upstream_observer
from ..observability.log import log_event
from ..observability.redact import manifest_secrets
from ..observability.source_health import CallHealth, CallVerdict
from ..observability.state import ServerState, SourceHealth, ToolInfo
from ..observability.tool_rows import META
from .browser_login import COOKIE, COOKIE_SECONDS
from .guard import GuardPolicy, log_refused, query_token_name, token_principal

if TYPE_CHECKING:
    from ..manifest.model import Observability as ObservabilityConfig
    from ..observability.audit import AuditHealth
    from ..pipeline import Runtime
    from ..toolset.toolset import ToolSet
    from .notify import Notifier
    from .options import ServeOptions


# A bearer token in a URL ends up in the access logs of a proxy in front (the deploy files ship HAProxy and
# nginx), in browser history and shell history (RFC 6750 §5.3: "Don't pass bearer tokens in page URLs");
# found by a pentest trial: `/status?token=…` signed a browser in, contradicting the threat model.
TOKEN_IN_ADDRESS = ("a token in the address (?token= or ?access_token=) is not accepted: addresses are kept in "
                    "proxy logs and browser history. Sign in with this form (it sends the token in the request body), or send an "
                    "Authorization: Bearer header. If the token was sent this way before, consider rotating it.")


class Observatory:
    """The sinks of one server process and the routes that show them."""

    def __init__(self, runtime: Runtime, notifier: Notifier, options: ServeOptions, *,
                 metrics_port: int | None = None) -> None:
        assert runtime.loaded is not None
        self.runtime = runtime
        self.notifier = notifier
        self.options = options
        self.loaded = runtime.loaded
        self.config: ObservabilityConfig = runtime.loaded.manifest.server.observability
        self.metrics_port = metrics_port
        self.started = time.time()
        self.endpoint: str | None = None
        self.state_up: Callable[[], bool | None] = lambda: None  # the state backend's health (server.lifecycle)
        self.state_writable: Callable[[], bool | None] = lambda: None  # it takes writes (server.lifecycle)
        self.state_detail: Callable[[], str | None] = lambda: None  # its state in words (`Readiness.state_text`)
        # what this process holds now (set by serve: requests in flight, running tasks, draining)
        self.requests_in_flight: Callable[[], int | None] = lambda: None
        self.tasks_running: Callable[[], int | None] = lambda: None
        self.draining: Callable[[], bool] = lambda: False
        # which process answers (/status.json): serve adds the replica id when it shares state
        self.instance: dict[str, Any] = {"hostname": socket.gethostname(), "pid": os.getpid()}
        self.metrics: Any = None
        self.recorder: Any = None
        self.audit: Any = None
        self.tracer: Any = None
        # each source's health as its calls show it, tied to the source object a reload may replace (a
        # proxied server's: to its connection, which a reconnect replaces)
        self.health = CallHealth(lambda name: _instance(runtime.pool.running.get(name)),
                                 manifest_secrets(runtime.loaded.manifest))
        self.policy: GuardPolicy | None = None
        self._undo: list[Callable[[], None]] = []

    def _audit_on_failure(self) -> Literal["refuse", "serve"]:
        """`audit_on_failure` of the manifest now: reloadable (reload/restart.py), so an operator can move
        to `serve` during a disk-full incident without a restart losing the records waiting in memory."""
        loaded = self.runtime.loaded or self.loaded
        return loaded.manifest.server.observability.audit_on_failure

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self, *, pages: bool = True) -> None:
        """Create the sinks (prometheus/opentelemetry imported here, only when serving). `pages=False`
        (stdio without a listener: nobody could read them) skips metrics and the status page's ring."""
        from ..observability.metrics import Metrics
        from ..observability.recent import CallRecorder
        from ..observability.tracing import Tracer, tracing_wanted

        secrets = manifest_secrets(self.loaded.manifest)
        if pages:  # the sources' health is read by /metrics and /status only
            self._undo.append(BUS.subscribe(self.health.on_event))
            self.metrics = Metrics(self.state)
            self._undo.append(BUS.subscribe(self.metrics.on_event))
            self._undo.append(add_upstream_observer(self.metrics.upstream_observer))
            self.recorder = CallRecorder(self.config.recent_calls, secrets, started=self.started)
            self._undo.append(BUS.subscribe(self.recorder.on_event, payloads=self.config.recent_calls > 0))
        if self.config.audit:
            from ..observability.audit import open_audit

            self.audit = open_audit(self.config.audit, self.loaded.base_dir, with_values=self.config.audit_arguments,
                                    secrets=secrets, on_failure=self._audit_on_failure)
            assert self.audit is not None
            self._undo.append(BUS.subscribe(self.audit.on_event))
            self._undo.append(BUS.add_gate(self.audit.refusal))  # `audit_on_failure: refuse`
        if tracing_wanted(self.config.traces):
            from ..observability import tracing

            self.tracer = tracing.ACTIVE = Tracer(self.loaded.manifest.server.name, __version__,
                                                  record_values=self.config.audit_arguments)
            self._undo.append(add_upstream_observer(self.tracer.upstream_observer))
            self._undo.append(add_call_marker(self.tracer.mark_call))

    def reopen(self) -> None:
        """SIGHUP: reopen the audit file (log rotation)."""
        if self.audit is not None:
            self.audit.reopen()

    def close(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        if self.audit is not None:
            self.audit.close()
        if self.tracer is not None:
            from ..observability import tracing

            tracing.ACTIVE = None
            self.tracer.shutdown()

    def sources_down(self) -> list[str]:
        """Names of the sources `/status` shows `down` or `restarting` (a proxied server that exited or hangs,
        an upstream that refuses connections), for `/readyz`'s `sources_down` count, so the two agree."""
        now = time.time()
        return [name for name, source in self.runtime.pool.running.items()
                if _health(name, source, self.health.verdict(name, now)).state in ("down", "restarting")]

    def audit_health(self) -> AuditHealth | None:
        """The audit log's state (None: no audit log), for the probes, metrics and the status page."""
        return self.audit.health() if self.audit is not None else None

    # --- state -------------------------------------------------------------------------------------

    def state(self) -> ServerState:
        runtime = self.runtime
        toolset = runtime.holder.current if runtime.holder is not None else None
        tools = _tools(toolset) if toolset is not None else []
        now = time.time()
        sources = [_health(name, source, self.health.verdict(name, now))
                   for name, source in runtime.pool.running.items()]
        reload: dict[str, Any] = {}
        try:
            from ..reload import reload_status

            reload = reload_status(runtime)
        except ImportError:
            pass
        http = self.options.transport == "http"
        sessions = len(self.notifier.sessions) if http else 1
        return ServerState(self.loaded.manifest.server.name, __version__, self.options.transport, self.endpoint,
                           self.started, tools, sources, sessions, reload, self.state_up(), _loop_tasks(),
                           _refused_connections() if http else None, self.audit_health(),
                           instance=dict(self.instance), requests_in_flight=self.requests_in_flight(),
                           tasks_running=self.tasks_running(), draining=self.draining(),
                           state_writable=self.state_writable(), state_detail=self.state_detail(),
                           approvals_pending=self.approvals_pending())

    def approvals_pending(self) -> int | None:
        """Approval requests awaiting a decision, from the policy service's snapshot (refreshed from the state every
        `MCPRT_POLICY_REFRESH_INTERVAL` s and after each change here; `PolicyService.pending_now`): with Redis the
        fleet's figure; None where no approval endpoint is served (nothing can be pending here) or while the
        snapshot is stale (the state cannot be read)."""
        service = self.runtime.policy
        return service.pending_now() if service is not None and service.reachable else None

    # --- HTTP --------------------------------------------------------------------------------------

    def routes(self, policy: GuardPolicy) -> list[Route]:
        self.policy = policy
        return [
            Route("/metrics", self._metrics, methods=["GET"]),
            Route("/status", self._status, methods=["GET"]),
            Route("/status.json", self._status_json, methods=["GET"]),
            Route("/status/login", self._login, methods=["POST"]),
        ]

    async def _metrics(self, request: Request) -> Response:
        if not self._bearer_ok(request):
            return self._unauthorized(request)
        from ..observability.metrics import CONTENT_TYPE

        return Response(self.metrics.render(), media_type=CONTENT_TYPE)

    async def _status_json(self, request: Request) -> Response:
        if not self._bearer_ok(request):
            return self._unauthorized(request)
        from ..observability.status_page import summary

        return JSONResponse(summary(self.state(), self.recorder, self._viewer(request)))

    async def _status(self, request: Request) -> Response:
        from ..observability.status_page import login_page, render
        from ..observability.status_view import view_of

        # `all=1`, `call=ID`: kept through sign-in, links and forms, each under the public path prefix
        view = view_of(request.query_params, self.options.public_prefix)
        if query_token_name(request.url.query) is not None:  # never read, never checked: refused whatever it holds
            log_event("status sign-in refused: a token in the address", logging.WARNING, path=request.url.path[:100])
            # `same-origin`: this address (with the token) goes to no other site, and the form's post keeps its
            # true Origin (under `no-referrer` Chromium sends `Origin: null`, which the guard refuses)
            return HTMLResponse(login_page(TOKEN_IN_ADDRESS, view), status_code=400,
                                headers={"Cache-Control": "no-store", "Referrer-Policy": "same-origin"})
        if not self._bearer_ok(request):  # the guard attached the principal of a token or a sign-in cookie
            if request.headers.get("authorization"):  # a wrong token is a rejection; a browser's first visit is not
                log_refused(True, request.url.path)
            return HTMLResponse(login_page(view=view), status_code=401)
        # `same-origin`: no other site learns this page's address (its `?call=` id), while the page's own
        # forms keep their true Origin: under `no-referrer` browsers send `Origin: null` with a form post,
        # which the guard refuses ("Origin not allowed"), so the approvals section's forms never worked.
        return HTMLResponse(render(self.state(), self.recorder, view, request.query_params.get("note"),
                                   self._viewer(request)),
                            headers={"Cache-Control": "no-store", "Referrer-Policy": "same-origin"})

    async def _login(self, request: Request) -> Response:
        """The sign-in form's POST (`application/x-www-form-urlencoded`: `token`, and `back`, the view to
        return to): 303 to that view with the cookie, or 401 and the form again."""
        from ..observability.status_view import View, status_return

        body = (await request.body())[:4096].decode("utf-8", errors="replace")
        fields = parse_qs(body)
        token = (fields.get("token") or [""])[0]
        prefix = self.options.public_prefix
        view = status_return((fields.get("back") or [""])[0], prefix) or View(prefix=prefix)  # signed in from
        return self._admit(token, view.address()) or await self._refused_sign_in(request, token, view)

    async def _refused_sign_in(self, request: Request, token: str, view: Any) -> Response:
        from ..observability.status_page import login_page

        log_refused(bool(token), request.url.path)
        message = "that token is not valid"
        if token and await self._is_access_token(request, token):
            # The cookie names a configured static token's principal (browser_login): an OAuth
            # access token cannot be turned into one, however valid. Say so, not "not valid".
            assert self.policy is not None
            message = ("that is a valid OAuth access token, but a browser signs in with a static token "
                       "(server.auth.tokens)" + ("" if self.policy.tokens else ", and this server has none") +
                       "; to use the access token, send it as an Authorization: Bearer header")
        return HTMLResponse(login_page(message, view), status_code=401)

    async def _is_access_token(self, request: Request, token: str) -> bool:
        """Whether `token` is an access token this server accepts (server.auth.oauth)."""
        server = self.policy.resource_server if self.policy is not None else None
        if server is None:
            return False
        from ..identity.resource import InsufficientScope

        try:
            await server.authenticate(token, server.resource(request.url.scheme, request.headers.get("host")))
        except InsufficientScope:
            return True  # valid, if not for these pages; the sign-in answer is the same
        except Exception:  # noqa: BLE001 - rejected, keys unavailable: not an access token we can tell apart
            return False
        return True

    def _admit(self, token: str, back: str) -> Response | None:
        """Signed in: a cookie, and back to `back` (the status page in the view asked for: `status_view`)."""
        assert self.policy is not None
        principal = token_principal(self.policy, f"Bearer {token}") if token else None
        if principal is None:
            return None
        response = RedirectResponse(back, status_code=303)
        if self.policy.tokens:  # without tokens the pages are open: nothing to sign in to
            # Path: the public prefix's root ("/" without one) — the approval forms post to …/policy/…, and
            # under a prefix (`public_url: https://gw.example.com/tools`) another app on the gateway's host must
            # not receive this admin session (RFC 6265 §5.1.4 path-match); SameSite=Strict keeps it off
            # cross-site requests.
            response.set_cookie(COOKIE, self.policy.logins.issue(principal.name), max_age=COOKIE_SECONDS,
                                path=self.options.public_prefix + "/", httponly=True, samesite="strict")
        return response

    def _unauthorized(self, request: Request) -> Response:
        """401 for /metrics and /status.json. Under `server.auth.oauth` these pages take the same access
        tokens as the MCP endpoint (the guard validates them, required scopes included), so they get its
        challenge: `resource_metadata=` (RFC 9728 §5.1) and `scope=` (RFC 6750 §3, MCP authorization
        2025-11-25). With static tokens only, `Bearer realm="mcprt"` and no `scope=`: a static token has
        no scopes, so there is none a client could ask for (RFC 6750 §3 makes `scope` optional)."""
        given = bool(request.headers.get("authorization"))
        log_refused(given, request.url.path)
        server = self.policy.resource_server if self.policy is not None else None
        if server is None:
            value = 'Bearer realm="mcprt"'
        else:
            from ..identity.resource import challenge

            metadata = server.metadata_location(request.url.scheme, request.headers.get("host"))
            value = challenge(metadata, error="invalid_token" if given else None, scope=server.required_scopes)
        return JSONResponse({"error": "a valid bearer token is required"}, status_code=401,
                            headers={"WWW-Authenticate": value})

    def _viewer(self, request: Request) -> Any:
        """Who reads /status or /status.json (`status_page.Viewer`): an administrator by the rule of the
        `/policy` endpoints (`PolicyService.may_administer`: `policy.admins`, else the approvers, else
        anyone admitted; without a policy, anyone admitted), or a caller who sees only their own calls.
        The trial that asked for it: any token holder read every caller's arguments, upstream bodies and
        pending approvals here, while `/status/approvals` refused them (403)."""
        from ..observability.status_page import Viewer

        principal = from_scope(request.scope)
        assert principal is not None  # `_bearer_ok` admitted the request
        service = self.runtime.policy  # made at the first compile with a `policy:` (or by the /policy routes)
        return Viewer(principal.owner, service is None or service.may_administer(principal))

    def _bearer_ok(self, request: Request) -> bool:
        # The guard attaches a principal for a valid static token, OAuth access token or sign-in cookie,
        # and ANONYMOUS when no inbound auth is configured; nothing attached means not admitted.
        return from_scope(request.scope) is not None


def _tools(toolset: ToolSet) -> list[ToolInfo]:
    """Every tool served, the discovery meta-tools first: their calls (searches, describes, calls
    of unlisted operations, and those that failed) are the server's busiest in discovery mode."""
    from ..discovery.meta import META_SOURCE, names_in

    meta = names_in(toolset)
    found = [ToolInfo(name, META_SOURCE, META) for name in (meta.search, meta.describe, meta.call)] if meta else []
    return found + [ToolInfo(t.name, t.source, t.expose) for t in toolset]


def _instance(source: Any) -> object:
    """What a call verdict belongs to: a proxied server's current connection, else the source object."""
    return getattr(source, "connection", source)


def _health(name: str, source: Any, verdict: CallVerdict | None) -> SourceHealth:
    """A source's health: a proxied MCP server's connection state when it is not up (it notices a lost
    server and reconnects); else its calls' verdict (refused, timed out, a run of 5xx: not up), the one
    rule for every kind (source_health.py) — a proxied HTTP server connected but answering 503 is
    `degraded`, as an OpenAPI upstream is. A verdict belongs to the connection its calls went to, so a
    reconnect does not inherit it."""
    kind = getattr(source, "kind", "?")
    state = getattr(source, "state", None)  # only proxied MCP servers have a connection state
    restarts = getattr(source, "restarts", 0)
    completions = getattr(source, "elicitation_completions", ())
    unrouted = getattr(source, "unrouted_logs", 0)
    if state is not None and state != "up":
        return SourceHealth(name, kind, state, restarts, getattr(source, "last_error", None),
                            elicitation_completions=completions, unrouted_logs=unrouted)
    if verdict is not None:
        return SourceHealth(name, kind, verdict.state, restarts, verdict.error, verdict.since, completions, unrouted)
    return SourceHealth(name, kind, state or "up", restarts, elicitation_completions=completions,
                        unrouted_logs=unrouted)


class OperationTimer:
    """Server middleware: `mcp_server_operation_duration_seconds` for every MCP request but tools/call
    (timed by the call pipeline), and the request's span when tracing is on."""

    def __init__(self, observatory: Observatory) -> None:
        self.observatory = observatory

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        tracer = self.observatory.tracer
        if ctx.method.startswith("notifications/"):  # the chain also runs for notifications: not operations
            return await call_next(ctx)
        if tracer is None:
            if ctx.method == "tools/call" or self.observatory.metrics is None:
                return await call_next(ctx)
            started = time.perf_counter()
            failure: str | None = None
            try:
                return await call_next(ctx)
            except BaseException as exc:
                failure = error_type(exc)
                raise
            finally:
                self.observatory.metrics.observe_operation(method_label(ctx.method), time.perf_counter() - started,
                                                           failure)
        params = ctx.params or {}
        label = method_label(ctx.method)
        headers = getattr(ctx.request, "headers", None)
        started = time.perf_counter()
        failure: str | None = None
        with tracer.request_span(label, params, session_id=headers.get("mcp-session-id") if headers else None,
                                 protocol_version=ctx.protocol_version, request_id=ctx.request_id,
                                 headers=headers, tool=self._offered_tool(ctx.method, params),
                                 method_original=ctx.method):
            try:
                return await call_next(ctx)
            except BaseException as exc:
                failure = error_type(exc)
                raise
            finally:
                if ctx.method != "tools/call" and self.observatory.metrics is not None:
                    self.observatory.metrics.observe_operation(label, time.perf_counter() - started, failure)

    def _offered_tool(self, method: str, params: Any) -> str | None:
        """The tool a tools/call names when this server offers it, else None: a name the client made up
        must not name a span (one span name per made-up tool in the trace backend)."""
        tool = params.get("name") if method == "tools/call" else None
        holder = self.observatory.runtime.holder
        if not isinstance(tool, str) or holder is None or holder.current.get(tool) is None:
            return None
        return tool


OTHER_METHOD = "_OTHER"


def error_type(exc: BaseException) -> str:
    """Semconv `error.type` of a failed MCP request (OpenTelemetry MCP conventions: the JSON-RPC error
    code as a string when the answer is a JSON-RPC error, e.g. "-32601"; else the exception's class
    name). Both are bounded by the code, never by what a client sends."""
    code = getattr(exc, "code", None)
    return str(code) if isinstance(code, int) else type(exc).__name__


def method_label(method: str) -> str:
    """The `mcp_method_name` label of a request: its method when MCP defines it, else `_OTHER`.

    The method is the client's string: labelled as sent, every distinct name a client made up
    (`x/1`, `x/2`, …) added a histogram series for the life of the process, without bound. As
    OpenTelemetry's RPC conventions say of a method the server does not recognize (`rpc.method`),
    it is recorded as `_OTHER`."""
    return method if method in _known_methods() else OTHER_METHOD


@functools.cache
def _known_methods() -> frozenset[str]:
    """Client request methods: the SDK's `ClientRequest` union (both eras) and the tasks
    extension's, which mcprt answers (`tasks/list` and `tasks/result` with -32601, still MCP's)."""
    import typing

    import mcp_types

    from .tasks import METHODS as TASK_METHODS  # the SDK's modules: loaded once serving (not at start-up)

    def methods(union: Any) -> set[str]:
        found: set[str] = set()
        for member in typing.get_args(union):
            field = getattr(member, "model_fields", {}).get("method")
            found |= {field.default} if field is not None else methods(member)
        return found

    return frozenset(methods(mcp_types.ClientRequest) | {*TASK_METHODS, "tasks/list", "tasks/result"})


def _refused_connections() -> int:
    """Connections refused at the cap so far (`limits.REFUSED`; imported here: only an HTTP server has a cap,
    and limits.py loads uvicorn, which a stdio server never needs)."""
    from .limits import REFUSED

    return REFUSED.count


def _loop_tasks() -> int | None:
    """asyncio tasks alive in the running loop (the server's: /metrics is answered on it); None off a loop."""
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:
        return None
