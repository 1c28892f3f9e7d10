"""Stopping background tasks within a bound, even when a cancellation gets lost on the way.

`task.cancel()` followed by `await task` (or `gather`) trusts the task to end. On Python 3.11 that
trust is misplaced: `asyncio.wait_for` returns its inner result instead of raising when the cancel
arrives in the loop iteration after the inner awaitable finished (CPython gh-86296, fixed in 3.12 by
rebuilding `wait_for` on `asyncio.timeout`). redis-py sends every command through
`asyncio.wait_for(..., socket_timeout)`, so a task cancelled right as its command was written carries
on: a pub/sub listener then blocks in its next read for ever, a refresh loop goes back to sleep, and
whoever awaited it (a replica's shutdown, a test's teardown) hangs. `stop_tasks` cancels again until
each task has ended, and gives up (logging which) at a bound, so shutdown never waits longer.

Contract-level: imports nothing from mcprt above base.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from .observability.log import log_event

RECANCEL_EVERY = 0.05  # s between cancels of a task that is still running (its last cancel may have been lost)
STOP_WITHIN = 2.0  # s a component's `aclose` waits for its own background tasks by default


async def stop_tasks(tasks: Iterable[asyncio.Future[Any] | None], *, what: str, within: float = STOP_WITHIN) -> bool:
    """Cancel each of `tasks` (None and finished ones are skipped) and wait until all have ended,
    cancelling again every `RECANCEL_EVERY` seconds those still running, for at most `within` seconds.

    Returns True when all ended; else logs one WARNING naming `what` and how many were left running,
    and returns False (the tasks stay cancelled; nothing is raised: a shutdown goes on). Their results
    and exceptions are retrieved (no "exception was never retrieved" at exit). A cancellation of the
    caller itself propagates (it is never taken for one of the tasks')."""
    pending = {task for task in tasks if task is not None and not task.done()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while pending:
        for task in pending:
            task.cancel()
        left = deadline - loop.time()
        if left <= 0:
            log_event(f"{what} did not stop in time; left running", logging.WARNING, tasks=len(pending),
                      within_s=within)
            return False
        done, pending = await asyncio.wait(pending, timeout=min(RECANCEL_EVERY, left))
        for task in done:
            if not task.cancelled():
                task.exception()  # retrieved: an ending task's error is its own loop's to log
    return True
