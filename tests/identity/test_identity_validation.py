"""Token validation rules one at a time, with tokens signed by keys served from a real JWKS endpoint
on 127.0.0.1 (so every claim can be set, including ones a real authorization server never issues):
issuer, audience, expiry, not-before, issued-at, algorithm allow-list, key discovery and its caching."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcprt.identity.discovery import KeySource, KeysUnavailable, cache_lifetime, metadata_urls
from mcprt.identity.resource import DESCRIPTION_LIMIT, challenge, metadata_paths, metadata_url
from mcprt.identity.tokens import TokenRejected, granted_scopes, shown, verify_jwt
from tests.support.upstream import serve_app

AUDIENCE = "https://mcp.example.com/mcp"


@dataclass
class Issuer:
    url: str = ""
    keys: list[Any] = field(default_factory=list)
    cache_control: str = "max-age=300"
    jwks_requests: int = 0
    metadata_requests: list[str] = field(default_factory=list)

    def sign(self, claims: dict[str, Any], *, key: Any = None, alg: str = "ES256", **header: Any) -> str:
        key = key or self.keys[0]
        return jwt.encode({"alg": alg, "kid": key.kid, **header}, claims, key)

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {"iss": self.url, "aud": AUDIENCE, "sub": "alice", "exp": now + 300, "iat": now, "scope": "a b"}
        merged = {k: now + v.seconds if isinstance(v, FromNow) else v for k, v in {**base, **changes}.items()}
        return {k: v for k, v in merged.items() if v is not None}


@dataclass(frozen=True)
class FromNow:
    """A time claim relative to when the token is signed (not when the test was collected: a run
    under load may reach a parametrized case minutes later)."""

    seconds: int


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    state = Issuer(keys=[ECKey.generate_key("P-256", {"kid": "k1"})])

    async def oidc_metadata(request: Request) -> JSONResponse:
        state.metadata_requests.append(request.url.path)
        return JSONResponse({"issuer": state.url, "jwks_uri": f"{state.url}/keys"})

    async def keys(request: Request) -> Response:
        state.jwks_requests += 1
        public = {"keys": [k.as_dict(private=False) for k in state.keys]}
        return JSONResponse(public, headers={"cache-control": state.cache_control})

    app = Starlette(routes=[Route("/.well-known/openid-configuration", oidc_metadata), Route("/keys", keys)])
    with serve_app(app) as base:
        state.url = base
        yield state


async def check(issuer: Issuer, token: str, keys: KeySource | None = None, **options: Any) -> dict[str, Any]:
    settings = {"issuer": issuer.url, "audience": AUDIENCE, "algorithms": ["ES256", "RS256"], "clock_skew": 5.0}
    return await verify_jwt(token, keys=keys or KeySource(issuer.url), **(settings | options))


async def test_a_valid_token_passes_and_metadata_is_found_by_oidc_discovery(issuer: Issuer) -> None:
    claims = await check(issuer, issuer.sign(issuer.claims()))
    assert claims["sub"] == "alice"
    # RFC 8414's location answered 404 first, then OpenID Connect Discovery's.
    assert issuer.metadata_requests == ["/.well-known/openid-configuration"]


@pytest.mark.parametrize(("changes", "reason"), [
    ({"iss": "https://evil.example"}, "issued by 'https://evil.example', not by the accepted issuer 'http://127.0.0.1:"),
    ({"iss": None}, "issued without an issuer (iss), not by the accepted issuer"),
    ({"aud": "https://other.example/mcp"}, "not intended for this resource"),
    ({"aud": ["https://other.example", "https://else.example"]}, "not intended for this resource"),
    ({"exp": None}, "no expiry"),
    ({"exp": FromNow(-60)}, "expired"),
    ({"nbf": FromNow(600)}, "not valid yet"),
    ({"iat": FromNow(600)}, "issued in the future"),
    ({"exp": "tomorrow"}, "no expiry"),
])
async def test_each_claim_rule_rejects_with_its_reason(issuer: Issuer, changes: dict[str, Any], reason: str) -> None:
    # A trial: another issuer's token was told "signed with a key the issuer does not publish", as the
    # key lookup (a key-set fetch per unknown kid) ran before the claims. Claims come first, offline.
    fetched = issuer.jwks_requests, len(issuer.metadata_requests)
    with pytest.raises(TokenRejected, match=re.escape(reason)):
        await check(issuer, issuer.sign(issuer.claims(**changes)))
    assert (issuer.jwks_requests, len(issuer.metadata_requests)) == fetched


async def test_a_malformed_payload_is_rejected_before_any_key_fetch(issuer: Issuer) -> None:
    header = issuer.sign(issuer.claims()).split(".")[0]
    for payload in ("not-base64-json", "WzFd"):  # garbage; a JSON list ([1]), not an object
        with pytest.raises(TokenRejected, match="the token's payload is not"):
            await check(issuer, f"{header}.{payload}.c2ln")
    assert issuer.jwks_requests == 0 and issuer.metadata_requests == []


async def test_audience_may_be_one_of_several_and_clock_skew_is_tolerated(issuer: Issuer) -> None:
    now = int(time.time())
    token = issuer.sign(issuer.claims(aud=["https://other.example", AUDIENCE], exp=now - 3, nbf=now + 3))
    assert (await check(issuer, token))["sub"] == "alice"  # 3 s past exp / before nbf, within 5 s skew
    with pytest.raises(TokenRejected, match="expired"):
        await check(issuer, token, clock_skew=0.0)


async def test_algorithms_outside_the_allow_list_are_refused(issuer: Issuer) -> None:
    rsa = RSAKey.generate_key(2048, {"kid": "r1"})
    issuer.keys.append(rsa)
    token = issuer.sign(issuer.claims(), key=rsa, alg="RS256")
    assert (await check(issuer, token))["sub"] == "alice"
    with pytest.raises(TokenRejected, match="algorithm 'RS256' is not allowed"):
        await check(issuer, token, algorithms=["ES256"])


async def test_a_key_of_the_wrong_type_for_the_algorithm_is_not_used(issuer: Issuer) -> None:
    # Header says RS256 but names the EC key: no key fits, whatever the signature.
    token = issuer.sign(issuer.claims(), alg="ES256")
    header_swapped = token.replace(token.split(".")[0], jwt.encode({"alg": "RS256", "kid": "k1"}, {}, RSAKey.generate_key(2048)).split(".")[0])
    with pytest.raises(TokenRejected, match="does not publish"):
        await check(issuer, header_swapped)


async def test_keys_are_cached_and_refreshed_once_for_an_unknown_kid(issuer: Issuer, monkeypatch: pytest.MonkeyPatch) -> None:
    import mcprt.identity.discovery as discovery

    keys = KeySource(issuer.url)
    for _ in range(3):
        await check(issuer, issuer.sign(issuer.claims()), keys)
    assert issuer.jwks_requests == 1  # max-age=300: the set is reused
    issuer.keys.append(ECKey.generate_key("P-256", {"kid": "k2"}))
    rotated = issuer.sign(issuer.claims(), key=issuer.keys[1])
    with pytest.raises(TokenRejected, match="does not publish"):
        await check(issuer, rotated, keys)  # fetched moments ago: the refresh is rate-limited
    assert issuer.jwks_requests == 1
    monkeypatch.setattr(discovery, "UNKNOWN_KID_REFRESH_S", 0.0)
    assert (await check(issuer, rotated, keys))["sub"] == "alice"
    assert issuer.jwks_requests == 2
    with pytest.raises(TokenRejected, match="does not publish"):
        await check(issuer, issuer.sign(issuer.claims(), kid="nope"), keys)
    assert issuer.jwks_requests == 3


async def test_no_store_keys_are_fetched_again_each_time(issuer: Issuer) -> None:
    issuer.cache_control = "no-store"
    keys = KeySource(issuer.url)
    for _ in range(2):
        await check(issuer, issuer.sign(issuer.claims()), keys)
    assert issuer.jwks_requests == 2


async def test_metadata_naming_another_issuer_is_not_used(issuer: Issuer) -> None:
    keys = KeySource(issuer.url + "/")  # the document says issuer without the slash: not the same
    with pytest.raises(KeysUnavailable, match="names issuer"):
        await keys.key_for("k1", "ES256")


async def test_an_unreachable_issuer_is_a_server_problem_not_a_bad_token() -> None:
    with pytest.raises(KeysUnavailable):
        await KeySource("http://127.0.0.1:9").key_for("k1", "ES256")


def test_cache_lifetime_follows_http_caching_headers() -> None:
    assert cache_lifetime(httpx.Headers({"cache-control": "public, max-age=120"})) == 120
    assert cache_lifetime(httpx.Headers({"cache-control": "no-cache, max-age=120"})) == 0
    assert cache_lifetime(httpx.Headers({"expires": "Thu, 01 Jan 1970 00:00:00 GMT"})) == 0
    assert cache_lifetime(httpx.Headers({"expires": "not a date"})) == 0
    assert cache_lifetime(httpx.Headers({"cache-control": "max-age=99999999"})) == 86_400
    assert cache_lifetime(httpx.Headers({})) == 300


def test_metadata_locations_follow_rfc_8414_and_oidc_discovery() -> None:
    assert metadata_urls("https://idp.example.com/realms/main") == [
        "https://idp.example.com/.well-known/oauth-authorization-server/realms/main",
        "https://idp.example.com/.well-known/openid-configuration/realms/main",
        "https://idp.example.com/realms/main/.well-known/openid-configuration",
    ]
    assert metadata_urls("https://idp.example.com") == [
        "https://idp.example.com/.well-known/oauth-authorization-server",
        "https://idp.example.com/.well-known/openid-configuration",
    ]


def test_protected_resource_metadata_locations_and_challenges() -> None:
    # RFC 9728 §3.1: the well-known segment goes between the host and the resource's path.
    assert metadata_url("https://mcp.example.com/mcp") == "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    assert metadata_paths("/mcp") == ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource")
    assert metadata_paths("/") == ("/.well-known/oauth-protected-resource",)
    assert challenge("https://m/x", error="insufficient_scope", scope=["a", "b"]) == (
        'Bearer resource_metadata="https://m/x", error="insufficient_scope", scope="a b"')
    # RFC 6750 §3: `"`, `\\`, control and non-ASCII characters are outside error_description's set
    # (not escaped: replaced, one for one), and it is cut at a fixed length after that.
    assert challenge("https://m/x", error="invalid_token", description='say "no"\\\r\n\U0001F600') == (
        'Bearer resource_metadata="https://m/x", error="invalid_token", error_description="say ?no?????"')
    long = challenge("https://m/x", description="\U0001F600" * 1000)
    assert long.endswith('error_description="' + "?" * DESCRIPTION_LIMIT + '"')


def test_scopes_come_from_scope_or_scp() -> None:
    assert granted_scopes({"scope": "a b"}) == {"a", "b"}
    assert granted_scopes({"scp": ["c"], "scope": "a"}) == {"a", "c"}
    assert granted_scopes({}) == frozenset()


@pytest.mark.parametrize(("value", "expected"), [
    ("\U0001F600" * 100, "'" + "?" * 60 + "...'"),  # cut after replacing: ascii() grew this to ~1,000
    ('x", scope="admin\r\n', "'x?, scope=?admin??'"),
    ("x' path=/admin", "'x? path=/admin'"),  # a ' inside cannot close the quotes
    ("https://sso.example", "'https://sso.example'"),
])
def test_a_shown_value_is_quoted_within_the_rfc_6750_set_and_cut_after(value: str, expected: str) -> None:
    assert shown(value) == expected


@pytest.mark.parametrize(("claims", "named"), [
    ({"client_id": "ops"}, "the token's client id 'ops' (it has no sub, so its client names the principal)"),
    ({"azp": "ops"}, "the token's client id 'ops' (it has no sub, so its client names the principal)"),
    ({"sub": "ops", "client_id": "agent"}, "the token's subject (sub) 'ops'"),
])
async def test_a_name_clash_names_the_claim_the_principal_came_from(issuer: Issuer, claims: dict[str, Any],
                                                                  named: str) -> None:
    """A compliance trial: a token with `client_id: ops` and no `sub` was refused blaming "the token's
    subject (sub) 'ops'" — it had none; the principal's name came from its client id."""
    from mcprt.identity.principal import subject_clash
    from mcprt.identity.resource import ResourceServer
    from mcprt.manifest.model import OAuthResourceServer

    server = ResourceServer(OAuthResourceServer(issuer=issuer.url, audience=AUDIENCE, algorithms=["ES256"]), "/mcp")
    now = int(time.time())
    token = issuer.sign({"iss": issuer.url, "aud": AUDIENCE, "iat": now, "exp": now + 60, **claims})
    try:
        principal = await server.authenticate(token, AUDIENCE)
    finally:
        await server.aclose()
    assert principal.subject == "ops"
    assert subject_clash(principal, ["ops"]) == (f"{named} is also the name of a static token (server.auth.tokens) on "
                                                 "this server; refused so it cannot act as that principal")
    assert subject_clash(principal, ["alice"]) is None
