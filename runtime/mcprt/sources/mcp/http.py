"""The HTTP client of a `url:` source: its headers, and its credentials applied below the client.

The SDK's streamable HTTP transport takes an `httpx2.AsyncClient`. Credentials (the manifest's
`auth`, shared with OpenAPI sources through `credentials_for`) are stamped in a wrapping transport,
so the request objects httpx2 logs or attaches to errors never hold a secret. The flow — stamp, send,
on 401 renew and resend once — and the token request's limits are the HTTP executor's
(`mcprt.outbound.authorize`).

Redirects go through the outbound SSRF guard (`mcprt.outbound.redirects`), as OpenAPI upstreams'
do: a request to any origin other than the configured URL's (which only a redirect can cause) may
connect only to public addresses or to the address range the server answered from (the peer of its
last response). Such a request's host is resolved and every address checked before anything connects,
and the request is then sent to a checked address (`_pinned`; each in turn until one connects), so a
second resolution cannot lead elsewhere. Such a hop has a connection of its own (`_send_once`): pooled
connections are keyed by address, and one verified for another name on the same address must never carry
it. Only public httpx2/httpcore API is used (a transport wrapper, the `sni_hostname` request and
`network_stream` response extensions). The SDK (2.3) itself follows a redirect only
within the endpoint's origin; the guard holds whatever an SDK version or a caller of this client
follows.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator, Callable

import anyio
import httpx
import httpx2

from ...manifest.model import UrlSource
from ... import __version__
from ...outbound.authorize import send_authorized, token_sender
from ...outbound.credentials import Credentials, Stamp, credentials_for, stamp_into
from ...errors import ToolCallError
from ...outbound.redirects import Hop, address_range, check_addresses, origin_of, peer_address, redirect_ranges

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
        token_seconds: float, url: str, hop_transport: Callable[[], httpx2.AsyncBaseTransport],
    ) -> None:
        """`token_seconds`: time allowed for one OAuth2 token request (the source's `startup_timeout`);
        `url`: the server's endpoint, whose origin any address may serve (it is the one configured);
        `hop_transport`: a new transport for one request to another origin (closed with its response)."""
        self._inner = inner
        self._hop_transport = hop_transport
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
        if origin_of(str(request.url)) != self._origin:  # only a redirect leads here: held to the ranges
            return await _pinned(request, redirect_ranges(self._origin_range), self._hop_transport)
        response = await self._inner.handle_async_request(request)
        peer = peer_address(response)
        if peer is not None:  # the range the configured origin answers from: what redirects may reach too
            self._origin_range = address_range(peer)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
        if self._token_http is not None:
            await self._token_http.aclose()


def _stamped(request: httpx2.Request, stamp: Stamp) -> httpx2.Request:
    headers = request.headers.copy()
    url = stamp_into(str(request.url), headers, stamp)
    return httpx2.Request(request.method, url, headers=headers, stream=request.stream, extensions=request.extensions)


async def _pinned(request: httpx2.Request, allowed: frozenset[str],
                  transport: Callable[[], httpx2.AsyncBaseTransport]) -> httpx2.Response:
    """`request` sent to an address its host resolves to, once every such address is checked against
    `allowed` (redirects.py): the URL names that address (so the connection cannot reach another one,
    whatever a second resolution would say), the `Host` header and the TLS server name (httpcore's
    `sni_hostname` extension) the host, so the server and its certificate are checked as for the name.
    The addresses are tried in the resolver's order until one connects (all were checked), within one
    connect timeout (the request's `timeout` extension, seconds) for them all: each attempt gets
    `left / addresses_remaining` of it, the last all that is left.

    Raises httpx2.ConnectError (what the SDK reports for a connection it cannot make) when the name does
    not resolve or an address is outside `allowed`; the last address's connect error when none connects."""
    host = request.url.host
    port = origin_of(str(request.url))[2]
    try:
        addresses = list(dict.fromkeys(str(info[4][0]) for info in await anyio.getaddrinfo(host, port)))
    except OSError as exc:
        raise httpx2.ConnectError(str(exc), request=request) from exc
    with Hop(allowed):
        try:
            check_addresses(host, addresses)
        except ToolCallError as exc:
            raise httpx2.ConnectError(str(exc), request=request) from None
    extensions = dict(request.extensions)
    if request.url.scheme == "https":
        extensions["sni_hostname"] = host
    # One connect timeout for all the addresses together, as for a connection to one: a dead target with N
    # addresses cost N × the timeout. Each attempt gets an equal share of what is left (the last all of it),
    # so a first address that hangs (dual-stack with IPv6 blackholed) cannot use it up before a live one.
    timeouts = dict(extensions.get("timeout") or {})
    budget = timeouts.get("connect")
    deadline = None if budget is None else time.monotonic() + budget
    failure: httpx2.TransportError | None = None
    tried = 0
    for address in addresses:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            extensions["timeout"] = {**timeouts, "connect": left / (len(addresses) - tried)}
        hop = httpx2.Request(request.method, request.url.copy_with(host=address), headers=request.headers,
                             stream=request.stream, extensions=dict(extensions))
        tried += 1
        try:
            return await _send_once(hop, transport())
        except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:  # nothing was sent: the next address
            failure = exc
    if deadline is not None and (tried < len(addresses) or isinstance(failure, httpx2.ConnectTimeout)):
        raise httpx2.ConnectTimeout(f"no address of {host} connected within the {budget:g} s connect timeout "
                                    f"({tried} of {len(addresses)} tried)", request=request) from failure
    assert failure is not None  # getaddrinfo gives at least one address or raises
    raise failure


async def _send_once(request: httpx2.Request, transport: httpx2.AsyncBaseTransport) -> httpx2.Response:
    """`request` on `transport`, which is closed with the response (or at once when sending fails): the
    connection serves this request only, so no later request for another name can reuse it."""
    try:
        response = await transport.handle_async_request(request)
    except BaseException:
        await transport.aclose()
        raise
    return httpx2.Response(response.status_code, headers=response.headers, extensions=response.extensions,
                           stream=_ClosingStream(response.stream, transport))


class _ClosingStream(httpx2.AsyncByteStream):
    """A response body that closes its one-request transport when it is closed."""

    def __init__(self, stream: httpx2.AsyncByteStream, transport: httpx2.AsyncBaseTransport) -> None:
        self._stream = stream
        self._transport = transport

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            await self._transport.aclose()


def _trust(url: str) -> ssl.SSLContext:
    """The default trust (outbound/tls.py: SSL_CERT_FILE / SSL_CERT_DIR, else certifi). TrustStoreError, naming
    the variable, when the environment's store cannot be loaded for an https server; for a plain-http one
    that store is not needed, so a context trusting no CA stands in: an https redirect hop then fails
    verification rather than being trusted without the store the user chose."""
    from ...outbound.tls import TrustStoreError, client_context

    try:
        return client_context()
    except TrustStoreError:
        if url.lower().startswith("https://"):
            raise
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, trusts nothing


def make_http_client(config: UrlSource, status: HttpStatus) -> httpx2.AsyncClient:
    """A client for one remote MCP server: fixed headers, credentials, MCP-friendly timeouts, and
    redirects held to the outbound guard's address ranges (module docstring)."""
    tls = _trust(config.url)  # made once, for the first hop and every redirect hop
    inner = httpx2.AsyncHTTPTransport(verify=tls, retries=0)
    return httpx2.AsyncClient(
        transport=_UpstreamTransport(inner, credentials_for(config.auth), status, float(config.startup_timeout),
                                     config.url, lambda: httpx2.AsyncHTTPTransport(verify=tls, retries=0)),
        headers=dict(config.headers),
        timeout=httpx2.Timeout(CONNECT_TIMEOUT, read=STREAM_READ_TIMEOUT),
        follow_redirects=False,
        trust_env=False,
    )
