"""Stopping background tasks within a bound, even when a cancellation gets lost on the way.

`task.cancel()` followed by `await task` (or `gather`) trusts the task to end. On Python 3.11 that
trust is misplaced: `asyncio.wait_for` returns its inner result instead of raising when the cancel
arrives in the loop iteration after the inner awaitable finished (CPython gh-86296, fixed in 3.12 by
rebuilding `wait_for` on `asyncio.timeout`). redis-py sends every command through
`asyncio.wait_for(..., socket_timeout)`, so a task cancelled right as its command was written carries
on: a pub/sub listener then blocks in its next read for ever, a refresh loop goes back to sleep, and
whoever awaited it (a replica's shutdown, a test's teardown) hangs. `stop_tasks` cancels again those
still running after a grace period, and gives up (logging which) at a bound, so shutdown never waits longer.

The grace period is what tells a lost cancel from a task's own clean-up: a cancelled task may have a
`finally` that awaits (hot reload's closes the sources a reload replaced, and with them their
subprocesses). A second cancel lands in that `finally` and cuts it short, so none comes before `grace`.

Contract-level: imports nothing from mcprt above base.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from typing import Any

from .observability.log import log_event

RECANCEL_EVERY = 0.05  # s between cancels of a task still running after its grace (a cancel may have been lost)
STOP_WITHIN = 2.0  # s a component's `aclose` waits for its own background tasks by default
# s after the first cancel before any second one, by default: a Redis listener's clean-up (closing its
# pub/sub connection) takes milliseconds, and its owner's stop must stay well under a second.
GRACE = 0.25

_DEFAULT_NAME = re.compile(r"Task-\d+")  # what asyncio names a task created without a name


async def stop_tasks(tasks: Iterable[asyncio.Future[Any] | None], *, what: str, within: float = STOP_WITHIN,
                     grace: float = GRACE) -> bool:
    """Cancel each of `tasks` (None and finished ones are skipped) and wait until all have ended, for
    at most `within` seconds. Those still running `grace` seconds after the cancel (their own clean-up
    runs meanwhile undisturbed) are cancelled again every `RECANCEL_EVERY` seconds: their cancel may
    have been lost (see the module's docstring).

    Returns True when all ended; else logs one WARNING "`what` did not stop in time; left running"
    naming each task left (`tasks`: its name, else its coroutine's) and returns False (the tasks stay
    cancelled; nothing is raised: a shutdown goes on). A task that ended with an error other than its
    cancellation (a `finally` that raised) gets a WARNING "`what`: a task failed while stopping" naming
    it (`task`, `error`): its error is retrieved here, so nobody else would see it. A cancellation
    of the caller itself propagates (it is never taken for one of the tasks')."""
    pending = {task for task in tasks if task is not None and not task.done()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    for task in pending:
        task.cancel()
    wait = min(grace, within)
    while pending:
        done, pending = await asyncio.wait(pending, timeout=wait)
        _report_errors(done, what)
        if not pending:
            break
        left = deadline - loop.time()
        if left <= 0:
            log_event(f"{what} did not stop in time; left running", logging.WARNING,
                      tasks=", ".join(sorted(task_name(task) for task in pending)), within_s=within)
            return False
        for task in pending:
            task.cancel()
        wait = min(RECANCEL_EVERY, left)
    return True


def task_name(task: asyncio.Future[Any]) -> str:
    """The task's name when it was given one, else its coroutine's qualified name (`Class.method`)."""
    if isinstance(task, asyncio.Task):
        name = task.get_name()
        if not _DEFAULT_NAME.fullmatch(name):
            return name
        coro = task.get_coro()
        return getattr(coro, "__qualname__", None) or repr(coro)
    return repr(task)


def _report_errors(done: Iterable[asyncio.Future[Any]], what: str) -> None:
    for task in done:
        if task.cancelled():
            continue
        error = task.exception()  # retrieved: asyncio will not report it, so it is logged here
        if error is not None:
            log_event(f"{what}: a task failed while stopping", logging.WARNING, task=task_name(task),
                      error=f"{type(error).__name__}: {error}")
