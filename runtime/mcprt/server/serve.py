"""`mcprt up` after the manifest compiled: build the server, pick the transport, serve until told to
stop, then close the sources. Signals: SIGINT/SIGTERM stop (a second one forces), SIGHUP reloads."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..manifest.model import Manifest
from ..observability import memdebug
from ..observability.log import announce, log_event
from ..outbound.token_cache import share_tokens
from ..reload import follow_upstream
from ..reload import reload_now as reload_manifest
from ..reload import reload_status
from ..reload import watch as watch_manifest
from ..stopping import stop_tasks
from .app import build_server
from .client_messages import carry_client_messages
from .http import build_http_app, build_side_app, connection_clients, serve_http
from .sockets import listen
from .lifecycle import DRAIN_QUIET, KEPT_SHARE, InFlight, Readiness
from .limits import session_limits
from .shared_state import open_shared_state
from .state_wait import StoppedWhileWaiting, open_when_reachable
from .notify import Notifier
from .observe import Observatory, OperationTimer
from .offers import LogLevels, UpstreamEvents
from .options import ServeOptions, check_side_exposure, has_inbound_auth, is_loopback, is_wildcard, reachable_base
from .stdio import serve_stdio
from .stop_answers import StopAnswers
from ..early_signals import exit_code, exit_now, stop_signal_while_stopping
from .stop_signals import PendingSignals
from ..toolset.stopping import RUNNING, TOLD_TO_STOP
from ..wording import noun

if TYPE_CHECKING:
    from ..pipeline import Runtime
    from ..tasks.run import TaskRunner
    from .stdio import StdioWire


async def serve(runtime: Runtime, options: ServeOptions, *, reload: bool = True,
                metrics_port: int | None = None, wire: StdioWire | None = None,
                listener: socket.socket | None = None, hold_signals: bool = False,
                pending: PendingSignals | None = None) -> None:
    """Serve `runtime`'s tool set (it must be started) until SIGINT/SIGTERM or the client leaves.

    `wire`: for stdio, the claimed stdin/stdout (with what `early.answer_early` hands over);
    claimed here when not given. `listener`: for HTTP, the socket already bound to
    `options.host:port` (`sockets.listen`); bound here when not given.

    Metrics, the status page, the audit log and traces run beside it (`observe.Observatory`); for
    stdio they are served on `server.observability.listen`, or 127.0.0.1:`metrics_port`.
    The caller closes the runtime's sources afterwards (`runtime.aclose()`). `hold_signals` (the CLI's
    `mcprt up`): the SIGINT/SIGTERM handlers stay after serving, so a stop signal while the caller closes
    the sources (and waits for sync tool functions) exits at once with 130/143 and says so, instead of
    the signal's default action killing the process without a word (`stop_signals.hold_stop_signals`).
    `pending`: the signals caught since `mcprt up` began (`stop_signals.PendingSignals`, whose handlers
    these replace): a stop caught there is this serving's stop (already logged), a SIGHUP its first reload.
    """
    assert runtime.holder is not None and runtime.loaded is not None, "start the runtime first"
    probe = memdebug.folder()  # before anything starts: a bad MCPRT_DEBUG_TRACEMALLOC is exit 2, nothing to undo
    config = runtime.loaded.manifest.server
    http = options.transport == "http"
    notifier = Notifier()
    notifier.bind_loop()
    notifier.attach(runtime.holder)
    levels = LogLevels()
    server = build_server(runtime.holder, config, notifier, tools_changed=not (http and options.stateless),
                          levels=levels)
    runtime.on_upstream_event(UpstreamEvents(server.subscriptions))

    def tasks_follow_reload(old: Any, new: Any) -> None:
        # `runtime.loaded` is the applied manifest by the time a swap is announced (`Runtime.apply`)
        if server.tasks is not None and runtime.loaded is not None:
            server.tasks.configure(runtime.loaded.manifest.server.tasks)

    runtime.holder.on_swap(tasks_follow_reload)  # `server.tasks` follows hot reload
    side = None if http else _side_listener(config.observability.listen, metrics_port)
    if http and (metrics_port is not None or config.observability.listen):
        # Said rather than ignored: the operator asked for a listener that the HTTP transport does not open.
        log_event("--metrics-port and server.observability.listen apply over stdio only; over HTTP /metrics "
                  "and /status are served on the MCP port", logging.WARNING,
                  given="--metrics-port" if metrics_port is not None else "server.observability.listen")
    observatory = Observatory(runtime, notifier, options)
    try:
        observatory.start(pages=http or side is not None)
    except BaseException:
        observatory.close()  # what started before the failure (e.g. an audit path that cannot open)
        raise
    # Ours replaces the SDK's OpenTelemetryMiddleware: it writes the span mcprt's conventions describe
    # (session id, HTTP-header context, outcome as error.type) and costs nothing with tracing off.
    # StopAnswers: a request the stop ends is answered (server.stop_answers); inside the timer, so
    # the operation's duration and span include that answer.
    server.middleware[:] = [OperationTimer(observatory), StopAnswers(),
                            *(m for m in server.middleware if type(m).__name__ != "OpenTelemetryMiddleware")]
    stop = asyncio.Event()
    stopping = asyncio.Event()  # SIGTERM/SIGINT: drain first (HTTP), then `stop`
    tasks: set[asyncio.Task[Any]] = set()
    hup_while_waiting: list[bool] = []  # a SIGHUP during the shared state's wait: reloaded once serving

    def on_hup() -> None:
        if not serving:
            hup_while_waiting.append(True)
            return
        observatory.reopen()  # the audit file, after log rotation
        spawn(reload_now(runtime, notifier), "reload")

    serving = False
    # before the shared state's wait: a SIGTERM/SIGINT meanwhile ended the process silently (the default action)
    restore_signals, hurried, stopped_by = _install_signals(stopping, on_hup=on_hup, hold=hold_signals)
    if pending is not None:  # caught while starting, or while the SDK loaded (server.early)
        if pending.reload:
            on_hup()
        if pending.stop:
            stopped_by.append(pending.signum)
            stopping.set()
    sock: socket.socket | None = None
    try:
        # bound before the shared state is reached: while it is awaited, the port says so (`state_wait`)
        sock = (listener if listener is not None else listen(options.host, options.port)) if http else None
        shared = await open_when_reachable(
            lambda: open_shared_state(options, config.name, session_limits(config.http).idle_timeout), sock,
            stopping)
    except BaseException as exc:
        if sock is not None:  # nothing answers on it any more: connections are refused, not left in the backlog
            sock.close()
        observatory.close()
        restore_signals()
        if isinstance(exc, StoppedWhileWaiting):  # logged "stopping" when the signal came
            raise SystemExit(exit_code(stopped_by[0] if stopped_by else None)) from None
        raise
    serving = True
    restore_tokens: Callable[[], None] = lambda: None
    if shared is not None:  # approvals, rate limits, pauses and upstream OAuth tokens shared by every replica
        runtime.policy_service().state = shared.policy
        restore_tokens = share_tokens(shared.tokens)
        # a 2026-07-28 client's retry may reach any replica: it is carried to the one holding the call
        await shared.rounds.start(server.round_trips.resume)
        server.round_trips.relay = shared.rounds
        # tasks: records in Redis (tasks/get on any replica), updates and cancels carried to the task's replica
        from ..state.tasks import SharedTaskStore

        assert server.tasks is not None
        task_store = SharedTaskStore(config.tasks, shared.client, prefix=shared.prefix,
                                     replica=shared.rounds.replica, alive=shared.rounds.alive)
        server.tasks.share(task_store, shared.rounds)
        shared.restorers["task_records"] = task_store.restore

    stopping_tasks = False  # set when the stop cancels them: `stop_tasks` then logs their errors

    def spawn(coro: Coroutine[Any, Any, Any], what: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=what)  # the name: how `stop_tasks` logs it
        tasks.add(task)

        def finished(done: asyncio.Task[Any]) -> None:
            tasks.discard(done)
            if not stopping_tasks:  # else logged once, by `stop_tasks`
                _log_failure(done, what)

        task.add_done_callback(finished)

    cleanups: list[Callable[[], Any]] = []

    if probe is not None:  # the opt-in memory probe for soaks
        cleanups.append(memdebug.install(probe))
    if hup_while_waiting:
        on_hup()
    # open_shared_state() has reached the backend (it exits otherwise): an outage from now on
    # degrades readiness instead of failing it (see server.lifecycle).
    readiness = Readiness(shared.ping if shared is not None else None, state_reached=True,
                          sources_down=observatory.sources_down,
                          audit=observatory.audit_health,
                          state_writes=(lambda: shared.writes_refused) if shared is not None else None)
    observatory.draining = lambda: readiness.draining
    if server.tasks is not None:
        observatory.tasks_running = lambda: server.tasks.runner.running if server.tasks is not None else None
    if shared is not None:
        observatory.instance["replica"] = shared.rounds.replica
        observatory.state_writable = lambda: readiness.state_writable
        observatory.state_detail = readiness.state_text
        observatory.state_up = lambda: readiness.state_up
        spawn(readiness.watch_state(), "shared state watch")
        spawn(shared.watch_data_loss(), "shared state data watch")
    if reload:
        spawn(watch_manifest(runtime, notifier), "hot reload")
    else:  # the manifest stays as it is; proxied servers' tool lists are still followed
        spawn(follow_upstream(runtime, notifier), "upstream tool lists")
    spawn(_warm_up_sources(runtime), "warm-up")
    if server.tasks is not None:
        spawn(server.tasks.sweep_forever(), "task sweep")  # expired results go even when no client asks
    try:
        if sock is not None:
            port = sock.getsockname()[1]
            observatory.endpoint = options.public_endpoint(port)
            routes = _serve_policy(runtime, options, port, spawn, cleanups)
            app = build_http_app(server, runtime.holder, config, notifier, options,
                                 manifest_health=lambda: manifest_health(runtime, notifier),
                                 callable_tools=lambda: callable_tools(runtime), readiness=readiness,
                                 session_records=shared.sessions if shared is not None else None,
                                 extra_routes=routes, guarded_routes=observatory.routes)
            if shared is not None:  # a client's answer or cancellation reaches the replica holding its call
                carry_client_messages(server, shared.rounds)
            inflight = _find_inflight(app)
            if inflight is not None:
                observatory.requests_in_flight = lambda: inflight.count if inflight is not None else None
            if shared is not None and inflight is not None:  # the drain waits for calls resumed for other replicas
                shared.rounds.hold = inflight.hold
            spawn(_drain_then_stop(stopping, stop, readiness, app, options, server.close_listen_streams,
                                   runtime.policy_service().stopping.set,
                                   tasks=server.tasks.runner if server.tasks is not None else None),
                  "graceful stop")
            await serve_http(app, sock, stop, on_started=lambda: _banner(runtime, options, port),
                             on_stopping=server.close_listen_streams, keep_alive=options.keep_alive_timeout,
                             mcp_path=options.path, trusted_proxies=options.trusted_proxies,
                             on_server=lambda uv: setattr(readiness, "connections", lambda: connection_clients(uv)))
        else:
            if side is not None:
                check_side_exposure(side[0], runtime.loaded.manifest)
                side_sock = _side_socket(side, by_flag=metrics_port is not None)
                if side_sock is not None:
                    address = side_sock.getsockname()
                    side_app = build_side_app(config, side[0], observatory.routes, options)
                    spawn(serve_http(side_app, side_sock, stop, trusted_proxies=options.trusted_proxies),
                          "metrics listener")
                    status_page = f"{reachable_base(side[0], address[1])}/status"
                    announce(f"mcprt: metrics and status at {status_page}", url=status_page)
            _banner(runtime, options, None)
            spawn(_drain_then_stop(stopping, stop, readiness, None, options, server.close_listen_streams),
                  "stop")
            await serve_stdio(server, stop, wire, notifier=notifier, runtime=runtime)
    finally:
        stop.set()  # the stdio side listener ends with the session
        observatory.close()
        restore_signals()
        for cleanup in cleanups:
            cleanup()
        # bounded even when one is mid-command on Redis (a lost cancel hung `gather`: `mcprt.stopping`)
        stopping_tasks = True
        await stop_tasks(list(tasks), what="background tasks", within=BACKGROUND_STOP_WITHIN,
                         grace=BACKGROUND_STOP_GRACE)
        await notifier.drain()
        restore_tokens()
        if shared is not None:
            await shared.aclose()
    if hurried:  # a second signal: its exit code, even when every answer went out in time (README "Stopping")
        raise SystemExit(exit_code(hurried[0]))


BACKGROUND_STOP_WITHIN = 5.0  # s a stopping server waits for its background tasks (reloads, watches, sweeps)
# s their own clean-up runs before a second cancel (`stop_tasks`): hot reload's closes the sources a reload
# replaced, and a stdio server's close takes up to `STDIN_CLOSE_GRACE` + `TERM_GRACE` (3 s) before its SIGKILL.
BACKGROUND_STOP_GRACE = 4.0
WARM_UP_DELAY = 0.2  # s: after the handshake and first tools/list of a starting client, before its first call


async def _warm_up_sources(runtime: Runtime) -> None:
    """Run each open source's optional `warm_up()` once the server is serving (a user saw a first call
    take ~0.3 s against ~8 ms for the next: the HTTP client's import landed on it). The short delay
    leaves the CPU to the client's first requests; a failure is logged and the call path imports
    what it needs as before."""
    await asyncio.sleep(WARM_UP_DELAY)
    for source in list(runtime.pool.running.values()):
        warm_up = getattr(source, "warm_up", None)
        if warm_up is None:
            continue
        started = asyncio.get_running_loop().time()
        try:
            await warm_up()
        except Exception as exc:  # noqa: BLE001 - the first call will meet (and report) the same fault
            log_event("warm-up failed", logging.DEBUG, source=source.name, error=f"{type(exc).__name__}: {exc}")
            continue
        log_event("source warmed up", logging.DEBUG, source=source.name,
                  ms=round((asyncio.get_running_loop().time() - started) * 1000, 1))


ANSWER_GRACE = 5.0  # s: after the drain ran out, for the "restarting" answers to be written


async def _drain_then_stop(stopping: asyncio.Event, stop: asyncio.Event, readiness: Readiness,
                           app: Any, options: ServeOptions, end_listen_streams: Callable[[], None],
                           end_approval_waits: Callable[[], None] = lambda: None, *,
                           tasks: TaskRunner | None = None) -> None:
    """On the first SIGTERM/SIGINT: readiness false, calls in flight and running tasks finish (bounded), then stop.

    2026-07-28 `subscriptions/listen` streams are POSTs that last as long as the client listens:
    they are ended first (clients reopen them through the balancer) so they are not waited for.
    Calls waiting for a human's approval (up to `approvals.wait`, 60 s by default, longer than the
    drain) stop waiting at once and tell the model the request is pending, to call again. Tasks
    (`tasks`: calls answered `CreateTaskResult`, no longer a request in flight) get the same
    `drain_timeout`: their results are recorded (in Redis with shared state, so any replica answers
    `tasks/get`). Calls still running when the drain runs out (a slow upstream) are ended with a tool
    error saying the server is restarting and to call again (`toolset.stopping`), answered before the
    server closes; a task so ended reads `failed`, saying the tool may have run (`tasks.run`).
    """
    await stopping.wait()
    began = asyncio.get_running_loop().time()
    # /readyz 503; the connections open now get one more answer each, early enough in the drain to finish (`InFlight`)
    readiness.start_draining(options.drain_timeout * KEPT_SHARE)
    end_listen_streams()
    end_approval_waits()
    if app is None:  # stdio
        await _answer_then_stop(stop)
        return
    inflight = _find_inflight(app)
    requests = inflight.count if inflight is not None else 0
    running_tasks = tasks.running if tasks is not None else 0
    answering = requests > 0  # their clients may follow up (`tools/list`)
    if requests or running_tasks:
        log_event("draining", logging.INFO, in_flight=requests, tasks=running_tasks, timeout_s=options.drain_timeout)
        if not await _wait_work_done(inflight, tasks, options.drain_timeout):
            # Cut by the shutdown, such a request's client got uvicorn's bare HTTP 500: end every
            # request in flight with its answer (a tool call: a tool error saying the server is
            # restarting; any other request: the `shutting_down` error, `server.stop_answers`; a task's
            # call: `failed`, the tool may have run), and give the answers a moment to be written (JSON
            # or SSE, a task's record) before the server closes.
            ended = RUNNING.end_all()
            log_event("drain timed out; ending the requests in flight (tool calls answer 'restarting', other "
                      "requests a 'shutting down' error, tasks read 'failed')", logging.WARNING,
                      in_flight=inflight.count if inflight is not None else 0,
                      tasks=tasks.running if tasks is not None else 0, requests_ended=ended)
            if ended and not await _wait_work_done(inflight, tasks, ANSWER_GRACE):
                log_event("stopping with requests in flight", logging.WARNING,
                          in_flight=inflight.count if inflight is not None else 0,
                          tasks=tasks.running if tasks is not None else 0)
    if inflight is not None and (readiness.probed or answering):
        # Stay while a balancer still sends requests (each refused 503, retried elsewhere): exiting
        # while it counts this replica in rotation cut requests it was handing over on reused
        # keep-alive connections (server.lifecycle). Bounded by what is left of the drain timeout. Also
        # after answering calls in flight, unprobed: the official SDK client follows a result with its own
        # `tools/list` (answered while draining, `lifecycle.ANSWERED_WHILE_DRAINING`); gone by then, the
        # replica failed a call it had completed.
        left = max(0.0, options.drain_timeout - (asyncio.get_running_loop().time() - began))
        if not await inflight.wait_unsent(DRAIN_QUIET, left) and readiness.probed:
            log_event("stopping while a balancer still sends requests: is its health check on /readyz?",
                      logging.WARNING, refused=inflight.refused)
        # a request that came on a connection opened before the drain is served (`InFlight`): it may still run
        left = max(0.0, options.drain_timeout - (asyncio.get_running_loop().time() - began))
        if (inflight.count or (tasks is not None and tasks.running)) and not await _wait_work_done(inflight, tasks,
                                                                                                    left):
            ended = RUNNING.end_all()
            log_event("drain timed out; ending the requests in flight", logging.WARNING,
                      in_flight=inflight.count, tasks=tasks.running if tasks is not None else 0, requests_ended=ended)
            if ended:
                await _wait_work_done(inflight, tasks, ANSWER_GRACE)
    if inflight is not None and (readiness.probed or answering or running_tasks):
        log_event("drained", logging.INFO, refused=inflight.refused, answered=inflight.answered_while_draining,
                  in_flight=requests, tasks=running_tasks, drain_s=round(asyncio.get_running_loop().time() - began, 3))
    stop.set()


async def _wait_work_done(inflight: InFlight | None, tasks: TaskRunner | None, timeout: float) -> bool:
    """Wait until no request is in flight and no task runs, for at most `timeout` s (False then). Both are
    checked again together: a call in flight may become a task meanwhile (`server.tasks.answer_within`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if inflight is not None and not await inflight.wait_idle(max(0.0, deadline - loop.time())):
            return False
        if tasks is not None and not await tasks.wait_idle(max(0.0, deadline - loop.time())):
            return False
        if (inflight is None or inflight.count == 0) and (tasks is None or tasks.running == 0):
            return True
        if loop.time() >= deadline:
            return False


async def _answer_then_stop(stop: asyncio.Event) -> None:
    """stdio: end the requests in flight at once with their "shutting down" answer, then stop once
    they are answered (bounded by `ANSWER_GRACE`). No drain: there is no balancer to send new
    requests elsewhere, and a client stopping its server closes stdin first and sends SIGTERM only
    when the server has not exited (MCP 2025-06-18 basic/lifecycle "Shutdown", stdio), so it is
    waiting for the exit, not for answers that take longer."""
    ended = RUNNING.end_all(TOLD_TO_STOP)
    if ended:
        log_event("stopping: ending the requests in flight with a 'shutting down' answer", logging.INFO,
                  requests_ended=ended)
        deadline = asyncio.get_running_loop().time() + ANSWER_GRACE
        while len(RUNNING) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
    stop.set()


def _find_inflight(app: Any) -> InFlight | None:
    while app is not None:
        if isinstance(app, InFlight):
            return app
        app = getattr(app, "app", None)
    return None


def _serve_policy(runtime: Runtime, options: ServeOptions, port: int,
                  spawn: Callable[[Coroutine[Any, Any, Any], str], None],
                  cleanups: list[Callable[[], Any]]) -> list[Any]:
    """Policy admin endpoints (approvals, pauses) and the approvals section of /status.

    Served even when the manifest has no `policy:` yet, so one added by a reload is administrable.
    """
    from ..observability.sections import add_section
    from ..observability.status_view import return_address
    from ..policy.http import granted_json, pending_json, policy_routes, render_granted, render_section

    service = runtime.policy_service()
    service.reachable = True
    service.base_url = options.public_base(port)  # links in webhook messages: see `server.public_url`
    policy = runtime.loaded.manifest.policy
    if (options.public_url is None and not is_loopback(options.host) and policy is not None
            and policy.approvals.webhook is not None):
        log_event("approval webhook links use the bind address; set server.public_url", logging.WARNING,
                  links=service.base_url)
    spawn(service.refresh_forever(), "policy state refresh")
    # an admin reads every request, with the forms and the pauses; anyone else the requests of their own calls
    # (`status_page`'s own-calls rule), so a caller told "needs human approval" can follow it
    cleanups.append(add_section(
        "approvals", "Approvals", admins_only=False,
        render=lambda back, viewer: render_section(service, back=back, caller=None if viewer.admin else viewer.subject,
                                                   prefix=options.public_prefix),
        data=lambda viewer: pending_json(service, None if viewer.admin else viewer.subject)))
    # the approvals granted, each with whether a call used it (by which call and session, when): for admins
    cleanups.append(add_section("granted_approvals", "Granted approvals",
                                render=lambda back, viewer: render_granted(service),
                                data=lambda viewer: granted_json(service)))
    # forms return to the status page's view; every address under the public path prefix (`public_prefix`)
    prefix = options.public_prefix
    return policy_routes(service, back=lambda address: return_address(address, prefix), prefix=prefix)


async def reload_now(runtime: Runtime, notifier: Notifier) -> None:
    """Reload once (SIGHUP); a bad manifest keeps the current tools serving (see `mcprt.reload`)."""
    await reload_manifest(runtime, notifier)


def manifest_health(runtime: Runtime, notifier: Notifier) -> dict[str, Any]:
    """Whether the served tools match the manifest on disk, for `/healthz` (counts, no error text)."""
    last = reload_status(runtime)
    status = "ok"
    if last.get("ok") is False:  # the manifest on disk is not what serves: it failed, or was given up
        status = last.get("outcome") if last.get("outcome") in ("abandoned", "refused") else "error"
    return {
        "status": status,
        "last_reload": last.get("at"),
        "reloads": last.get("reloads", 0),  # applied; every attempt: `attempts`
        "attempts": sum(last.get(key, 0) for key in ("reloads", "failures", "abandoned", "refused")),
        "failures": last.get("failures", 0),
        "abandoned": last.get("abandoned", 0),
        "refused": last.get("refused", 0),
        "errors": len(last.get("errors") or ()),
        # the warnings of the set now serving, counted alike at start and after reloads (the first compile
        # fills no reload status): e.g. an item a re-list left out (its name was taken)
        "warnings": len(runtime.warnings),
    }


def callable_tools(runtime: Runtime) -> int:
    """Tools a call may reach now, for `/healthz`: mcprt's own (discovery) and those whose source is
    running and not reconnecting (a proxied server that is restarting refuses its tools' calls)."""
    toolset = runtime.holder.current if runtime.holder is not None else None
    if toolset is None:
        return 0
    running = runtime.pool.running
    reachable = {name for name, source in running.items() if getattr(source, "state", "up") == "up"}
    return len(toolset.extra) + sum(1 for tool in toolset.tools.values()
                                    if tool.source in reachable and tool.operation.invoke is not None)


def _side_listener(configured: str | None, metrics_port: int | None) -> tuple[str, int] | None:
    """(host, port) of the stdio transport's metrics/status listener: `--metrics-port` (on
    127.0.0.1) beats `server.observability.listen`; None when neither is set."""
    if metrics_port is not None:
        return "127.0.0.1", metrics_port
    if not configured:
        return None
    host, _, port = configured.rpartition(":")
    return host.strip("[]"), int(port)


def _side_socket(side: tuple[str, int], *, by_flag: bool) -> socket.socket | None:
    """The stdio transport's metrics/status listener, or None when it cannot bind: the MCP server a
    host launched serves on without it (a WARNING naming the setting that moves it). Metrics are
    optional; the tools are the product — and the same manifest configured in two hosts (or two
    windows of one editor) makes the second instance meet the first one's port. No gauge says so:
    the metrics it would be on are the ones this listener serves."""
    from ..errors import McprtError

    setting = "--metrics-port" if by_flag else "server.observability.listen"
    try:
        return listen(*side, moved_by=setting, host_set_by=setting)
    except McprtError as exc:
        log_event(f"metrics and status listener not started: {exc}; the MCP server serves on without "
                  f"/metrics and /status (set {setting} to another port, or port 0 for a free one)",
                  logging.WARNING, setting=setting)
        return None


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _install_signals(stop: asyncio.Event, *, on_hup: Callable[[], None],
                     hold: bool = False) -> tuple[Callable[[], None], list[int], list[int]]:
    """Stop gracefully on the first SIGINT/SIGTERM; on the second, answer the requests in flight and exit
    130/143 within `SECOND_SIGNAL_GRACE`; on a third, exit at once. SIGHUP reloads. Returns the function
    that removes the handlers, the list that holds the second signal once one came, and the list that
    holds the first (the stop's signal). With `hold`, that function leaves SIGINT/SIGTERM handled
    (`stop_signals.hold_stop_signals`): the serving is over, so a stop signal then is one while stopping."""
    loop = asyncio.get_running_loop()
    installed: list[int] = []

    hurried: list[int] = []  # the signal that cut the drain short, once one did
    stopped_by: list[int] = []
    served: list[bool] = []  # set by `restore`: the caller is closing the sources

    def request_stop(signum: int) -> None:
        name, code = signal.Signals(signum).name, exit_code(signum)
        if hurried:  # a third: at once, answered or not
            announce("mcprt: forced exit", level="warning", signal=name, exit_code=code)
            exit_now(code)
        if served:  # every request was answered or ended; what is left is the clean-up
            stop_signal_while_stopping(signum)
        if stop.is_set():
            # A second signal cut calls in flight with no answer at all (the process just ended): answer
            # each first ("shutting down", `server.stop_answers`), then exit within SECOND_SIGNAL_GRACE.
            hurried.append(signum)
            ended = RUNNING.end_all(TOLD_TO_STOP)
            log_event("second stop signal: exiting without finishing the drain; the requests in flight are "
                      "answered 'shutting down' first (a third signal exits at once)", logging.WARNING,
                      signal=name, requests_ended=ended, exit_code=code)
            loop.call_later(SECOND_SIGNAL_GRACE if ended else 0.0, exit_now, code)
            return
        log_event("stopping", logging.INFO, signal=name)
        stopped_by.append(signum)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, request_stop, signum)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
            pass
    if hasattr(signal, "SIGHUP"):
        try:
            loop.add_signal_handler(signal.SIGHUP, on_hup)
            installed.append(signal.SIGHUP)
        except (NotImplementedError, RuntimeError, ValueError):
            pass

    def restore() -> None:
        served.append(True)
        for signum in installed:
            if hold and signum != getattr(signal, "SIGHUP", None):
                continue  # stays until the process exits: the caller's clean-up is still a stop
            loop.remove_signal_handler(signum)
        if hold and hasattr(signal, "SIGHUP"):
            # no reload while the sources close; the default action of SIGHUP would end the process silently
            signal.signal(signal.SIGHUP, signal.SIG_IGN)

    return restore, hurried, stopped_by


