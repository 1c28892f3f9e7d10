"""Progress of long work inside the runtime (compiling a big OpenAPI description), for the CLI.

The CLI sets a reporter for the duration of a command; the work calls `report()` now and then. With
no reporter set (a server reloading, library use) it costs one context-variable read per call.
Contract-level: imports nothing from mcprt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Reporter = Callable[[str, int, int], None]  # (what, done, total)

_REPORTER: ContextVar[Reporter | None] = ContextVar("mcprt_progress", default=None)


def report(what: str, done: int, total: int) -> None:
    """Say how far `what` got (`done` of `total` steps)."""
    reporter = _REPORTER.get()
    if reporter is not None:
        reporter(what, done, total)


def reporting() -> bool:
    return _REPORTER.get() is not None


@contextmanager
def reporting_to(reporter: Reporter) -> Iterator[None]:
    """Send `report()` calls made in this context (and threads started from it) to `reporter`."""
    token = _REPORTER.set(reporter)
    try:
        yield
    finally:
        _REPORTER.reset(token)
