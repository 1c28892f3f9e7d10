"""Close replaced sources only once the calls that started on them can have finished.

`Runtime.apply` would close retired sources right after the swap, but a call that began on the old
tool set may still be using, say, the old HTTP client. No call outlives its tool's timeout, so a
retired source is closed after the longest timeout among its tools (plus a margin) — or at once
when the server shuts down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from ..sources.base import RunningSource
from ..sources.pool import close_retired
from ..toolset.toolset import ToolSet

MARGIN_SECONDS = 1.0
MAX_DRAIN_SECONDS = 600.0


def drain_seconds(old: ToolSet, sources: Iterable[RunningSource]) -> float:
    """How long calls on `sources` (in the set being replaced) may still run."""
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

    def close_later(self, sources: list[RunningSource], after: float) -> None:
        if not sources:
            return
        task = asyncio.create_task(self._close_after(sources, after), name="mcprt-drain")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close_now(self) -> None:
        """Close everything still waiting (server shutdown)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @staticmethod
    async def _close_after(sources: list[RunningSource], after: float) -> None:
        try:
            await asyncio.sleep(after)
        finally:
            await close_retired(sources)
