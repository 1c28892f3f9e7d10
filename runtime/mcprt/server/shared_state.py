"""Opening the shared state a server uses (`server.state` / `MCPRT_STATE_URL`), or none.

Imported by `serve` always; the `redis` package only when a state URL is set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..observability.log import log_event
from ..state.url import redact_state_url
from .options import ServeOptions
from .roundtrip import STATE_TTL

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

    async def ping(self) -> object:
        return await self.client.ping()

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
    from ..state.redis_client import connect
    from ..state.rounds import RoundRelay
    from ..state.sessions import SessionRecords
    from ..state.tokens import RedisTokenStore

    client = await connect(options.state_url)
    prefix = f"mcprt:{server_name}:"
    log_event("shared state connected", logging.INFO, url=redact_state_url(options.state_url))
    policy = RedisPolicyState(client, prefix=prefix)
    await policy.start()
    return SharedState(
        url=options.state_url,
        client=client,
        prefix=prefix,
        sessions=SessionRecords(client, prefix=prefix, ttl=session_ttl),
        policy=policy,
        tokens=RedisTokenStore(client, prefix=prefix),
        rounds=RoundRelay(client, prefix=prefix, ttl=STATE_TTL),
    )
