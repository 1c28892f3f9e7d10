"""The pooled HTTP clients of one source: aiohttp for API calls, httpx for token requests.

The per-call path runs on aiohttp: measured by `bench/http_clients.py`, its client CPU per request
is a fifth to a fifteenth of httpx's (#22). One `SourcePool` per source holds one `ClientSession`
per event loop, made on first use and closed by `aclose` (reload retirement, shutdown).

The session is configured so that aiohttp does as little on its own as the executor needs:
  - no redirects followed (the executor follows them, minding credentials: redirects.py);
  - no decompression (`auto_decompress=False`: body.py inflates with a bounded output, so a gzip
    bomb stays bounded);
  - no cookie jar (`DummyCookieJar`): one session serves every caller of a source, so a cookie set
    for one call must never ride along on another's;
  - no timeouts of its own (each call runs under its deadline, `asyncio.timeout_at`);
  - no environment lookups (`trust_env=False`: no proxy or netrc the manifest did not name); the one
    exception, `SSL_CERT_FILE`/`SSL_CERT_DIR`, is read by tls.py, which makes the TLS contexts (per
    https request for API calls, `HttpUpstream._ssl_for`; the default trust for token requests);
  - a redirect hop to another origin connects only to the address ranges redirects.py allows (the
    connector checks the addresses it resolved, literal IPs and cached names included).

Token requests (OAuth2 client credentials, RFC 8693 token exchange) stay on httpx: they are rare
(tokens are cached), and oauth2.py / token_exchange.py build `httpx.Request`s. Their client is made
only when a source's credentials first need a token.
"""

from __future__ import annotations

import asyncio
from functools import cache
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any

from .tls import client_context

if TYPE_CHECKING:
    import aiohttp
    import httpx

# Keep-alive pool per source: enough parallel calls for a busy model, idle sockets closed after 30 s.
MAX_CONNECTIONS = 100
KEEPALIVE_S = 30.0
# The longest response header line (and header) accepted: h11's limit for a whole response head,
# which httpx applied before, so no upstream that worked then is refused now (aiohttp's default: 8190).
MAX_HEADER_LINE = 16 * 1024
# The most header fields a response may have (aiohttp's default, named so the error can say it: a pentest
# trial's upstream sent 500, valid HTTP, and was told "malformed"); each field costs memory before the body
MAX_HEADER_FIELDS = 128
# Token requests are few: a small pool.
TOKEN_POOL_CONNECTIONS = 10


@cache
def _guarded_connector_class() -> type:
    import aiohttp

    from .redirects import check_addresses, connected

    class GuardedConnector(aiohttp.TCPConnector):
        """aiohttp's connector, minding redirects.py's address ranges: a new connection's resolved
        addresses are checked before connecting (`_resolve_host`: IP literals and the DNS cache
        included), and every connection handed to a request, pooled ones too, by the address its
        socket reached (`connect`), before the request is written."""

        async def _resolve_host(self, host: str, port: int, traces: Any = None) -> Any:
            addresses = await super()._resolve_host(host, port, traces)
            check_addresses(host, [a["host"] for a in addresses])
            return addresses

        async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
            connection = await super().connect(req, traces, timeout)
            transport = connection.transport
            peer = transport.get_extra_info("peername") if transport is not None else None
            if peer:
                try:
                    connected(req.host, str(peer[0]))
                except BaseException:
                    connection.close()
                    raise
            return connection

    return GuardedConnector


def make_session(*, verify: bool) -> aiohttp.ClientSession:
    """A pooled aiohttp session as described in the module docstring (call inside the running loop).
    Each https request passes its own context (`ssl=`, made by tls.py only when a hop is https); the
    connector's default is aiohttp's verifying one, or none when `verify` is False."""
    import aiohttp

    connector = _guarded_connector_class()(
        limit=MAX_CONNECTIONS,
        limit_per_host=0,  # one source usually has one host: the overall limit is the one that matters
        keepalive_timeout=KEEPALIVE_S,
        ssl=verify,
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_connect=None, sock_read=None),
        trust_env=False,
        raise_for_status=False,
        max_line_size=MAX_HEADER_LINE,
        max_field_size=MAX_HEADER_LINE,
        max_headers=MAX_HEADER_FIELDS,
        # A body goes with the Content-Type the request plan gave it, or none (never a guessed one).
        skip_auto_headers=("Content-Type",),
    )


def make_token_client(*, verify: bool) -> httpx.AsyncClient:
    """The httpx client for token requests: no redirects, no cookies, no default timeout (each
    token request carries the call's remaining time), no environment lookups but the trust store.

    Token endpoints keep the default trust (`SSL_CERT_FILE`/`SSL_CERT_DIR`, else certifi: tls.py) and
    get no client certificate: a source's `tls:` is for its API, whose private CA (a cluster's) rarely
    signs the identity provider's certificate. Raises TrustStoreError when the environment's store
    cannot be loaded."""
    import httpx

    limits = httpx.Limits(max_connections=TOKEN_POOL_CONNECTIONS, keepalive_expiry=KEEPALIVE_S)
    return httpx.AsyncClient(
        verify=client_context() if verify else False,
        limits=limits,
        cookies=httpx.Cookies(CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))),  # keeps none
        follow_redirects=False,
        timeout=None,
        trust_env=False,
    )


class SourcePool:
    """The clients of one source, each bound to the event loop that made it.

    A connection pool belongs to one event loop: when a runtime is started again on a new loop
    (tests, `asyncio.run` twice) the old loop's clients are dropped and new ones made.
    """

    def __init__(self, *, verify: bool) -> None:
        self._verify = verify
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: aiohttp.ClientSession | None = None
        self._token_client: httpx.AsyncClient | None = None

    def session(self) -> aiohttp.ClientSession:
        """This loop's aiohttp session (made on first use)."""
        self._follow_loop()
        if self._session is None:
            self._session = make_session(verify=self._verify)
        return self._session

    def token_client(self) -> httpx.AsyncClient:
        """This loop's httpx client for token requests (made on first use)."""
        self._follow_loop()
        if self._token_client is None:
            self._token_client = make_token_client(verify=self._verify)
        return self._token_client

    @property
    def open(self) -> bool:
        """Whether an aiohttp session is held open (False before first use and after `aclose`)."""
        return self._session is not None and not self._session.closed

    async def aclose(self) -> None:
        """Close both pools (the next request opens new ones)."""
        session, token_client, loop = self._session, self._token_client, self._loop
        self._session = self._token_client = self._loop = None
        if loop is not asyncio.get_running_loop():
            _abandon(session)  # made in another (finished) loop: its sockets went with it
            return
        if session is not None:
            await session.close()
        if token_client is not None:
            await token_client.aclose()

    def _follow_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        _abandon(self._session)
        self._session = self._token_client = None
        self._loop = loop


def _abandon(session: aiohttp.ClientSession | None) -> None:
    """Mark a session of a finished loop closed without I/O, so its finalizer does not report an
    "Unclosed client session". aiohttp has no public synchronous close: the connector's `_close`
    is that close's synchronous part, which only flags the pool closed when its loop is gone."""
    if session is None or session.closed or session.connector is None:
        return
    loop = session.connector._loop  # noqa: SLF001 - see the docstring
    if loop.is_closed():
        session.connector._close()  # noqa: SLF001
        session.detach()
