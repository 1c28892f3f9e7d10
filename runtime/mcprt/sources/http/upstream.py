"""Send a BuiltRequest upstream: credentials, deadline, retries, redirects, capped streaming.

One `HttpUpstream` per source owns one pooled client. A call's whole exchange (token fetch, every
attempt, every redirect hop, backoff waits, reading the body) fits in `ctx.timeout`; the body is read
as a stream and cut at `ctx.max_response_bytes` so a huge response never sits in memory whole.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import httpx

from ... import __version__
from ...errors import ToolCallError, UpstreamError
from ...scrubbing import SECRETS
from ...manifest.model import OutboundAuth
from ...toolset.operation import CallContext, UpstreamResult
from .body import ACCEPT_ENCODING, read_capped
from .capture import Exchange, capture_sink
from .credentials import STAMP_EXTENSION, Credentials, Stamp, credentials_for, without_query_param
from .decoding import decode_body
from .failures import describe_transport_error
from .oauth2 import TokenSender
from .redaction import describe_target, is_sensitive_name, redact_headers, redact_url, scrub
from .redirects import MAX_REDIRECTS, REDIRECT_STATUSES, origin_of, redirected_method, resolve_location
from .request import BuiltRequest
from .retry import RETRYABLE_STATUSES, backoff_delay, fits_before_deadline, parse_retry_after
from .transport import make_client

DEFAULT_ACCEPT = "application/json, text/plain;q=0.9, */*;q=0.8"
# Set here from the body and cookies of each hop, never taken from configuration or arguments.
_COMPUTED_HEADERS = frozenset({"content-type", "content-length", "transfer-encoding", "cookie", "host"})
TOKEN_RESPONSE_LIMIT = 1_000_000  # an OAuth2 token response is tiny; anything bigger is not one


@dataclass(slots=True)
class _Call:
    """Bookkeeping of one `send`: what the error messages and `meta` report."""

    method: str
    url: str
    timeout: float
    deadline: float  # loop.time()
    attempts: int = 0
    redirects: int = 0
    waiting_for_token: bool = False

    def remaining(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()


@dataclass(slots=True)
class _Received:
    status: int
    headers: httpx.Headers
    data: bytes
    received: int
    truncated: bool
    url: str
    request: httpx.Request  # the last hop as sent (credentials are stamped below it, never in it)

    @classmethod
    async def read(cls, response: httpx.Response, limit: int, method: str, url: str) -> _Received:
        body = await read_capped(response, limit, describe_target(method, url))
        return cls(response.status_code, response.headers, body.data, body.received, body.truncated, url,
                   response.request)


class HttpUpstream:
    """One per source: owns one pooled httpx.AsyncClient, default headers, auth, retry policy."""

    def __init__(
        self,
        *,
        source: str,
        auth: OutboundAuth | None,
        headers: Mapping[str, str],
        retries: int,
        verify: bool = True,
        user_agent: str = f"mcprt/{__version__}",
    ) -> None:
        self.source = source
        self._credentials: Credentials | None = credentials_for(auth)
        self._default_headers = list(headers.items())
        self._retries = max(0, retries)
        self._verify = verify
        self._user_agent = user_agent
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._sensitive_names = self._credentials.sensitive_names if self._credentials else ()
        if self._credentials is not None:
            SECRETS.add(*self._credentials.secrets())
        self._query_key = self._credentials.query_name if self._credentials else None

    # --- public -----------------------------------------------------------------------------------

    def redact_headers(self, headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """`redact_headers` that also knows this source's api-key name."""
        return redact_headers(headers, extra=self._sensitive_names)

    def redact_url(self, url: str) -> str:
        return redact_url(url, extra=self._sensitive_names)

    async def send(self, request: BuiltRequest, ctx: CallContext) -> UpstreamResult:
        """Send `request` with this source's credentials; a failure to get any answer raises ToolCallError.

        An HTTP error status is not an exception: it is an `is_error` result carrying upstream's body.
        """
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        call = _Call(request.method, request.url, ctx.timeout, loop.time() + ctx.timeout)
        try:
            async with asyncio.timeout_at(call.deadline):
                received = await self._send_with_retries(request, ctx, call)
        except (TimeoutError, httpx.TimeoutException):
            raise UpstreamError(self._timeout_message(call)) from None
        except ToolCallError as exc:
            raise UpstreamError(self._scrub(str(exc))) from None
        except httpx.HTTPError as exc:
            target = describe_target(call.method, call.url)
            raise UpstreamError(self._scrub(describe_transport_error(exc, target, call.attempts))) from None
        except UnicodeEncodeError:
            raise UpstreamError(
                f"a header of the request is not ASCII text and cannot be sent ({self._target(call)})"
            ) from None
        except httpx.InvalidURL:
            raise UpstreamError(f"the request URL is not valid ({self._target(call)})") from None
        if SECRETS:  # an upstream that reflects a credential must not hand it on (results, cases)
            received.data = SECRETS.scrub_bytes(received.data)
        sink = capture_sink()
        if sink is not None:  # `mcprt record` only; see capture.py
            sink.append(self._exchange(received))
        result = decode_body(
            received.status,
            received.headers.get("content-type"),
            received.data,
            truncated=received.truncated,
            limit=ctx.max_response_bytes,
        )
        result.raw_bytes = received.received
        result.scrubbed = True
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

    async def aclose(self) -> None:
        """Close the pooled connections (the next `send` opens a new pool)."""
        client, loop = self._client, self._client_loop
        self._client, self._client_loop = None, None
        # A pool made in another (finished) loop cannot be closed from this one; its sockets went with it.
        if client is not None and loop is asyncio.get_running_loop():
            await client.aclose()

    # --- attempts ---------------------------------------------------------------------------------

    async def _send_with_retries(self, request: BuiltRequest, ctx: CallContext, call: _Call) -> _Received:
        retried = 0
        renewed = False
        while True:
            call.attempts += 1
            stamp = await self._stamp(call)
            try:
                received = await self._follow_redirects(request, ctx, call, stamp)
            except httpx.ConnectError:
                # Nothing reached upstream, but only idempotent requests are retried, as promised.
                if not (request.idempotent and retried < self._retries):
                    raise
                wait = backoff_delay(retried)
                if not fits_before_deadline(wait, call.remaining()):
                    raise
                retried += 1
                await self._pause(wait, ctx, call, "could not connect")
                continue
            if received.status == 401 and stamp is not None and self._credentials and self._credentials.renewable:
                if not renewed:
                    # A token revoked or expired early: get a new one and try once more (any method:
                    # a 401 means upstream did not act on the request).
                    renewed = True
                    call.waiting_for_token = True
                    await self._credentials.renew(stamp, self._token_sender(call))
                    call.waiting_for_token = False
                    continue
            if received.status in RETRYABLE_STATUSES and request.idempotent and retried < self._retries:
                retry_after = parse_retry_after(received.headers.get("retry-after"))
                wait = retry_after if retry_after is not None else backoff_delay(retried)
                if fits_before_deadline(wait, call.remaining()):
                    retried += 1
                    await self._pause(wait, ctx, call, f"upstream answered {received.status}")
                    continue
            return received

    async def _stamp(self, call: _Call) -> Stamp | None:
        if self._credentials is None:
            return None
        call.waiting_for_token = True
        stamp = await self._credentials.stamp(self._token_sender(call))
        call.waiting_for_token = False
        return stamp

    async def _pause(self, wait: float, ctx: CallContext, call: _Call, why: str) -> None:
        if ctx.progress is not None:
            try:
                await ctx.progress(float(call.attempts), float(self._retries + 1), f"{why}; retrying in {wait:.1f}s")
            except Exception:  # a broken progress channel must not fail the call itself
                pass
        await asyncio.sleep(wait)

    # --- one attempt ------------------------------------------------------------------------------

    async def _follow_redirects(
        self, request: BuiltRequest, ctx: CallContext, call: _Call, stamp: Stamp | None
    ) -> _Received:
        origin = origin_of(request.url)
        method, url, body = request.method, request.url, request.body
        for hop in range(MAX_REDIRECTS + 1):
            trusted = origin_of(url) == origin
            response = await self._http().send(
                self._build(request, method, url, body, trusted, stamp, call), stream=True
            )
            location = response.headers.get("location")
            if response.status_code in REDIRECT_STATUSES and location is not None:
                await response.aclose()
                if hop == MAX_REDIRECTS:
                    raise ToolCallError(
                        f"upstream redirected more than {MAX_REDIRECTS} times; stopped at "
                        f"{describe_target(method, url)}"
                    )
                url = resolve_location(url, location)
                method, body = redirected_method(response.status_code, method, body)
                call.redirects += 1
                continue
            return await _Received.read(response, ctx.max_response_bytes, method, url)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _build(
        self,
        request: BuiltRequest,
        method: str,
        url: str,
        body: bytes | None,
        trusted: bool,
        stamp: Stamp | None,
        call: _Call,
    ) -> httpx.Request:
        """The httpx request of one hop. On another origin: no credentials, no cookies, no sensitive headers."""
        merged: list[tuple[str, str]] = [
            ("User-Agent", self._user_agent),
            ("Accept", DEFAULT_ACCEPT),
            ("Accept-Encoding", ACCEPT_ENCODING),
        ]
        for layer in (self._default_headers, request.headers):
            kept = [(n, v) for n, v in layer if trusted or not is_sensitive_name(n, self._sensitive_names)]
            overridden = {n.lower() for n, _ in kept}  # a later layer replaces a name, it does not add to it
            merged = [(n, v) for n, v in merged if n.lower() not in overridden] + kept
        merged = [(n, v) for n, v in merged if n.lower() not in _COMPUTED_HEADERS]
        if body is not None and request.content_type:
            merged.append(("Content-Type", request.content_type))
        if trusted and request.cookies:
            merged.append(("Cookie", "; ".join(f"{name}={value}" for name, value in request.cookies)))
        if not trusted and self._query_key is not None:
            url = without_query_param(url, self._query_key)
        extensions: dict[str, object] = {"timeout": httpx.Timeout(max(call.remaining(), 0.001)).as_dict()}
        if trusted and stamp is not None:
            extensions[STAMP_EXTENSION] = stamp
        return httpx.Request(method, url, headers=merged, content=body, extensions=extensions)

    # --- OAuth2 token requests --------------------------------------------------------------------

    def _token_sender(self, call: _Call) -> TokenSender:
        async def send(token_request: httpx.Request) -> httpx.Response:
            token_request.extensions["timeout"] = httpx.Timeout(max(call.remaining(), 0.001)).as_dict()
            token_request.headers.setdefault("User-Agent", self._user_agent)
            try:
                response = await self._http().send(token_request, stream=True)
                got = await _Received.read(response, TOKEN_RESPONSE_LIMIT, "POST", str(token_request.url))
            except httpx.TimeoutException:
                raise
            except httpx.HTTPError as exc:
                target = describe_target("POST", str(token_request.url))
                raise ToolCallError(f"OAuth2 token request failed: {describe_transport_error(exc, target, 1)}") from None
            return httpx.Response(got.status, headers=got.headers, content=got.data)

        return send

    # --- helpers ----------------------------------------------------------------------------------

    def _exchange(self, received: _Received) -> Exchange:
        sent = received.request
        return Exchange(
            method=sent.method,
            url=SECRETS.scrub_text(self.redact_url(str(sent.url))),
            request_headers=_scrubbed(self.redact_headers(sent.headers.multi_items())),
            request_body=SECRETS.scrub_bytes(sent.content) if sent.content else None,
            status=received.status,
            response_headers=_scrubbed(self.redact_headers(received.headers.multi_items())),
            response_body=received.data,
            truncated=received.truncated,
        )

    def _http(self) -> httpx.AsyncClient:
        """The pooled client, created inside the running loop (a pool belongs to one event loop)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            # A client from a finished loop cannot be closed from this one; its sockets died with it.
            self._client, self._client_loop = make_client(verify=self._verify), loop
        return self._client

    def _timeout_message(self, call: _Call) -> str:
        if call.waiting_for_token and self._credentials is not None:
            return f"the OAuth2 token endpoint did not answer within {call.timeout:g}s (needed for {self._target(call)})"
        tries = f", {call.attempts} attempts" if call.attempts > 1 else ""
        return f"upstream did not answer within {call.timeout:g}s ({self._target(call)}{tries})"

    def _target(self, call: _Call) -> str:
        return describe_target(call.method, call.url)

    def _scrub(self, text: str) -> str:
        return scrub(text, self._credentials.secrets() if self._credentials else ())


def _scrubbed(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, SECRETS.scrub_text(value)) for name, value in headers]


def _advise_retry(result: UpstreamResult, retry_after: str | None, meta: dict[str, object]) -> None:
    """A final 429/503 that says when to come back: put that first, in words, so the model can wait."""
    seconds = parse_retry_after(retry_after)
    if seconds is None:
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
