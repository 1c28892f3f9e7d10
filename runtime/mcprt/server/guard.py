"""The HTTP transport's front door: Host and Origin checks, bearer tokens, request size.

Checked in that order, before the MCP layer sees anything:

1. Host (421): DNS rebinding makes a hostile web page talk to a server under the attacker's name
   (MCP basic/transports, streamable HTTP "Security Warning"). Names that cannot be the attacker's
   pass: loopback names, the bound address, the address the connection arrived on (a pod IP), for a
   wildcard bind this machine's host name (the banner's "from other machines" URL), the host of
   `server.public_url`, and `server.http.allowed_hosts` / `MCPRT_ALLOWED_HOSTS` (a Service's or
   balancer's names). A refusal names those settings, in the answer and in the log.
2. Origin (403): browsers send it on cross-origin requests; loopback origins, the origin of
   `server.public_url`, the request's own origin (scheme and the accepted Host: a page of this
   server posting back to it) and `server.http.allowed_origins` pass, a request without Origin (any
   non-browser client) passes.
3. Bearer token: a static token (compared in constant time) names its principal; otherwise, with
   `server.auth.oauth`, an OAuth access token is validated (`identity.resource`). A missing or bad
   token gets 401 `WWW-Authenticate: Bearer` (with `resource_metadata=`, RFC 9728 §5.1, and the
   required `scope=`, MCP authorization 2025-11-25, under OAuth);
   a valid token lacking a required scope gets 403 `insufficient_scope` (RFC 6750 §3.1); keys that
   cannot be fetched from the issuer get 503.
   On the MCP endpoint, an origin `allowed_origins` lists gets CORS (`cors.py`): its preflight is answered
   before this step (preflights carry no credentials), and every answer, 401/403 included, lets it read.
4. Declared body size (413) against `server.http.max_request_bytes`; the SDK enforces the same
   limit on bodies without Content-Length while reading them.

Before all of these, a request carrying a token in its URL query (`?access_token=`, RFC 6750 §2.3, or `?token=`)
gets 400 `invalid_request` on every path, whatever the token is and whatever else the request carries (MCP
authorization 2025-11-25, "Access Token Usage": access tokens MUST NOT be included in the URI query string; RFC
6750 §5.3): a URL is kept in proxy access logs and browser history. The value is never read or logged. The status
page answers it itself, with its sign-in form (`observe.TOKEN_IN_ADDRESS`).

Header values are read without the whitespace around them (RFC 9110 §5.5, `field_values`), here
and by everything behind the guard.

`*` in either allow-list disables that check. `/healthz` skips the Host check and the token (it
says only how many tools are served), so load balancers and probes can reach it. The Protected
Resource Metadata paths skip only the token: clients read them to learn how to get one. On the
operator pages (`/status…`, `/policy…`) a browser's signed sign-in cookie stands in for the token
(`browser_login`); a cookie-authenticated request other than GET/HEAD must carry an allowed Origin.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from ..identity.principal import ANONYMOUS, BEARER, Principal, attach, subject_clash
from ..observability.log import log_event
from .browser_login import COOKIE, PATHS, BrowserLogins
from .cors import answer_preflight, is_preflight, with_cors
from .field_values import trim_field_values
from .options import is_wildcard
from .refusals import refusal_message
from .scope_challenge import scope_refusal

if TYPE_CHECKING:
    from ..identity.resource import ResourceServer

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# What a refused Host's answer and log line tell the operator to change
HOST_HINT = ("add the name clients use to server.http.allowed_hosts (or MCPRT_ALLOWED_HOSTS, comma-separated), "
             "or set server.public_url to the URL they use")


@dataclass(frozen=True)
class GuardPolicy:
    tokens: tuple[tuple[bytes, str], ...] = ()  # (token, principal name)
    allowed_hosts: frozenset[str] = frozenset()  # lower-case "name" or "name:port"
    allowed_origins: frozenset[str] = frozenset()  # lower-case "scheme://name[:port]"
    max_request_bytes: int = 1_000_000
    # `/favicon.ico`: every browser opening an operator page asks for it; open, it is a plain 404
    # instead of a logged token rejection on each page view.
    open_paths: frozenset[str] = field(default_factory=lambda: frozenset({"/healthz", "/readyz", "/favicon.ico"}))
    # Host and Origin are checked, a valid bearer token attaches its principal, but a missing one is
    # not refused here: the route authenticates itself (the status page also accepts its cookie).
    # Exact paths, never prefixes: `/status/approvals` and the other operator pages below `/status`
    # are refused here like any other path (a prefix let them through unauthenticated).
    own_auth_paths: frozenset[str] = frozenset({"/metrics", "/status", "/status.json", "/status/login"})
    token_free_paths: frozenset[str] = frozenset()  # Host/Origin checked, no token needed
    resource_server: ResourceServer | None = None  # OAuth access tokens (server.auth.oauth)
    cookie_prefixes: tuple[str, ...] = PATHS  # a browser's sign-in cookie admits these paths

    @cached_property
    def logins(self) -> BrowserLogins:
        """Sign-in cookies signed with a key derived from `tokens` (made on first use)."""
        return BrowserLogins(self.tokens)

    @property
    def any_host(self) -> bool:
        return "*" in self.allowed_hosts

    @property
    def any_origin(self) -> bool:
        return "*" in self.allowed_origins


def make_policy(
    *,
    tokens: Mapping[str, str] | Iterable[str],
    bind_host: str,
    allowed_hosts: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
    public_url: str | None = None,
    max_request_bytes: int,
    resource_server: ResourceServer | None = None,
    token_free_paths: Iterable[str] = (),
) -> GuardPolicy:
    """The guard's rules. `allowed_hosts`: extra Host values ("name" any port, "name:port" that port,
    "*" all); `public_url`: `server.public_url`, whose host is accepted (and its origin as an Origin); a wildcard `bind_host` adds
    this machine's host name (`socket.gethostname()`, no DNS lookup), a specific one itself."""
    named = dict(tokens) if isinstance(tokens, Mapping) else {t: BEARER for t in tokens}
    hosts = {_rootless(h.strip().lower()) for h in allowed_hosts if h.strip()}
    if not is_wildcard(bind_host):
        hosts.add(_bracketed(bind_host.lower()))
    else:
        import socket

        if name := socket.gethostname().strip().lower():
            hosts.add(name)
    origins = {_origin(o) or _origin_key(o) for o in allowed_origins if o.strip()}
    if public_url and (public := urlsplit(public_url).hostname):
        hosts.add(_bracketed(_rootless(public.lower())))  # any port: a balancer in front may listen on another
        if own := _origin(public_url):  # the status page's forms, served to browsers at that URL
            origins.add(own)
    return GuardPolicy(
        tokens=tuple((t.encode(), named.get(t, BEARER)) for t in named if t),
        allowed_hosts=frozenset(hosts),
        allowed_origins=frozenset(origins),
        max_request_bytes=max_request_bytes,
        resource_server=resource_server,
        token_free_paths=frozenset(token_free_paths),
    )


