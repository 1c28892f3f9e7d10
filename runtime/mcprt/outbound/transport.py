"""The pooled HTTP client of one source, with credentials applied below httpx's client layer.

httpx's client logs every request URL at INFO level and keeps the request object on responses and
exceptions. Applying credentials in a wrapping *transport* means those objects never hold a secret:
the stamped copy exists only for the duration of the send.
"""

from __future__ import annotations

from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from .credentials import STAMP_EXTENSION, Stamp, apply_stamp

# Keep-alive pool per source: enough parallel calls for a busy model, idle sockets closed after 30 s.
POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)


class StampingTransport(httpx.AsyncBaseTransport):
    """Applies the request's credential stamp (if any) just before the inner transport sends it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        stamp = request.extensions.get(STAMP_EXTENSION)
        if isinstance(stamp, Stamp):
            request = apply_stamp(request, stamp)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _refusing_cookie_jar() -> CookieJar:
    # One client serves every caller of a source: a cookie set for one call must never ride along
    # on another's. Cookies a request needs come from its own arguments or credentials.
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def make_client(*, verify: bool) -> httpx.AsyncClient:
    """A pooled client that follows no redirects (the executor does, minding credentials), keeps no
    cookies, and has no default timeout (each request carries its own, from the call deadline)."""
    inner = httpx.AsyncHTTPTransport(verify=verify, limits=POOL_LIMITS, retries=0)
    return httpx.AsyncClient(
        transport=StampingTransport(inner),
        cookies=httpx.Cookies(_refusing_cookie_jar()),
        follow_redirects=False,
        timeout=None,
        trust_env=False,
    )
