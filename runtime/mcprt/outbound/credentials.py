"""Outbound credentials: turn the manifest's `auth` into what each request carries.

A `Credentials` object hands out its `Stamps` (one header, query parameter or cookie per `auth` entry) per
attempt — for per-user kinds (`token_exchange`) stamps for the calling principal; a source with several
`auth` entries (OpenAPI 3.1 §4.8.30: a requirement naming several schemes, all needed) gets one
`CombinedCredentials`, every entry's stamp on every request. The
executor stamps them (`stamp_into`) onto a copy of the headers at send time, so that no log line,
recorded exchange or exception ever holds a secret. Stamps are applied only to hops on the request's original origin, so credentials never
follow a redirect to another host.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit, urlunsplit

from ..errors import ToolCallError
from ..identity.principal import Principal
from ..manifest.model import OutboundAuth
from .oauth2 import OAuth2TokenSource, TokenSender
from .token_exchange import ExchangedTokens

Placement = Literal["header", "query", "cookie"]


@dataclass(frozen=True, slots=True)
class Stamp:
    """One credential to put on a request. `value` is secret: never log or return it."""

    placement: Placement
    name: str
    value: str

    def __repr__(self) -> str:  # a stray repr in a log must not leak the value
        return f"Stamp({self.placement}, {self.name!r}, [redacted])"


Stamps = tuple[Stamp, ...]  # what one attempt carries: a stamp per credential, in the `auth` entries' order


class Credentials:
    """What a source authenticates with; hands out one `Stamp` per attempt."""

    renewable = False  # whether a 401 is worth one more try with fresh credentials
    width = 1  # how many stamps `stamp` gives

    @property
    def sensitive_names(self) -> tuple[str, ...]:
        """Header/query/cookie names whose values must be redacted in logs."""
        raise NotImplementedError

    @property
    def query_names(self) -> tuple[str, ...]:
        """The query parameters carrying credentials, for those that travel in the URL."""
        return ()

    def secrets(self) -> list[str]:
        """Every secret string this object could put on the wire (for scrubbing messages)."""
        raise NotImplementedError

    def admit(self, principal: Principal | None) -> None:
        """Raise ToolCallError, before anything is sent, when these credentials cannot serve this caller."""

    async def stamp(self, send: TokenSender, principal: Principal | None = None) -> Stamps:
        """The credentials for one attempt (`width` stamps); `principal` is who calls (per-user kinds only)."""
        raise NotImplementedError

    async def renew(self, used: Stamps, send: TokenSender, principal: Principal | None = None) -> None:
        """After a 401 with `used`: obtain fresh credentials (only when `renewable`)."""


class StaticCredentials(Credentials):
    """Bearer, basic or api key: the same stamp on every request."""

    def __init__(self, stamp: Stamp, secrets: list[str]) -> None:
        self._stamp = stamp
        self._secrets = secrets

    @property
    def sensitive_names(self) -> tuple[str, ...]:
        return (self._stamp.name,)

    @property
    def query_names(self) -> tuple[str, ...]:
        return (self._stamp.name,) if self._stamp.placement == "query" else ()

    def secrets(self) -> list[str]:
        return list(self._secrets)

    async def stamp(self, send: TokenSender, principal: Principal | None = None) -> Stamps:
        return (self._stamp,)


class OAuth2Credentials(Credentials):
    """Client-credentials grant: a cached bearer token, renewed once on a 401."""

    renewable = True

    def __init__(self, source: OAuth2TokenSource) -> None:
        self._source = source

    @property
    def sensitive_names(self) -> tuple[str, ...]:
        return ("Authorization",)

    def secrets(self) -> list[str]:
        return self._source.secrets()

    async def stamp(self, send: TokenSender, principal: Principal | None = None) -> Stamps:
        token = await self._source.token(send)
        return (Stamp("header", "Authorization", f"Bearer {token}"),)

    async def renew(self, used: Stamps, send: TokenSender, principal: Principal | None = None) -> None:
        await self._source.renew(used[0].value.removeprefix("Bearer "), send)


class TokenExchangeCredentials(Credentials):
    """RFC 8693: the calling principal's token exchanged for an upstream token, cached per subject token."""

    renewable = True

    def __init__(self, tokens: ExchangedTokens) -> None:
        self.tokens = tokens

    @property
    def sensitive_names(self) -> tuple[str, ...]:
        return ("Authorization",)

    def secrets(self) -> list[str]:
        return self.tokens.secrets()

    def admit(self, principal: Principal | None) -> None:
        self.tokens.subject_token_of(principal)

    async def stamp(self, send: TokenSender, principal: Principal | None = None) -> Stamps:
        token = await self.tokens.token(principal, send)
        return (Stamp("header", "Authorization", f"Bearer {token}"),)

    async def renew(self, used: Stamps, send: TokenSender, principal: Principal | None = None) -> None:
        await self.tokens.renew(principal, used[0].value.removeprefix("Bearer "), send)