_ROOT_DOT = re.compile(r"(?<=[^.])\.(?=(:\d*)?$)")  # a name's final dot, before any port


def _rootless(value: str) -> str:
    """`name.` or `name.:port` without the final dot: a fully qualified name's trailing dot (the DNS
    root, RFC 1034 §3.1) names the same host (RFC 3986 §3.2.2), as `mcprt.default.svc.cluster.local.`
    (which skips the resolver's search list) does in Kubernetes."""
    return _ROOT_DOT.sub("", value, count=1)


def _origin_key(origin: str) -> str:
    """An Origin as compared: lower case, no trailing slash, no root dot on its host."""
    return _rootless(origin.strip().lower().rstrip("/"))


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _split_host(value: str) -> tuple[str, str | None]:
    """'name:port' → (name, port); IPv6 in brackets keeps its colons; names are lower-cased and lose
    a trailing root dot (`_rootless`)."""
    value = _rootless(value.strip().lower())
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return value, None
        name, rest = value[1:end], value[end + 1 :]
        return name, rest[1:] if rest.startswith(":") else None
    name, sep, port = value.rpartition(":")
    return (name, port) if sep and port.isdigit() else (value, None)


def _is_loopback_name(name: str) -> bool:
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _same_address(name: str, local_address: str) -> bool:
    """Whether Host `name` is the address the connection arrived on. A dual-stack (`::`) socket
    reports an IPv4 client's connection as `::ffff:192.0.2.2` (RFC 4291 §2.5.5.2), which the Host
    `192.0.2.2` names too."""
    try:
        local = ipaddress.ip_address(local_address.split("%", 1)[0])
        host = ipaddress.ip_address(name.split("%", 1)[0])  # `_split_host` took off the brackets
    except ValueError:
        return name == local_address.lower()
    local = getattr(local, "ipv4_mapped", None) or local
    host = getattr(host, "ipv4_mapped", None) or host
    return host == local


