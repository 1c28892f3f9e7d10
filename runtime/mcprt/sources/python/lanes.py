"""One lane of worker threads per sync Python tool (and per sync resource or prompt function): at most
`concurrency` of its calls run at once.

Why: anyio's default thread pool (40 threads) is shared by every `to_thread` call of the process. A trial
called `def slow(s): time.sleep(s)` 60× at once and the trivial `add` of the same source took 4.3 s,
queued behind `slow`; with 80 calls of 8 s, 27 failed "did not finish within 10s" though the function
needs 8 s — the time spent waiting for a thread was charged to the function. Here each tool has its own
`anyio.CapacityLimiter` (its calls take no token of the shared pool), so a slow tool waits only behind
itself, and a call that timed out while it waited says so (`Ticket.message`).

The lanes share one process-wide bound, `MAX_SYNC_THREADS` worker threads for all sync tools, resources and
prompts together: without
it 100 tools × `concurrency` 64 could run 6,400 threads. It is above the largest `concurrency` (64), so one tool
alone never takes every thread.

The wait counts against the call's timeout: the client waits for the answer either way.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import anyio.from_thread
from anyio.lowlevel import RunVar

# Worker threads of all sync tools of the process at once (each tool's lane bounds its own, ≤ 64): above any one
# tool's `concurrency`, so no tool starves the others; about anyio's former shared pool (40) plus room for more tools.
MAX_SYNC_THREADS = 100
# per event loop (a limiter belongs to one): the shared bound's tokens
_SHARED: RunVar[anyio.CapacityLimiter] = RunVar("mcprt_sync_threads")

# the threads a lane's call runs in are bounded by the lane's limiter, taken before: this one only keeps
# anyio from taking a token of its default pool as well (created lazily: a limiter belongs to an event loop)
_UNBOUNDED: anyio.CapacityLimiter | None = None
_NOTED_WAIT = 0.05  # seconds: a shorter wait for a thread is not worth a word in a timeout's message


def shared_threads() -> anyio.CapacityLimiter:
    """The process-wide bound on sync tools' worker threads (`MAX_SYNC_THREADS`), of the running event loop."""
    try:
        return _SHARED.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(MAX_SYNC_THREADS)
        _SHARED.set(limiter)
        return limiter


def unbounded() -> anyio.CapacityLimiter:
    """A limiter that never makes a call wait (`to_thread.run_sync(limiter=...)`)."""
    global _UNBOUNDED
    if _UNBOUNDED is None:
        _UNBOUNDED = anyio.CapacityLimiter(math.inf)
    return _UNBOUNDED


