"""Per-user upstream tokens by OAuth 2.0 Token Exchange (RFC 8693).

The caller's validated access token (the principal's `subject_token`) is sent to the configured
token endpoint as `subject_token`; the token it issues — for the upstream's audience — is what goes
upstream. Exchanged tokens are cached per subject token until shortly before they expire (in this
process, and in the replicas' shared store when one is installed: `token_cache`), with one exchange
at a time per subject token. The caller's own token is never put on an upstream request. Each exchanged
token is registered with the scrubber for its life by the cache (`token_cache`), as every obtained token is.
"""

from __future__ import annotations

from urllib.parse import urlencode

import httpx

from ..errors import ToolCallError
from ..identity.principal import Principal, SubjectToken
from ..manifest.model import TokenExchange
from .oauth2 import TokenSender, basic_credentials, parse_token_response
from .token_cache import TokenCache, TokenKeys

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"  # RFC 8693 §2.1
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # RFC 8693 §3
MAX_SUBJECTS = 10_000


class ExchangedTokens:
    """Hands out the upstream token of a principal, exchanging the principal's token when needed."""

    def __init__(self, config: TokenExchange) -> None:
        self._config = config
        self._secret = config.client_secret.get_secret_value()
        # The key names the subject token by its hash, the requested token type among the rest.
        self._keys = TokenKeys(f"{GRANT_TYPE} {config.requested_token_type}", config.token_url, config.client_id,
                               self._secret, tuple(config.scopes), config.audience, config.resource)
        self._cache = TokenCache(MAX_SUBJECTS)
        self.exchanges = 0  # token requests made (observable for tests and metrics)

    def secrets(self) -> list[str]:
        return [self._secret, basic_credentials(self._config.client_id, self._secret), *self._cache.tokens()]

    async def token(self, principal: Principal | None, send: TokenSender) -> str:
        """The upstream token for `principal` (cached, or exchanged now); ToolCallError when the caller
        has no OAuth token to exchange (static token, stdio, a CLI call)."""
        subject_token = self.subject_token_of(principal).reveal()
        key = self._keys.key(subject_token)
        return await self._cache.get(key, lambda: self._exchange(subject_token, send))

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
        """Upstream refused `rejected` (401): forget it — here and in the shared store — so the next
        stamp exchanges again."""
        if principal is None or principal.subject_token is None:
            return
        await self._cache.discard(self._keys.key(principal.subject_token.reveal()), rejected)

    async def _exchange(self, subject_token: str, send: TokenSender) -> tuple[str, float | None]:
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
        return token, lifetime

