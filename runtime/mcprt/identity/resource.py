"""mcprt as an OAuth 2.1 resource server (MCP authorization specification, 2025-06-18 and later).

- `ResourceServer.authenticate(token, resource)` → the caller's `Principal`, or `TokenRejected`
  (401 `invalid_token`), `InsufficientScope` (403, RFC 6750 §3.1), `KeysUnavailable` (503).
- `ResourceServer.metadata(resource)` → the Protected Resource Metadata document (RFC 9728 §2), served
  at `metadata_paths(path)`: `/.well-known/oauth-protected-resource` with the endpoint's path appended
  (RFC 9728 §3.1) and, for clients that look only there, without it.
- `challenge(...)` → the `WWW-Authenticate: Bearer …` value (RFC 6750 §3, RFC 9728 §5.1).

The resource identifier (the `aud` tokens must carry) is `server.auth.oauth.audience`, else this
endpoint's public URL (`server.public_url` + path, or the audience's own base), else its URL as the
client reached it (the Host header has passed the guard's Host check; the scheme is the connection's, or
a trusted proxy's `X-Forwarded-Proto`). With a public URL, every URL advertised (RFC 9728 §3 metadata
URL, its `resource`, the challenge's `resource_metadata`) is built from it, never from request headers:
behind a TLS-terminating proxy the request says `http://` while clients use `https://`.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..manifest.model import OAuthResourceServer
from .discovery import KeySource
from .introspection import Introspector
from .principal import Principal, SubjectToken
from .tokens import TokenRejected, check_claims, description_text, granted_scopes, looks_like_jwt, verify_jwt

WELL_KNOWN = "/.well-known/oauth-protected-resource"


class InsufficientScope(Exception):
    """A valid token without every required scope (answered with 403 insufficient_scope). `granted`: the
    scopes it holds, which the challenge keeps (`challenge_scopes`). The token was valid, so its claims say who
    holds it: `sub` and `client_id` (each None when the token has none), for the refusal's log line — never the
    token. Claim values, not a principal: the scope is checked before the guard's `subject_clash`, so a `sub`
    such as `stdio` is not said to be that principal."""

    def __init__(self, required: list[str], granted: Iterable[str] = (), sub: str | None = None,
                 client_id: str | None = None) -> None:
        super().__init__("the token lacks a required scope")
        self.required = required
        self.granted = frozenset(granted)
        self.sub = sub
        self.client_id = client_id


def metadata_paths(endpoint_path: str, public_path: str | None = None) -> tuple[str, ...]:
    """Paths the metadata is served at: path-suffixed (RFC 9728 §3.1) first, then the bare form. `public_path`:
    the endpoint's path in its public URL when that differs (`/tools/mcp` behind a proxy that strips `/tools`):
    clients ask for `/.well-known/oauth-protected-resource/tools/mcp`, outside the stripped prefix, so the proxy
    forwards that path as it is and it is served here too (README "Behind a proxy")."""
    paths = [WELL_KNOWN + p.rstrip("/") for p in (endpoint_path, public_path or "") if p.strip("/")]
    return tuple(dict.fromkeys((*paths, WELL_KNOWN)))


def metadata_url(resource: str) -> str:
    """The metadata URL of a resource identifier: the well-known path inserted before its path."""
    parts = urlsplit(resource)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN + path, "", ""))


DESCRIPTION_LIMIT = 300  # characters; the longest description built here (two shown issuers) is ~190


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def challenge(metadata: str, *, error: str | None = None, description: str | None = None,
              scope: list[str] | None = None) -> str:
    """A `Bearer` challenge carrying `resource_metadata` (RFC 9728 §5.1) and, where there is one,
    the error (RFC 6750 §3: invalid_token, insufficient_scope) and the scope needed. The description
    is forced into RFC 6750 §3's character set and cut at DESCRIPTION_LIMIT characters, whatever
    built it (values a client chose are already `tokens.shown`: this is the last line, not the first)."""
    params = [f"resource_metadata={_quoted(metadata)}"]
    if error:
        params.append(f"error={_quoted(error)}")
    if description:
        params.append(f"error_description={_quoted(description_text(description)[:DESCRIPTION_LIMIT])}")
    if scope:
        params.append(f"scope={_quoted(' '.join(scope))}")
    return "Bearer " + ", ".join(params)


class ResourceServer:
    """Validates access tokens for one MCP endpoint and describes it to clients."""

    def __init__(self, config: OAuthResourceServer, endpoint_path: str, public_endpoint: str | None = None) -> None:
        self.config = config
        self.endpoint_path = endpoint_path
        self.public_endpoint = public_endpoint  # this endpoint's URL as clients use it, when configured
        self.keys = KeySource(config.issuer, config.jwks_url)
        self.introspector = Introspector(config.introspection) if config.introspection is not None else None
        self._kept = config.kept_claims

    def endpoint_url(self, scheme: str, host: str | None) -> str:
        """This endpoint's public URL when configured, else as the client reached it (`scheme://Host/path`)."""
        if self.public_endpoint is not None:
            return self.public_endpoint
        return f"{scheme}://{host or 'localhost'}{self.endpoint_path}"

    def resource(self, scheme: str, host: str | None) -> str:
        """The resource identifier: the configured audience, or the endpoint's URL."""
        return self.config.audience or self.endpoint_url(scheme, host)

    def metadata_location(self, scheme: str, host: str | None) -> str:
        """Where this server's metadata is, for `resource_metadata=`: always on this server, even
        when the audience is not a URL of it (e.g. Entra's `api://<app id>`)."""
        return metadata_url(self.endpoint_url(scheme, host))

    @property
    def required_scopes(self) -> list[str]:
        """The scopes every request needs (`scopes`): the `scope=` of every challenge, 401 and 403 — MCP
        authorization 2025-11-25, "Protected Resource Metadata Discovery Requirements" and "Scope
        Selection Strategy" (servers SHOULD include it; clients use it before `scopes_supported`)."""
        return list(self.config.scopes)

    def metadata(self, resource: str, policy_scopes: Iterable[str] = ()) -> dict[str, Any]:
        """Protected Resource Metadata (RFC 9728 §2); `resource` is its only required member.
        `scopes_supported`: the required `scopes`, then `policy_scopes` (those a policy rule asks for, to
        which a client may have to step up: MCP authorization 2025-11-25, "Scope Challenge Handling")."""
        document: dict[str, Any] = {
            "resource": resource,
            "authorization_servers": [self.config.issuer],
            "bearer_methods_supported": ["header"],  # RFC 6750 §2.1 only: no form or query tokens
            # Not `resource_signing_alg_values_supported`: RFC 9728 §2 means the algorithms this
            # resource signs its *responses* with (e.g. FAPI message signing), and mcprt signs none;
            # the access-token algorithms it accepts (`algorithms`) are the authorization server's
            # business (its `id_token`/JWT metadata), not something a client must be told here.
        }
        supported = list(dict.fromkeys([*self.config.scopes, *policy_scopes]))
        if supported:
            document["scopes_supported"] = supported
        if self.config.resource_name:
            document["resource_name"] = self.config.resource_name
        return document

    async def authenticate(self, token: str, resource: str) -> Principal:
        """The principal of a valid token carrying every required scope (see the module docstring)."""
        config = self.config
        if looks_like_jwt(token):
            claims = await verify_jwt(
                token, keys=self.keys, issuer=config.issuer, audience=resource,
                algorithms=config.algorithms, clock_skew=float(config.clock_skew),
            )
        elif self.introspector is not None:
            claims = await self.introspector.introspect(token)
            # RFC 7662 §2.2 makes every member but `active` optional; `aud` is still required here
            # (a token without an audience could be replayed at any resource), `exp`/`iss` when given.
            check_claims(
                {"exp": float("inf"), **claims},
                issuer=config.issuer if "iss" in claims else None,
                audience=resource,
                clock_skew=float(config.clock_skew),
            )
        else:
            raise TokenRejected("the token is not a JWT and no introspection endpoint is configured")
        scopes = granted_scopes(claims)
        client_id = _first_str(claims, "client_id", "azp", "appid")
        sub = _first_str(claims, "sub")
        subject = sub or client_id
        missing = [s for s in config.scopes if s not in scopes]
        if missing:
            raise InsufficientScope(self.required_scopes, scopes, sub, client_id)
        if not subject:
            raise TokenRejected("the token names no subject (sub)")
        kept = {k: v for k, v in claims.items() if k in self._kept}
        return Principal(
            subject=subject,
            kind="oauth",
            client_id=client_id,
            scopes=scopes,
            claims=MappingProxyType(kept),
            subject_token=SubjectToken(token),
            # no `sub`, or the client's own id as `sub` (RFC 9068 §2.2: a grant with no resource owner, such as
            # client credentials, names the client there): the client acts for itself (`Principal.by_client`)
            by_client=not sub or sub == client_id,
        )

    async def aclose(self) -> None:
        await self.keys.aclose()


def _first_str(claims: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return None
