"""The HTTP client of a `url:` source: its headers, and its credentials applied below the client.

The SDK's streamable HTTP transport takes an `httpx2.AsyncClient`. Credentials (the manifest's
`auth`, shared with OpenAPI sources through `credentials_for`) are stamped in a wrapping transport,
so the request objects httpx2 logs or attaches to errors never hold a secret. The flow — stamp, send,
on 401 renew and resend once — and the token request's limits are the HTTP executor's
(`mcprt.outbound.authorize`).

Redirects go through the outbound SSRF guard (`mcprt.outbound.redirects`), as OpenAPI upstreams'
do: a request to any origin other than the configured URL's (which only a redirect can cause) may
connect only to public addresses or to the address range the server answered from. The addresses
a name resolves to are checked before connecting, and the socket's peer once connected, before a
byte of the request is written (`_GuardedBackend`). The SDK (2.3) itself follows a redirect only
within the endpoint's origin; the guard holds whatever an SDK version or a caller of this client
follows.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpcore2
import httpx
import httpx2

from ...manifest.model import UrlSource
from ... import __version__
from ...outbound.authorize import send_authorized, token_sender
from ...outbound.credentials import Credentials, Stamp, credentials_for, stamp_into
from ...outbound.redirects import Hop, check_addresses, connected, guarded, origin_of, redirect_ranges

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
        token_seconds: float, url: str,
    ) -> None:
        """`token_seconds`: time allowed for one OAuth2 token request (the source's `startup_timeout`);
        `url`: the server's endpoint, whose origin any address may serve (it is the one configured)."""
        self._inner = inner
        self._origin = origin_of(url)
        self._origin_range: str | None = None  # of the address the configured origin answered from
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
            return await self._guarded(request if stamp is None else _stamped(request, stamp))

        async def release(response: httpx2.Response) -> None:
            await response.aclose()

        response = await send_authorized(
            self._credentials, self._send_token, attempt, lambda got: got.status_code, release=release
        )
        if response.status_code >= 400 and request.method != "DELETE":
            self._status.last_error = response.status_code
        return response

    async def _guarded(self, request: httpx2.Request) -> httpx2.Response:
        own = origin_of(str(request.url)) == self._origin
        with Hop(None if own else redirect_ranges(self._origin_range)) as hop:
            response = await self._inner.handle_async_request(request)
        if own and hop.peer_range is not None:  # a new connection to the configured origin
            self._origin_range = hop.peer_range
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
        if self._token_http is not None:
            await self._token_http.aclose()


def _stamped(request: httpx2.Request, stamp: Stamp) -> httpx2.Request:
    headers = request.headers.copy()
    url = stamp_into(str(request.url), headers, stamp)
    return httpx2.Request(request.method, url, headers=headers, stream=request.stream, extensions=request.extensions)


class _GuardedBackend(httpcore2.AsyncNetworkBackend):
    """httpcore2's network backend, minding the redirect guard's address ranges (redirects.py): on a
    guarded hop the addresses a host resolves to are checked before connecting; on every hop the
    socket's peer is recorded (it sets what later hops may reach) and checked after."""

    def __init__(self, inner: httpcore2.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Any = None) -> httpcore2.AsyncNetworkStream:
        if guarded():  # a redirect off the configured origin: check where the name leads before connecting
            try:
                addresses = [str(info[4][0]) for info in await anyio.getaddrinfo(host, port)]
            except OSError as exc:
                raise httpcore2.ConnectError(str(exc)) from exc
            _refused_as_connect_error(lambda: check_addresses(host, addresses))
        stream = await self._inner.connect_tcp(host, port, timeout=timeout, local_address=local_address,
                                               socket_options=socket_options)
        peer = stream.get_extra_info("server_addr")
        if peer:
            try:
                _refused_as_connect_error(lambda: connected(host, str(peer[0])))
            except BaseException:
                await stream.aclose()
                raise
        return stream

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore2.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _refused_as_connect_error(check: Any) -> None:
    """Run a guard check; its refusal becomes the connect error httpx2 and the SDK report."""
    from ...errors import ToolCallError

    try:
        check()
    except ToolCallError as exc:
        raise httpcore2.ConnectError(str(exc)) from None


def _guarded_transport() -> httpx2.AsyncHTTPTransport:
    """httpx2's transport with `_GuardedBackend` under its connection pool.

    Raises McprtError naming the httpx2 version when its transport lacks the private fields this
    reaches (`_pool`, `_network_backend`): httpx2 takes no network backend; its pool does."""
    transport = httpx2.AsyncHTTPTransport(retries=0)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(backend, httpcore2.AsyncNetworkBackend):
        from ...errors import McprtError

        raise McprtError(
            f"httpx2 {getattr(httpx2, '__version__', '(unknown version)')} is not supported for `url:` sources: "
            "its transport has no connection pool with a network backend to guard (mcprt is tested with httpx2 2.16)"
        )
    pool._network_backend = _GuardedBackend(backend)  # noqa: SLF001
    return transport


def make_http_client(config: UrlSource, status: HttpStatus) -> httpx2.AsyncClient:
    """A client for one remote MCP server: fixed headers, credentials, MCP-friendly timeouts, and
    redirects held to the outbound guard's address ranges (module docstring)."""
    inner = _guarded_transport()
    return httpx2.AsyncClient(
        transport=_UpstreamTransport(inner, credentials_for(config.auth), status, float(config.startup_timeout),
                                     config.url),
        headers=dict(config.headers),
        timeout=httpx2.Timeout(CONNECT_TIMEOUT, read=STREAM_READ_TIMEOUT),
        follow_redirects=False,
        trust_env=False,
    )