class CombinedCredentials(Credentials):
    """Several `auth` entries sent together (an API key and an application key, a query key and a bearer
    token): each member's stamps, in order, on every attempt. The loader has refused two members that set the
    same header, query parameter or cookie, so none replaces another. A 401 renews every renewable member (the
    answer does not say which credential it refused; a static key has nothing to renew)."""

    def __init__(self, members: list[Credentials]) -> None:
        self._members = members
        self.renewable = any(m.renewable for m in members)
        self.width = sum(m.width for m in members)

    @property
    def sensitive_names(self) -> tuple[str, ...]:
        return tuple(name for m in self._members for name in m.sensitive_names)

    @property
    def query_names(self) -> tuple[str, ...]:
        return tuple(name for m in self._members for name in m.query_names)

    def secrets(self) -> list[str]:
        return [secret for m in self._members for secret in m.secrets()]

    def admit(self, principal: Principal | None) -> None:
        for member in self._members:
            member.admit(principal)

    async def stamp(self, send: TokenSender, principal: Principal | None = None) -> Stamps:
        stamps: list[Stamp] = []
        for member in self._members:
            stamps += await member.stamp(send, principal)
        return tuple(stamps)

    async def renew(self, used: Stamps, send: TokenSender, principal: Principal | None = None) -> None:
        at = 0
        for member in self._members:
            if member.renewable:
                await member.renew(used[at:at + member.width], send, principal)
            at += member.width


def credentials_for(auth: OutboundAuth | list[OutboundAuth] | None) -> Credentials | None:
    """The credentials object for a source's `auth`, one entry or several (None: send none)."""
    if isinstance(auth, list):
        members = [c for c in (credentials_for(entry) for entry in auth) if c is not None]
        return None if not members else members[0] if len(members) == 1 else CombinedCredentials(members)
    if auth is None:
        return None
    if auth.bearer is not None:
        token = auth.bearer.get_secret_value()
        return StaticCredentials(Stamp("header", "Authorization", f"Bearer {token}"), [token])
    if auth.basic is not None:
        password = auth.basic.password.get_secret_value()
        encoded = base64.b64encode(f"{auth.basic.username}:{password}".encode()).decode("ascii")
        return StaticCredentials(Stamp("header", "Authorization", f"Basic {encoded}"), [password, encoded])
    if auth.api_key is not None:
        key = auth.api_key.value.get_secret_value()
        return StaticCredentials(Stamp(auth.api_key.in_, auth.api_key.name, key), [key, quote(key, safe="")])
    if auth.oauth2 is not None:
        return OAuth2Credentials(OAuth2TokenSource(auth.oauth2))
    if auth.token_exchange is not None:
        return TokenExchangeCredentials(ExchangedTokens(auth.token_exchange))
    return None  # `forward_claims` alone: headers only (see claim_headers)


# What an item of a `forward_claims` header keeps as it is: RFC 3986 §2.3's unreserved characters plus `@`
# and `:` (e-mail addresses, URNs and issuer-style subjects stay readable). Everything else — `%` and `,` first
# of all — is percent-encoded from UTF-8, so the encoding is injective (`claim_header_value`).
CLAIM_SAFE = "-._~@:"


def claim_headers(forward: Mapping[str, str], principal: Principal | None) -> list[tuple[str, str]]:
    """`forward_claims` ({header: claim}) filled from the caller's token claims (`claim_header_value`).

    A caller without one of the claims is refused (ToolCallError) rather than sent without it: an
    upstream that trusts the header must never see a request that merely lacks it. So is a caller
    whose claim cannot be sent faithfully (`UnsendableClaim`: an object, a nested list, an empty string).
    """
    claims = principal.claims if principal is not None else {}
    headers: list[tuple[str, str]] = []
    for header, claim in forward.items():
        value = claims.get(claim)
        who = "an unidentified caller" if principal is None else f"'{principal.name}' ({principal.kind})"
        if value is None:
            raise ToolCallError(
                f"this tool sends the caller's '{claim}' claim upstream (forward_claims), but {who} has none; "
                "call it with an OAuth access token that carries it"
            )
        try:
            headers.append((header, claim_header_value(value)))
        except UnsendableClaim as exc:
            refusal = ToolCallError(f"this tool sends the caller's '{claim}' claim upstream in {header} "
                                    f"(forward_claims), but the value {who} has cannot be sent faithfully: {exc}; "
                                    "nothing was sent")
            refusal.reason = f"forward_claims: claim '{claim}': {exc}"  # said on the call's log line
            raise refusal from None
    return headers