class Lane:
    """The calls of one sync tool: at most `limit` run at once in worker threads, the rest wait in line.

    `limit` ≥ 1 (the python source's `concurrency` setting)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.overdue = 0  # calls past their timeout whose function still runs (holding a place): loop-only
        self._limiter: anyio.CapacityLimiter | None = None  # made in the loop of the first call

    def tokens(self) -> anyio.CapacityLimiter:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.limit)
        return self._limiter

    def ticket(self) -> Ticket:
        """A place in line for one call."""
        return Ticket(self)


class Ticket:
    """One call's place in its lane: `async with ticket:` waits for a place and holds it for the block, and
    past it while a worker thread the call started still runs (`in_thread`): a call its timeout abandoned
    keeps its place until its function returns, so the lane bounds the threads, not just the answers
    pending. Afterwards (or when the call's time limit cancelled the wait) it says how the call fared:
    seconds `waited`, calls `running` ahead of it when it joined, whether it `queued` and `started`.

    A ticket that never queued is a call of a function that takes no place in a lane (an `async def`
    one, awaited on the event loop): it was called at once, so it may have acted (`never_ran` False)."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane
        self.running = 0
        self.waited = 0.0
        self.queued = False  # it joined its lane's line (`async with`): a sync function's call
        self.started = False  # it got its place (and a thread of the process): its function is called next
        self.shared_wait = False  # it waited (or waits) for one of the process's threads, its lane's place held
        self._shared: anyio.CapacityLimiter | None = None
        self._lock = threading.Lock()  # the loop and the worker thread decide together who gives the place back
        self._in_thread = False
        self._abandoned = False

    async def __aenter__(self) -> None:
        self.queued = True
        tokens = self.lane.tokens()
        self.running = tokens.borrowed_tokens
        began = time.monotonic()
        try:
            await tokens.acquire_on_behalf_of(self)
            shared = shared_threads()
            self.shared_wait = True
            try:
                await shared.acquire_on_behalf_of(self)
            except BaseException:
                tokens.release_on_behalf_of(self)
                raise
            self._shared = shared
            self.shared_wait = False
        finally:  # cancelled by the call's time limit too: the message tells how long it waited
            self.waited = time.monotonic() - began
        self.started = True

    async def __aexit__(self, *exc: object) -> None:
        with self._lock:
            if self._in_thread:  # abandoned: the thread gives the place back when the function returns
                self._abandoned = True
                self.lane.overdue += 1
                return
        self._give_back()

    @contextmanager
    def in_thread(self) -> Iterator[None]:
        """Wraps the call's work in its worker thread (see the class)."""
        with self._lock:
            self._in_thread = True
        try:
            yield
        finally:
            with self._lock:
                self._in_thread = False
                abandoned = self._abandoned
            if abandoned:
                try:
                    anyio.from_thread.run_sync(self._give_back)
                except Exception:  # noqa: BLE001 — the loop is gone (the server stopped): no lane to give back to
                    pass

    def _give_back(self) -> None:
        if self._abandoned:
            self.lane.overdue -= 1
        if self._shared is not None:
            self._shared.release_on_behalf_of(self)
        self.lane.tokens().release_on_behalf_of(self)

    @property
    def never_ran(self) -> bool:
        """True only when the call's time limit ended its wait in line: its function was never called, so
        trying again cannot repeat what it did. False for a call that got its place — and for one that took
        none (an async function): either may have acted before its time ran out."""
        return self.queued and not self.started

    def message(self, subject: str, timeout: float, noun: str = "tool") -> str:
        """The error text of a call of `subject` (a tool's name, or a resource's or prompt's label) that ran out of
        its `timeout` seconds; `noun` says what `subject` is ("tool", "resource", "prompt"): a resource read is
        not told of "calls of this tool". Only a call that `never_ran` is told it did not run (and, unless
        calls past their timeout hold its lane, that a retry is safe); any other "did not finish", and only a
        call that waited in its lane is told of the source's `concurrency` (which bounds sync functions only)."""
        if not self.never_ran:
            if self.waited >= _NOTED_WAIT:
                return (f"{subject} did not finish within {timeout:g}s: it queued {self.waited:.1f} s behind "
                        f"{self.running} running calls of this {noun} (at most {self.lane.limit} run at once: the "
                        f"source's `concurrency`), then ran {max(0.0, timeout - self.waited):.1f} s")
            return f"{subject} did not finish within {timeout:g}s"
        if self.shared_wait:
            return (f"{subject} did not start within {timeout:g}s: all {MAX_SYNC_THREADS} worker threads for sync "
                    "tools, resources and prompts of this server were busy (other calls); it did not run, so it is "
                    "safe to try again later")
        if self.lane.overdue >= self.lane.limit:
            return (f"{subject} did not start within {timeout:g}s: {self.lane.overdue} calls of this {noun} ran past "
                    f"their timeout and still hold its threads (at most {self.lane.limit} run at once: the source's "
                    "`concurrency`); it did not run, but it cannot start until those functions return")
        return (f"{subject} did not start within {timeout:g}s: queued {self.waited:.1f} s behind {self.running} "
                f"running calls of this {noun} (at most {self.lane.limit} run at once: the source's "
                "`concurrency`); it did not run, so it is safe to try again later")
