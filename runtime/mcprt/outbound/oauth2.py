"""OAuth2 client-credentials tokens: fetched once, shared by concurrent callers, renewed on expiry.

The client authenticates to the token endpoint with HTTP basic first (RFC 6749 §2.3.1 makes servers
support it) and falls back to credentials in the form body once if the endpoint rejects that; the
method that worked is remembered. Tokens are cached by `token_cache.TokenCache` (in this process,
and in the replicas' shared store when one is installed).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from urllib.parse import quote_plus, urlencode

import httpx

from ..errors import ToolCallError
from ..manifest.model import OAuth2ClientCredentials
from ..scrubbing import SECRETS
from .redaction import describe_target, scrub
from .token_cache import TokenCache, TokenKeys

TokenSender = Callable[[httpx.Request], Awaitable[httpx.Response]]

GRANT_TYPE = "client_credentials"  # RFC 6749 §4.4.2


class OAuth2TokenSource:
    """Hands out a valid access token; one fetch at a time however many callers (and replicas)."""

    def __init__(self, config: OAuth2ClientCredentials) -> None:
        self._config = config
        self._secret = config.client_secret.get_secret_value()
        SECRETS.add(self._secret, self._basic_value())
        self._key = TokenKeys(GRANT_TYPE, config.token_url, config.client_id, self._secret, tuple(config.scopes),
                              config.audience).key()
        self._cache = TokenCache()
        self._use_form = False  # client_secret_post instead of client_secret_basic
        self._issued: list[str] = []  # recent tokens, for scrubbing messages
        self.fetches = 0  # how many token requests were made (observable for tests and metrics)

    def secrets(self) -> list[str]:
        return [self._secret, *self._issued, self._basic_value()]

    async def token(self, send: TokenSender) -> str:
        """A token valid now: the cached one, or a fresh one (fetched once for all waiters)."""
        return await self._cache.get(self._key, lambda: self._fetch(send), self._obtained)

    async def renew(self, rejected: str, send: TokenSender) -> str:
        """After upstream refused `rejected` (401): drop it — here and in the shared store — and get
        another, unless someone already did."""
        await self._cache.discard(self._key, rejected)
        return await self.token(send)

    def _obtained(self, token: str) -> None:
        # The cache registered it with the scrubber (for its life); kept here too for this source's own
        # error messages (`secrets`).
        if token not in self._issued:
            self._issued = [token, *self._issued[:3]]

    async def _fetch(self, send: TokenSender) -> tuple[str, float | None]:
        response = await send(self._token_request())
        if response.status_code in (400, 401) and not self._use_form and _is_client_auth_failure(response):
            self._use_form = True
            response = await send(self._token_request())
        token, lifetime = self._parse(response)
        self.fetches += 1
        return token, lifetime

    def _token_request(self) -> httpx.Request:
        form = {"grant_type": GRANT_TYPE}
        if self._config.scopes:
            form["scope"] = " ".join(self._config.scopes)
        if self._config.audience:
            form["audience"] = self._config.audience
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        if self._use_form:
            form["client_id"] = self._config.client_id
            form["client_secret"] = self._secret
        else:
            headers["Authorization"] = f"Basic {self._basic_value()}"
        return httpx.Request("POST", self._config.token_url, headers=headers, content=urlencode(form).encode())

    def _basic_value(self) -> str:
        return basic_credentials(self._config.client_id, self._secret)

    def _parse(self, response: httpx.Response) -> tuple[str, float | None]:
        return parse_token_response(response, self._config.token_url, self.secrets(), "auth.oauth2")


def parse_token_response(response: httpx.Response, token_url: str, secrets: list[str],
                         setting: str) -> tuple[str, float | None]:
    """(access_token, lifetime in seconds or None) of a token endpoint's answer (RFC 6749 §5.1/§5.2);
    ToolCallError, scrubbed of `secrets`, for an error answer or anything that is not a bearer token."""
    where = describe_target("POST", token_url)
    try:
        payload = json.loads(response.content) if response.content else {}
    except (ValueError, UnicodeDecodeError):
        payload = None
    if response.status_code >= 400:
        reason = _oauth_error(payload) or response.reason_phrase
        raise ToolCallError(
            scrub(f"OAuth2 token request failed: {where} answered HTTP {response.status_code} ({reason}); "
                  f"check the source's {setting} settings", secrets)
        )
    if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
        raise ToolCallError(f"OAuth2 token endpoint {where} answered without an access_token (not a token response)")
    token_type = str(payload.get("token_type", "bearer")).lower()
    if token_type != "bearer":
        raise ToolCallError(f"OAuth2 token endpoint {where} issued a {token_type!r} token; only bearer is supported")
    return payload["access_token"], _lifetime(payload.get("expires_in"))


def basic_credentials(client_id: str, secret: str) -> str:
    """The `Authorization: Basic` value of a client (RFC 6749 §2.3.1: each part form-encoded first)."""
    return base64.b64encode(f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()).decode("ascii")


def _is_client_auth_failure(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return True
    try:
        payload = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(payload, dict) and payload.get("error") in ("invalid_client", "unauthorized_client")


def _oauth_error(payload: object) -> str | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), str):
        return None
    description = payload.get("error_description")
    text = str(payload["error"]) + (f": {description}" if isinstance(description, str) else "")
    return text[:200]


def _lifetime(expires_in: object) -> float | None:
    try:
        seconds = float(expires_in)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None
