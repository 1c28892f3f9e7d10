"""The HTTP client of a `url:` source: its headers, and its credentials applied below the client.

The SDK's streamable HTTP transport takes an `httpx2.AsyncClient`. Credentials (the manifest's
`auth`, shared with OpenAPI sources through `credentials_for`) are stamped in a wrapping transport,
so the request objects httpx2 logs or attaches to errors never hold a secret. The flow — stamp, send,
on 401 renew and resend once — and the token request's limits are the HTTP executor's
(`mcprt.outbound.authorize`).
"""

from __future__ import annotations

import httpx
import httpx2

from ...manifest.model import UrlSource
from ... import __version__
from ...outbound.authorize import send_authorized, token_sender
from ...outbound.credentials import Credentials, Stamp, credentials_for, stamp_into

CONNECT_TIMEOUT = 30.0
STREAM_READ_TIMEOUT = 300.0  # the server may hold an SSE stream open for a long time


class HttpStatus:
    """The last HTTP error status the server answered (the SDK reports it only as a generic error)."""

    def __init__(self) -> None:
        self.last_error: int | None = None


class _UpstreamTransport(httpx2.AsyncBaseTransport):
    """Stamps credentials (if any) on a copy of each request and notes error statuses."""

    def __init__(
        self, inner: httpx2.AsyncBaseTransport, credentials: Credentials | None, status: HttpStatus,
        token_seconds: float,
    ) -> None:
        """`token_seconds`: time allowed for one OAuth2 token request (the source's `startup_timeout`)."""
        self._inner = inner
        self._credentials = credentials
        self._status = status
        self._token_http: httpx.AsyncClient | None = None
        self._send_token = token_sender(self._token_client, lambda: token_seconds, f"mcprt/{__version__}")

    def _token_client(self) -> httpx.AsyncClient:
        if self._token_http is None:
            self._token_http = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        return self._token_http

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        async def attempt(stamp: Stamp | None, resend: bool) -> httpx2.Response:
            return await self._inner.handle_async_request(request if stamp is None else _stamped(request, stamp))

        async def release(response: httpx2.Response) -> None:
            await response.aclose()

        response = await send_authorized(
            self._credentials, self._send_token, attempt, lambda got: got.status_code, release=release
        )
        if response.status_code >= 400 and request.method != "DELETE":
            self._status.last_error = response.status_code
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
        if self._token_http is not None:
            await self._token_http.aclose()


def _stamped(request: httpx2.Request, stamp: Stamp) -> httpx2.Request:
    headers = request.headers.copy()
    url = stamp_into(str(request.url), headers, stamp)
    return httpx2.Request(request.method, url, headers=headers, stream=request.stream, extensions=request.extensions)


def make_http_client(config: UrlSource, status: HttpStatus) -> httpx2.AsyncClient:
    """A client for one remote MCP server: fixed headers, credentials, MCP-friendly timeouts."""
    inner = httpx2.AsyncHTTPTransport(retries=0)
    return httpx2.AsyncClient(
        transport=_UpstreamTransport(inner, credentials_for(config.auth), status, float(config.startup_timeout)),
        headers=dict(config.headers),
        timeout=httpx2.Timeout(CONNECT_TIMEOUT, read=STREAM_READ_TIMEOUT),
        follow_redirects=False,
        trust_env=False,
    )