class UnsendableClaim(ValueError):
    """A claim value `forward_claims` cannot send faithfully; the message says what the value is."""


def claim_header_value(value: Any) -> str:
    """The header value `forward_claims` sends for a claim: a list of items joined by `,` (no space),
    each item percent-encoded (RFC 3986 §2.1, UTF-8, upper-case hex) except for `CLAIM_SAFE` characters.

    - a string is one item; a list is its items, in order (an empty list is the empty value); a number or
      boolean is its JSON text (`42`, `true`), as an item or alone;
    - so `%` and `,` inside an item are always `%25` and `%2C`, and no two different values give the same
      header — but for the equalities this encoding means: a value and a one-item list holding it
      (`"acme"` and `["acme"]`, as RFC 7519 §4.1.3 treats `aud`), and a number or boolean and the string
      of its JSON text (`42` and `"42"`);
    - an upstream decodes it by splitting on `,` and percent-decoding each item (`urllib.parse.unquote`,
      `decodeURIComponent`, Go's `url.PathUnescape`); the empty value is the empty list.

    Raises `UnsendableClaim` for a value that would not survive that: an object or a nested list (no item
    form), an empty string (an empty item cannot be told from no item), null inside a list.
    RFC 8941 structured-field strings were weighed: they cannot hold non-ASCII (only RFC 9651's display
    strings can, which few upstream parsers read), while every language decodes percent-encoding."""
    items = value if isinstance(value, list) else [value]
    return ",".join(_claim_item(item, isinstance(value, list)) for item in items)


def _claim_item(item: Any, in_list: bool) -> str:
    if isinstance(item, bool) or isinstance(item, (int, float)):
        return json.dumps(item)
    if isinstance(item, str):
        if not item:
            raise UnsendableClaim("it holds an empty string" if in_list else "it is an empty string")
        return quote(item, safe=CLAIM_SAFE)
    if item is None:
        raise UnsendableClaim("it holds null")
    kind = "a list inside a list" if isinstance(item, list) else "an object"
    raise UnsendableClaim(f"it {'holds' if in_list else 'is'} {kind}, which a header cannot carry item by item")


def stamp_into(url: str, headers: MutableMapping[str, str], stamps: Stamps) -> str:
    """Put each of `stamps` where it belongs — a header, the query or a cookie — and return the URL to use.

    Works on any headers mapping, so both aiohttp (upstream APIs) and the SDK's httpx2 (remote MCP
    servers) requests are stamped by this one rule.
    """
    for stamp in stamps:
        if stamp.placement == "header":
            headers[stamp.name] = stamp.value
        elif stamp.placement == "query":
            url = with_query_param(url, stamp.name, stamp.value)
        else:
            pair = f"{stamp.name}={cookie_safe(stamp.value)}"
            existing = headers.get("Cookie")
            headers["Cookie"] = f"{existing}; {pair}" if existing else pair
    return url


def with_query_param(url: str, name: str, value: str) -> str:
    """`url` with `name=value` (percent-encoded) replacing any parameter of that name."""
    parts = urlsplit(url)
    kept = [p for p in parts.query.split("&") if p and unquote_plus(p.partition("=")[0]) != name]
    kept.append(f"{quote_plus(name)}={quote(value, safe='')}")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(kept), ""))


def without_query_param(url: str, name: str) -> str:
    """`url` without any parameter called `name` (a redirect elsewhere must not carry our key)."""
    parts = urlsplit(url)
    kept = [p for p in parts.query.split("&") if p and unquote_plus(p.partition("=")[0]) != name]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(kept), parts.fragment))


_COOKIE_OCTETS = "!#$&'()*+-./:<=>?@[]^_`{|}~"


def cookie_safe(value: str) -> str:
    """Percent-encode what RFC 6265 forbids in a cookie value (space, quote, comma, semicolon, …)."""
    return quote(value, safe=_COOKIE_OCTETS)
