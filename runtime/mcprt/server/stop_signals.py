"""SIGINT, SIGTERM and SIGHUP before `serve()` takes them, and the exits a stop signal may force.

`mcprt up` catches them from its first moment (`catch_stop_signals`, before its heavy imports: 0.3–0.9 s
on a loaded machine), then on its event loop with `PendingSignals` before its start-up work begins: while
the manifest compiles and the sources open (a proxied server may take its `startup_timeout`), while stdio's early phase answers
the handshake and while the MCP SDK loads. Their default actions ended the process with no log line
and no clean-up of its own (returncode -15 for a SIGTERM, -1 for a SIGHUP; a trial's desktop client that
restarted a slowly starting server saw "killed by signal 15"). Caught, the first SIGINT/SIGTERM logs
`stopping signal=SIGTERM` and asks the start to end (what opened closes, exit 0: README "Stopping");
a second one exits at once with 130/143 and a warning (`stop_signal_while_stopping`); a SIGHUP is
kept for `serve()`, which reloads once serving. `serve()` then installs the serving's handlers
(the drain) and acts on what was caught here.

Imports nothing heavy: it runs before the MCP SDK loads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys

from ..observability.log import log_event

_FLAGS = {"SIGINT": "stop", "SIGTERM": "stop", "SIGHUP": "reload"}
_caught: list[int] = []  # caught by `catch_stop_signals` before `PendingSignals.install`, in order


def catch_stop_signals() -> None:
    """Remember SIGINT, SIGTERM and SIGHUP from now until `PendingSignals.install` replays them on the loop,
    instead of their default actions (the process ended by the signal, silently; SIGINT as a
    KeyboardInterrupt, exit 130). A second stop signal exits at once (`stop_signal_while_stopping`):
    nothing has opened yet. Main thread only; elsewhere a no-op."""
    for name in _FLAGS:
        signum = getattr(signal, name, None)
        if signum is not None:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, _remember)


def _remember(signum: int, frame: object) -> None:
    if _FLAGS[signal.Signals(signum).name] == "stop" and any(_FLAGS[signal.Signals(s).name] == "stop" for s in _caught):
        stop_signal_while_stopping(signum)
    _caught.append(signum)


class PendingSignals:
    """SIGINT/SIGTERM/SIGHUP caught from the start of `mcprt up` until `serve()` installs its own
    handlers (which replace these). `stop`/`stopping`: a SIGINT or SIGTERM came (logged `stopping` when it
    came; `signum` is its number); `reload`: a SIGHUP came; `fired`: either (what the early phase waits on)."""

    def __init__(self) -> None:
        self.stop = False
        self.reload = False
        self.signum: int = signal.SIGTERM  # the stop's signal, once one came
        self.fired = asyncio.Event()
        self.stopping = asyncio.Event()

    def install(self) -> None:
        """Handle the three signals on the running loop (main thread; elsewhere, or on Windows, a no-op),
        then act on those `catch_stop_signals` caught before (logged now: call it once logging is set up)."""
        loop = asyncio.get_running_loop()
        for name, flag in _FLAGS.items():
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            try:
                loop.add_signal_handler(signum, self._fire, flag, signum)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
                pass
        caught = list(_caught)
        _caught.clear()
        for signum in caught:
            self._fire(_FLAGS[signal.Signals(signum).name], signum)

    def _fire(self, flag: str, signum: int) -> None:
        if flag == "stop":
            if self.stop:  # a second one: what is left is closing what opened; the caller wants out now
                stop_signal_while_stopping(signum)
            log_event("stopping", logging.INFO, signal=signal.Signals(signum).name)
            self.signum = signum
            self.stopping.set()
        setattr(self, flag, True)
        self.fired.set()


def exit_code(signum: int | None) -> int:
    """The exit status of a stop by `signum`, as a shell reports a process its signal ended: 130 for
    SIGINT, else (SIGTERM, or no signal recorded) 143 (README "Stopping")."""
    return 130 if signum == signal.SIGINT else 143


def stop_signal_while_stopping(signum: int) -> None:
    """A SIGINT/SIGTERM after the serving ended (or a start was stopped): what is left is clean-up (the
    sources closing, sync tool functions finishing), so exit at once with 130/143, saying so (README
    "Stopping")."""
    code = exit_code(signum)
    log_event("second stop signal: exiting without finishing the stop (closing the sources, waiting for tool "
              "calls still running)", logging.WARNING, signal=signal.Signals(signum).name, exit_code=code)
    exit_now(code)


def hold_stop_signals() -> None:
    """After the event loop closed (`mcprt up` waiting for sync tool functions' threads): a SIGINT or
    SIGTERM exits at once with 130/143 and logs why (`stop_signal_while_stopping`), as it did while
    the loop ran. Main thread only (Python's signal handlers)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):  # not the main thread
            signal.signal(signum, lambda number, frame: stop_signal_while_stopping(number))


def exit_now(code: int) -> None:
    """End the process with `code` (130 after SIGINT, 143 after SIGTERM: 128 + the signal's number),
    skipping the clean-up a forced stop was asked to skip; what was logged is flushed first."""
    for stream in (sys.stderr, sys.stdout):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
