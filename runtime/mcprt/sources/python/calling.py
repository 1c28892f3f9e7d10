"""Running one Python function for a call, within its time limit, without blocking the event loop.

A sync function runs in a worker thread, an async one is awaited. A returned iterator — a generator
(`yield`), `map(...)`, `itertools.count()` — is consumed into a list where it was made: a sync one in
that same worker thread, an async one (`async def … yield`) on the loop, between its awaits. Either is
consumed under the same time limit as the call, and bounded: consumption stops once the items' JSON
passes `max_bytes` — the raw upstream limit (`max_response_bytes`), as for an HTTP body, not the shaped
result's: `prune:` may keep a little of each of many items (an endless generator would otherwise fill
memory), or when the call ends — timed out, or cancelled by the client — and the
iterator is then closed (`close()` / `aclose()`), so its `finally` blocks run. An exception raised
mid-way propagates as the function's own (the caller makes it the tool's error answer); a generator
whose closing fails (it ignores GeneratorExit) is logged, and the call keeps its own outcome. An async
generator that never awaits is given a checkpoint every `_LOOP_SLICE_SECONDS`: other calls run, and
its time limit stops it (it would otherwise hold the loop until the byte limit).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
from pydantic_core import to_json

from ...observability.log import log_event
from .lanes import Ticket, unbounded
from .raised import exception_text
from .worker_calls import working

_ACLOSE_SECONDS = 1.0  # an async generator's cleanup gets this long once the call is over
_LOOP_SLICE_SECONDS = 0.01  # an async generator's consumption holds the loop at most about this long at once



@dataclass(slots=True)
class Returned:
    """What a function gave: `value`, with an iterator already consumed into a list; `note` says why
    consumption stopped before the iterator ended (None: it ended, or there was no iterator)."""

    value: Any
    note: str | None = None


def is_async_function(fn: Any) -> bool:
    """True for an `async def` function — a coroutine function, or an async generator function (`async def …
    yield`) — or an object whose `__call__` is one. Such a function runs on the event loop, in no lane: calling an
    async generator function runs none of its code, and its items are consumed on the loop anyway (README:
    "`async def` tools run on the event loop, unbounded")."""
    call = getattr(fn, "__call__", None)
    return any(check(target) for check in (inspect.iscoroutinefunction, inspect.isasyncgenfunction)
               for target in (fn, call))


class DeadlinePassed(Exception):
    """The call's `timeout` passed before the function (and the consumption of what it returned) finished — mcprt's
    deadline, told apart from a `TimeoutError` the function raised itself. Deliberately not a TimeoutError."""


async def run_function(tool: str, fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any], *,
                       timeout: float, max_bytes: int, ticket: Ticket | None = None) -> Returned:
    """Call `fn(*args, **kwargs)` and consume what it returns (module docstring).

    `tool`: the label a worker thread running it is registered under (`worker_calls`: a stopping server
    names it).
    `timeout` in seconds covers the call and the consumption; past it `DeadlinePassed` is raised (a worker
    thread still running is abandoned, told to stop at its next item) — a `TimeoutError` the function raised
    itself (its own client gave up) propagates as the function's own failure, as any other exception. `max_bytes`: the most JSON bytes
    of items consumed before stopping. `ticket`: the call's place in its tool's lane (`lanes.py`): a sync
    function's threads are taken there, the wait counting against `timeout` (None: anyio's shared pool, for
    callers with no lane); an async function takes none, so its ticket never queues (`Ticket.never_ran` False: a
    timeout's message never says it did not run). Raises what the function raises."""
    stop = threading.Event()  # set when the call is over: a worker thread still consuming stops at its next item
    try:
        # not `fail_after`: its TimeoutError is the same class a function raises itself, and only this scope
        # knows whether mcprt's deadline is what ended the call
        with anyio.move_on_after(timeout):
            if ticket is not None and not is_async_function(fn):
                async with ticket:
                    return await _returned(tool, fn, args, kwargs, stop, max_bytes, ticket)
            return await _returned(tool, fn, args, kwargs, stop, max_bytes, None)
    finally:
        stop.set()
    # the block returns or raises: only the scope catching its own cancellation (the deadline) comes here
    raise DeadlinePassed(f"{tool} did not finish within {timeout:g}s")


async def _returned(tool: str, fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any], stop: threading.Event,
                    max_bytes: int, ticket: Ticket | None) -> Returned:
    """What `fn` gave, consumed; its worker threads run under `ticket` (None: anyio's default pool)."""
    limiter = None if ticket is None else unbounded()  # the ticket's lane bounds them, not anyio's shared pool
    if is_async_function(fn):
        value = fn(*args, **kwargs)  # a coroutine, or an async generator (consumed below), which is not awaited
        returned = Returned(await value if inspect.isawaitable(value) else value)
    else:
        work = functools.partial(_call_in_thread, tool, fn, args, kwargs, stop, max_bytes, ticket)
        returned = await anyio.to_thread.run_sync(work, abandon_on_cancel=True, limiter=limiter)
    if inspect.isawaitable(returned.value):  # a sync wrapper's coroutine, or an awaitable an `async def` returned
        returned = Returned(await returned.value)  # (`return other()`, `return loop.run_in_executor(…)`): its value
    if isinstance(returned.value, AsyncIterator):
        returned = await _consume_async(returned.value, max_bytes)
    elif _is_iterator(returned.value):  # an async function returned a sync generator: not on the loop
        work = functools.partial(_call_in_thread, tool, _same, [returned.value], {}, stop, max_bytes, ticket)
        returned = await anyio.to_thread.run_sync(work, abandon_on_cancel=True, limiter=limiter)
    return returned


