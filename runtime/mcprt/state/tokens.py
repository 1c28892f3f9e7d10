"""The upstream OAuth token cache shared by replicas, in Redis (`outbound.token_cache.SharedTokenStore`).

Keys: `<prefix>oauth-token:<key id>` holds the token, `<prefix>oauth-token-lock:<key id>` the fetch
lock (SET NX PX, released by compare-and-delete). A key id is a hash of the credential's public parts
(`outbound.token_cache.TokenKey`): never a secret or a token.

Values are sealed: `<fingerprint>.<JWE>` — the fingerprint is the first 128 bits of the token's
SHA-256 (so a 401 can remove exactly the token it refused), the JWE (RFC 7516 compact, `dir` +
`A256GCM`, joserfc) encrypts the token under the key's seal, which derives from the client secret
(and, for an exchanged token, the caller's token). A reader of Redis without the manifest's secrets
cannot use the tokens; Redis must still be trusted and ACL'd (it also holds sessions and approvals).

Entries expire with Redis's own clock (PX), so replicas' clocks never need to agree. When Redis does
not answer, every method raises `SharedTokensUnavailable` (the cache then fetches locally); the first
failure is logged once, and the store is not asked again for `RETRY_AFTER` seconds, so a Redis outage
costs a token miss no more than one bounded attempt.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..observability.log import Outage
from ..outbound.token_cache import SharedTokensUnavailable, TokenKey
from .redis_client import is_redis_error

if TYPE_CHECKING:
    from redis.asyncio import Redis

MAX_TTL = 86_400.0  # seconds a token without expires_in stays shared (it is renewed from its endpoint after)
RETRY_AFTER = 5.0  # seconds the store is skipped after a failure
SEAL_HEADER = {"alg": "dir", "enc": "A256GCM"}

# Delete KEYS[1] only if its value starts with ARGV[1] (a token's fingerprint, or a lock's handle).
_DELETE_IF_PREFIX = """
local value = redis.call('GET', KEYS[1])
if value and string.sub(value, 1, string.len(ARGV[1])) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisTokenStore:
    """Shared OAuth tokens in Redis under `prefix` (`mcprt:<server name>:`)."""

    def __init__(self, client: Redis, *, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._delete_if_prefix = client.register_script(_DELETE_IF_PREFIX)
        self._skip_until = 0.0  # time.monotonic() before which Redis is not asked (after a failure)
        self._outage = Outage("shared token cache unavailable; this replica fetches its own upstream tokens "
                              "meanwhile", "shared token cache available again")

    def token_key(self, key: TokenKey) -> str:
        return f"{self._prefix}oauth-token:{key.id}"

    def lock_key(self, key: TokenKey) -> str:
        return f"{self._prefix}oauth-token-lock:{key.id}"

    async def get(self, key: TokenKey) -> tuple[str, float] | None:
        async def look() -> tuple[bytes | None, int]:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.get(self.token_key(key))
                pipe.pttl(self.token_key(key))
                raw, pttl = await pipe.execute()
            return raw, pttl

        raw, pttl = await self._call(look)
        if raw is None or pttl == -2:
            return None
        token = _unseal(raw, key)
        if token is None:
            return None
        return token, (pttl / 1000 if pttl >= 0 else MAX_TTL)

    async def put(self, key: TokenKey, token: str, ttl: float) -> None:
        px = int(min(ttl, MAX_TTL) * 1000) if math.isfinite(ttl) else int(MAX_TTL * 1000)
        if px < 1:
            return  # already due for renewal: not worth sharing
        sealed = _seal(token, key)
        await self._call(lambda: self._client.set(self.token_key(key), sealed, px=px))

    async def discard(self, key: TokenKey, token: str) -> None:
        await self._call(lambda: self._delete_if_prefix(keys=[self.token_key(key)], args=[_fingerprint(token) + "."]))

    async def lock(self, key: TokenKey, ttl: float) -> str | None:
        handle = secrets.token_hex(16)
        px = max(1, int(ttl * 1000))
        taken = await self._call(lambda: self._client.set(self.lock_key(key), handle, nx=True, px=px))
        return handle if taken else None

    async def unlock(self, key: TokenKey, handle: str) -> None:
        await self._call(lambda: self._delete_if_prefix(keys=[self.lock_key(key)], args=[handle]))

    async def _call(self, operation: Callable[[], Awaitable[Any]]) -> Any:
        """Run one Redis operation; a backend fault becomes SharedTokensUnavailable (logged once)."""
        if time.monotonic() < self._skip_until:
            raise SharedTokensUnavailable("shared token cache skipped after a failure")
        try:
            result = await operation()
        except Exception as exc:
            if not is_redis_error(exc):
                raise
            self._skip_until = time.monotonic() + RETRY_AFTER
            self._outage.failed(error=type(exc).__name__)
            raise SharedTokensUnavailable(str(exc)) from None
        self._outage.worked()
        return result


def _fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def _seal(token: str, key: TokenKey) -> str:
    from joserfc import jwe
    from joserfc.jwk import OctKey

    return f"{_fingerprint(token)}.{jwe.encrypt_compact(SEAL_HEADER, token.encode(), OctKey.import_key(key.seal))}"


def _unseal(raw: bytes, key: TokenKey) -> str | None:
    """The token in `raw`, or None when it does not open with this key (sealed under another client
    secret — a replica mid-rotation — or not ours)."""
    from joserfc import jwe
    from joserfc.errors import JoseError
    from joserfc.jwk import OctKey

    try:
        fingerprint, _, sealed = raw.decode("ascii").partition(".")
        token = jwe.decrypt_compact(sealed, OctKey.import_key(key.seal)).plaintext
    except (JoseError, ValueError, UnicodeDecodeError):
        return None
    if token is None or _fingerprint(token.decode()) != fingerprint:
        return None
    return token.decode()
