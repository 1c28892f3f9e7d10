"""Handshake-era session records in Redis, so a session created on one replica is served by any other.

A record is written once when `initialize` succeeds (before its response leaves, so the client's
very next request, on whatever replica, finds it) and holds what a replica needs to serve the
session without a new handshake: the negotiated protocol version, the client's `initialize`
params (capabilities, clientInfo) and the principal that opened it. Records expire after the
session idle timeout (`server.http.session_idle_timeout`); a replica refreshes the expiry at most
once per `REFRESH_EVERY` (or a quarter of the timeout) per session, so an ordinary call costs no
Redis round trip.
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
        self._touched.pop(session_id, None)
        try:
            await self._client.delete(self._key(session_id))
        except Exception as exc:
            if not is_redis_error(exc):
                raise

    def forget_local(self, session_id: str) -> None:
        self._touched.pop(session_id, None)