def _same(value: Any) -> Any:
    return value


def _is_iterator(value: Any) -> bool:
    return isinstance(value, Iterator)


def _call_in_thread(tool: str, fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any],
                    stop: threading.Event, max_bytes: int, ticket: Ticket | None) -> Returned:
    # the one registry of worker threads (worker_calls): stop and exit consult it; the lane's place is held
    # until the function returns, even after its call is over
    with working(tool, stop), (ticket.in_thread() if ticket is not None else contextlib.nullcontext()):
        value = fn(*args, **kwargs)
        return _consume(value, stop, max_bytes) if _is_iterator(value) else Returned(value)


class _Items:
    """The items consumed so far and about how many JSON bytes they make: `add` says when that passed the limit."""

    def __init__(self, max_bytes: int) -> None:
        self.items: list[Any] = []
        self.size = 2  # the list's brackets
        self.max_bytes = max_bytes

    def add(self, item: Any) -> bool:
        self.items.append(item)
        self.size += _json_size(item) + 1
        return self.size > self.max_bytes

    def stopped(self) -> Returned:
        return Returned(self.items, _stopped_note(len(self.items), self.max_bytes))


def _consume(iterator: Iterator[Any], stop: threading.Event, max_bytes: int) -> Returned:
    items = _Items(max_bytes)
    try:
        for item in iterator:
            if stop.is_set():  # the call is over (timed out, cancelled): nobody reads these items
                break
            if items.add(item):
                return items.stopped()
    finally:
        close = getattr(iterator, "close", None)
        if callable(close):
            try:
                close()  # a generator's `finally` runs now, not whenever it is collected
            except Exception as exc:  # noqa: BLE001 — its cleanup's fault must not replace the call's outcome
                _close_failed(iterator, exc)
    return Returned(items.items)


async def _consume_async(iterator: AsyncIterator[Any], max_bytes: int) -> Returned:
    items = _Items(max_bytes)
    slice_ends = time.monotonic() + _LOOP_SLICE_SECONDS
    try:
        async for item in iterator:
            if items.add(item):
                return items.stopped()
            if time.monotonic() >= slice_ends:
                # a generator that never awaits would hold the loop (and outlive its timeout) until the
                # byte limit: a checkpoint lets other calls run and the call's time limit cancel it here
                await anyio.lowlevel.checkpoint()
                slice_ends = time.monotonic() + _LOOP_SLICE_SECONDS
    finally:
        aclose = getattr(iterator, "aclose", None)
        if callable(aclose):
            # shielded: a timed-out or cancelled call still lets the generator clean up, briefly
            with anyio.CancelScope(shield=True), anyio.move_on_after(_ACLOSE_SECONDS):
                try:
                    await aclose()
                except Exception as exc:  # noqa: BLE001 — its cleanup's fault must not replace the call's outcome
                    _close_failed(iterator, exc)
    return Returned(items.items)


def _close_failed(iterator: Any, exc: Exception) -> None:
    """A generator's `close()`/`aclose()` raised (one that ignores GeneratorExit: RuntimeError): logged for
    the operator, while the call keeps its own outcome — its items, its timeout, its exception."""
    log_event("python generator did not close", logging.WARNING, generator=getattr(iterator, "__qualname__", None)
              or type(iterator).__name__, error=exception_text(exc))


def _json_size(item: Any) -> int:
    """About how many bytes `item` takes in the result's JSON (its `repr` when it has no JSON form, its type's
    name when its `repr` fails too: serializing the result reports that, here it only needs counting — a broken
    `__repr__` raised here was reported as the function's own exception)."""
    try:
        return len(to_json(item))
    except Exception:  # noqa: BLE001 — any value: counted, never refused here
        pass
    try:
        return len(repr(item))
    except Exception:  # noqa: BLE001 — the item's own `__repr__`
        return len(type(item).__name__)


def _stopped_note(count: int, max_bytes: int) -> str:
    return (f"the function's generator was stopped after {count} items: they passed the upstream size "
            f"limit (max_response_bytes, {max_bytes} bytes), so it may have had more")
