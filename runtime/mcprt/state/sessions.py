"""Handshake-era session records in Redis, so a session created on one replica is served by any other.

A record is written once when `initialize` succeeds (before its response leaves, so the client's
very next request, on whatever replica, finds it) and holds what a replica needs to serve the
session without a new handshake: the negotiated protocol version, the client's `initialize`
params (capabilities, clientInfo) and the principal that opened it. Records expire after the
session idle timeout (`server.http.session_idle_timeout`); a replica refreshes the expiry at most
once per `REFRESH_EVERY` (or a quarter of the timeout) per session, so an ordinary call costs no
Redis round trip. A replica keeps the records of the sessions it serves (`held`), so when Redis
loses its data (a restart without persistence, FLUSHALL, eviction) it can write them back
(`restore`) and the other replicas, or one started since, still find them.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .redis_client import is_redis_error, unavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

REFRESH_EVERY = 60.0  # seconds


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """What a replica needs to adopt a session: shapes are JSON-ready."""

    protocol_version: str
    client_params: dict[str, Any] | None  # the `initialize` request params (wire form, camelCase)
    principal: str | None  # the principal name that opened the session; others get 404
    created: float  # epoch seconds


class SessionRecords:
    """`put` / `get` / `delete` / `touch` of session records under `<prefix>session:<id>`."""

    def __init__(self, client: Redis, *, prefix: str, ttl: float) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_ms = max(1000, int(ttl * 1000))
        # A short idle timeout needs a refresh well within it, else a busy session's record would
        # expire and other replicas would answer 404.
        self._refresh_every = min(REFRESH_EVERY, ttl / 4)
        self._touched: dict[str, float] = {}
        self._held: dict[str, SessionRecord] = {}  # sessions served here (opened or adopted), until they end

    def _key(self, session_id: str) -> str:
        return f"{self._prefix}session:{session_id}"

    async def put(self, session_id: str, record: SessionRecord) -> None:
        try:
            await self._client.set(self._key(session_id), json.dumps(asdict(record)), px=self._ttl_ms)
        except Exception as exc:
            if is_redis_error(exc):
                raise unavailable(exc) from None
            raise
        self._touched[session_id] = time.monotonic()
        self._held[session_id] = record

    def hold(self, session_id: str, record: SessionRecord) -> None:
        """Keep `record` of a session this replica adopted, for `restore` (until `forget_local`)."""
        self._held[session_id] = record

    async def restore(self) -> int:
        """Write back the records of the sessions served here that Redis no longer has (SET NX: a
        record still there, or written meanwhile, is kept). Returns how many were written; raises
        StateUnavailable when Redis does not answer."""
        held = list(self._held.items())
        if not held:
            return 0
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for session_id, record in held:
                    pipe.set(self._key(session_id), json.dumps(asdict(record)), px=self._ttl_ms, nx=True)
                written = await pipe.execute()
        except Exception as exc:
            if is_redis_error(exc):
                raise unavailable(exc) from None
            raise
        return sum(1 for done in written if done)

    async def get(self, session_id: str) -> SessionRecord | None:
        try:
            raw = await self._client.get(self._key(session_id))
        except Exception as exc:
            if is_redis_error(exc):
                raise unavailable(exc) from None
            raise
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return SessionRecord(**data)
        except (ValueError, TypeError):
            return None  # a record this version cannot read: treat as unknown (the client re-initializes)

    async def touch(self, session_id: str) -> None:
        """Extend the record's expiry, at most once per REFRESH_EVERY (a quarter of the ttl when shorter)
        per replica."""
        now = time.monotonic()
        if now - self._touched.get(session_id, 0.0) < self._refresh_every:
            return
        self._touched[session_id] = now
        try:
            await self._client.pexpire(self._key(session_id), self._ttl_ms)
        except Exception as exc:
            if not is_redis_error(exc):
                raise

    async def delete(self, session_id: str) -> None:
        self.forget_local(session_id)
        try:
            await self._client.delete(self._key(session_id))
        except Exception as exc:
            if not is_redis_error(exc):
                raise

    def forget_local(self, session_id: str) -> None:
        self._touched.pop(session_id, None)
        self._held.pop(session_id, None)
