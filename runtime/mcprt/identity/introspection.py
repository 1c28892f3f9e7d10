"""RFC 7662 token introspection for opaque access tokens.

mcprt authenticates to the endpoint with HTTP basic (RFC 7662 §2.1 requires the caller to be
authorized; basic is the method every server supports, RFC 6749 §2.3.1). An `active: true` answer
is reused for `cache` seconds (never past the token's `exp`), keyed by a hash of the token so the
cache never holds the token itself.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

from ..manifest.model import TokenIntrospection
from .discovery import FETCH_TIMEOUT_S, KeysUnavailable
from .tokens import TokenRejected

if TYPE_CHECKING:
    import httpx

MAX_CACHED = 10_000


class Introspector:
    """Asks the authorization server whether an opaque token is active, and what it carries."""

    def __init__(self, config: TokenIntrospection) -> None:
        self._config = config
        pair = f"{quote_plus(config.client_id)}:{quote_plus(config.client_secret.get_secret_value())}"
        self._basic = base64.b64encode(pair.encode()).decode("ascii")
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}  # sha256(token) → (valid until, claims)
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self.requests = 0

    async def introspect(self, token: str) -> dict[str, Any]:
        """The introspection answer of an active token; TokenRejected when it is not active."""
        import httpx

        digest = hashlib.sha256(token.encode()).hexdigest()
        cached = self._cache.get(digest)
        if cached is not None and time.time() < cached[0]:
            return cached[1]
        try:
            response = await self._http().post(
                self._config.url,
                data={"token": token, "token_type_hint": "access_token"},
                headers={"Authorization": f"Basic {self._basic}", "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise KeysUnavailable(f"cannot reach the introspection endpoint: {type(exc).__name__}") from None
        self.requests += 1
        if response.status_code != 200:
            raise KeysUnavailable(f"the introspection endpoint answered HTTP {response.status_code}")
        try:
            answer = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            raise KeysUnavailable("the introspection endpoint did not answer with JSON") from None
        if not isinstance(answer, dict) or answer.get("active") is not True:
            raise TokenRejected("the token is not active")
        self._remember(digest, answer)
        return answer

    def _remember(self, digest: str, answer: dict[str, Any]) -> None:
        lifetime = float(self._config.cache)
        exp = answer.get("exp")
        until = time.time() + lifetime
        if isinstance(exp, (int, float)):
            until = min(until, float(exp))
        if lifetime <= 0:
            return
        if len(self._cache) >= MAX_CACHED:  # drop the expired ones, then the oldest
            now = time.time()
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            while len(self._cache) >= MAX_CACHED:
                self._cache.pop(next(iter(self._cache)))
        self._cache[digest] = (until, answer)

    def _http(self) -> httpx.AsyncClient:
        import httpx

        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client, self._client_loop = httpx.AsyncClient(timeout=FETCH_TIMEOUT_S), loop
        return self._client
