"""Following redirects by hand, so credentials can be kept to the origin they were meant for."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from ..errors import ToolCallError
from .redaction import describe_target

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port filled in: what "the same host" means here."""
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        raise ToolCallError(f"not a valid URL: {describe_target('', url).strip()}") from None
    return scheme, host, port or _DEFAULT_PORTS.get(scheme)


def resolve_location(url: str, location: str) -> str:
    """The absolute URL a `Location` header points to; only http(s) targets are followed."""
    try:
        target = urljoin(url, location.strip())
        scheme = urlsplit(target).scheme.lower()
    except ValueError:
        raise ToolCallError("upstream redirected to an invalid URL; not followed") from None
    if scheme not in ("http", "https"):
        raise ToolCallError(f"upstream redirected to a non-HTTP URL (scheme {scheme!r}); not followed")
    return target


def redirected_method(status: int, method: str, body: bytes | None) -> tuple[str, bytes | None]:
    """(method, body) of the request a redirect asks for.

    303 turns anything but HEAD into a GET without body; so do 301/302 after a POST, as browsers and
    HTTP libraries do. 307/308 repeat the request as it was.
    """
    if status == 303 and method != "HEAD":
        return "GET", None
    if status in (301, 302) and method == "POST":
        return "GET", None
    return method, body
