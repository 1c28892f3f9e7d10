"""`mcprt.stopping.stop_tasks`: every task ends within the bound, even one whose cancel was lost."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from mcprt.stopping import stop_tasks


async def loses_its_first_cancel(started: asyncio.Event) -> None:
    """What a task does after Python 3.11's `asyncio.wait_for` swallowed its cancel (redis-py's send):
    it carries on to its next wait."""
    started.set()
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        pass  # lost, as in wait_for
    await asyncio.sleep(60)  # a pub/sub read, a refresh loop's sleep


async def test_a_task_that_lost_its_cancel_is_cancelled_again() -> None:
    started = asyncio.Event()
    task = asyncio.create_task(loses_its_first_cancel(started))
    await started.wait()
    begun = time.monotonic()
    assert await stop_tasks([task, None], what="test tasks", within=2.0)
    assert task.cancelled() and time.monotonic() - begun < 1.0  # one re-cancel, RECANCEL_EVERY later


async def test_a_task_that_never_stops_is_given_up_at_the_bound_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    released = asyncio.Event()

    async def ignores_cancels() -> None:
        while not released.is_set():
            try:
                await released.wait()
            except asyncio.CancelledError:
                pass

    task = asyncio.create_task(ignores_cancels())
    await asyncio.sleep(0)
    begun = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="mcprt"):
        assert not await stop_tasks([task], what="test tasks", within=0.2)
    assert 0.2 <= time.monotonic() - begun < 1.0
    assert [r.getMessage() for r in caplog.records] == ["test tasks did not stop in time; left running"]
    released.set()  # the test's own clean-up
    await task


async def test_the_caller_s_own_cancellation_is_not_swallowed() -> None:
    started = asyncio.Event()
    stubborn = asyncio.create_task(loses_its_first_cancel(started))
    await started.wait()

    async def closer() -> None:
        await stop_tasks([stubborn], what="test tasks", within=30.0)

    closing = asyncio.create_task(closer())
    await asyncio.sleep(0.01)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    stubborn.cancel()
    await asyncio.gather(stubborn, return_exceptions=True)
