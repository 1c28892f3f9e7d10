"""Handshake-era session records in Redis, so a session created on one replica is served by any other.

A record is written once when `initialize` succeeds (before its response leaves, so the client's
very next request, on whatever replica, finds it) and holds what a replica needs to serve the
session without a new handshake: the negotiated protocol version, the client's `initialize`
params (capabilities, clientInfo) and the principal that opened it. Records expire after the
session idle timeout (`server.http.session_idle_timeout`); a replica refreshes the expiry at most
once per `REFRESH_EVERY` (or a quarter of the timeout) per session, so an ordinary call costs no
Redis round trip. A replica keeps the records of the sessions it serves (`held`), so when Redis
loses its data (a restart without persistence, FLUSHALL, eviction) it can write them back
(`restore`) and the other replicas, or one started since, still find them — with the lifetime this
replica knows they have left, so a write-back never extends a session's idle expiry.

A session ended on one replica (DELETE, or ended to make room) must not come back from another's
copy: the delete publishes `session-ended <id>` on the events channel (every replica drops its copy
and ends its transport of the session at once, `ended`) and leaves a marker `<prefix>session-ended:<id>`
for the idle timeout, which `restore` respects (for a replica that missed the message, e.g. cut off
from Redis meanwhile).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ..observability.log import Outage
from .redis_client import events_channel, guarded, is_redis_error, unavailable
from .write_back import write_back

if TYPE_CHECKING:
    from redis.asyncio import Redis

REFRESH_EVERY = 60.0  # seconds
ENDED = "session-ended"  # the events channel's message kind, and the marker's key part
UPDATED = "resource-updated"  # the events channel's kind: `resource-updated <session id> <uri>` (relay_updated)
EVICTED = " evicted"  # after the id: ended to make room on one replica (not by the client)


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
        # monotonic time each held record expires in Redis, as far as this replica knows (for `restore`)
        self._expires: dict[str, float] = {}
        # told (id, evicted) of each session ended on any replica (`ended`): the session manager stops
        # serving it, or keeps it when evicted elsewhere while busy here (answers True)
        self.on_ended: list[Callable[[str, bool], bool]] = []
        # listeners of `resource-updated` (session id, URI): the replica holding the session's GET stream sends it
        self.on_updated: list[Callable[[str, str], None]] = []
        # Once each way per outage (a DELETE per session under traffic): ended sessions Redis still holds.
        self._removing = Outage("ended sessions not removed from shared state: other replicas may serve them until "
                                "they idle out", "ended sessions are removed from shared state again")

    def _key(self, session_id: str) -> str:
        return f"{self._prefix}session:{session_id}"

    def _ended(self, session_id: str) -> str:
        return f"{self._prefix}{ENDED}:{session_id}"

    async def put(self, session_id: str, record: SessionRecord) -> None:
        await guarded(self._client.set(self._key(session_id), json.dumps(asdict(record)), px=self._ttl_ms))
        self._touched[session_id] = time.monotonic()
        self.hold(session_id, record)

    def hold(self, session_id: str, record: SessionRecord) -> None:
        """Keep `record` of a session this replica opened or adopted, for `restore` (until `forget_local`)."""
        self._held[session_id] = record
        self._expires[session_id] = time.monotonic() + self._ttl_ms / 1000

    async def restore(self) -> int:
        """Write back the records of the sessions served here that Redis no longer has (SET NX: a
        record still there, or written meanwhile, is kept), each with the lifetime it had left; not
        one ended meanwhile on another replica (its marker). Returns how many were written; raises
        StateUnavailable when Redis does not answer."""
        held = list(self._held.items())
        if not held:
            return 0
        ended = await guarded(self._client.mget([self._ended(session_id) for session_id, _ in held]))
        now = time.monotonic()
        return await write_back(self._client, [
            (self._key(session_id), json.dumps(asdict(record)), int((self._expires[session_id] - now) * 1000))
            for (session_id, record), gone in zip(held, ended) if gone is None])

    async def get(self, session_id: str) -> SessionRecord | None:
        raw = await guarded(self._client.get(self._key(session_id)))
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
        else:
            if session_id in self._held:
                self._expires[session_id] = now + self._ttl_ms / 1000

    async def delete(self, session_id: str, *, evicted: bool = False) -> None:
        """End the session on every replica: its record goes, a marker stays for the idle timeout (so no
        replica's `restore` brings it back), and every replica drops its copy (`session-ended <id>` on
        the events channel, `session-ended <id> evicted` when it was ended to make room: see `ended`).
        A Redis failure is not raised (the record then expires by itself after the idle timeout, and until
        then other replicas may still serve the session) but logged, once per outage."""
        self.forget_local(session_id)
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.delete(self._key(session_id))
                pipe.set(self._ended(session_id), b"1", px=self._ttl_ms)
                pipe.publish(events_channel(self._prefix), f"{ENDED} {session_id}{EVICTED if evicted else ''}")
                await pipe.execute()
        except Exception as exc:
            if not is_redis_error(exc):
                raise
            self._removing.failed(error=str(unavailable(exc)))
        else:
            self._removing.worked()

    async def relay_updated(self, session_id: str, uri: str) -> None:
        """Have the replica holding `session_id`'s GET stream send it `notifications/resources/updated` for `uri`:
        `resource-updated <id> <uri>` on the events channel (`updated` on every replica). Raises
        StateUnavailable."""
        await guarded(self._client.publish(events_channel(self._prefix), f"{UPDATED} {session_id} {uri}"))

    def updated(self, message: str) -> None:
        """A `resource-updated <id> <uri>` message: tell `on_updated`."""
        session_id, _, uri = message.partition(" ")
        if session_id and uri:
            for listener in self.on_updated:
                listener(session_id, uri)

    def ended(self, message: str) -> None:
        """A `session-ended <id>[ evicted]` message (this replica's own delete included): tell `on_ended`
        (a replica holding the session's transport ends it now, not when it idles out) and drop the copy.

        An eviction was judged on the evicting replica's view alone: a listener may keep a session that
        is busy here (answers True), and then the copy stays for it to `revive`. A client's DELETE ends
        the session everywhere."""
        session_id, _, why = message.partition(" ")
        evicted = why == EVICTED.strip()
        kept = [listener(session_id, evicted) for listener in self.on_ended]
        if not (evicted and any(kept)):
            self.forget_local(session_id)

    async def revive(self, session_id: str) -> None:
        """Write back the record of a session held here that another replica evicted while it was busy
        here (`ended`), with a fresh idle timeout, and lift its ended marker: the client keeps its session
        on every replica. Does nothing for a session not held here; raises StateUnavailable."""
        record = self._held.get(session_id)
        if record is None:
            return
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.set(self._key(session_id), json.dumps(asdict(record)), px=self._ttl_ms)
            pipe.delete(self._ended(session_id))
            await guarded(pipe.execute())
        now = time.monotonic()
        self._touched[session_id] = now
        self._expires[session_id] = now + self._ttl_ms / 1000

    def forget_local(self, session_id: str) -> None:
        """Drop this replica's copy of the session (it ended here, or on another replica)."""
        self._touched.pop(session_id, None)
        self._held.pop(session_id, None)
        self._expires.pop(session_id, None)
