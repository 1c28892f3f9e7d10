"""Send a BuiltRequest upstream: credentials, deadline, retries, redirects, capped streaming.

One `HttpUpstream` per source owns one pooled client (aiohttp; token requests on httpx: see
transport.py). A call's whole exchange (token fetch, every attempt, every redirect hop, backoff waits,
reading the body) fits in `ctx.timeout`; the body is read as a stream and cut at
`ctx.max_response_bytes` so a huge response never sits in memory whole.

Credentials are stamped at send time only, onto a copy of the headers handed to aiohttp: the
request this module keeps (`_Sent`, what the capture hook and error messages see) never holds one.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import aiohttp
import httpx
from multidict import CIMultiDict

from .. import __version__
from ..contracts import CallContext, UpstreamResult
from ..errors import CallTimeout, ToolCallError, UpstreamError
from ..manifest.model import OutboundAuth, auth_entries
from ..observability.hooks import observed_upstream
from ..scrubbing import SECRETS
from .authorize import send_authorized, token_sender
from .body import ACCEPT_ENCODING, read_chunks
from .capture import Exchange, capture_sink
from .credentials import Credentials, Stamps, claim_headers, credentials_for, stamp_into, without_query_param
from .decoding import decode_body
from .failures import describe_client_error, may_have_acted
from .oauth2 import TokenSender
from .redaction import describe_target, is_sensitive_name, redact_headers, redact_url, scrub
from .redirects import (
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    Hop,
    origin_of,
    redirect_ranges,
    redirected_method,
    resolve_location,
)
from .request import BuiltRequest
from .retry import RETRYABLE_STATUSES, backoff_delay, fits_before_deadline, parse_retry_after
from .tls import client_context
from .transport import SourcePool
from .wire import check_headers, wire_url

# One line per request sent, as httpx wrote it before (INFO, outside mcprt's own loggers, so only a
# handler on the root logger shows it): the URL as redacted, never a credential.
_REQUEST_LOG = logging.getLogger("aiohttp.client")
DEFAULT_ACCEPT = "application/json, text/plain;q=0.9, */*;q=0.8"
# The only response headers handed on (`UpstreamResult.headers`): the next page and a created resource's place.
PASSED_HEADERS = ("link", "location")
# Set here from the body and cookies of each hop, never taken from configuration or arguments.
_COMPUTED_HEADERS = frozenset({"content-type", "content-length", "transfer-encoding", "cookie", "host"})


def _field(headers: Mapping[str, str], name: str) -> str | None:
    """A response header's field lines joined with ", " (RFC 9110 §5.3): an API may send `Link` twice
    (RFC 8288 §3), and the next page may be in the second."""
    getall = getattr(headers, "getall", None)  # aiohttp's CIMultiDictProxy; a plain mapping has one line
    lines = getall(name, []) if getall is not None else [v for v in [headers.get(name)] if v is not None]
    return ", ".join(lines) if lines else None


@dataclass(slots=True)
class _Call:
    """Bookkeeping of one `send`: what the error messages and `meta` report."""

    method: str
    url: str
    timeout: float
    deadline: float  # loop.time()
    attempts: int = 0
    redirects: int = 0
    # the hop being sent when it is not the request itself (a redirect's target): what failed is named by it
    hop: tuple[str, str] | None = None  # (method, url)
    waiting_for_token: bool = False
    head_status: int | None = None  # the status of the response whose body is being read, if any
    answers: list[int] = field(default_factory=list)  # the status each attempt that got an answer got, in order
    pausing: bool = False  # waiting before a retry (not sending)
    reached: bool = False  # the hop being sent got a connection: its request may have reached upstream
    trace_headers: tuple[tuple[str, str], ...] = ()  # W3C trace context from an observer, if any

    def remaining(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()


@dataclass(slots=True)
class _Sent:
    """One hop as sent, without credentials (they are stamped onto a copy when it goes out)."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes | None


@dataclass(slots=True)
class _Received:
    status: int
    headers: Mapping[str, str]  # case-insensitive (aiohttp's CIMultiDictProxy)
    data: bytes
    received: int
    truncated: bool
    url: str
    request: _Sent  # the last hop

    @classmethod
    async def read(cls, response: aiohttp.ClientResponse, limit: int, sent: _Sent) -> _Received:
        try:
            body = await read_chunks(response.content.iter_any(), response.headers.getall("Content-Encoding", ()),
                                     limit, describe_target(sent.method, sent.url))
        finally:
            # Back to the pool when the body was read to its end; closed when cut (or failed).
            response.release()
        return cls(response.status, response.headers, body.data, body.received, body.truncated, sent.url, sent)


