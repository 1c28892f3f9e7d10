"""Per-user upstream credentials in the HTTP executor, against the real test upstream and its token
endpoint: RFC 8693 token exchange (per-subject cache, renewal after a 401, refusal without a subject
token) and `forward_claims` (values, precedence over other headers, never across origins)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from tests.http.http_support import CLIENT_ID, CLIENT_SECRET, Upstream

from mcprt.errors import ToolCallError, UpstreamError
from mcprt.identity.principal import Principal, SubjectToken
from mcprt.manifest.model import OutboundAuth
from mcprt.outbound import BuiltRequest, HttpUpstream
from mcprt.outbound.credentials import claim_header_value
from mcprt.contracts import CallContext


def user(who: str, **claims: Any) -> Principal:
    return Principal(who, "oauth", client_id="app", claims=MappingProxyType({"sub": who, **claims}),
                     subject_token=SubjectToken(f"caller-token-of-{who}"))


def ctx(principal: Principal | None) -> CallContext:
    return CallContext(tool="t", timeout=10, max_response_bytes=1_000_000, principal=principal)


def exchange(upstream: Upstream, **extra: Any) -> OutboundAuth:
    return OutboundAuth.model_validate({"token_exchange": {
        "token_url": upstream.url("/token"), "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "audience": "echo-api", "scopes": ["read"]}, **extra})


@pytest.fixture
async def make() -> AsyncIterator[Any]:
    made: list[HttpUpstream] = []

    def factory(auth: OutboundAuth, **headers: str) -> HttpUpstream:
        made.append(HttpUpstream(source="people", auth=auth, headers=headers, retries=0))
        return made[-1]

    yield factory
    for http in made:
        await http.aclose()


def get(url: str, headers: list[tuple[str, str]] | None = None) -> BuiltRequest:
    return BuiltRequest(method="GET", url=url, headers=headers or [], idempotent=True)


async def test_each_subject_gets_its_own_exchanged_token_cached(upstream: Upstream, make: Any) -> None:
    http = make(exchange(upstream))
    alice, bob = user("alice"), user("bob")
    for caller in (alice, alice, bob):
        await http.send(get(upstream.url("/echo")), ctx(caller))
    # What the upstream received (a reflected credential is scrubbed from results, so not read there).
    first, again, other = (seen["headers"]["authorization"] for seen in upstream.recorder.seen[-3:])
    assert first == again == "Bearer tok-1"
    assert other == "Bearer tok-2"
    assert upstream.recorder.token_fetches == 2
    form = upstream.recorder.token_forms[0]
    assert form == {  # RFC 8693 §2.1
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": "caller-token-of-alice",
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "audience": "echo-api",
        "scope": "read",
    }
    assert "caller-token-of" not in str(first) + str(other)


async def test_a_401_exchanges_again_once(upstream: Upstream, make: Any) -> None:
    http = make(exchange(upstream))
    alice = user("alice")
    assert (await http.send(get(upstream.url("/protected")), ctx(alice))).status == 200
    httpx.post(upstream.url("/revoke"), timeout=5)
    renewed = await http.send(get(upstream.url("/protected")), ctx(alice))
    assert renewed.status == 200
    assert upstream.recorder.presented == ["tok-1", "tok-2"]  # what the upstream accepted, in order
    assert upstream.recorder.token_fetches == 2


@pytest.mark.parametrize("principal", [None, Principal("ci-bot", "token"), Principal("stdio", "stdio")])
async def test_a_caller_without_an_oauth_token_is_refused_before_anything_is_sent(
        upstream: Upstream, make: Any, principal: Principal | None) -> None:
    http = make(exchange(upstream))
    with pytest.raises(ToolCallError, match="needs the caller's OAuth access token") as caught:
        await http.send(get(upstream.url("/echo")), ctx(principal))
    assert not isinstance(caught.value, UpstreamError)  # the caller's problem, not upstream's
    assert upstream.recorder.token_fetches == 0 and not upstream.recorder.hits


async def test_a_failed_exchange_is_an_upstream_error_without_the_callers_token(upstream: Upstream, make: Any) -> None:
    bad = OutboundAuth.model_validate({"token_exchange": {
        "token_url": upstream.url("/token"), "client_id": CLIENT_ID, "client_secret": "wrong-secret"}})
    with pytest.raises(UpstreamError, match="token request failed") as caught:
        await make(bad).send(get(upstream.url("/echo")), ctx(user("alice")))
    assert "caller-token-of-alice" not in str(caught.value) and "wrong-secret" not in str(caught.value)


async def test_claims_travel_in_headers_that_nothing_else_can_set(upstream: Upstream, make: Any) -> None:
    http = make(OutboundAuth.model_validate({"forward_claims": {
        "X-User-Email": "email", "X-User-Groups": "groups", "X-User-Name": "name"}}), **{"X-User-Email": "manifest"})
    alice = user("alice", email="alice@example.com", groups=["admins", "dev"], name="Zoë\r\nX-Evil: 1")
    forged = [("X-User-Email", "mallory@example.com")]  # e.g. a header parameter the model filled in
    seen = (await http.send(get(upstream.url("/echo"), forged), ctx(alice))).body["headers"]
    assert seen["x-user-email"] == "alice@example.com"
    assert seen["x-user-groups"] == "admins,dev"
    assert seen["x-user-name"] == "Zo%C3%AB%0D%0AX-Evil:%201"  # no header injection, no raw non-ASCII
    assert "x-evil" not in seen


def decoded(header: str) -> list[str]:
    """What an upstream reads from a `forward_claims` header, as the README tells it to."""
    return [unquote(item) for item in header.split(",")] if header else []


# Each row: claim values two trials sent that reached the upstream as one header value (trial tenant, fault 2;
# trial oauth, fault 4), and must not.
COLLIDED = [
    ("jürgen@example.com", "j%C3%BCrgen@example.com"),
    ("acéme", "ac%C3%A9me"),
    ("zoë@example.com", "zo%C3%AB@example.com"),
    (["acme", "globex"], "acme, globex"),
    (["acme", "globex"], ["acme, globex"]),
    (["eng", "admins"], ["eng, admins"]),
    (["a,b"], ["a", "b"]),
    ("100%", "100%25"),
    ([], [" "]),
]


@pytest.mark.parametrize(("one", "other"), COLLIDED, ids=[repr(pair) for pair in COLLIDED])
async def test_different_claim_values_reach_the_upstream_as_different_headers(
        upstream: Upstream, make: Any, one: Any, other: Any) -> None:
    http = make(OutboundAuth.model_validate({"forward_claims": {"X-Tenant": "tenant"}}))
    seen = []
    for value in (one, other):
        body = (await http.send(get(upstream.url("/echo")), ctx(user("u", tenant=value)))).body
        seen.append(body["headers"]["x-tenant"])
        # decoding gives back the value (a string is a one-item list)
        assert decoded(seen[-1]) == (value if isinstance(value, list) else [value])
    assert seen[0] != seen[1]


@pytest.mark.parametrize(("value", "header"), [
    ("alice@example.com", "alice@example.com"),
    ("urn:example:user:42", "urn:example:user:42"),
    ("auth0|5f1e", "auth0%7C5f1e"),
    ("a+b c", "a%2Bb%20c"),
    (["acme", "globex"], "acme,globex"),
    ([], ""),
    (42, "42"),
    (True, "true"),
    ([1, "x"], "1,x"),
    ("x@example.com\r\nX-Evil: 1", "x@example.com%0D%0AX-Evil:%201"),
])
def test_claim_header_values_are_as_documented(value: Any, header: str) -> None:
    assert claim_header_value(value) == header


@pytest.mark.parametrize(("value", "why"), [
    ("", "it is an empty string"),
    (["a", ""], "it holds an empty string"),
    ({"org": "acme"}, "it is an object, which a header cannot carry item by item"),
    (["a", ["b"]], "it holds a list inside a list, which a header cannot carry item by item"),
    (["a", None], "it holds null"),
])
async def test_a_claim_that_cannot_be_sent_faithfully_is_refused_before_anything_is_sent(
        upstream: Upstream, make: Any, value: Any, why: str) -> None:
    http = make(OutboundAuth.model_validate({"forward_claims": {"X-Tenant": "tenant"}}))
    with pytest.raises(ToolCallError) as caught:
        await http.send(get(upstream.url("/echo")), ctx(user("bob", tenant=value)))
    assert str(caught.value) == (f"this tool sends the caller's 'tenant' claim upstream in X-Tenant (forward_claims), "
                                 f"but the value 'bob' (oauth) has cannot be sent faithfully: {why}; nothing was sent")
    assert caught.value.reason == f"forward_claims: claim 'tenant': {why}"
    assert not isinstance(caught.value, UpstreamError)
    assert not upstream.recorder.hits


async def test_a_caller_without_the_claim_is_refused(upstream: Upstream, make: Any) -> None:
    http = make(OutboundAuth.model_validate({"forward_claims": {"X-User-Email": "email"}}))
    with pytest.raises(ToolCallError, match="'email' claim") as caught:
        await http.send(get(upstream.url("/echo")), ctx(user("bob")))
    assert not isinstance(caught.value, UpstreamError)
    assert not upstream.recorder.hits


async def test_claims_never_follow_a_redirect_to_another_origin(upstream: Upstream, make: Any) -> None:
    http = make(OutboundAuth.model_validate({"forward_claims": {"X-User-Email": "email"}}))
    target = upstream.other_host + "/echo"
    seen = (await http.send(get(upstream.url(f"/redirect?to={target}")), ctx(user("a", email="a@x.io")))).body
    assert seen["host"].startswith("localhost:") and "x-user-email" not in seen["headers"]
    home = (await http.send(get(upstream.url("/redirect?to=/echo")), ctx(user("a", email="a@x.io")))).body
    assert home["headers"]["x-user-email"] == "a@x.io"
