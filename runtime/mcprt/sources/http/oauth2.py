"""OAuth2 client-credentials tokens: fetched once, shared by concurrent callers, renewed on expiry.

The client authenticates to the token endpoint with HTTP basic first (RFC 6749 §2.3.1 makes servers
support it) and falls back to credentials in the form body once if the endpoint rejects that; the
method that worked is remembered.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote_plus, urlencode

import httpx

from ...errors import ToolCallError
from ...scrubbing import SECRETS
from ...manifest.model import OAuth2ClientCredentials
from .redaction import describe_target, scrub

TokenSender = Callable[[httpx.Request], Awaitable[httpx.Response]]

# A token is renewed this long before it expires: a tenth of its life, at most a minute.
MAX_EXPIRY_MARGIN_S = 60.0


class OAuth2TokenSource:
    """Hands out a valid access token; one fetch at a time (an asyncio lock) however many callers."""

    def __init__(self, config: OAuth2ClientCredentials) -> None:
        self._config = config
        self._secret = config.client_secret.get_secret_value()
        SECRETS.add(self._secret, self._basic_value())
        self._token: str | None = None
        self._valid_until = 0.0  # time.monotonic(); inf when the server gave no expires_in
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._use_form = False  # client_secret_post instead of client_secret_basic
        self._issued: list[str] = []  # recent tokens, for scrubbing messages
        self.fetches = 0  # how many token requests were made (observable for tests and metrics)

    def secrets(self) -> list[str]:
        return [self._secret, *self._issued, self._basic_value()]

    async def token(self, send: TokenSender) -> str:
        """A token valid now: the cached one, or a fresh one (fetched once for all waiters)."""
        if self._token is not None and time.monotonic() < self._valid_until:
            return self._token
        async with self._loop_lock():
            if self._token is not None and time.monotonic() < self._valid_until:
                return self._token
            return await self._fetch(send)

    async def renew(self, rejected: str, send: TokenSender) -> str:
        """After upstream refused `rejected` (401): drop it and get another, unless someone already did."""
        async with self._loop_lock():
            if self._token is not None and self._token != rejected and time.monotonic() < self._valid_until:
                return self._token
            self._token = None
            return await self._fetch(send)

    def _loop_lock(self) -> asyncio.Lock:
        # An asyncio.Lock belongs to one event loop; a runtime restarted on a new loop gets a new one.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    async def _fetch(self, send: TokenSender) -> str:
        response = await send(self._token_request())
        if response.status_code in (400, 401) and not self._use_form and _is_client_auth_failure(response):
            self._use_form = True
            response = await send(self._token_request())
        token, lifetime = self._parse(response)
        self.fetches += 1
        self._token = token
        self._issued = [token, *self._issued[:3]]
        SECRETS.add_issued(token)  # an upstream that echoes it must not hand it to the model
        margin = min(MAX_EXPIRY_MARGIN_S, lifetime / 10) if lifetime is not None else 0.0
        self._valid_until = time.monotonic() + lifetime - margin if lifetime is not None else float("inf")
        return token

    def _token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials"}
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
        # RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
        pair = f"{quote_plus(self._config.client_id)}:{quote_plus(self._secret)}"
        return base64.b64encode(pair.encode()).decode("ascii")

    def _parse(self, response: httpx.Response) -> tuple[str, float | None]:
        where = describe_target("POST", self._config.token_url)
        try:
            payload = json.loads(response.content) if response.content else {}
        except (ValueError, UnicodeDecodeError):
            payload = None
        if response.status_code >= 400:
            reason = _oauth_error(payload) or response.reason_phrase
            raise ToolCallError(
                scrub(f"OAuth2 token request failed: {where} answered HTTP {response.status_code} ({reason}); "
                      "check the source's auth.oauth2 settings", self.secrets())
            )
        if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
            raise ToolCallError(f"OAuth2 token endpoint {where} answered without an access_token (not a token response)")
        token_type = str(payload.get("token_type", "bearer")).lower()
        if token_type != "bearer":
            raise ToolCallError(f"OAuth2 token endpoint {where} issued a {token_type!r} token; only bearer is supported")
        return payload["access_token"], _lifetime(payload.get("expires_in"))


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
