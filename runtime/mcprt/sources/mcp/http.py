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

import json
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

import anyio
import httpx
import httpx2

from ...manifest.model import UrlSource
from ... import __version__
from ...outbound.authorize import send_authorized, token_sender
from ...outbound.credentials import Credentials, Stamps, credentials_for, stamp_into
from ...errors import ToolCallError
from .delivery import is_call_request, note_failure, note_sent
from ...outbound.redirects import Hop, address_range, check_addresses, origin_of, peer_address, redirect_ranges

CONNECT_TIMEOUT = 30.0
STREAM_READ_TIMEOUT = 300.0  # the server may hold an SSE stream open for a long time


class HttpStatus:
    """The HTTP error statuses the server answered without a JSON-RPC error body, and whether the server has
    said it no longer knows the connection's session.

    The SDK reports a non-2xx answer without a JSON-RPC body only as a generic error ("Server returned an
    error response"), without the status, and gives no cheap way to tie that stand-in to its HTTP answer
    (it carries no request id we can see), so statuses are claimed in order (`claim`): two concurrent
    503s give both calls 503. Limitation: a stand-in no call claims (the handshake, a listing, the GET
    stream) leaves its status to be claimed by the next call's stand-in; `new_session` at each connect
    bounds that, and it is still a status this server answered."""

    def __init__(self) -> None:
        self.last_error: int | None = None  # the latest, explaining a failed connect (`Connector.explain`)
        self._unclaimed: deque[int] = deque(maxlen=32)
        # Set when a request carrying an `Mcp-Session-Id` is answered 404: the server restarted or ended
        # the session, and the client MUST start a new one (MCP 2025-11-25 basic/transports "Session
        # Management"). The SDK shows that 404 only as the body's JSON-RPC error ("Session not found")
        # or its own "Session terminated"; the status is the one sign every server gives.
        self.session_gone = anyio.Event()
        self._stream_served = False  # a GET stream of this session was answered 2xx

    def new_session(self) -> None:
        """Forget the previous connection's session and statuses: a new one is about to be opened."""
        self.last_error = None
        self._unclaimed.clear()
        self.session_gone = anyio.Event()
        self._stream_served = False

    def note(self, method: str, has_session: bool, status: int, json_rpc_error: bool = False,
             carries_request: bool = True) -> None:
        """Record the status a request of `method` (carrying an `Mcp-Session-Id` or not) was answered;
        `json_rpc_error`: the answer's body is a JSON-RPC error, which the SDK passes on as the server's
        own (no stand-in), so its status is not left for another request to claim; `carries_request`: the
        HTTP request is a POST of a JSON-RPC request, the only kind whose error answer the SDK turns into a
        stand-in for a caller to claim. The optional GET stream (which many servers answer 405, or 403) and a
        POST of a notification or response make none: their status left unclaimed was the next call's, so a
        trial's HTTP 500 on a call read "HTTP 405 Method Not Allowed" (the GET's), depending on timing.

        A 404 means "session gone" for a POST; for the GET stream only once a GET of this session was
        served before: some servers answer the stream they do not offer with 404 instead of 405 (MCP
        2025-11-25 basic/transports "Listening for Messages from the Server" says 405), and the SDK opens
        that stream right after `initialized`, so reading that 404 as a lost session would renew forever."""
        if method == "GET" and has_session and 200 <= status < 300:
            self._stream_served = True
        if status < 400 or method == "DELETE":
            return
        if status == 404 and has_session and (method != "GET" or self._stream_served):
            self.session_gone.set()
        if not json_rpc_error and method == "POST" and carries_request:
            self.last_error = status
            self._unclaimed.append(status)

    def claim(self) -> int | None:
        """The oldest status no call has claimed yet (None: none). A later lost connection must not be
        explained by an answer already given to a call, so `last_error` goes too."""
        self.last_error = None
        return self._unclaimed.popleft() if self._unclaimed else None


async def _json_rpc_error_body(response: httpx2.Response) -> bool:
    """Whether an error answer carries a JSON-RPC error: the SDK passes that on as the server's own
    error (no stand-in), so its status must not be noted for another request to claim."""
    if not response.headers.get("content-type", "").lower().startswith("application/json"):
        return False
    try:
        body = json.loads(await response.aread())  # kept: the SDK's own read gets the same bytes
    except (ValueError, httpx2.HTTPError):
        return False
    return isinstance(body, dict) and "error" in body and "jsonrpc" in body


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
        async def attempt(stamp: Stamps | None, resend: bool) -> httpx2.Response:
            return await self._guarded(request if stamp is None else _stamped(request, stamp))

        async def release(response: httpx2.Response) -> None:
            await response.aclose()

        # only the call's own POST tells whether the call left (delivery.py): other requests in its context
        # (a GET resuming its stream, a schema check's tools/list) come after it was delivered
        own = is_call_request(request.method, _body_of(request))
        try:
            response = await send_authorized(
                self._credentials, self._send_token, attempt, lambda got: got.status_code, release=release
            )
        except httpx2.TransportError as exc:
            if own:
                note_failure(exc)
            raise
        if own:
            note_sent()
        error = response.status_code >= 400 and request.method != "DELETE"
        self._status.note(request.method, "mcp-session-id" in request.headers, response.status_code,
                          error and await _json_rpc_error_body(response),
                          error and request.method == "POST" and _is_json_rpc_request(_body_of(request)))
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


def _is_json_rpc_request(body: bytes) -> bool:
    """Whether a POST's `body` is one JSON-RPC request (`method` and `id`): the SDK answers its caller a
    stand-in for an error status (`HttpStatus.note`); a notification or a response has no caller."""
    try:
        message = json.loads(body)
    except ValueError:
        return False
    return isinstance(message, dict) and "method" in message and "id" in message


def _body_of(request: httpx2.Request) -> bytes:
    """The request's body when it is held in memory (the SDK's JSON-RPC POSTs), else b"" (a stream)."""
    try:
        return request.content
    except httpx2.RequestNotRead:
        return b""


def _stamped(request: httpx2.Request, stamp: Stamps) -> httpx2.Request:
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


def make_http_client(config: UrlSource, status: HttpStatus, tls: ssl.SSLContext | None = None) -> httpx2.AsyncClient:
    """A client for one remote MCP server: fixed headers, credentials, MCP-friendly timeouts, and
    redirects held to the outbound guard's address ranges (module docstring). `tls`: the source's `tls:`
    (`sources.tls_setting`), None for the default trust."""
    tls = tls or _trust(config.url)  # made once, for the first hop and every redirect hop
    inner = httpx2.AsyncHTTPTransport(verify=tls, retries=0)
    return httpx2.AsyncClient(
        transport=_UpstreamTransport(inner, credentials_for(config.auth), status, float(config.startup_timeout),
                                     config.url, lambda: httpx2.AsyncHTTPTransport(verify=tls, retries=0)),
        headers=dict(config.headers),
        timeout=httpx2.Timeout(CONNECT_TIMEOUT, read=STREAM_READ_TIMEOUT),
        follow_redirects=False,
        trust_env=False,
    )