def host_allowed(policy: GuardPolicy, host_header: str | None, local_address: str | None = None) -> bool:
    """Whether a request with Host `host_header`, arriving on this machine's `local_address` (the
    connection's own IP, ASGI `scope["server"]`), may be served (see the module docstring, 1)."""
    if policy.any_host:
        return True
    if not host_header:
        return False
    name, port = _split_host(host_header)
    if _is_loopback_name(name) or (local_address is not None and _same_address(name, local_address)):
        return True
    bare = _bracketed(name)
    return bare in policy.allowed_hosts or (port is not None and f"{bare}:{port}" in policy.allowed_hosts)


def _origin(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL, lower-cased, the scheme's default port left out (so
    `https://x:443` and `https://x` are one origin, RFC 6454 §4); None for anything else."""
    try:
        parts = urlsplit(url.strip().lower())
        port = parts.port
    except ValueError:  # a port that is not a number, or out of range
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    shown = f":{port}" if port is not None and port != {"http": 80, "https": 443}[parts.scheme] else ""
    return f"{parts.scheme}://{_bracketed(_rootless(parts.hostname))}{shown}"


def origin_allowed(policy: GuardPolicy, origin: str | None, own: str | None = None) -> bool:
    """Whether a request with Origin `origin` may be served (see the module docstring, 2). `own`: the
    request's own origin, `scheme://Host` of a Host the guard accepted: a page this server served
    posting back to it (same origin, RFC 6454 §5) passes under whatever name clients reach it by."""
    if origin is None or cors_allowed(policy, origin):
        return True
    said = _origin(_origin_key(origin))
    if said is None:
        return False
    return _is_loopback_name(urlsplit(said).hostname or "") or (own is not None and said == _origin(own))


def cors_allowed(policy: GuardPolicy, origin: str) -> bool:
    """Whether a page on `origin` may read the MCP endpoint's answers (`cors.py`): only an origin
    `allowed_origins` lists (or any, with `*`) — not the loopback ones the Origin check lets send."""
    if policy.any_origin:
        return True
    normalized = _origin_key(origin)
    said = _origin(normalized)
    return normalized in policy.allowed_origins or (said is not None and said in policy.allowed_origins)


def token_accepted(policy: GuardPolicy, authorization: str | None) -> bool:
    """Constant-time comparison against every configured token (no early exit on a match)."""
    return token_principal(policy, authorization) is not None


def token_principal(policy: GuardPolicy, authorization: str | None) -> Principal | None:
    """The principal a presented bearer token identifies; ANONYMOUS when no token is configured;
    None when the token is missing or wrong. Every configured token is compared in constant time."""
    if not policy.tokens and policy.resource_server is None:
        return ANONYMOUS
    if not authorization:
        return None
    scheme, _, presented = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    candidate = presented.strip().encode()
    matched: str | None = None
    for token, name in policy.tokens:
        if hmac.compare_digest(candidate, token) and matched is None:
            matched = name
    return None if matched is None else Principal(matched, "token")


Rejection = tuple[int, str, list[tuple[bytes, bytes]]]
# (status, message, headers, the JSON-RPC error's `data`): a 403 insufficient_scope (scope_challenge.py)
DataRejection = tuple[int, str, list[tuple[bytes, bytes]], dict[str, Any]]

# URL query parameters that carry a bearer token: RFC 6750 §2.3's `access_token`, and `token` (what people
# paste after `/status?`). Compared without case: `?Access_Token=` is the same mistake.
QUERY_TOKEN_NAMES = frozenset({"access_token", "token"})
QUERY_TOKEN_PAGE = "/status"  # answers a token in its address itself, with its sign-in form


def query_token_name(query_string: bytes | str) -> str | None:
    """The name of the first token-carrying parameter (`QUERY_TOKEN_NAMES`) in a URL query, as written;
    None when there is none. Its value is never looked at."""
    text = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    if not text:
        return None
    for name, _ in parse_qsl(text, keep_blank_values=True):
        if name.strip().lower() in QUERY_TOKEN_NAMES:
            return name
    return None


def token_in_query_message(name: str) -> str:
    shown = re.sub(r"[^A-Za-z0-9_.~-]", "?", name)[:40]
    return (f"an access token in the URL query (?{shown}=) is not accepted: access tokens must not be in the URI "
            "query string (MCP authorization; RFC 6750 §5.3), as URLs are kept in proxy logs and browser history. "
            "Send it in an Authorization: Bearer header; if it was sent this way before, consider rotating it.")


@dataclass(frozen=True, slots=True)
class Unauthenticated:
    """A 401 the guard may still waive — a sign-in cookie admits the operator pages, and routes
    that authenticate themselves (`own_auth_paths`) answer on their own. Its log line is written
    only when the 401 is sent, so an admitted request (a signed-in status page refreshing every
    15 s) never logs a rejection."""

    rejection: Rejection
    event: str
    level: int
    fields: dict[str, str]

    def log(self) -> None:
        log_event(self.event, self.level, **self.fields)


def log_refused(given: bool, path: str) -> None:
    """The log line of a request refused for its bearer token (`given`: one was presented, but
    not a valid one), for routes that authenticate themselves: the guard's own words."""
    log_event("rejected request: bearer token", logging.WARNING, reason="wrong" if given else "missing",
              path=path[:100])