class HttpUpstream:
    """One per source: owns its pooled clients (`SourcePool`), default headers, auth, retry policy."""

    def __init__(
        self,
        *,
        source: str,
        auth: OutboundAuth | list[OutboundAuth] | None,
        headers: Mapping[str, str],
        retries: int,
        verify: bool = True,
        tls: ssl.SSLContext | None = None,
        user_agent: str = f"mcprt/{__version__}",
    ) -> None:
        self.source = source
        self._credentials: Credentials | None = credentials_for(auth)
        self._forward_claims = {header: claim for _, entry in auth_entries(auth)
                                for header, claim in (entry.forward_claims or {}).items()}
        self._default_headers = list(headers.items())
        self._retries = max(0, retries)
        self._user_agent = user_agent
        # `tls`: the source's trust (outbound/tls.py); None: the environment's or certifi's, made at the
        # first https hop (`_ssl_for`), so a wrong SSL_CERT_FILE never breaks plain-http calls.
        self._verify = verify
        self._tls = tls
        self._pool = SourcePool(verify=verify)
        # Forwarded claims are personal data: redacted in logs and recordings like credentials.
        self._sensitive_names = (*(self._credentials.sensitive_names if self._credentials else ()),
                                 *self._forward_claims)
        if self._credentials is not None:
            SECRETS.add(*self._credentials.secrets())
        self._query_keys = self._credentials.query_names if self._credentials else ()

    # --- public -----------------------------------------------------------------------------------

    def redact_headers(self, headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """`redact_headers` that also knows this source's api-key name."""
        return redact_headers(headers, extra=self._sensitive_names)

    def redact_url(self, url: str) -> str:
        return redact_url(url, extra=self._sensitive_names)

    def is_secret_name(self, name: str) -> bool:
        """Whether a query/header name may carry a credential here (`redact_url`'s rule, this source's api-key name too)."""
        return is_sensitive_name(name, self._sensitive_names)

    async def send(self, request: BuiltRequest, ctx: CallContext) -> UpstreamResult:
        """Send `request` with this source's credentials; a failure to get any answer raises ToolCallError.

        An HTTP error status is not an exception: it is an `is_error` result carrying upstream's body.
        """
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        call = _Call(request.method, request.url, ctx.timeout, loop.time() + ctx.timeout)
        received = await self._exchange_within_deadline(request, ctx, call)
        if SECRETS:  # an upstream that reflects a credential must not hand it on (results, cases)
            received.data = SECRETS.scrub_bytes(received.data)
        result = decode_body(
            received.status,
            received.headers.get("content-type"),
            received.data,
            truncated=received.truncated,
            limit=ctx.max_response_bytes,
        )
        if SECRETS:
            await _scrub_decoded(result, received)
        sink = capture_sink()
        if sink is not None:  # `mcprt record` only; see capture.py
            sink.append(self._exchange(received))
        result.raw_bytes = received.received
        result.scrubbed = True
        result.headers = {name: SECRETS.scrub_text(value) if SECRETS else value
                          for name in PASSED_HEADERS if (value := _field(received.headers, name)) is not None}
        meta: dict[str, object] = {
            "url": self.redact_url(received.url),
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            "attempts": call.attempts,
        }
        if call.redirects:
            meta["redirects"] = call.redirects
        if received.status in RETRYABLE_STATUSES:
            _advise_retry(result, received.headers.get("retry-after"), meta)
        result.meta = meta
        return result

    async def _exchange_within_deadline(self, request: BuiltRequest, ctx: CallContext, call: _Call) -> _Received:
        """Every attempt within the call's deadline; each failure to get an answer is an UpstreamError.

        Per-user credentials that cannot serve this caller refuse the call before anything is sent."""
        claimed = claim_headers(self._forward_claims, ctx.principal) if self._forward_claims and not request.foreign \
            else []
        if self._credentials is not None and request.sends_credentials:
            self._credentials.admit(ctx.principal)
        unreachable = False  # only what says the upstream itself is unreachable marks the source down
        timed_out = False  # the call's own deadline passed (outcome `timeout`: errors.CallTimeout)
        reason: str | None = None  # said on the call's log line (ToolCallError.reason)
        try:
            async with asyncio.timeout_at(call.deadline):
                return await self._send_with_retries(request, ctx, call, claimed)
        except (TimeoutError, httpx.TimeoutException) as exc:  # httpx: a token request's time-out
            # aiohttp's connect time-out is a TimeoutError too; the call's own deadline is not the upstream's fault
            unreachable = isinstance(exc, aiohttp.ConnectionTimeoutError)
            timed_out = not unreachable
            message = self._timeout_message(call)
            if not call.waiting_for_token:
                message += may_have_acted(request.method, request.idempotent, call.reached)
        except ToolCallError as exc:
            message = self._scrub(str(exc))
        except aiohttp.ClientConnectorError as exc:  # never connected: certainly not acted on
            unreachable = call.hop is None  # refused, DNS, no route; a redirect's target is not the source
            message = self._scrub(describe_client_error(exc, self._target(call), call.attempts))
        except aiohttp.ClientError as exc:
            unreachable = isinstance(exc, aiohttp.ClientOSError) and exc.errno == errno.ECONNRESET
            described = describe_client_error(exc, self._target(call), call.attempts)
            message = self._scrub(described) + may_have_acted(request.method, request.idempotent, call.reached)
            # the operator's log line says why too (only the audit record did: a pentest trial's
            # `status=upstream_error` for 500 header fields had no reason even at debug); without the
            # target, whose path may hold an argument's value
            reason = self._scrub(described.rsplit(" (", 1)[0])
        except httpx.InvalidURL:  # a token endpoint's URL
            message = f"the request URL is not valid ({self._target(call)})"
        # Raised outside the handlers, so it has no __context__: aiohttp's exceptions keep the request
        # as sent (`request_info`, credential included) and their tracebacks the frames that built it.
        failed = (CallTimeout if timed_out else UpstreamError)(
            message, unreachable=unreachable, upstream_status=call.answers[-1] if call.answers else None,
            attempts=call.attempts)
        failed.reason = reason
        raise failed

    @property
    def pooled(self) -> bool:
        """Whether this upstream holds an open connection pool (a retired source must not)."""
        return self._pool.open

    async def aclose(self) -> None:
        """Close the pooled connections (the next `send` opens a new pool)."""
        await self._pool.aclose()

    # --- attempts ---------------------------------------------------------------------------------

    async def _send_with_retries(self, request: BuiltRequest, ctx: CallContext, call: _Call,
                                 claimed: list[tuple[str, str]]) -> _Received:
        retried = 0
        while True:
            call.attempts += 1

            async def attempt(stamp: Stamps | None, resend: bool) -> _Received:
                if resend:
                    call.attempts += 1
                return await self._observed_attempt(request, ctx, call, stamp, claimed)

            try:
                received = await send_authorized(
                    self._credentials if request.sends_credentials else None,
                    self._token_sender(call), attempt, lambda got: got.status,
                    waiting_for_token=lambda flag: setattr(call, "waiting_for_token", flag),
                    principal=ctx.principal,
                )
            except aiohttp.ClientConnectorError as exc:
                # Nothing reached upstream, but only idempotent requests are retried, as promised. A failed
                # certificate verification (untrusted, wrong name) would fail the same way again; any other
                # handshake failure (a proxy restarting, a reset) may not.
                if isinstance(exc, aiohttp.ClientConnectorCertificateError) or not (
                        request.idempotent and retried < self._retries):
                    raise
                wait = backoff_delay(retried)
                if not fits_before_deadline(wait, call.remaining()):
                    raise
                retried += 1
                await self._pause(wait, ctx, call, "could not connect")
                continue
            if received.status in RETRYABLE_STATUSES and request.idempotent and retried < self._retries:
                retry_after = parse_retry_after(received.headers.get("retry-after"))
                wait = retry_after if retry_after is not None else backoff_delay(retried)
                if fits_before_deadline(wait, call.remaining()):
                    retried += 1
                    await self._pause(wait, ctx, call, f"upstream answered {received.status}")
                    continue
            return received

    async def _pause(self, wait: float, ctx: CallContext, call: _Call, why: str) -> None:
        call.pausing = True
        try:
            if ctx.progress is not None:
                try:
                    await ctx.progress(float(call.attempts), float(self._retries + 1),
                                       f"{why}; retrying in {wait:.1f}s")
                except Exception:  # a broken progress channel must not fail the call itself
                    pass
            await asyncio.sleep(wait)
        finally:
            call.pausing = False

    # --- one attempt ------------------------------------------------------------------------------

    async def _observed_attempt(self, request: BuiltRequest, ctx: CallContext, call: _Call, stamp: Stamps | None,
                                claimed: list[tuple[str, str]]) -> _Received:
        """One attempt (its redirects followed), watched on its own: each request sent upstream is one
        observation of the upstream duration histogram and one CLIENT span, a retry's carrying
        `http.request.resend_count` (OpenTelemetry HTTP semconv: every resend is its own span), so the
        load a call puts upstream is counted as the upstream saw it."""
        watch = observed_upstream("http", self.source, request.method, lambda: self.redact_url(request.url),
                                  route=request.route, resend_count=call.attempts - 1)
        if watch is None:  # nobody watches: metrics and traces are off
            received = await self._follow_redirects(request, ctx, call, stamp, claimed)
            call.answers.append(received.status)
            return received
        call.trace_headers = tuple(watch.carrier.items())
        try:
            received = await self._follow_redirects(request, ctx, call, stamp, claimed)
        except BaseException as exc:
            # the call's deadline cancels the attempt it cuts short: `timeout`, as OpenTelemetry's `error.type` says it
            deadline = isinstance(exc, asyncio.CancelledError | TimeoutError) and call.remaining() <= 0
            watch.finish(call.head_status, "timeout" if deadline else type(exc).__name__)
            raise
        call.answers.append(received.status)
        watch.finish(received.status, str(received.status) if received.status >= 400 else None)
        return received

    async def _follow_redirects(
        self, request: BuiltRequest, ctx: CallContext, call: _Call, stamp: Stamps | None,
        claimed: list[tuple[str, str]],
    ) -> _Received:
        origin = origin_of(request.url)
        method, url, body = request.method, request.url, request.body
        ranges = redirect_ranges(None)
        for hop in range(MAX_REDIRECTS + 1):
            home = hop == 0 or origin_of(url) == origin
            # an operation on another origin than the source's API is sent as a redirect there would be
            # (its own cookie arguments aside: they are meant for that host)
            trusted = home and not request.foreign
            call.hop = None if hop == 0 else (method, url)
            sent = self._build(request, method, url, body, trusted, call, claimed, cookies=home)
            with Hop(None if home else ranges) as sending:
                try:
                    response = await self._transmit(sent, stamp if trusted else None, call)
                finally:  # `connected` sets the peer before any byte is written: unset, nothing was sent
                    call.reached = sending.peer_range is not None
            if hop == 0:
                ranges = redirect_ranges(sending.peer_range)
            location = response.headers.get("Location")
            if response.status in REDIRECT_STATUSES and not (location or "").strip():
                response.release()
                # RFC 9110 §15.4: these statuses name their target in Location; without one the answer is neither
                # the data nor a way to it (it was passed on as a success, `HTTP 302 Found (empty body)`)
                raise ToolCallError(
                    f"upstream answered HTTP {response.status} {response.reason or ''}".rstrip()
                    + f", a redirect, without a Location header to follow, so there is no answer to use "
                    f"({self._target(call)})")
            if response.status in REDIRECT_STATUSES and location is not None:
                response.release()
                if hop == MAX_REDIRECTS:
                    raise ToolCallError(
                        f"upstream redirected more than {MAX_REDIRECTS} times; stopped at "
                        f"{describe_target(method, url)}"
                    )
                url = resolve_location(url, location)
                method, body = redirected_method(response.status, method, body)
                call.redirects += 1
                continue
            call.head_status = response.status
            received = await _Received.read(response, ctx.max_response_bytes, sent)
            call.head_status = None  # read whole: no body is being read any more
            return received
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _transmit(self, sent: _Sent, stamp: Stamps | None, call: _Call) -> aiohttp.ClientResponse:
        """Send one hop, its credential stamped onto a copy of its headers (never onto `sent`)."""
        call.head_status = None
        headers = CIMultiDict(sent.headers)
        url = sent.url if stamp is None else stamp_into(sent.url, headers, stamp)
        check_headers(headers.items(), lambda: self._target(call))
        response = await self._pool.session().request(
            sent.method, wire_url(url), headers=headers, data=sent.body, allow_redirects=False,
            ssl=self._ssl_for(url),
        )
        if _REQUEST_LOG.isEnabledFor(logging.INFO):
            _REQUEST_LOG.info('HTTP Request: %s %s "HTTP/%s.%s %d %s"', sent.method, self.redact_url(sent.url),
                              *response.version, response.status, response.reason or "")
        return response

    def _ssl_for(self, url: str) -> ssl.SSLContext | bool:
        """The TLS setting of one hop: the source's context for https (made now when the source has no
        `tls:`; TrustStoreError, a ToolCallError, when the environment's store cannot be loaded); True
        (aiohttp's default, unused) for plain http; False when verification is off."""
        if not self._verify:
            return False
        if not url[:8].lower().startswith("https://"):
            return True
        return self._tls or client_context()

    def _build(
        self,
        request: BuiltRequest,
        method: str,
        url: str,
        body: bytes | None,
        trusted: bool,
        call: _Call,
        claimed: Iterable[tuple[str, str]] = (),
        *,
        cookies: bool = False,
    ) -> _Sent:
        """One hop, before credentials. On another origin: no cookies, no sensitive headers (and
        `_follow_redirects` stamps no credentials)."""
        merged: list[tuple[str, str]] = [
            ("User-Agent", self._user_agent),
            ("Accept", DEFAULT_ACCEPT),
            ("Accept-Encoding", ACCEPT_ENCODING),
        ]
        # Claim headers come last so neither the manifest's headers nor the model's arguments can
        # forge them; like credentials, they go only to the request's own origin.
        for layer in (self._default_headers, request.headers, claimed if trusted else ()):
            if not layer:
                continue
            kept = [(n, v) for n, v in layer if trusted or not is_sensitive_name(n, self._sensitive_names)]
            overridden = {n.lower() for n, _ in kept}  # a later layer replaces a name, it does not add to it
            merged = [(n, v) for n, v in merged if n.lower() not in overridden] + kept
        merged = [(n, v) for n, v in merged if n.lower() not in _COMPUTED_HEADERS]
        if body is not None and request.content_type:
            merged.append(("Content-Type", request.content_type))
        if (trusted or cookies) and request.cookies:
            merged.append(("Cookie", "; ".join(f"{name}={value}" for name, value in request.cookies)))
        for key in () if trusted else self._query_keys:
            url = without_query_param(url, key)
        if call.trace_headers:  # W3C trace context names no secret: it may cross origins
            merged += call.trace_headers
        return _Sent(method, url, merged, body)

    # --- OAuth2 token requests --------------------------------------------------------------------

    def _token_sender(self, call: _Call) -> TokenSender:
        return token_sender(self._pool.token_client, call.remaining, self._user_agent)

    # --- helpers ----------------------------------------------------------------------------------

    def _exchange(self, received: _Received) -> Exchange:
        sent = received.request
        return Exchange(
            method=sent.method,
            url=SECRETS.scrub_text(self.redact_url(sent.url)),
            request_headers=_scrubbed(self.redact_headers(_lowered(sent.headers))),
            request_body=SECRETS.scrub_bytes(sent.body) if sent.body else None,
            status=received.status,
            response_headers=_scrubbed(self.redact_headers(_lowered(received.headers.items()))),
            response_body=received.data,
            truncated=received.truncated,
        )

    def _timeout_message(self, call: _Call) -> str:
        if call.waiting_for_token and self._credentials is not None:
            return f"the OAuth2 token endpoint did not answer within {call.timeout:g}s (needed for {self._target(call)})"
        if call.answers:
            # it answered, then the deadline cut the retries short: say what it answered, or the model and the
            # operator read "did not answer" about an upstream that is shedding load (slow 503s)
            cut = "while waiting to retry" if call.pausing else f"during attempt {call.attempts}"
            message = (f"upstream answered {_answers_text(call.answers)}, then the {call.timeout:g}s timeout passed "
                       f"{cut} ({self._target(call)})")
        else:
            tries = f", {call.attempts} attempts" if call.attempts > 1 else ""
            message = f"upstream did not answer within {call.timeout:g}s ({self._target(call)}{tries})"
        if call.head_status is not None:  # a slow upstream and a body that never ends want different fixes
            message += f": it sent HTTP {call.head_status} but not the whole body"
        return message

    def _target(self, call: _Call) -> str:
        """The request a message is about: after a redirect, the hop that failed and where it came from (a
        refused redirect target was reported as the original upstream, which had answered; trial of untidy
        REST APIs, fault 4). Host and path only (`describe_target`): a query may carry secrets."""
        if call.hop is not None:
            return (f"{describe_target(*call.hop)}, reached by a redirect from "
                    f"{describe_target(call.method, call.url)}")
        return describe_target(call.method, call.url)

    def _scrub(self, text: str) -> str:
        return scrub(text, self._credentials.secrets() if self._credentials else ())


def _answers_text(statuses: list[int]) -> str:
    """The statuses attempts got, runs grouped: `HTTP 503 twice`, `HTTP 429, then HTTP 503 3 times`."""
    runs: list[list[int]] = []
    for status in statuses:
        if runs and runs[-1][0] == status:
            runs[-1][1] += 1
        else:
            runs.append([status, 1])
    times = {1: "", 2: " twice"}
    return ", then ".join(f"HTTP {status}{times.get(count, f' {count} times')}" for status, count in runs)


def _lowered(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    # Header names are case-insensitive; recorded cases spell them in lower case (as HTTP/2 does).
    return [(name.lower(), value) for name, value in headers]


# Bodies larger than this are scrubbed after decoding in a worker thread: the canonical write and search of
# `Scrubber.scrub_parsed` take ~3 ms per MB (bench/scrubbing.py), which the event loop should not hold.
DECODED_SCRUB_ON_LOOP_BYTES = 1_000_000


async def _scrub_decoded(result: UpstreamResult, received: _Received) -> None:
    """What the model is sent, scrubbed as decoded: a JSON body's every string (keys and values) and a text
    body as its charset decoded it. The raw bytes' scrub finds a secret only in the forms it lists; an
    encoder may escape any character (`\\u003d` for `=`, Gson's default), and a UTF-16 body's bytes are no
    UTF-8 form at all. When the decoded JSON held one, the recorded body (`mcprt record`) is the scrubbed
    value written again, not the raw bytes that still hold it escaped."""
    def scrub() -> None:
        if result.kind == "json":
            if not _may_hide_a_form(received.data):
                return  # every decoded string is the raw text the byte scrub already searched
            scrubbed = SECRETS.scrub_parsed(result.body)
            if scrubbed is not result.body:
                result.body = scrubbed
                received.data = json.dumps(scrubbed, ensure_ascii=False).encode("utf-8")
        elif result.kind == "text" and isinstance(result.body, str):
            result.body = SECRETS.scrub_text(result.body)

    if len(received.data) > DECODED_SCRUB_ON_LOOP_BYTES:
        await asyncio.to_thread(scrub)
    else:
        scrub()


def _may_hide_a_form(data: bytes) -> bool:
    """Whether a JSON body may spell a secret in a way its raw bytes' scrub did not search: a spelling that is no
    listed form (`Scrubber._json_escaped_forms`: whole encoders' spellings) escapes some character the list writes
    plain, which only `\\uXXXX` or `\\/` can do (`"`, `\\` and control characters have one short escape
    each, which every form uses); and a UTF-16/32 body (RFC 8259 §8.1 lets a parser take one: its first bytes
    hold a NUL) holds no UTF-8 form at all. Measured: the check is a byte search (~10 µs per MB); the decoded
    scrub it saves costs ~3 ms per MB (bench/scrubbing.py). A body that is not UTF-8 was decoded by its declared
    charset (`decoding._json_result`: ISO-8859-1, Shift_JIS, EBCDIC…): its bytes hold no UTF-8 form of a secret its
    decoded strings may hold plain (review of fixh, problem 1) — an ASCII body is UTF-8, and the check of a
    non-ASCII one is a C decode (~1 ms per MB)."""
    if b"\\u" in data or b"\\/" in data or 0 in data[:4]:
        return True
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _scrubbed(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, SECRETS.scrub_text(value)) for name, value in headers]


def _advise_retry(result: UpstreamResult, retry_after: str | None, meta: dict[str, object]) -> None:
    """A final 429/503 that says when to come back: put that first, in words, so the model can wait."""
    seconds = parse_retry_after(retry_after)
    if seconds is None:
        if retry_after is not None and retry_after.strip():
            result.notes.append("the upstream's Retry-After header was neither a number of seconds nor an HTTP "
                                "date (RFC 9110 §10.2.3), so it was ignored")
        return
    meta["retry_after_s"] = round(seconds, 1)
    if result.kind == "json":
        original = json.dumps(result.body, ensure_ascii=False)
    elif result.kind == "text":
        original = result.body
    else:
        original = f"[{len(result.body)} bytes of {result.media_type}]"
    reason = "rate limited (HTTP 429)" if result.status == 429 else "unavailable (HTTP 503)"
    advice = f"upstream is {reason}; retry after {seconds:g}s."
    result.kind = "text"
    result.body = f"{advice}\n\n{original}" if original else advice
    result.is_error = True

