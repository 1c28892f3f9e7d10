"""Abandoning work nobody waits for any more: a cancel token that long compiles check cooperatively.

A hot reload can be superseded by a newer save or run over its time budget (#13). Its asynchronous
part is cancelled the asyncio way, but much of a compile runs in worker threads (parsing a spec,
building tools, rendering `description` templates), and a thread cannot be killed. So the reloader
makes a `CancelToken` current for the compile (a context variable: `asyncio.to_thread` copies it into
the worker), and the loops of the compile call `check_abandoned()` between operations, chunks and
template steps. An abandoned compile then raises `Abandoned` within milliseconds and stops using CPU.

Contract-level: imports nothing from mcprt. With no token set (a CLI command, the first start) a
check costs one context-variable read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class Abandoned(Exception):
    """The work was abandoned (its result would be dropped); `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CancelToken:
    """A one-way flag, safe to set from any thread: once cancelled, `check()` raises `Abandoned`."""

    __slots__ = ("_event", "reason")

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self, reason: str) -> bool:
        """Cancel with `reason`; False if it was cancelled already (the first reason stays)."""
        if self._event.is_set():
            return False
        self.reason = reason
        self._event.set()
        return True

    def check(self) -> None:
        if self._event.is_set():
            raise Abandoned(self.reason)


_CURRENT: ContextVar[CancelToken | None] = ContextVar("mcprt_cancel_token", default=None)


def current_token() -> CancelToken | None:
    """The token of the work running in this context (None outside an abandonable compile)."""
    return _CURRENT.get()


def check_abandoned() -> None:
    """Raise `Abandoned` if the work running in this context was abandoned; cheap, call it often."""
    token = _CURRENT.get()
    if token is not None and token.cancelled:
        raise Abandoned(token.reason)


@contextmanager
def abandonable(token: CancelToken) -> Iterator[CancelToken]:
    """Make `token` current in this context (and in threads started from it with `asyncio.to_thread`)."""
    reset = _CURRENT.set(token)
    try:
        yield token
    finally:
        _CURRENT.reset(reset)
