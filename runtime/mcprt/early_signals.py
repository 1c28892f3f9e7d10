"""SIGINT, SIGTERM and SIGHUP from the first line of `mcprt up` until its event loop takes them, and the
exits a stop signal forces.

Imports only `signal`, `os` and `sys` (the log line of a forced exit loads the logger when it is written):
`mcprt.__main__` calls `catch_stop_signals` before anything else loads, so a host that stops a server it is
starting gets a clean stop, not a process ended by the signal with no log line (README "Stopping").

One signal, one delivery. A Python-level handler (`catch_stop_signals`) and an event loop's handler both
see a signal that comes while the loop runs but before its handlers are added: CPython writes the signal
number to the loop's wakeup fd (uvloop sets it when its loop starts running) and also runs the Python
handler. Replaying what the Python handler caught, after the loop handler was added, counted one SIGTERM
twice: `stopping`, then "second stop signal", exit 143. So the three signals are blocked
(`hold_until_installed`, pthread_sigmask(3)) from just before the loop starts until
`server.stop_signals.PendingSignals.install` has added the loop's handlers and taken what was caught here
(`take_caught`); a signal meanwhile waits in the kernel and is then delivered once, to the loop.
"""

from __future__ import annotations

import os
import signal
import sys

FLAGS = {"SIGINT": "stop", "SIGTERM": "stop", "SIGHUP": "reload"}
"""Each caught signal's name → what it asks: a stop (SIGINT, SIGTERM) or a reload (SIGHUP)."""

_caught: list[int] = []  # caught by `_remember` before `take_caught`, in order


def _numbers() -> list[int]:
    return [getattr(signal, name) for name in FLAGS if hasattr(signal, name)]  # no SIGHUP on Windows


def catch_stop_signals() -> None:
    """Remember SIGINT, SIGTERM and SIGHUP from now until `take_caught`, instead of their default actions
    (the process ended by the signal, silently; SIGINT as a KeyboardInterrupt, exit 130). A second stop
    signal exits at once (`stop_signal_while_stopping`): nothing has opened yet. Main thread only;
    elsewhere a no-op. Calling it again changes nothing."""
    for signum in _numbers():
        try:
            signal.signal(signum, _remember)
        except (ValueError, OSError):  # not the main thread
            return


def _remember(signum: int, frame: object) -> None:
    if is_stop(signum) and any(is_stop(earlier) for earlier in _caught):
        stop_signal_while_stopping(signum)
    _caught.append(signum)


def is_stop(signum: int) -> bool:
    """Whether `signum` asks for a stop (SIGINT, SIGTERM), not a reload (SIGHUP)."""
    return FLAGS[signal.Signals(signum).name] == "stop"


def take_caught() -> list[int]:
    """The signals caught since `catch_stop_signals`, in order; they are forgotten here (each is acted on
    once). Call it after the loop's handlers replaced `_remember`, while `hold_until_installed` holds."""
    caught = list(_caught)
    del _caught[:len(caught)]
    return caught


def hold_until_installed() -> None:
    """Block SIGINT, SIGTERM and SIGHUP in this thread until `release` (called by `PendingSignals.install`):
    call it just before the event loop starts, so none comes while both `_remember` and the loop's wakeup
    fd would see it. The window holds no start-up work: the loop starts and `install` is the first thing it
    runs. Where signals cannot be blocked (Windows) a no-op."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, _numbers())


def release() -> None:
    """Unblock what `hold_until_installed` blocked: a signal that came meanwhile is delivered now, once."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _numbers())


def exit_code(signum: int | None) -> int:
    """The exit status of a stop by `signum`, as a shell reports a process its signal ended: 130 for
    SIGINT, else (SIGTERM, or no signal recorded) 143 (README "Stopping")."""
    return 130 if signum == signal.SIGINT else 143


def stop_signal_while_stopping(signum: int) -> None:
    """A SIGINT/SIGTERM after the serving ended (or a start was stopped): what is left is clean-up (the
    sources closing, sync tool functions finishing), so exit at once with 130/143, saying so (README
    "Stopping")."""
    code = exit_code(signum)
    said = ("second stop signal: exiting without finishing the stop (closing the sources, waiting for tool calls "
            "still running)")
    name = signal.Signals(signum).name
    try:
        import logging

        from .observability.log import log_event

        log_event(said, logging.WARNING, signal=name, exit_code=code)
    except Exception:  # noqa: BLE001 — the signal interrupted the logger's own import: still say it
        sys.stderr.write(f"WARNING mcprt: {said} signal={name} exit_code={code}\n")
    exit_now(code)


def exit_now(code: int) -> None:
    """End the process with `code` (130 after SIGINT, 143 after SIGTERM: 128 + the signal's number),
    skipping the clean-up a forced stop was asked to skip; what was logged is flushed first."""
    for stream in (sys.stderr, sys.stdout):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 — a closed or broken stream must not keep the process alive
            pass
    os._exit(code)
