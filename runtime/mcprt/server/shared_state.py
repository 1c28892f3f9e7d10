"""Opening the shared state a server uses (`server.state` / `MCPRT_STATE_URL`), or none.

Imported by `serve` always; the `redis` package only when a state URL is set.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..observability.log import log_event
from ..settings import env_limit
from ..state.url import key_prefix, redact_state_url
from .options import ServeOptions
from .roundtrip import STATE_TTL

DATA_CHECK_EVERY = 2.0  # seconds between checks that Redis still holds what this replica wrote: the default
MARK_TTL_MS = 30_000  # the check's marker lives at least this long (`mark_ttl_ms`)
MARK_CHECKS = 3  # ... and at least this many check intervals, so a late check still finds it


def data_check_interval() -> float:
    """Seconds between two checks that Redis still holds what this replica wrote
    (`MCPRT_DATA_LOSS_CHECK_INTERVAL`, a positive number, at least 0.1 — `envcheck.MINIMUMS` —, default
    `DATA_CHECK_EVERY`). It bounds how
    long after Redis lost its data the sessions, held rounds and tasks of a replica are unknown to the
    others (404, "unknown task") before it writes them back; each check is one SET per replica."""
    return env_limit("MCPRT_DATA_LOSS_CHECK_INTERVAL", DATA_CHECK_EVERY)


def mark_ttl_ms(every: float) -> int:
    """Milliseconds a replica's marker lives when it is refreshed every `every` seconds: `MARK_TTL_MS`
    or `MARK_CHECKS` intervals, the longer. A marker gone at a check reads as Redis having lost its
    data, so it must outlive the time between two checks (the interval plus the SET's own time): with
    a fixed 30 s, an interval of 30 s or more was a false "lost its data" (and a write-back) at every
    check. Redis unreachable for longer than this looks the same, and only costs a no-op write-back."""
    return max(MARK_TTL_MS, math.ceil(MARK_CHECKS * every * 1000))


if TYPE_CHECKING:
    from ..state.policy import RedisPolicyState
    from ..state.rounds import RoundRelay
    from ..state.sessions import SessionRecords
    from ..state.tokens import RedisTokenStore


@dataclass
class SharedState:
    """The Redis client and what is kept in it, for one server process."""

    url: str
    client: Any  # redis.asyncio.Redis
    prefix: str  # every key starts with it: `mcprt:<server name>:`
    sessions: SessionRecords
    policy: RedisPolicyState  # approvals, rate-limit buckets, pauses (mcprt.policy.state.PolicyState)
    tokens: RedisTokenStore  # upstream OAuth tokens (mcprt.outbound.token_cache.SharedTokenStore)
    rounds: RoundRelay  # 2026-07-28 input rounds resumed on the replica holding the call
    # what this replica writes back when Redis lost its data (`watch_data_loss`): name → restore(),
    # which returns how many records it wrote (session and round records here; serve adds task records)
    restorers: dict[str, Callable[[], Awaitable[int]]] = field(default_factory=dict)
    # Redis answers but refuses this replica's writes (full: `maxmemory` with `noeviction`; a read-only replica):
    # since when (epoch seconds) and why, from the data check's SET every few seconds (`watch_data_loss`), so
    # /readyz, /status.json and `mcprt_state_writable` show it without traffic; None while writes succeed
    writes_refused: tuple[float, str] | None = None

    async def ping(self) -> object:
        return await self.client.ping()

    async def watch_data_loss(self, every: float | None = None) -> None:
        """Notice Redis losing its data (a restart without persistence, FLUSHALL, eviction) and write
        back the records this replica holds (`restorers`: its sessions', its held rounds' and its tasks'), so the sessions
        it serves and the tasks it runs stay reachable on every replica (pauses and waiting approvals
        restore themselves: `state.policy`, `policy.approvals`).
        Runs until cancelled. The sign is this replica's marker (`<prefix>replica:<id>`, refreshed every
        `every` s - None: `data_check_interval()` - with SET … GET, living `mark_ttl_ms(every)`) found
        missing; Redis not answering is the other loops' to log."""
        every = data_check_interval() if every is None else every
        marker, ttl_ms = f"{self.prefix}replica:{self.rounds.replica}", mark_ttl_ms(every)
        first, lost = True, False  # `lost` stays set until a write-back went through (Redis may fail mid-way)
        while True:
            try:
                try:
                    before = await self.client.set(marker, b"1", px=ttl_ms, get=True)
                except Exception as exc:
                    self._note_refused_write(exc)
                    raise
                self._note_write_ok()
                lost = lost or (before is None and not first)
                first = False
                if lost:
                    restored = {name: await restore() for name, restore in self.restorers.items()}
                    lost = False
                    log_event("shared state lost its data (Redis restarted without persistence, flushed or "
                              "evicting); wrote back what this replica holds", logging.WARNING, **restored)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - an outage: the state client's loops log it once each way
                pass
            await asyncio.sleep(every)

    def _note_refused_write(self, exc: BaseException) -> None:
        """A write failed: when Redis answered with a refusal (an error reply, not a lost connection, which the
        PING watch reports), writes are refused from now until one succeeds; logged once each way. The fleet
        trial filled Redis (`noeviction`): sessions were not shared (404 on other replicas) while /readyz said
        `"state": "ok"` and `mcprt_state_up` 1."""
        from redis.exceptions import ResponseError

        from ..state.redis_client import unavailable

        if not isinstance(exc, ResponseError) or self.writes_refused is not None:
            return
        import time

        why = unavailable(exc).reason or type(exc).__name__
        self.writes_refused = (time.time(), why)
        log_event("shared state refuses writes: sessions, approvals, rate limits and tasks are not shared while it "
                  "does", logging.WARNING, reason=why)

    def _note_write_ok(self) -> None:
        if self.writes_refused is not None:
            self.writes_refused = None
            log_event("shared state takes writes again", logging.INFO)

    async def aclose(self) -> None:
        await self.rounds.aclose()
        await self.policy.aclose()
        await self.client.aclose()


async def open_shared_state(options: ServeOptions, server_name: str, session_ttl: float) -> SharedState | None:
    """Connect when a state URL is set (a clear McprtError when Redis does not answer), else None.

    Session records expire after `session_ttl` seconds unused: the session idle timeout (one setting).
    """
    if options.state_url is None:
        return None
    from ..state.policy import RedisPolicyState
    from ..state.redis_client import check_rights, connect
    from ..state.rounds import RoundRelay
    from ..state.sessions import ENDED, UPDATED, SessionRecords
    from ..state.tokens import RedisTokenStore

    client = await connect(options.state_url)
    prefix = key_prefix(server_name)
    try:
        await check_rights(client, options.state_url, prefix)  # an ACL user lacking a command: exit 2 now
    except BaseException:
        await client.aclose()
        raise
    log_event("shared state connected", logging.INFO, url=redact_state_url(options.state_url))
    policy = RedisPolicyState(client, prefix=prefix)
    await policy.start()
    shared = SharedState(
        url=options.state_url,
        client=client,
        prefix=prefix,
        sessions=SessionRecords(client, prefix=prefix, ttl=session_ttl),
        policy=policy,
        tokens=RedisTokenStore(client, prefix=prefix),
        rounds=RoundRelay(client, prefix=prefix, ttl=STATE_TTL),
    )
    shared.restorers["session_records"] = shared.sessions.restore
    # a session ended on another replica: this one drops its copy, so it never writes it back, and
    # ends its transport of the session (`server.shared_sessions`)
    policy.on_event[ENDED] = shared.sessions.ended
    # a resource update for a session whose GET stream another replica holds (`server.shared_sessions`)
    policy.on_event[UPDATED] = shared.sessions.updated
    shared.restorers["round_records"] = shared.rounds.restore
    return shared
