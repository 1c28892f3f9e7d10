"""Messages for transport failures: specific enough for a model (or a person) to act on.

They name the request as `METHOD host/path` and never include header values, query strings or the
text of low-level errors about what *we* sent (h11 quotes offending header values verbatim). The
same failure reads the same whichever client met it: `describe_client_error` for aiohttp (API
calls), `describe_transport_error` for httpx (token requests).
"""

from __future__ import annotations

import socket
import ssl
from typing import TYPE_CHECKING

from ..errors import CHECK_FIRST, MAY_HAVE_ACTED

if TYPE_CHECKING:
    import aiohttp
    import httpx

def may_have_acted(method: str, idempotent: bool, reached: bool) -> str:
    """The sentence to add to a failure of a `method` request that got no answer, when the request
    `reached` a connection to upstream (so it may have been received and acted on) and repeating it
    is not safe (not `idempotent`, RFC 9110 §9.2.2: POST, PATCH); "" otherwise (a refused or timed-out
    connect sent nothing, and an idempotent request may simply be repeated)."""
    if not reached or idempotent:
        return ""
    return (f". {MAY_HAVE_ACTED}: the request was sent, and {method.upper()} is not idempotent, so repeating it "
            f"may do it twice; {CHECK_FIRST} before calling again.")


def _reason_of_connect_error(exc: BaseException) -> str:
    chain = exception_chain(exc)
    text = " ".join(str(e).lower() for e in chain)
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or "certificate" in text:
        return _certificate_failed(next((e for e in chain if isinstance(e, ssl.SSLCertVerificationError)), None))
    if any(isinstance(e, ssl.SSLError) for e in chain) or "ssl" in text or "tls" in text:
        return "TLS handshake failed"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text or (
        "all connection attempts failed" in text
    ):
        return "connection refused"
    if any(isinstance(e, socket.gaierror) for e in chain) or "name or service not known" in text or (
        "nodename nor servname" in text or "getaddrinfo" in text or "temporary failure in name resolution" in text
    ):
        return "host name not found"
    if "reset" in text:
        return "connection reset"
    if "unreachable" in text:
        return "network unreachable"
    return "connection failed"


def describe_transport_error(exc: httpx.HTTPError, target: str, attempts: int) -> str:
    """One line saying what went wrong talking to upstream through httpx, for a ToolCallError."""
    import httpx

    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to upstream: {_reason_of_connect_error(exc)}{tries} ({target})"
    if isinstance(exc, httpx.ProxyError):
        return f"the HTTP proxy refused or failed the request{tries} ({target})"
    if isinstance(exc, httpx.RemoteProtocolError):
        text = str(exc).lower()
        if "location header" in text:
            return f"upstream redirected to an invalid URL; not followed ({target})"
        if "disconnect" in text or "peer closed" in text or "incomplete" in text:
            return f"upstream closed the connection before the response was complete{tries} ({target})"
        if "buffer too long" in text:  # h11: the response head outgrew its 16 KB limit
            return _header_too_long(tries, target)
        return f"upstream sent a malformed HTTP response{tries} ({target})"
    if isinstance(exc, httpx.LocalProtocolError):
        return f"the request could not be sent: a header or the URL is not valid HTTP ({target})"
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.CloseError):
        return _broken(exc, tries, target)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"the URL scheme is not http or https ({target})"
    if isinstance(exc, httpx.DecodingError):
        return f"upstream sent a compressed body that could not be decompressed ({target})"
    return f"the upstream request failed ({type(exc).__name__}){tries} ({target})"


def describe_client_error(exc: aiohttp.ClientError, target: str, attempts: int) -> str:
    """One line saying what went wrong talking to upstream through aiohttp, for a ToolCallError
    (the same words as `describe_transport_error` for the same failure)."""
    import aiohttp
    from aiohttp.http_exceptions import LineTooLong

    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if isinstance(exc, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        return f"the HTTP proxy refused or failed the request{tries} ({target})"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to upstream: {_reason_of_aiohttp_connect_error(exc)}{tries} ({target})"
    if isinstance(exc, aiohttp.NonHttpUrlClientError):
        return f"the URL scheme is not http or https ({target})"
    if isinstance(exc, aiohttp.InvalidURL):
        return f"the request URL is not valid ({target})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"upstream closed the connection before the response was complete{tries} ({target})"
    if isinstance(exc, aiohttp.ClientPayloadError):
        text = " ".join(str(e).lower() for e in exception_chain(exc))
        if "not completed" in text or "contentlength" in text or "content-length" in text or "closed" in text:
            return f"upstream closed the connection before the response was complete{tries} ({target})"
        return f"upstream sent a malformed HTTP response{tries} ({target})"
    if isinstance(exc, aiohttp.ClientOSError):
        return _broken(exc, tries, target)
    if isinstance(exc, aiohttp.ClientResponseError):  # the response head could not be parsed
        if any(isinstance(e, LineTooLong) for e in exception_chain(exc)):
            return _header_too_long(tries, target)
        if any("too many headers" in str(e).lower() for e in exception_chain(exc)):
            from .transport import MAX_HEADER_FIELDS

            return (f"upstream sent too many header fields (limit {MAX_HEADER_FIELDS}); the response was not "
                    f"read{tries} ({target})")
        return f"upstream sent a malformed HTTP response{tries} ({target})"
    return f"the upstream request failed ({type(exc).__name__}){tries} ({target})"


def _header_too_long(tries: str, target: str) -> str:
    """A response header (or head) over the limit both clients apply: a well-formed response this
    runtime refuses, so the message names the limit rather than calling it malformed."""
    from .transport import MAX_HEADER_LINE

    return (f"upstream sent a response header longer than the {MAX_HEADER_LINE // 1024} KB limit "
            f"({MAX_HEADER_LINE:,} bytes); the response was not read{tries} ({target})")


def _reason_of_aiohttp_connect_error(exc: aiohttp.ClientConnectorError) -> str:
    import aiohttp

    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return _certificate_failed(exc.certificate_error)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "host name not found"
    if isinstance(exc, aiohttp.ClientSSLError):
        return _reason_of_connect_error(exc.os_error) if "certificate" in str(exc.os_error).lower() else (
            "TLS handshake failed"
        )
    # Its own text names the TLS setting ("ssl:default"): read only the OS error under it.
    return _reason_of_connect_error(exc.os_error)


def _certificate_failed(error: BaseException | None) -> str:
    """Why the certificate was not trusted (OpenSSL's words, e.g. "self-signed certificate": they name
    no secret) and how to trust a private CA."""
    from .tls import TRUST_HINT

    why = getattr(error, "verify_message", None)
    return f"TLS certificate verification failed{f' ({why})' if why else ''}; {TRUST_HINT}"


def _broken(exc: BaseException, tries: str, target: str) -> str:
    reset = any(isinstance(e, ConnectionResetError) for e in exception_chain(exc)) or (
        "reset" in " ".join(map(str, exception_chain(exc))).lower()
    )
    reason = "connection reset by upstream" if reset else "the connection broke"
    return f"upstream closed the connection unexpectedly ({reason}){tries} ({target})"


def exception_chain(exc: BaseException) -> list[BaseException]:
    """`exc` and the exceptions it was raised from or during (`__cause__`, else `__context__`), outermost
    first: at most 10, each once (a chain may loop). What a transport's connect error says is often deep in
    it (anyio's "All connection attempts failed" wraps the ConnectionRefusedError it met)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
