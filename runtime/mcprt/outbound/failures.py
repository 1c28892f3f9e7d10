"""Messages for transport failures: specific enough for a model (or a person) to act on.

They name the request as `METHOD host/path` and never include header values, query strings or the
text of low-level errors about what *we* sent (h11 quotes offending header values verbatim).
"""

from __future__ import annotations

import ssl

import httpx


def _reason_of_connect_error(exc: BaseException) -> str:
    text = " ".join(str(e).lower() for e in _chain(exc))
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in _chain(exc)) or "certificate" in text:
        return "TLS certificate verification failed"
    if any(isinstance(e, ssl.SSLError) for e in _chain(exc)) or "ssl" in text or "tls" in text:
        return "TLS handshake failed"
    if "refused" in text or "all connection attempts failed" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "host name not found"
    if "reset" in text:
        return "connection reset"
    if "unreachable" in text:
        return "network unreachable"
    return "connection failed"


def describe_transport_error(exc: httpx.HTTPError, target: str, attempts: int) -> str:
    """One line saying what went wrong talking to upstream, for a ToolCallError."""
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
        return f"upstream sent a malformed HTTP response{tries} ({target})"
    if isinstance(exc, httpx.LocalProtocolError):
        return f"the request could not be sent: a header or the URL is not valid HTTP ({target})"
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.CloseError):
        reason = "connection reset by upstream" if "reset" in " ".join(map(str, _chain(exc))).lower() else (
            "the connection broke"
        )
        return f"upstream closed the connection unexpectedly ({reason}){tries} ({target})"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"the URL scheme is not http or https ({target})"
    if isinstance(exc, httpx.DecodingError):
        return f"upstream sent a compressed body that could not be decompressed ({target})"
    return f"the upstream request failed ({type(exc).__name__}){tries} ({target})"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
