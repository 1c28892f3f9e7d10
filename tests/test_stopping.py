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
    assert task.cancelled() and time.monotonic() - begun < 1.0  # re-cancelled after the grace (0.25 s)


async def ignores_cancels(released: asyncio.Event) -> None:
    """A task no cancel stops: it ends when `released` is set (a test's own clean-up, in a `finally`)."""
    while not released.is_set():
        try:
            await released.wait()
        except asyncio.CancelledError:
            pass


async def test_a_task_that_never_stops_is_given_up_at_the_bound_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    released = asyncio.Event()
    task = asyncio.create_task(ignores_cancels(released))
    await asyncio.sleep(0)
    begun = time.monotonic()
    try:
        with caplog.at_level(logging.WARNING, logger="mcprt"):
            assert not await stop_tasks([task], what="test tasks", within=0.2)
        assert 0.2 <= time.monotonic() - begun < 1.0
        assert [r.getMessage() for r in caplog.records] == ["test tasks did not stop in time; left running"]
    finally:
        released.set()
        await task


async def test_the_line_for_tasks_left_running_names_each_of_them(caplog: pytest.LogCaptureFixture) -> None:
    """It said only how many were left ("shared state events listener" for any of a component's
    tasks): each one left is named — its name, else its coroutine's — and none that stopped."""
    released = asyncio.Event()
    named = asyncio.create_task(ignores_cancels(released), name="pause copy refresher")
    unnamed = asyncio.create_task(ignores_cancels(released))
    stops = asyncio.create_task(asyncio.sleep(60), name="stops when asked")
    await asyncio.sleep(0)
    try:
        with caplog.at_level(logging.WARNING, logger="mcprt"):
            assert not await stop_tasks([named, unnamed, stops], what="test tasks", within=0.1, grace=0.05)
        [line] = caplog.records
        assert line.fields["tasks"] == "ignores_cancels, pause copy refresher"  # type: ignore[attr-defined]
    finally:
        released.set()
        await asyncio.gather(named, unnamed)


async def test_a_task_that_fails_while_stopping_is_logged_by_name(caplog: pytest.LogCaptureFixture) -> None:
    """A task whose clean-up raised: `stop_tasks` retrieved the error (so asyncio never reports it)
    and logged nothing — the failure vanished. One WARNING names the task and the error; the stop
    itself goes on (it did end)."""
    started = asyncio.Event()

    async def cleanup_fails() -> None:
        try:
            started.set()
            await asyncio.sleep(60)
        finally:
            raise RuntimeError("could not close the pub/sub connection")

    task = asyncio.create_task(cleanup_fails(), name="round relay listener")
    await started.wait()
    with caplog.at_level(logging.WARNING, logger="mcprt"):
        assert await stop_tasks([task], what="round relay")
    assert [(r.getMessage(), r.fields) for r in caplog.records] == [  # type: ignore[attr-defined]
        ("round relay: a task failed while stopping",
         {"task": "round relay listener", "error": "RuntimeError: could not close the pub/sub connection"})]


async def test_a_clean_up_within_the_grace_is_not_cancelled_again() -> None:
    """A cancelled task whose `finally` awaits (closing what it opened) was cancelled again 50 ms
    later, cutting that clean-up short. Nothing cancels it again before `grace` has passed."""
    started = asyncio.Event()
    closed: list[bool] = []

    async def closes_slowly() -> None:
        try:
            started.set()
            await asyncio.sleep(60)
        finally:
            await asyncio.sleep(0.2)  # e.g. a subprocess asked to exit
            closed.append(True)

    task = asyncio.create_task(closes_slowly())
    await started.wait()
    assert await stop_tasks([task], what="test tasks", within=2.0, grace=1.0)
    assert closed == [True]


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
