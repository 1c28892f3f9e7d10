"""The one registry of sync Python calls running in worker threads: per thread, its tool's name and
whether its call is over.

A sync function cannot be interrupted. A call its timeout, a client's cancellation or a drain gave up
on is answered (its call is over), but its thread runs on until the function returns, and anyio's
worker threads are not daemon threads: the interpreter's exit joins them. So:
- a stopping `mcprt up` waits for the running calls within a bound and names the ones that outlast it
  (`wait_finished`): a SIGTERMed server with `drain_timeout: 2s` stayed 25 s for a tool in
  `time.sleep(25)`, saying nothing (under Kubernetes: SIGKILL at the grace period);
- a one-shot command (`mcprt call`) exits without waiting for a call that is over (`abandoned_running`);
- a thread consuming a generator stops at its next item once its call is over (`calling.py`).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_calls: dict[threading.Thread, tuple[str, threading.Event]] = {}  # thread -> (tool, set when its call is over)


@contextmanager
def working(tool: str, over: threading.Event) -> Iterator[None]:
    """Registers the current (worker) thread as running a call of `tool` for the `with` block; `over` is
    set by the caller once the call is answered, abandoned or cancelled."""
    thread = threading.current_thread()
    with _lock:
        _calls[thread] = (tool, over)
    try:
        yield
    finally:
        with _lock:
            _calls.pop(thread, None)


def running() -> list[str]:
    """The tools with a call running in a worker thread now, sorted (`name×n` for n > 1 calls)."""
    with _lock:
        counts = Counter(tool for tool, _ in _calls.values())
    return sorted(name if count == 1 else f"{name}×{count}" for name, count in counts.items())


def abandoned_running() -> bool:
    """True while a worker thread still runs a function whose call is over (timed out or cancelled)."""
    with _lock:
        return any(over.is_set() for _, over in _calls.values())


def wait_finished(within: float, poll: float = 0.05) -> list[str]:
    """Wait up to `within` seconds for every running call to return; the ones still running then
    (`running()`), empty when all returned."""
    deadline = time.monotonic() + within
    while (left := running()) and time.monotonic() < deadline:
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
    return left
