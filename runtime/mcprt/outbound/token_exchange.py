"""Per-user upstream tokens by OAuth 2.0 Token Exchange (RFC 8693).

The caller's validated access token (the principal's `subject_token`) is sent to the configured
token endpoint as `subject_token`; the token it issues — for the upstream's audience — is what goes
upstream. Exchanged tokens are cached per subject until shortly before they expire, with one exchange
at a time per subject. The caller's own token is never put on an upstream request.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from urllib.parse import urlencode

import httpx

from ..errors import ToolCallError
from ..identity.principal import Principal, SubjectToken
from ..manifest.model import TokenExchange
from .oauth2 import TokenSender, basic_credentials, expiry_after, parse_token_response

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"  # RFC 8693 §2.1
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # RFC 8693 §3
MAX_SUBJECTS = 10_000


class ExchangedTokens:
    """Hands out the upstream token of a principal, exchanging the principal's token when needed."""

    def __init__(self, config: TokenExchange) -> None:
        self._config = config
        self._secret = config.client_secret.get_secret_value()
        self._cache: OrderedDict[str, tuple[str, float]] = OrderedDict()  # subject → (token, renew at)
        self._locks: dict[str, asyncio.Lock] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.exchanges = 0  # token requests made (observable for tests and metrics)

    def secrets(self) -> list[str]:
        return [self._secret, basic_credentials(self._config.client_id, self._secret),
                *(token for token, _ in self._cache.values())]

    async def token(self, principal: Principal | None, send: TokenSender) -> str:
        """The upstream token for `principal` (cached, or exchanged now); ToolCallError when the caller
        has no OAuth token to exchange (static token, stdio, a CLI call)."""
        subject_token = self.subject_token_of(principal)
        assert principal is not None
        key = principal.subject
        found = self._fresh(key)
        if found is not None:
            return found
        async with self._lock(key):
            found = self._fresh(key)
            if found is not None:
                return found
            return await self._exchange(key, subject_token.reveal(), send)

    @staticmethod
    def subject_token_of(principal: Principal | None) -> SubjectToken:
        """The caller's token to exchange; ToolCallError for a caller without one."""
        if principal is None or principal.subject_token is None:
            who = "an unidentified caller" if principal is None else f"the {principal.kind} principal '{principal.name}'"
            raise ToolCallError(
                f"this tool needs the caller's OAuth access token (the source uses token_exchange), "
                f"but it was called by {who}"
            )
        return principal.subject_token

    async def renew(self, principal: Principal | None, rejected: str, send: TokenSender) -> None:
        """Upstream refused `rejected` (401): forget it so the next stamp exchanges again."""
        if principal is None:
            return
        cached = self._cache.get(principal.subject)
        if cached is not None and cached[0] == rejected:
            del self._cache[principal.subject]

    def _fresh(self, key: str) -> str | None:
        cached = self._cache.get(key)
        if cached is None or time.monotonic() >= cached[1]:
            return None
        self._cache.move_to_end(key)
        return cached[0]

    def _lock(self, key: str) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # locks belong to one event loop
            self._locks, self._loop = {}, loop
        lock = self._locks.get(key)
        if lock is None:
            if len(self._locks) >= MAX_SUBJECTS:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def _exchange(self, key: str, subject_token: str, send: TokenSender) -> str:
        config = self._config
        form = {
            "grant_type": GRANT_TYPE,
            "subject_token": subject_token,
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "requested_token_type": config.requested_token_type,
        }
        if config.audience:
            form["audience"] = config.audience
        if config.resource:
            form["resource"] = config.resource
        if config.scopes:
            form["scope"] = " ".join(config.scopes)
        request = httpx.Request(
            "POST",
            config.token_url,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
                "Authorization": f"Basic {basic_credentials(config.client_id, self._secret)}",
            },
            content=urlencode(form).encode(),
        )
        response = await send(request)
        token, lifetime = parse_token_response(response, config.token_url, [*self.secrets(), subject_token],
                                               "auth.token_exchange")
        self.exchanges += 1
        self._cache[key] = (token, expiry_after(lifetime))
        self._cache.move_to_end(key)
        while len(self._cache) > MAX_SUBJECTS:
            self._cache.popitem(last=False)
        return token
