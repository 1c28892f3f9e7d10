"""Writing records back to a Redis that lost its data (`server.shared_state.watch_data_loss`).

One pattern for every kind of record a replica holds (sessions, tasks, rounds): each is written only
where Redis has no record under its key (SET NX — a record written meanwhile, by a newer change or
another replica, is kept), with the lifetime it has left, in one pipelined round trip.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .redis_client import guarded

if TYPE_CHECKING:
    from redis.asyncio import Redis


async def write_back(client: Redis, records: Iterable[tuple[str, bytes | str, int]]) -> int:
    """SET NX each `(key, value, lifetime in ms)`; one with no lifetime left is skipped. Returns how many
    were written; raises `StateUnavailable` when Redis does not answer."""
    live = [(key, value, left_ms) for key, value, left_ms in records if left_ms > 0]
    if not live:
        return 0
    async with client.pipeline(transaction=False) as pipe:
        for key, value, left_ms in live:
            pipe.set(key, value, px=left_ms, nx=True)
        written = await guarded(pipe.execute())
    return sum(1 for done in written if done)