SECOND_SIGNAL_GRACE = 1.0  # s: after a second SIGINT/SIGTERM, for the in-flight requests' answers to be written


def _log_failure(task: asyncio.Task[Any], what: str) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        logging.getLogger("mcprt").error("%s failed: %s: %s", what, type(exc).__name__, exc, exc_info=exc)


def _banner(runtime: Runtime, options: ServeOptions, port: int | None) -> None:
    """One short line on stderr: what is served, where, how."""
    assert runtime.holder is not None and runtime.loaded is not None
    manifest = runtime.loaded.manifest
    toolset = runtime.holder.current
    count = len(toolset.listed)
    head = f"mcprt {__version__}: serving '{manifest.server.name}' ({count} {noun(count, 'tool')})"
    facts: dict[str, Any] = {"server": manifest.server.name, "version": __version__, "tools": count,
                             "transport": options.transport}
    if options.transport == "stdio":
        announce(f"{head} over stdio", **facts)
        return
    traits = [
        "stateless" if options.stateless else "stateful",
        # Since the JSON-unless-streaming change (server/streaming.py) SSE is used only where a call may stream.
        "JSON responses" if options.json_response else "JSON responses, SSE when a call may stream",
        _auth_trait(manifest),
    ]
    url = options.url(port)
    if not is_wildcard(options.host):
        announce(f"{head} at {url} ({', '.join(traits)})", **facts, url=url)
        return
    # A wildcard bind is where to listen, not an address to connect to: say so, and give usable URLs.
    others = options.network_urls(port)
    listen = f"{_host(options.host or '0.0.0.0')}:{port}"
    where = [f"listening on all interfaces, {listen}", *(f"from other machines {u}" for u in others)]
    announce(f"{head} at {url} ({'; '.join(where)}; {', '.join(traits)})",
             **facts, url=url, listen=listen, urls=[url, *others])


def _auth_trait(manifest: Manifest) -> str:
    """How callers authenticate, for the banner: OAuth names its issuer (the one setting people check)."""
    auth = manifest.server.auth
    if auth is not None and auth.oauth is not None:
        return f"OAuth from {auth.oauth.issuer}" + (" + static tokens" if auth.tokens or auth.bearer_tokens else "")
    return "bearer auth" if has_inbound_auth(manifest) else "no auth"
