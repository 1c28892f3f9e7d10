"""`mcprt up`: compile the manifest, then serve it over stdio or streamable HTTP until stopped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from pathlib import Path

from .common import go_offline, progress
from .errors import EXIT_OK, guarded, print_diagnostics

if TYPE_CHECKING:
    from ..server.stop_signals import PendingSignals


def up_command(manifest: Path | None, transport: str | None, host: str | None, port: int | None, stateless: bool,
               no_reload: bool, metrics_port: int | None, offline: bool, strict: bool = False) -> int:
    """`mcprt up` as Typer and `cli.fast` run it: the exit code (errors exit through `guarded`)."""
    from ..early_signals import catch_stop_signals

    catch_stop_signals()  # `mcprt.__main__` did already, as its first line; called another way, from here
    go_offline(offline)
    try:
        with guarded(serving=True):
            code = run_up(manifest, transport=transport, host=host, port=port, stateless=stateless,
                          reload=not no_reload, metrics_port=metrics_port, strict=strict)
    except SystemExit as stopped:  # an error's exit code: the same bound on what still runs
        _leave_sync_calls(stopped.code if isinstance(stopped.code, int) else 1)
        raise
    _leave_sync_calls(code)
    return code


SYNC_CALLS_STOP_WITHIN = 5.0  # s a stopped server waits for sync tool functions still running (MCPRT_SYNC_CALLS_STOP_TIMEOUT)


def _leave_sync_calls(code: int) -> None:
    """Sync tool functions still running after the stop (they cannot be interrupted, and the drain
    already answered their calls) get `MCPRT_SYNC_CALLS_STOP_TIMEOUT` seconds (default
    `SYNC_CALLS_STOP_WITHIN`, 5: a function writing a file may finish it; an operator whose orchestrator
    kills sooner, or whose functions never hold anything, sets less); past that they are named in a WARNING
    and the process exits with `code` at once: the interpreter's exit would wait for their threads without
    a bound (see `sources.python.worker_calls`)."""
    from ..server.stop_signals import hold_stop_signals
    from ..settings import env_limit
    from ..sources.python.worker_calls import wait_finished

    hold_stop_signals()  # the loop's handlers are gone with the loop: a stop signal now still exits 130/143, saying so
    within = env_limit("MCPRT_SYNC_CALLS_STOP_TIMEOUT", SYNC_CALLS_STOP_WITHIN)
    left = wait_finished(within)
    if not left:
        return
    import atexit
    import os
    import sys

    from ..observability.log import log_event

    log_event("tool calls did not stop in time; left running", logging.WARNING, tools=", ".join(left),
              within_s=within)
    atexit._run_exitfuncs()  # what a normal exit runs (logging's flush among it), without joining the threads
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_up(
    manifest: Path | str | None,
    *,
    transport: str | None = None,
    host: str | None = None,
    port: int | None = None,
    stateless: bool = False,
    reload: bool = True,
    metrics_port: int | None = None,
    strict: bool = False,
) -> int:
    """Serve until SIGINT/SIGTERM (or stdin closes, for stdio). Bad input raises for `guarded()`:
    manifest errors print as `file:line:col: message` and exit 2, as do a refused bind or a busy port (bound
    before the manifest compiles, so that error comes first and alone). A proxied server that cannot be
    reached at start is a warning and is retried while the other sources serve, unless `strict` (or
    `MCPRT_STRICT`) or every source is down: then it is an error too."""
    from ..early_signals import hold_until_installed, release

    hold_until_installed()  # lifted by `_up`'s first statement (`PendingSignals.install`): see `early_signals`
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            return runner.run(_up(manifest, transport=transport, host=host, port=port, stateless=stateless,
                                  reload=reload, metrics_port=metrics_port, strict=strict))
    finally:
        release()  # the loop never ran `_up` (it failed to start): nothing may stay blocked


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (a declared dependency; less CPU per request than
    asyncio's own loop), else asyncio's default. uvicorn picks httptools for HTTP/1.1 parsing by
    itself when that is installed (`http="auto"`)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _up(manifest: Path | str | None, *, transport: str | None, host: str | None, port: int | None,
              stateless: bool, reload: bool, metrics_port: int | None = None, strict: bool = False) -> int:
    from ..server.stop_signals import PendingSignals

    # First, before any import or start-up work: a SIGTERM while a proxied server started ended the process
    # by the signal, with no log line (trial desktop F5). Caught (since `catch_stop_signals`), it is logged
    # and the start ends (`_until_started`); `serve()` takes the signals over, with whatever was caught meanwhile.
    signals = PendingSignals()
    signals.install()
    from ..manifest.loader import load_manifest
    from ..observability import memdebug
    from ..observability.log import log_event, setup_logging
    from ..pipeline import Runtime
    from ..server.options import check_exposure, chosen_transport, resolve_options
    from ..settings import load_settings
    from ..sources.openapi.cache import writes_deferred
    from ..sources.openapi.loader import digests_recorded

    settings = load_settings(manifest)  # the `.env` beside the manifest too: a host starts us in any folder
    setup_logging(settings.log_level, settings.log_format)
    signals.act_on_caught()
    if signals.stop:  # caught while the process started: nothing is open yet
        return EXIT_OK
    from .common import note_settings_sources

    note_settings_sources()
    memdebug.folder()  # a bad MCPRT_DEBUG_TRACEMALLOC is exit 2 before anything opens (serve() takes it again)
    # Decide where to serve (and refuse an unauthenticated public bind) before opening any source.
    # Over stdio, `server.auth`'s variables may be unset (a warning): so the transport is chosen first.
    loaded = load_manifest(manifest, transport=chosen_transport(transport, settings))
    options = resolve_options(loaded.manifest, settings, transport=transport, host=host, port=port,
                              stateless=stateless)
    check_exposure(options, loaded.manifest)
    listener = None
    if options.transport == "http":  # a busy port is the first (and only) thing reported, before any source opens
        from ..server.sockets import listen

        listener = listen(options.host, options.port)
    if options.transport == "stdio":
        from ..stdout_claim import claim_stdout

        claim_stdout()  # before any Python source's module runs: what it prints goes to stderr (stdout_claim)
    runtime = Runtime(manifest, settings, options.transport)
    runtime.remember_routes = True  # a vanished override key's did-you-mean at a fresh start (`toolset.renames`)
    reload = reload and settings.reload
    try:
        # stdio: compile-cache writes wait until the client has its first tools/list (see _up_stdio)
        with progress("compiling the manifest…", serving=True), \
                writes_deferred(enabled=options.transport == "stdio") as cache_writes, \
                digests_recorded(enabled=reload) as read_digests:
            try:
                starting = runtime.start(loaded, may_start_down=not (strict or settings.strict),
                                         fail_fast=True)  # a host waits: a failing manifest fails at once
                compiled = await _until_started(starting, signals, stdio=options.transport == "stdio")
            except BaseException:
                cache_writes.flush()
                raise
        if compiled is None or signals.stop:  # stopped, or the stdio client left, while we started
            return EXIT_OK
        if reload:
            # Hot reload's baseline is the files as compiled (an edit before the watcher starts still
            # counts); the descriptions' digests come from the compile, not a second hash.
            from ..reload.baseline import record_baseline

            record_baseline(runtime, read_digests)
        warnings = list(compiled.warnings)
        if options.transport == "stdio" and compiled.loaded.manifest.policy is not None:
            from ..policy.checks import stdio_approval_warnings

            warnings += stdio_approval_warnings(compiled.loaded)  # the model is told only at the first such call
        if warnings:
            print_diagnostics(warnings, serving=True)
        if options.transport == "stdio":
            await _up_stdio(runtime, compiled, options, signals, reload=reload, metrics_port=metrics_port,
                            cache_writes=cache_writes.flush)
        else:
            _warn_over_budget(compiled)
            from ..server.serve import serve  # the MCP SDK, the HTTP stack and the reloader load here

            await serve(runtime, options, reload=reload, metrics_port=metrics_port, listener=listener,
                        hold_signals=True, pending=signals)
    finally:
        log_event("closing sources")
        await runtime.aclose()
        if listener is not None:
            listener.close()  # compiling failed before serving took it (closing twice is harmless)
    return EXIT_OK


CLIENT_CHECK_EVERY = 0.1  # s between two looks at stdin while a stdio server starts


async def _until_started(starting: Any, signals: PendingSignals, *, stdio: bool) -> Any:
    """The start's result, or None when it was ended first: by SIGINT/SIGTERM (`signals`: logged there),
    or over stdio by the client closing stdin. Either cancels the start at once — what opened closes in
    `_up` — instead of letting it finish for nobody (a trial's slow proxied server kept a gone client's start
    for its whole start-up; a desktop client restarting a server starts the next one meanwhile).

    A closed stdin ends the start whatever was written to it before: a client closing stdin ends the session
    (MCP basic/transports, stdio: the client shuts a server down by closing its stdin), and one that wrote
    `initialize` and then closed it (it gave up, or restarted the server: every desktop client writes
    `initialize` at once) cannot be answered. A regular file on stdin (`mcprt up mcp.yaml < requests.jsonl`)
    is no client leaving: its requests are served."""
    from ..observability.log import log_event

    task = asyncio.ensure_future(starting)
    stopped = asyncio.ensure_future(signals.stopping.wait())
    try:
        while True:
            done, _ = await asyncio.wait({task, stopped}, timeout=CLIENT_CHECK_EVERY if stdio else None,
                                         return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                return task.result()
            unread = None if stopped in done or not stdio else _stdin_closed()
            if stopped not in done and unread is None:
                continue
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            if unread is not None:
                log_event("stdin closed before the server started: not starting" + _unread_note(unread), logging.INFO)
            return None
    finally:
        stopped.cancel()


def _unread_note(unread: int) -> str:
    """What the line says of the bytes a client wrote before it closed stdin (none: nothing)."""
    if not unread:
        return ""
    return (f" (the {unread} bytes written to it before it closed are not read: a client closing stdin has left; "
            "to serve a file of requests, redirect it: mcprt up mcp.yaml < requests.jsonl)")


def _stdin_closed() -> int | None:
    """The bytes still unread in fd 0 when it is a pipe or socket whose writer is gone (a pipe's POLLHUP,
    a socket's POLLRDHUP: the client's `shutdown(SHUT_WR)`, as libuv-based hosts close it), else None
    (open, or a terminal, a regular file, /dev/null). Reads nothing: the server's first requests wait there."""
    import fcntl
    import os
    import select
    import stat
    import struct
    import termios

    try:
        mode = os.fstat(0).st_mode
        if not stat.S_ISFIFO(mode) and not stat.S_ISSOCK(mode):
            return None
        gone = select.POLLHUP | getattr(select, "POLLRDHUP", 0)
        poller = select.poll()
        poller.register(0, select.POLLIN | gone)
        if not dict(poller.poll(0)).get(0, 0) & gone:
            return None
        unread: int = struct.unpack("i", fcntl.ioctl(0, termios.FIONREAD, b"\0\0\0\0"))[0]
        return unread
    except (OSError, ValueError, AttributeError):
        return None


