"""The upstream OAuth token cache: one local tier per credential, and optionally a tier shared by replicas.

Both token kinds go through it — client-credentials tokens (`oauth2.py`, one key per source) and RFC
8693 exchanged tokens (`token_exchange.py`, one key per subject token). A lookup is served from this
process's memory while the token is fresh (no I/O); on a miss, one coroutine per key obtains the token
(an asyncio lock: concurrent misses make one fetch) and the others wait for it.

With a shared store installed (`share_tokens`, done by `mcprt up` when `server.state` is set) a miss
first asks the store, so replicas share one token instead of each fetching its own. Across replicas a
short lock in the store makes a burst of misses one token request: the replica holding it fetches
and stores; the others poll the store for at most `LOCK_WAIT` seconds, then fetch themselves (a lock
holder that died leaves a lock that expires after `LOCK_TTL`). A store that fails raises
`SharedTokensUnavailable`, and the token is then fetched and kept locally: a token request never
fails because the shared store is down.

Every token this process starts using — fetched, exchanged, renewed or read from the shared store — is
registered with the scrubber (`SECRETS.add_issued`) for its whole life, here, whatever the grant: an upstream
that echoes it (or another caller's) must not hand it to a result, an error, a log line or a recording.

This module defines the store's interface only; the Redis implementation is `mcprt.state.tokens`
(outbound never imports the layers above it).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..scrubbing import SECRETS

# A token is renewed this long before it expires: a tenth of its life, at most a minute.
MAX_EXPIRY_MARGIN_S = 60.0
LOCK_TTL = 5.0  # seconds a replica may hold the shared fetch lock (it expires if the holder dies)
LOCK_WAIT = 6.0  # seconds a replica waits for another's fetch before fetching itself (> LOCK_TTL)
LOCK_POLL = 0.05  # seconds between looks at the shared store while another replica fetches

Fetch = Callable[[], Awaitable[tuple[str, float | None]]]
"""Obtains a token from its endpoint: (access_token, lifetime in seconds or None for no expiry)."""


def renew_in(lifetime: float | None) -> float:
    """Seconds from now after which a token of `lifetime` seconds is renewed (inf: no expiry given)."""
    if lifetime is None:
        return float("inf")
    return lifetime - min(MAX_EXPIRY_MARGIN_S, lifetime / 10)


@dataclass(frozen=True, slots=True)
class TokenKey:
    """Names one cached token.

    `id` (64 hex characters) is a SHA-256 over the grant, token endpoint, client id, scopes,
    audience and resource — and, for token exchange, a SHA-256 of the subject token: it holds no
    secret and no token, so it may name a shared entry. `seal` (32 bytes, secret) is an HMAC-SHA256 of
    `id` (and the subject token) under the client secret: a shared store encrypts the token with it,
    so whoever can read the store but does not hold the client secret (and, for an exchanged token,
    the caller's token) cannot use what is stored.
    """

    id: str
    seal: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class TokenKeys:
    """Makes the `TokenKey`s of one configured credential (the parts every key of it shares)."""

    grant: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: Sequence[str] = ()
    audience: str | None = None
    resource: str | None = None

    def key(self, subject_token: str | None = None) -> TokenKey:
        """The key of the client's own token (None) or of the token exchanged for `subject_token`."""
        subject = hashlib.sha256(subject_token.encode()).hexdigest() if subject_token is not None else None
        parts = [self.grant, self.token_url, self.client_id, sorted(self.scopes), self.audience, self.resource, subject]
        key_id = hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()
        material = b"mcprt upstream token\0" + key_id.encode() + b"\0" + (subject_token or "").encode()
        return TokenKey(key_id, hmac.new(self.client_secret.encode(), material, hashlib.sha256).digest())


class SharedTokensUnavailable(Exception):
    """The shared store did not answer; the caller falls back to fetching and keeping the token locally."""


class SharedTokenStore(Protocol):
    """A token cache shared by replicas (`mcprt.state.tokens.RedisTokenStore`).

    Every method raises `SharedTokensUnavailable` when the backend fails; none raises anything else
    for a backend fault. Tokens are secrets: an implementation never logs them and keeps them sealed
    with `key.seal` where others could read them.
    """

    async def get(self, key: TokenKey) -> tuple[str, float] | None:
        """(token, seconds it stays fresh) or None when there is none (or it cannot be unsealed)."""

    async def put(self, key: TokenKey, token: str, ttl: float) -> None:
        """Keep `token` for `ttl` seconds (inf: the store's own maximum)."""

    async def discard(self, key: TokenKey, token: str) -> None:
        """Remove the entry if it still holds `token` (a newer one, stored meanwhile, stays)."""

    async def lock(self, key: TokenKey, ttl: float) -> str | None:
        """Take the fetch lock of `key` for `ttl` seconds: a handle for `unlock`, or None when held."""

    async def unlock(self, key: TokenKey, handle: str) -> None:
        """Release the lock if `handle` still holds it."""


_shared: SharedTokenStore | None = None


def share_tokens(store: SharedTokenStore | None) -> Callable[[], None]:
    """Install the process-wide shared store (None: local only); returns a function that restores
    the previous one. Token caches read it on every miss, so credentials built before it was
    installed (the sources compile before `mcprt up` connects to Redis) use it too."""
    global _shared
    previous, _shared = _shared, store

    def restore() -> None:
        global _shared
        _shared = previous

    return restore


def shared_tokens() -> SharedTokenStore | None:
    """The shared store in use, if any."""
    return _shared


class TokenCache:
    """Tokens by `TokenKey.id`, each with the `time.monotonic()` at which it is renewed.

    `max_entries` bounds the local tier (least recently used entries go first).
    """

    def __init__(self, max_entries: int = 1) -> None:
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._max_entries = max_entries
        self._locks: dict[str, asyncio.Lock] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def tokens(self) -> list[str]:
        """The tokens held locally (for scrubbing messages)."""
        return [token for token, _ in self._entries.values()]

    def fresh(self, key_id: str) -> str | None:
        """The local token of `key_id` while it is fresh, else None."""
        entry = self._entries.get(key_id)
        if entry is None or time.monotonic() >= entry[1]:
            return None
        if self._max_entries > 1:
            self._entries.move_to_end(key_id)
        return entry[0]

    async def get(self, key: TokenKey, fetch: Fetch, obtained: Callable[[str], None] | None = None) -> str:
        """A fresh token for `key`: local, else shared, else `fetch()`ed (once for all waiters).

        Every token this process starts using, wherever it came from, is registered with the scrubber
        until it expires (`SECRETS.add_issued`), and `obtained(token)` is called with it. Errors of
        `fetch` propagate.
        """
        found = self.fresh(key.id)
        if found is not None:
            return found
        async with self._lock(key.id):
            found = self.fresh(key.id)
            if found is not None:
                return found
            token, ttl = await self._obtain(key, fetch)
            # fresh for `ttl` seconds, valid for at most MAX_EXPIRY_MARGIN_S more (`renew_in`)
            SECRETS.add_issued(token, None if ttl == float("inf") else ttl + MAX_EXPIRY_MARGIN_S)
            if obtained is not None:
                obtained(token)
            self._keep(key.id, token, ttl)
            return token

    async def discard(self, key: TokenKey, rejected: str) -> None:
        """Upstream refused `rejected` (401): forget it here and in the shared store — unless a newer
        token replaced it meanwhile — so the next `get` obtains another."""
        entry = self._entries.get(key.id)
        if entry is not None and entry[0] == rejected:
            del self._entries[key.id]
        store = shared_tokens()
        if store is not None:
            try:
                await store.discard(key, rejected)
            except SharedTokensUnavailable:
                pass

    def _keep(self, key_id: str, token: str, ttl: float) -> None:
        self._entries[key_id] = (token, time.monotonic() + ttl)
        self._entries.move_to_end(key_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def _lock(self, key_id: str) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # an asyncio.Lock belongs to one event loop (a restarted runtime)
            self._locks, self._loop = {}, loop
        lock = self._locks.get(key_id)
        if lock is None:
            if len(self._locks) >= max(self._max_entries, 1):
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[key_id] = asyncio.Lock()
        return lock

    async def _obtain(self, key: TokenKey, fetch: Fetch) -> tuple[str, float]:
        """(token, seconds it stays fresh) from the shared store or the endpoint."""
        store = shared_tokens()
        if store is None:
            return await _fetched(fetch)
        handle: str | None = None
        try:
            found = await store.get(key)
            if found is not None:
                return found
            handle = await store.lock(key, LOCK_TTL)
            deadline = time.monotonic() + LOCK_WAIT
            while handle is None:  # another replica fetches: its token appears in the store
                await asyncio.sleep(LOCK_POLL)
                found = await store.get(key)
                if found is not None:
                    return found
                if time.monotonic() >= deadline:
                    break  # the holder is slow (its lock outlived LOCK_WAIT): fetch ourselves
                handle = await store.lock(key, LOCK_TTL)
            if handle is not None:  # another replica may have stored one between our look and our lock
                found = await store.get(key)
                if found is not None:
                    await store.unlock(key, handle)
                    return found
        except SharedTokensUnavailable:
            return await _fetched(fetch)
        try:
            token, ttl = await _fetched(fetch)
            try:
                await store.put(key, token, ttl)
            except SharedTokensUnavailable:
                pass  # kept locally; other replicas fetch their own until the store is back
            return token, ttl
        finally:
            if handle is not None:
                try:
                    await store.unlock(key, handle)
                except SharedTokensUnavailable:
                    pass  # it expires after LOCK_TTL


async def _fetched(fetch: Fetch) -> tuple[str, float]:
    token, lifetime = await fetch()
    return token, renew_in(lifetime)
