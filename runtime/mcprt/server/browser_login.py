"""Sign-in cookies for the operator pages (`/status…`, `/policy…`) a browser opens.

A browser cannot send `Authorization: Bearer`, so it posts a configured token once (`/status/login`)
and gets a cookie. The cookie is *stateless and signed*: `<name>.<expiry>.<mac>`, where `name` is the
principal the token identifies (base64url), `expiry` Unix seconds, and `mac` an HMAC-SHA256 over both
with a key derived from the configured inbound tokens. So:

- every replica that serves the same tokens accepts a cookie issued by any other (no affinity, no
  shared store — a browser behind a round-robin balancer stays signed in);
- the cookie never holds a token, and rotating the tokens signs every browser out;
- a cookie names a principal that must still be configured, or it is refused.

The guard (`server/guard.py`) attaches the cookie's principal on the operator paths only; the MCP
endpoint never accepts a cookie. The cookie is `HttpOnly; SameSite=Strict`, and a cookie-authenticated
request that changes state must carry an allowed `Origin` (cross-site form posts are refused twice).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable

from ..identity.principal import Principal

COOKIE = "mcprt_status"
COOKIE_SECONDS = 12 * 3600  # one working day, then sign in again
PATHS = ("/status", "/policy")  # where a sign-in cookie stands in for a bearer token


class BrowserLogins:
    """Issues and checks sign-in cookies for one set of configured tokens.

    `tokens`: `(token bytes, principal name)` pairs, as in `GuardPolicy.tokens`. With no tokens
    there is nothing to sign in to: `issue` refuses and `principal` returns None.
    """

    def __init__(self, tokens: Iterable[tuple[bytes, str]]) -> None:
        pairs = sorted(tokens)
        self._names = frozenset(name for _, name in pairs)
        digest = hashlib.sha256(b"mcprt browser sign-in\0")
        for token, name in pairs:
            digest.update(len(token).to_bytes(4, "big") + token + b"\0" + name.encode())
        self._key = digest.digest() if pairs else b""

    def issue(self, name: str, *, now: float | None = None) -> str:
        """A cookie value admitting principal `name` for `COOKIE_SECONDS`. ValueError for an unknown name."""
        if not self._key or name not in self._names:
            raise ValueError(f"{name!r} is not a configured principal")
        expiry = int((time.time() if now is None else now) + COOKIE_SECONDS)
        body = f"{_b64(name.encode())}.{expiry}"
        return f"{body}.{self._mac(body)}"

    def principal(self, value: str | None, *, now: float | None = None) -> Principal | None:
        """The principal a cookie value admits, or None (absent, malformed, forged, expired, unknown)."""
        if not value or not self._key or value.count(".") != 2:
            return None
        encoded, expiry, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac(f"{encoded}.{expiry}")):
            return None
        if not expiry.isdigit() or int(expiry) < (time.time() if now is None else now):
            return None
        try:
            name = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return Principal(name, "token") if name in self._names else None

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
