"""Per-user upstream credentials in the HTTP executor, against the real test upstream and its token
endpoint: RFC 8693 token exchange (per-subject cache, renewal after a 401, refusal without a subject
token) and `forward_claims` (values, precedence over other headers, never across origins)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import MappingProxyType
from typing import Any

import httpx
import pytest
from tests.http.http_support import CLIENT_ID, CLIENT_SECRET, Upstream

from mcprt.errors import ToolCallError, UpstreamError
from mcprt.identity.principal import Principal, SubjectToken
from mcprt.manifest.model import OutboundAuth
from mcprt.outbound import BuiltRequest, HttpUpstream
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
    assert seen["x-user-groups"] == "admins, dev"
    assert seen["x-user-name"] == "Zo%C3%AB%0D%0AX-Evil: 1"  # no header injection, no raw non-ASCII
    assert "x-evil" not in seen


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