def _warn_over_budget(compiled: Any) -> None:
    """One warning per exceeded `server.budget` (what, by how much, how to fix): `mcprt validate` fails on
    them, `up` serves anyway — the listing works, it only costs the model more context each turn. Over
    stdio it runs after the first answer (measuring every definition is no part of the first tools/list)."""
    if compiled.loaded.manifest.server.budget is None:
        return  # nothing to check: measuring every definition would only slow the start
    from ..observability.log import log_event
    from ..toolset.budget import check_budget

    try:
        lines = check_budget(compiled.loaded, compiled.toolset).warnings()
    except Exception as exc:  # noqa: BLE001 — a check that cannot measure must not stop the serving
        log_event("server.budget not checked", logging.WARNING, error=f"{type(exc).__name__}: {exc}")
        return
    for line in lines:
        log_event(line, logging.WARNING)


async def _up_stdio(runtime: Any, compiled: Any, options: Any, signals: PendingSignals, *, reload: bool,
                    metrics_port: int | None, cache_writes: Callable[[], None]) -> None:
    """stdio: the handshake and first tools/list are answered before the SDK loads (server.early),
    then the compile cache is written (`cache_writes`), `server.budget` is measured and the reloader
    loads, then the SDK takes over."""
    from ..observability.log import log_event
    from ..observability.tracing import tracing_wanted
    from ..server.early import answer_early, eligible
    from ..server.stdio import claim_stdio

    config = runtime.loaded.manifest.server
    observed = (metrics_port is not None or bool(config.observability.listen)
                or tracing_wanted(config.observability.traces))
    with claim_stdio() as wire:
        if eligible(runtime.holder.current, observed=observed):
            try:
                handoff = await answer_early(wire, config, lambda: runtime.holder.current, signals)
            finally:
                cache_writes()
            if handoff.answered:
                log_event("answered before loading the MCP SDK", logging.DEBUG, methods=",".join(handoff.answered))
            if handoff.stopped:
                return
            wire.replay = handoff.replay
        cache_writes()
        _warn_over_budget(compiled)  # after the first answer, as the reloader below
        if reload:
            # The reloader loads now, after the first answer, from the baseline `_up` recorded; a file
            # the writes read first (a `$ref` only pending response shapes reach) is baselined as it is.
            from ..reload import reloader_for

            reloader_for(runtime)
        from ..server.serve import serve  # the MCP SDK loads here

        await serve(runtime, options, reload=reload, metrics_port=metrics_port, wire=wire, hold_signals=True,
                    pending=signals)
