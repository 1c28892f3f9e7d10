"""Where and how `mcprt up` serves: one resolved set of options from flags, environment and manifest.

Precedence for every setting that exists in several places: a CLI flag beats the environment
(`MCPRT_*`, `.env`), which beats the manifest's `server.http`, which beats the built-in default.
Resolving it in one place keeps the banner, the listener and the security checks in agreement.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from ..errors import McprtError
from ..manifest.model import KEEP_ALIVE_DEFAULT, Manifest, is_loopback, proxy_address  # is_loopback: re-exported (mcprt.server)
from ..settings import Settings, env_limit
from ..state.url import state_url_for

Transport = Literal["stdio", "http"]
TRANSPORTS: tuple[Transport, ...] = ("stdio", "http")
ALLOW_UNAUTHENTICATED_ENV = "MCPRT_ALLOW_UNAUTHENTICATED"
LOOPBACK_PROXIES = ("127.0.0.1", "::1")  # a proxy on this machine is always trusted (uvicorn's default: 127.0.0.1)


@dataclass(frozen=True)
class ServeOptions:
    """Everything the transports need to know, already resolved."""

    transport: Transport
    host: str
    port: int
    path: str
    stateless: bool
    json_response: bool
    state_url: str | None = None  # shared state (MCPRT_STATE_URL beats `server.state`)
    drain_timeout: float = 20.0  # seconds calls in flight may take to finish on SIGTERM
    keep_alive_timeout: float = KEEP_ALIVE_DEFAULT  # seconds an idle HTTP connection stays open (see limits.py)
    public_url: str | None = None  # `server.public_url` (or the OAuth audience's base): see `public_base`
    # Host header values accepted beyond those the guard derives itself (`guard.make_policy`):
    # `server.http.allowed_hosts` plus `MCPRT_ALLOWED_HOSTS`
    allowed_hosts: tuple[str, ...] = ()
    # Whose X-Forwarded-Proto/-For uvicorn believes (`forwarded_allow_ips`): loopback, plus
    # `server.http.trusted_proxies` and `MCPRT_TRUSTED_PROXIES`
    trusted_proxies: tuple[str, ...] = LOOPBACK_PROXIES

    def url(self, port: int | None = None) -> str:
        """The endpoint URL a client on this machine opens (`port` overrides for port 0): the bind
        address, loopback for a wildcard bind (`0.0.0.0` is where to listen, not an address to connect
        to); IPv6 hosts in brackets."""
        return reachable_base(self.host, self.port if port is None else port) + self.path

    def network_urls(self, port: int | None = None) -> list[str]:
        """For a wildcard bind, the endpoint URL other machines may use (by this host's name, as
        `socket.gethostname()` gives it: no DNS lookup); none otherwise."""
        if not is_wildcard(self.host):
            return []
        import socket

        name = socket.gethostname()
        return [f"http://{name}:{self.port if port is None else port}{self.path}"] if name else []

    def public_base(self, port: int | None = None) -> str:
        """The base URL of absolute links to this server (approval links, the status page's endpoint):
        the public URL when configured, else the bind address, loopback for a wildcard bind (which
        only this machine can then open: `mcprt validate` warns where that matters)."""
        if self.public_url:
            return self.public_url
        return reachable_base(self.host, self.port if port is None else port)

    def public_endpoint(self, port: int | None = None) -> str:
        """The MCP endpoint's URL as clients from outside reach it (`public_base` + `path`)."""
        return self.public_base(port) + self.path

    @property
    def public_prefix(self) -> str:
        """The path `public_url` adds before every path of this server (`/tools` of `https://gw.example.com/tools`),
        "" without one: a reverse proxy that serves mcprt under a prefix strips it before forwarding, so the links
        and redirects mcprt writes into its pages (`/status`, `/policy/…`) put it back, or a browser following
        them would leave the prefix (README "Behind a proxy")."""
        return urlsplit(self.public_url).path.rstrip("/") if self.public_url else ""


WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # bind addresses meaning "every interface"


def is_wildcard(host: str) -> bool:
    """True for a bind address that listens on all interfaces (`0.0.0.0`, `::`, empty)."""
    return host.strip("[]") in WILDCARD_HOSTS


def reachable_base(host: str, port: int) -> str:
    """`http://host:port` as a client connects to a listener bound to `host`: a wildcard bind is
    reached through loopback (127.0.0.1 for `0.0.0.0`, ::1 for `::`); IPv6 hosts in brackets."""
    bare = host.strip("[]")
    if is_wildcard(bare):
        bare = "::1" if ":" in bare else "127.0.0.1"
    return f"http://[{bare}]:{port}" if ":" in bare else f"http://{bare}:{port}"


def chosen_transport(transport: str | None, settings: Settings) -> str:
    """The transport `mcprt up` serves: the flag, else `MCPRT_TRANSPORT`, else stdio (McprtError if unknown).

    Known before the manifest loads: what the manifest must provide depends on it (`server.auth`)."""
    chosen = (transport or settings.transport or "stdio").lower()
    if chosen not in TRANSPORTS:
        raise McprtError(f"unknown transport '{chosen}': use one of {', '.join(TRANSPORTS)}")
    return chosen


def resolve_options(
    manifest: Manifest,
    settings: Settings,
    *,
    transport: str | None = None,
    host: str | None = None,
    port: int | None = None,
    stateless: bool = False,
) -> ServeOptions:
    """Apply flag > environment > manifest > default; raise McprtError for a value that cannot work."""
    http = manifest.server.http
    chosen = chosen_transport(transport, settings)
    chosen_port = port if port is not None else settings.port if settings.port is not None else http.port
    if not 0 <= chosen_port <= 65535:
        # Said with its origin: a stale MCPRT_PORT in a shell or .env is not where one looks first.
        origin = "--port" if port is not None else "MCPRT_PORT" if settings.port is not None else "server.http.port"
        raise McprtError(f"port {chosen_port} is out of range (0-65535; 0 picks a free port); it came from {origin}")
    chosen_host = (host or settings.host or http.host).strip()
    if chosen_host.startswith("[") and chosen_host.endswith("]"):
        chosen_host = chosen_host[1:-1]
    if not chosen_host:
        raise McprtError("the HTTP host is empty: give an address such as 127.0.0.1")
    return ServeOptions(
        transport=chosen,  # type: ignore[arg-type]
        host=chosen_host,
        port=chosen_port,
        path=http.path,
        stateless=stateless or http.stateless,
        json_response=http.json_response,
        state_url=state_url_for(manifest.server.state, settings.state_url),
        drain_timeout=float(http.drain_timeout),
        keep_alive_timeout=env_limit("MCPRT_KEEP_ALIVE_TIMEOUT", float(http.keep_alive_timeout)),
        public_url=manifest.server.public_base_url,
        allowed_hosts=extra_hosts(http.allowed_hosts, settings.allowed_hosts),
        trusted_proxies=trusted_proxies(http.trusted_proxies, settings.trusted_proxies),
    )


TRUSTED_PROXIES_ENV = "MCPRT_TRUSTED_PROXIES"


def trusted_proxies(manifest_proxies: list[str], env_proxies: str | None) -> tuple[str, ...]:
    """The addresses whose forwarded headers are believed: loopback, the manifest's
    `server.http.trusted_proxies` and the comma-separated `MCPRT_TRUSTED_PROXIES` (all add). uvicorn's own
    `FORWARDED_ALLOW_IPS` is not read: one documented place. McprtError for an entry of the variable that is
    no IP address or CIDR network (the manifest's are checked when it loads)."""
    found = list(LOOPBACK_PROXIES)
    for entry in (*manifest_proxies, *(e.strip() for e in (env_proxies or "").split(","))):
        if not entry or entry in found:
            continue
        try:
            proxy_address(entry)
        except ValueError as error:  # the manifest's own entries were checked when it loaded: these are the variable's
            raise McprtError(f"{TRUSTED_PROXIES_ENV}: {error}") from None
        found.append(entry)
    return tuple(found)


ALLOWED_HOSTS_ENV = "MCPRT_ALLOWED_HOSTS"


def extra_hosts(manifest_hosts: list[str], env_hosts: str | None) -> tuple[str, ...]:
    """The Host values accepted besides the derived ones: the manifest's `server.http.allowed_hosts`
    and the comma-separated `MCPRT_ALLOWED_HOSTS` (a Deployment's env adds its Service names
    without editing the manifest). Both add; neither replaces the other."""
    from_env = [h.strip() for h in (env_hosts or "").split(",")]
    return tuple(h for h in (*manifest_hosts, *from_env) if h.strip())


def has_inbound_auth(manifest: Manifest) -> bool:
    auth = manifest.server.auth
    return auth is not None and (auth.oauth is not None or any(
        token.get_secret_value() for token in [*auth.bearer_tokens, *auth.tokens.values()]
    ))


def _may_serve(host: str, manifest: Manifest) -> bool:
    """Loopback, inbound auth configured, or the operator's explicit override."""
    return (is_loopback(host) or has_inbound_auth(manifest)
            or os.environ.get(ALLOW_UNAUTHENTICATED_ENV, "").strip().lower() in ("1", "true", "yes"))


def check_exposure(options: ServeOptions, manifest: Manifest) -> None:
    """Refuse to serve an unauthenticated endpoint beyond loopback unless explicitly allowed, and
    an OAuth endpoint whose token audience any client could choose (`_check_audience`)."""
    if options.transport != "http":
        return
    _check_audience(manifest, options.allowed_hosts)
    if _may_serve(options.host, manifest):
        return
    raise McprtError(
        f"refusing to serve on {options.host} without authentication: anyone who can reach this address "
        # no `"` or `=` in it: a text log line holding one is written as the quoted field `msg="…"`, and the
        # YAML to copy came out with backslash-escaped quotes (found by a pentest trial)
        "could call every tool. Add `server.auth.bearer_tokens: ['${MCPRT_TOKEN}']` to the manifest, "
        f"bind to 127.0.0.1, or set {ALLOW_UNAUTHENTICATED_ENV} to 1 if a proxy in front does the authentication."
    )


def _check_audience(manifest: Manifest, allowed_hosts: tuple[str, ...]) -> None:
    """Without `oauth.audience`, the `aud` a token must carry is this endpoint's URL as the client
    reached it, built from the Host header the guard let through. With `allowed_hosts: ["*"]` that
    is any Host a client sends, so a token the same issuer gave for another resource
    (`aud: https://other.example/mcp`) was accepted with `Host: other.example` — the audience check
    (RFC 8707 §2, RFC 9068 §4) decided nothing. With `server.public_url` the audience is the public endpoint's
    URL, whatever the Host (`identity.resource`), so nothing is refused."""
    auth = manifest.server.auth
    if auth is None or auth.oauth is None or auth.oauth.audience or manifest.server.public_url:
        return
    if "*" in [h.strip() for h in allowed_hosts]:
        raise McprtError(
            f"refusing to serve: server.auth.oauth has no `audience` and server.http.allowed_hosts (or "
            f"{ALLOWED_HOSTS_ENV}) is \"*\", so the "
            "audience access tokens must carry would be whatever Host header a client sends (a token the issuer "
            "gave for another service would be accepted). Set server.auth.oauth.audience to this endpoint's URL "
            "(e.g. https://mcp.example.com/mcp) or server.public_url, or list the host names clients use in "
            "allowed_hosts."
        )


def check_side_exposure(host: str, manifest: Manifest) -> None:
    """The stdio transport's `/metrics` + `/status` listener follows the same rule: its status page
    shows payloads, so beyond loopback it needs inbound auth (or the explicit override)."""
    if _may_serve(host, manifest):
        return
    raise McprtError(
        f"refusing to serve metrics and the status page on {host} without authentication: add "
        "`server.auth.tokens` (or `bearer_tokens`) to the manifest, listen on 127.0.0.1, or set "
        f"{ALLOW_UNAUTHENTICATED_ENV}=1 if a proxy in front does the authentication."
    )
