"""Close replaced sources only once the calls that started on them have finished.

`Runtime.apply` would close retired sources right after the swap, but a call that began on the old
tool set may still be using, say, the old HTTP client or subprocess. The server's call handler
holds the tool set it looked the tool up in until the call returns, so the old set being garbage
is the sign that no call on it is left; as a fence (a reference cycle can keep it alive until the
next GC pass) no call outlives its tool's timeout either. Shutdown closes everything at once.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Iterable

from ..sources.base import RunningSource
from ..sources.pool import close_retired
from ..toolset.toolset import ToolSet

MARGIN_SECONDS = 1.0
MAX_DRAIN_SECONDS = 600.0
POLL_SECONDS = 0.25


def drain_seconds(old: ToolSet, sources: Iterable[RunningSource]) -> float:
    """The longest time a call on `sources` (through the set being replaced) may still run."""
    names = {source.name for source in sources}
    longest = max((tool.timeout for tool in old if tool.source in names), default=0.0)
    return min(float(longest) + MARGIN_SECONDS, MAX_DRAIN_SECONDS)


class Drainer:
    """Deferred closes, each a task that closes its sources when it ends — also when cancelled."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def close_when_unused(self, sources: list[RunningSource], old: ToolSet) -> None:
        """Close `sources` once `old` is no longer referenced (or after its tools' longest timeout)."""
        if not sources:
            return
        deadline = time.monotonic() + drain_seconds(old, sources)
        task = asyncio.create_task(self._close_later(sources, weakref.ref(old), deadline), name="mcprt-drain")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close_now(self) -> None:
        """Close everything still waiting (server shutdown)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @staticmethod
    async def _close_later(sources: list[RunningSource], old: weakref.ref[ToolSet], deadline: float) -> None:
        try:
            while old() is not None and time.monotonic() < deadline:
                await asyncio.sleep(POLL_SECONDS)
        finally:
            await close_retired(sources)
