"""SIGINT, SIGTERM and SIGHUP on `mcprt up`'s event loop before `serve()` takes them.

`mcprt up` catches them from its first line (`mcprt.early_signals`), then on its event loop with
`PendingSignals`, installed as the first thing the loop runs: while the manifest compiles and the sources
open (a proxied server may take its `startup_timeout`), while stdio's early phase answers the handshake and
while the MCP SDK loads. Their default actions ended the process with no log line and no clean-up of its
own (returncode -15 for a SIGTERM, -1 for a SIGHUP; a trial's desktop client that restarted a slowly
starting server saw "killed by signal 15"). Caught, the first SIGINT/SIGTERM logs `stopping
signal=SIGTERM` and asks the start to end (what opened closes, exit 0: README "Stopping"); a second one
exits at once with 130/143 and a warning (`stop_signal_while_stopping`); a SIGHUP is kept for `serve()`,
which reloads once serving. `serve()` then installs the serving's handlers (the drain) and acts on what
was caught here.

Imports nothing heavy: it runs before the MCP SDK loads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from ..early_signals import FLAGS, is_stop, release, stop_signal_while_stopping, take_caught
from ..observability.log import log_event


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
        self._caught: list[int] = []  # taken by `install`, acted on by `act_on_caught`

    def install(self) -> None:
        """Handle the three signals on the running loop (main thread; elsewhere, or on Windows, that part is a
        no-op), take what `early_signals.catch_stop_signals` caught before, and lift `hold_until_installed`'s
        block. The first thing `mcprt up`'s loop runs, before its imports and logging: `act_on_caught` acts
        on what was taken, once logging is set up. Each signal reaches one handler once (`early_signals`)."""
        loop = asyncio.get_running_loop()
        try:
            for name, flag in FLAGS.items():
                signum = getattr(signal, name, None)
                if signum is None:
                    continue
                try:
                    loop.add_signal_handler(signum, self._fire, flag, signum)
                except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
                    pass
            self._caught = take_caught()
        finally:
            release()

    def act_on_caught(self) -> None:
        """Act on the signals `install` took, in order (each logged now: call it once logging is set up).
        A signal that comes after `install` is acted on when the loop runs next, so after these."""
        caught, self._caught = self._caught, []
        for signum in caught:
            self._fire("stop" if is_stop(signum) else "reload", signum)

    def _fire(self, flag: str, signum: int) -> None:
        if flag == "stop":
            if self.stop:  # a second one: what is left is closing what opened; the caller wants out now
                stop_signal_while_stopping(signum)
            log_event("stopping", logging.INFO, signal=signal.Signals(signum).name)
            self.signum = signum
            self.stopping.set()
        setattr(self, flag, True)
        self.fired.set()


def hold_stop_signals() -> None:
    """After the event loop closed (`mcprt up` waiting for sync tool functions' threads): a SIGINT or
    SIGTERM exits at once with 130/143 and logs why (`stop_signal_while_stopping`), as it did while
    the loop ran. Main thread only (Python's signal handlers)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):  # not the main thread
            signal.signal(signum, lambda number, frame: stop_signal_while_stopping(number))
