"""Background upkeep that runs every few seconds while serving (approval expiries, task sweeps).

One loop for all of them, so each gets the same guarantees: a failing step never ends the loop (the
next period tries again), and its failure is logged when it starts failing and when it works again,
not once a period (a backend down for an hour writes two lines, not 1,800).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from .observability.log import Outage


async def repeat_forever(step: Callable[[], Awaitable[Any]], every: float, what: str) -> None:
    """Await `step()`, then sleep `every` seconds, until cancelled. `what` names the work in the two log
    lines ("`what` failed" with the exception's type, never its text: it may hold a backend's address or
    credentials; "`what` works again"), both WARNING."""
    outage = Outage(f"{what} failed", f"{what} works again")
    while True:
        try:
            await step()
        except Exception as exc:  # a flaky backend must not end the loop
            outage.failed(error=type(exc).__name__)
        else:
            outage.worked()
        await asyncio.sleep(every)