def _logged_path(scope: Scope) -> str:
    return str(scope.get("path", ""))[:100]


class HttpGuard:
    """ASGI middleware applying a `GuardPolicy` to every HTTP request. A refusal on `mcp_path` (the MCP
    endpoint) carries a JSON-RPC error (id null: no body is read), as every refusal there does (MCP
    basic/transports: "The HTTP response body MAY comprise a JSON-RPC error response that has no
    id"); elsewhere `{"error": message}`."""

    def __init__(self, app: ASGIApp, policy: GuardPolicy, mcp_path: str | None = None) -> None:
        self.app = app
        self.policy = policy
        self.mcp_path = (mcp_path.rstrip("/") or "/") if mcp_path is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = trim_field_values(scope)
        headers = Headers(scope=scope)
        path = scope.get("path", "")
        open_path = path in self.policy.open_paths
        own_auth = path in self.policy.own_auth_paths
        on_endpoint = self.mcp_path is not None and path.rstrip("/") == self.mcp_path
        origin = headers.get("origin")
        if on_endpoint and origin is not None and cors_allowed(self.policy, origin):
            send = with_cors(send, origin)  # every answer, refusals included (cors.py)
            if is_preflight(scope.get("method", ""), headers):
                rejection = self._check_origin(headers, open_path, scope)  # the Host still counts
                if rejection is not None:
                    await _send_error(send, *rejection, jsonrpc=True)
                    return
                await answer_preflight(send, headers)  # no token: a preflight carries none (Fetch standard)
                return
        rejection = self._check_query(scope, path)
        if rejection is None:
            rejection = self._check_origin(headers, open_path, scope)
        if rejection is None and not open_path and path not in self.policy.token_free_paths:
            refusal = await self._authenticate(headers, scope)
            if isinstance(refusal, Unauthenticated):
                if path.startswith(self.policy.cookie_prefixes) and self._signed_in(headers, scope):
                    refusal = None
                elif own_auth:
                    refusal = None  # the route answers itself (the status page's sign-in form) and logs its refusals
                else:
                    refusal.log()  # only a 401 actually sent is logged as a rejection
                    refusal = refusal.rejection
            rejection = refusal
        if rejection is None:
            rejection = self._check_size(headers)
        if rejection is not None:
            status, message, extra, *data = rejection  # `data`: a scope refusal's (scope_challenge)
            await _send_error(send, status, message, extra,
                              jsonrpc=self.mcp_path is not None and path.rstrip("/") == self.mcp_path,
                              data=data[0] if data else None)
            return
        await self.app(scope, receive, send)

    def _check_query(self, scope: Scope, path: str) -> Rejection | None:
        """400 for a token in the URL query (see the module docstring); the value is never read."""
        name = query_token_name(scope.get("query_string", b""))
        if name is None or path == QUERY_TOKEN_PAGE:
            return None
        message = token_in_query_message(name)
        log_event("rejected request: a token in the URL query", logging.WARNING, parameter=name[:40],
                  path=_logged_path(scope))
        extra: list[tuple[bytes, bytes]] = []
        if self.policy.tokens or self.policy.resource_server is not None:  # RFC 6750 §3.1
            extra.append((b"www-authenticate",
                          b'Bearer error="invalid_request", error_description="access tokens are not accepted '
                          b'in the URI query; send an Authorization header"'))
        return 400, message, extra

    def _check_origin(self, headers: Headers, open_path: bool, scope: Scope) -> Rejection | None:
        policy = self.policy
        host = headers.get("host")
        local = (scope.get("server") or (None,))[0]
        if not open_path and not host_allowed(policy, host, local):
            log_event("rejected request: Host not allowed", logging.WARNING, host=(host or "")[:100],
                      hint=HOST_HINT)
            return 421, f"Host {(host or '')[:100]!r} is not accepted: {HOST_HINT}", []
        origin = headers.get("origin")
        # the request's own origin only where its Host was checked (an open path skips that check)
        own = None if open_path or not host else f"{scope.get('scheme', 'http')}://{host}"
        if not origin_allowed(policy, origin, own):
            log_event("rejected request: Origin not allowed", logging.WARNING, origin=(origin or "")[:100],
                      hint="add it to server.http.allowed_origins")
            return 403, "Origin not allowed", []
        return None

    async def _authenticate(self, headers: Headers, scope: Scope) -> Rejection | DataRejection | Unauthenticated | None:
        """Attach the caller's principal to `scope`, or say why not (401, which a sign-in cookie or
        a self-authenticating route may still waive; 403/503)."""
        authorization = headers.get("authorization")
        principal = token_principal(self.policy, authorization)
        resource_server = self.policy.resource_server
        if principal is None and resource_server is not None:
            return await self._oauth(resource_server, authorization, headers, scope)
        if principal is not None:
            attach(scope, principal)
            return None
        given = authorization is not None
        challenge = b'Bearer realm="mcprt"' + (b', error="invalid_token"' if given else b"")
        return Unauthenticated((401, "a valid bearer token is required", [(b"www-authenticate", challenge)]),
                               "rejected request: bearer token", logging.WARNING,
                               {"reason": "wrong" if given else "missing", "path": _logged_path(scope)})

    async def _oauth(self, server: ResourceServer, authorization: str | None, headers: Headers,
                     scope: Scope) -> Rejection | DataRejection | Unauthenticated | None:
        from ..identity.discovery import KeysUnavailable
        from ..identity.resource import InsufficientScope, challenge
        from ..identity.tokens import TokenRejected

        scheme_used, host = scope.get("scheme", "http"), headers.get("host")
        resource = server.resource(scheme_used, host)
        metadata = server.metadata_location(scheme_used, host)
        needed = server.required_scopes  # `scope=` in every challenge: what a client should ask for
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            # RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
            value = challenge(metadata, scope=needed)
            return Unauthenticated((401, "authorization required", [(b"www-authenticate", value.encode())]),
                                   "rejected request: bearer token", logging.INFO,
                                   {"reason": "missing", "path": _logged_path(scope)})
        try:
            principal = await server.authenticate(token, resource)
        except TokenRejected as exc:
            value = challenge(metadata, error="invalid_token", description=exc.description, scope=needed)
            return Unauthenticated((401, exc.description, [(b"www-authenticate", value.encode())]),
                                   "rejected request: access token", logging.WARNING,
                                   {"reason": exc.description, "path": _logged_path(scope)})
        except InsufficientScope as exc:
            refused = scope_refusal(metadata, exc.granted, exc.required, "the token lacks a required scope")
            # the token was valid: say whose it was (its sub and client claims, not yet a principal), never the token
            log_event("rejected request: insufficient scope", logging.WARNING, required=" ".join(refused.needed),
                      sub=(exc.sub or "-")[:100], client_id=(exc.client_id or "-")[:100],
                      path=_logged_path(scope))
            return refused.status, refused.message, refused.headers, refused.data
        except KeysUnavailable as exc:
            log_event("cannot validate access tokens", logging.ERROR, reason=str(exc)[:300])
            return 503, "the authorization server's keys are unavailable; try again later", [(b"retry-after", b"5")]
        clash = subject_clash(principal, (name for _, name in self.policy.tokens))
        if clash is not None:  # one principal namespace: see identity.principal.subject_clash
            value = challenge(metadata, error="invalid_token", description=clash, scope=needed)
            return Unauthenticated((401, clash, [(b"www-authenticate", value.encode())]),
                                   "rejected request: access token", logging.WARNING,
                                   {"reason": clash, "client_id": principal.client_id or "-",
                                    "path": _logged_path(scope)})
        attach(scope, principal)
        return None

    def _signed_in(self, headers: Headers, scope: Scope) -> bool:
        """Attach the principal of a valid sign-in cookie. A state-changing request must also carry
        an Origin (already checked to be allowed): SameSite=Strict plus Origin stops cross-site posts."""
        raw = headers.get("cookie")
        if not raw:
            return False
        principal = self.policy.logins.principal(cookie_parser(raw).get(COOKIE))
        if principal is None:
            return False
        if scope.get("method", "GET") not in ("GET", "HEAD") and not headers.get("origin"):
            log_event("rejected request: cookie without Origin", logging.WARNING, path=scope.get("path", "")[:100])
            return False
        attach(scope, principal)
        return True

    def _check_size(self, headers: Headers) -> Rejection | None:
        declared = headers.get("content-length")
        limit = self.policy.max_request_bytes
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            return 413, f"request body larger than {limit} bytes", []
        return None


async def _send_error(send: Send, status: int, message: str, extra: list[tuple[bytes, bytes]],
                      jsonrpc: bool = False, *, request_id: str | int | None = None,
                      data: dict[str, Any] | None = None) -> None:
    """Write a refusal: on the MCP endpoint (`jsonrpc`) the JSON-RPC error `refusal_message` builds,
    elsewhere `{"error": message}`; `extra`: its headers (WWW-Authenticate, Retry-After…)."""
    body = json.dumps(refusal_message(status, message, request_id=request_id, data=data) if jsonrpc
                      else {"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


send_refusal = _send_error  # the one writer of the endpoint's refusals, for the routers behind the guard (step_up)
