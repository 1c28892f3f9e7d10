"""Sync tool functions running in worker threads, by tool name: what a stopping `mcprt up` waits
for, within a bound, and names when they outlast it.

A sync function cannot be interrupted. A call its timeout or a drain gave up on is answered, but its
thread runs on until the function returns, and anyio's worker threads are not daemon threads: the
interpreter's exit joins them. A SIGTERMed server with `drain_timeout: 2s` stayed 25 s for a tool
in `time.sleep(25)`, saying nothing (under Kubernetes: SIGKILL at the grace period).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_running: Counter[str] = Counter()  # tool name -> calls of it running in worker threads


def tracked(tool: str, fn: Callable[[], T]) -> Callable[[], T]:
    """`fn`, counted as a running call of `tool` while it runs (in whichever thread runs it)."""

    def run() -> T:
        with _lock:
            _running[tool] += 1
        try:
            return fn()
        finally:
            with _lock:
                _running[tool] -= 1
                if not _running[tool]:
                    del _running[tool]

    return run


def running() -> list[str]:
    """The tools with a call running in a worker thread now, sorted (`name×n` for n > 1 calls)."""
    with _lock:
        return sorted(name if count == 1 else f"{name}×{count}" for name, count in _running.items())


def wait_finished(within: float, poll: float = 0.05) -> list[str]:
    """Wait up to `within` seconds for every tracked call to return; the ones still running then
    (`running()`), empty when all returned."""
    deadline = time.monotonic() + within
    while (left := running()) and time.monotonic() < deadline:
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
    return left
