"""Following redirects by hand, so credentials can be kept to the origin they were meant for, and
so a redirect cannot carry a call into a network the upstream itself is not in.

Address ranges (`address_range`): `loopback` (127.0.0.0/8, ::1, and 0.0.0.0/::, which connect to
this host), `link-local` (169.254.0.0/16 — cloud metadata at 169.254.169.254 — and fe80::/10, plus
the cloud metadata services outside those ranges, `METADATA_ADDRESSES`: AWS's IPv6 fd00:ec2::254,
Alibaba's 100.100.100.200), `private` (every other address that is not globally reachable: RFC 1918, fc00::/7, 100.64.0.0/10,
…; IANA special-purpose registries, RFC 6890) and `public`. A redirect to another origin may reach a
public address or one in the range the upstream answered from, nothing else: a public API answering
`302 Location: http://169.254.169.254/latest/meta-data/…` or `http://127.0.0.1:6379/` would
otherwise have mcprt fetch the operator's internal services and hand the answer to the model (SSRF).
The check is made on the addresses the connection is about to use (`RedirectGuard`, after DNS
resolution), so a name resolving into a private range is refused like a literal address.
"""

from __future__ import annotations

import ipaddress
from contextvars import ContextVar
from typing import Any
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


def origin_text(origin: tuple[str, str, int | None]) -> str:
    """An `origin_of` result as an origin is written (RFC 6454 §6.2), the scheme's default port left out."""
    scheme, host, port = origin
    host = f"[{host}]" if ":" in host else host  # an IPv6 literal (RFC 3986 §3.2.2)
    return f"{scheme}://{host}:{port}" if port is not None and port != _DEFAULT_PORTS.get(scheme) else f"{scheme}://{host}"


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


PUBLIC = "public"
LINK_LOCAL = "link-local"
# Instance metadata services at addresses that are not link-local (AWS IMDS over IPv6, Alibaba Cloud's
# 100.100.100.200): they hand out the host's cloud credentials, so they count as `link-local`, the range
# nothing but the host itself should reach (AWS EC2 user guide, "Instance metadata"; Alibaba ECS docs).
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")})


class Hop:
    """One request of a redirect chain while it is sent (`with Hop(allowed) as hop:`): the address
    ranges it may connect to (None: any, for the upstream's own origin) and, once connected, the
    range of the address it reached (`peer_range`, which sets what later hops may reach)."""

    def __init__(self, allowed: frozenset[str] | None) -> None:
        self.allowed = allowed
        self.peer_range: str | None = None

    def __enter__(self) -> Hop:
        self._token = _HOP.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _HOP.reset(self._token)


_HOP: ContextVar[Hop | None] = ContextVar("mcprt_redirect_hop", default=None)


def address_range(address: str) -> str:
    """`loopback`, `link-local`, `private` or `public` for an IP address (a scope suffix such as
    `%eth0` ignored); `private` for text that is no IP address (refused rather than guessed)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "private"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if ip.is_loopback or ip.is_unspecified:
        return "loopback"
    if ip.is_link_local or ip in METADATA_ADDRESSES:
        return LINK_LOCAL
    return PUBLIC if ip.is_global else "private"


def redirect_ranges(origin_range: str | None) -> frozenset[str]:
    """The ranges a redirect to another origin may reach from an upstream in `origin_range`."""
    return frozenset({PUBLIC, origin_range}) if origin_range else frozenset({PUBLIC})


def guarded() -> bool:
    """Whether the hop being sent is held to address ranges (else `check_addresses` checks nothing,
    and a caller need not resolve a name for it)."""
    hop = _HOP.get()
    return hop is not None and hop.allowed is not None


def check_addresses(host: str, addresses: list[str]) -> None:
    """Raise ToolCallError when the hop being sent would connect outside its ranges (called with
    the addresses a name resolved to, before connecting)."""
    hop = _HOP.get()
    if hop is None or hop.allowed is None:
        return
    for address in addresses:
        found = address_range(address)
        if found not in hop.allowed:
            shown = host if host == address else f"{host} ({address})"
            raise ToolCallError(
                f"upstream redirected to {shown}, a {found} address, from an upstream outside that range; "
                "not followed (a redirect may not lead into a network the upstream is not in)"
            )


def connected(host: str, address: str) -> None:
    """Record the address the hop being sent reached, and check it (a pooled connection or a cached
    name is checked here, on the socket itself, before any byte of the request is written)."""
    hop = _HOP.get()
    if hop is None:
        return
    hop.peer_range = address_range(address)
    check_addresses(host, [address])


def peer_address(response: Any) -> str | None:
    """The address an httpx (or httpx2) response came from: its connection's peer, from httpcore's
    `network_stream` response extension; None when the transport does not say (HTTP/2, a test transport)."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    return str(peer[0]) if peer else None
