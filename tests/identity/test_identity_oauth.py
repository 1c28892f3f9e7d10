"""mcprt as an OAuth 2.1 resource server, against a real authorization server (oidc-provider on
127.0.0.1), a real upstream with a token-exchange endpoint, `mcprt up` and the SDK client.

Valid client-credentials and user tokens reach the tools; every kind of bad token gets its 401/403
and nothing is called upstream; the upstream sees an exchanged token, never the caller's. Runs in
stateful and stateless HTTP, both protocol eras.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.identity.oauth_support import (
    CI_TOKEN,
    ELSEWHERE,
    EXCHANGE_SECRET,
    INTROSPECTION,
    Upstream,
    foreign_token,
    forged,
    oauth_manifest,
    unverified,
    upstream_app,
)
from tests.support.cli import mcprt_cli
from tests.support.oidc import WEBAPP_REDIRECT, AuthServer, auth_server, authorization_response
from tests.support.served import UpProcess, child_env, http_client, mcprt_http, text_of
from tests.support.upstream import serve_app

pytestmark = pytest.mark.xdist_group("oidc")  # one started set of servers per run, not one per worker

CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "x"}}}
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
ACCEPT = "application/json, text/event-stream"


@dataclass
class World:
    idp: AuthServer
    upstream: Upstream
    up: UpProcess

    @property
    def resource(self) -> str:
        return self.up.url

    def post(self, token: str | None, body: dict | None = None) -> httpx.Response:
        headers = {"accept": ACCEPT, **({"authorization": f"Bearer {token}"} if token else {})}
        return httpx.post(self.up.url, json=body or CALL, headers=headers, timeout=30)

    def calls(self) -> int:
        return self.up.log().count("call tool=")


def env(**settings: str) -> dict[str, str]:
    return child_env(CI_TOKEN=CI_TOKEN, EXCHANGE_SECRET=EXCHANGE_SECRET, INTROSPECTION_SECRET="svc-secret", **settings)


@contextmanager
def world_of(idp: AuthServer, folder: Path, *, stateless: bool = False, extra: str = "",
             settings: dict[str, str] | None = None) -> Iterator[World]:
    """The upstream and `mcprt up` (with these `MCPRT_*` `settings`) in front of it, trusting `idp`."""
    state = Upstream(issuer=idp.issuer)
    with serve_app(upstream_app(state)) as base:
        manifest = oauth_manifest(folder, issuer=idp.issuer, upstream=base, stateless=stateless, extra=extra)
        with mcprt_http(manifest, env=env(**(settings or {}))) as up:
            state.resource = up.url
            yield World(idp, state, up)


@pytest.fixture(scope="module", params=[False, True], ids=["stateful", "stateless"])
def world(request: pytest.FixtureRequest, idp: AuthServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with world_of(idp, tmp_path_factory.mktemp("oauth"), stateless=request.param) as made:
        yield made


async def echo_as(world: World, token: str, mode: str = "legacy") -> str:
    async with http_client(world.up.url, token=token, mode=mode) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert tools == {"echo", "whoami", "echoAuth"}
        result = await client.call_tool("echo", {"text": "hi"})
        assert not result.is_error, text_of(result)
        return text_of(result)


# --- metadata and challenges ----------------------------------------------------------------------


def test_protected_resource_metadata_has_rfc_9728_fields(world: World) -> None:
    base = world.up.base
    for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
        response = httpx.get(base + path, timeout=10)  # no token needed: clients read it to get one
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("application/json")
        document = response.json()
        # RFC 9728 §2: `resource` is required and (§3.3) equals the resource the URL was built from.
        assert document["resource"] == world.resource
        assert document["authorization_servers"] == [world.idp.issuer]
        assert document["scopes_supported"] == ["mcp:tools"]
        assert document["bearer_methods_supported"] == ["header"]
        # RFC 9728 §2: that member lists the algorithms the resource signs its *responses* with;
        # mcprt signs none, so it must not be advertised (a trial saw the accepted token algorithms there).
        assert "resource_signing_alg_values_supported" not in document
        assert all(isinstance(v, list) and all(isinstance(x, str) for x in v)
                   for k, v in document.items() if k != "resource")


def test_operator_pages_challenge_like_the_endpoint_whose_access_tokens_they_take(world: World) -> None:
    # A review: /metrics and /status.json take OAuth access tokens (with the required scopes) but
    # answered `Bearer realm="mcprt"`, with neither where to get one nor the scope= to ask for.
    metadata = f"{world.up.base}/.well-known/oauth-protected-resource/mcp"
    for path in ("/metrics", "/status.json"):
        missing = httpx.get(world.up.base + path, timeout=10)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == f'Bearer resource_metadata="{metadata}", scope="mcp:tools"'
        wrong = httpx.get(world.up.base + path, headers={"authorization": "Bearer nope"}, timeout=10)
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"] == (
            f'Bearer resource_metadata="{metadata}", error="invalid_token", scope="mcp:tools"')
    token = world.idp.client_credentials(world.resource)
    assert httpx.get(world.up.base + "/metrics", headers={"authorization": f"Bearer {token}"}, timeout=10).status_code == 200


def test_status_sign_in_with_an_access_token_says_how_to_use_it(world: World) -> None:
    # A new-user trial pasted a valid access token into the status page's sign-in form and was told
    # "that token is not valid", while the same token in a header opened the page.
    token = world.idp.client_credentials(world.resource)
    base = world.up.base
    form = httpx.post(f"{base}/status/login", data={"token": token}, headers={"origin": base}, timeout=30)
    assert form.status_code == 401
    assert "valid OAuth access token" in form.text and "Authorization: Bearer" in form.text
    assert "not valid" not in form.text and token not in form.text
    wrong = httpx.post(f"{base}/status/login", data={"token": forged(token, {"alg": "none"})}, headers={"origin": base},
                       timeout=30)
    assert wrong.status_code == 401 and "that token is not valid" in wrong.text
    header = httpx.get(f"{base}/status", headers={"authorization": f"Bearer {token}"}, timeout=30)
    assert header.status_code == 200 and "Sign in" not in header.text
    static = httpx.post(f"{base}/status/login", data={"token": CI_TOKEN}, headers={"origin": base}, timeout=30)
    assert static.status_code == 303  # static tokens still sign a browser in


def test_missing_token_gets_401_pointing_at_the_metadata(world: World) -> None:
    assert f"OAuth from {world.idp.issuer} + static tokens)" in world.up.log()  # the banner says how
    response = world.post(None)
    assert response.status_code == 401
    metadata = f"{world.up.base}/.well-known/oauth-protected-resource/mcp"
    # RFC 9728 §5.1; RFC 6750 §3.1: no error code when the request carried no credentials; MCP
    # authorization 2025-11-25 ("Scope Selection Strategy"): the scopes to ask for (a trial saw none).
    assert response.headers["www-authenticate"] == f'Bearer resource_metadata="{metadata}", scope="mcp:tools"'


# --- valid tokens -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_client_credentials_token_reaches_the_tools_as_its_principal(world: World, mode: str) -> None:
    token = world.idp.client_credentials(world.resource)
    assert await echo_as(world, token, mode) == "oauth|svc|svc|mcp:tools|-|hi"


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_user_token_reaches_the_tools_with_its_claims(world: World, mode: str) -> None:
    token = world.idp.user_token(world.resource, user="carol")
    assert await echo_as(world, token, mode) == "oauth|carol|webapp|mcp:tools|carol@example.com|hi"


async def test_static_token_still_works_next_to_oauth(world: World) -> None:
    assert await echo_as(world, CI_TOKEN) == "token|ci-bot|null||-|hi"


# --- per-user upstream credentials ----------------------------------------------------------------


async def test_upstream_sees_an_exchanged_token_per_user_never_the_callers(world: World) -> None:
    alice = world.idp.user_token(world.resource, user="alice")
    bob = world.idp.user_token(world.resource, user="bob")
    world.upstream.api_requests.clear()
    world.upstream.exchanges.clear()
    async with http_client(world.up.url, token=alice) as client:
        first = await client.call_tool("whoami", {})
        second = await client.call_tool("whoami", {})
    async with http_client(world.up.url, token=bob) as client:
        third = await client.call_tool("whoami", {})
    assert not first.is_error, text_of(first)
    assert first.structured_content == {"subject": "alice", "email": "alice@example.com"}
    assert second.structured_content == first.structured_content
    assert third.structured_content == {"subject": "bob", "email": "bob@example.com"}
    # One exchange per subject (the second call of alice used the cached token), RFC 8693 form.
    assert [e["subject_token"] for e in world.upstream.exchanges] == [alice, bob]
    assert all(e["audience"] == "people-api" and e["requested_token_type"].endswith(":access_token")
               for e in world.upstream.exchanges)
    seen = world.upstream.seen_tokens()
    assert seen[0] == seen[1] != seen[2]
    assert all(t.startswith("Bearer exchanged-") for t in seen)
    # Never the caller's token, in any header of any upstream request.
    for request in world.upstream.api_requests:
        assert not any(alice in value or bob in value for value in request.values())


async def test_forwarded_claims_of_two_users_never_reach_the_upstream_alike(world: World) -> None:
    """The trials' users `zoë` and `zo%C3%AB` (e-mails zoë@… and zo%C3%AB@…) reached the upstream as one
    X-User-Email; each item is percent-encoded, `%` included, so the upstream tells them apart and decodes
    each back (`urllib.parse.unquote`, as the README says)."""
    from urllib.parse import unquote

    sent = []
    for user in ("zoë", "zo%C3%AB"):
        token = world.idp.user_token(world.resource, user=user)
        async with http_client(world.up.url, token=token) as client:
            result = await client.call_tool("whoami", {})
        assert not result.is_error, text_of(result)
        sent.append(result.structured_content["email"])
        assert unquote(sent[-1]) == f"{user}@example.com"
    assert sent == ["zo%C3%AB@example.com", "zo%25C3%25AB@example.com"]


async def test_an_upstream_echoing_exchanged_tokens_hands_none_of_them_on(world: World) -> None:
    """A trial: an upstream echoing its `Authorization` gave the model `"seen_auth": "Bearer xch.0.…"`, the
    exchanged (RFC 8693) token, while client-credentials ones came back `[redacted]`. Exchanged tokens are
    scrubbed like every token mcprt obtains: the caller's own, and another user's echoed later, in results and
    logs alike."""
    alice = world.idp.user_token(world.resource, user="alice")
    bob = world.idp.user_token(world.resource, user="bob")
    async with http_client(world.up.url, token=alice) as client:
        first = await client.call_tool("echoAuth", {})
    async with http_client(world.up.url, token=bob) as client:
        second = await client.call_tool("echoAuth", {})
    exchanged = [t for t, subject in world.upstream.issued.items() if subject in ("alice", "bob")]
    assert exchanged and world.upstream.seen_tokens()[-1].startswith("Bearer exchanged-bob-")  # they were sent
    for result in (first, second):
        assert not result.is_error, text_of(result)
        assert result.structured_content["seen_auth"] == "Bearer [redacted]", result.structured_content
        shown = text_of(result) + json.dumps(result.structured_content)
        assert not any(token in shown for token in exchanged), shown
    assert "Bearer [redacted]" in second.structured_content["earlier"]  # alice's, echoed to bob: scrubbed too
    # renewed: the upstream refuses alice's token once (401), mcprt exchanges anew and resends; the new one is
    # scrubbed as well
    world.upstream.revoke_next = True
    async with http_client(world.up.url, token=alice) as client:
        third = await client.call_tool("echoAuth", {})
    renewed = [t for t, subject in world.upstream.issued.items() if subject == "alice" and t not in exchanged]
    assert renewed and world.upstream.seen_tokens()[-1] == f"Bearer {renewed[-1]}"
    assert not third.is_error and third.structured_content["seen_auth"] == "Bearer [redacted]", text_of(third)
    assert renewed[-1] not in text_of(third) + json.dumps(third.structured_content)
    log = world.up.log()
    assert not any(token in log for token in [*exchanged, *renewed])


async def test_per_user_credentials_refuse_a_caller_without_an_oauth_token(world: World) -> None:
    world.upstream.api_requests.clear()
    async with http_client(world.up.url, token=CI_TOKEN) as client:
        result = await client.call_tool("whoami", {})
    assert result.is_error
    assert "OAuth access token" in text_of(result) and "'ci-bot'" in text_of(result)
    assert world.upstream.api_requests == []


def test_a_token_in_the_url_query_is_refused_on_every_path_whatever_else_the_request_carries(world: World) -> None:
    """A trial: `POST /mcp?access_token=<valid>` with the same token in the header got 200 silently, and
    `/status?access_token=` 401. MCP authorization: access tokens MUST NOT be in the URI query string — 400
    `invalid_request` everywhere, nothing called, the value never logged."""
    token = world.idp.client_credentials(world.resource)
    calls, mark = world.calls(), len(world.up.log())
    headers = {"accept": ACCEPT, "authorization": f"Bearer {token}"}
    for query in (f"access_token={token}", f"token={token}", "x=1&ACCESS_TOKEN=", f"access_token={token}&token=x"):
        refused = httpx.post(f"{world.up.url}?{query}", json=INITIALIZE, headers=headers, timeout=30)
        assert refused.status_code == 400, (query, refused.status_code, refused.text)
        error = refused.json()["error"]  # the MCP endpoint's refusals carry a JSON-RPC error
        assert "in the URL query" in error["message"] and "Authorization: Bearer header" in error["message"]
        assert refused.headers["www-authenticate"].startswith('Bearer error="invalid_request"')
        assert token not in refused.text and "mcp-session-id" not in refused.headers
    for path in ("/status.json", "/metrics", "/healthz", "/.well-known/oauth-protected-resource/mcp"):
        refused = httpx.get(f"{world.up.base}{path}?access_token={token}", headers=headers, timeout=30)
        assert refused.status_code == 400 and "in the URL query" in refused.json()["error"], (path, refused.text)
    page = httpx.get(f"{world.up.base}/status?access_token={token}", timeout=30)  # the page: its form says why
    assert page.status_code == 400 and "is not accepted" in page.text and token not in page.text
    assert world.post(token, INITIALIZE).status_code == 200  # the same token in the header alone: fine
    world.up.wait_log("status sign-in refused: a token in the address")  # written after the guard's lines
    log = world.up.log()[mark:]
    assert log.count("rejected request: a token in the URL query") >= 8 and token not in log
    assert world.calls() == calls


# --- rejected tokens: the right 401/403, nothing called ----------------------------------------


def assert_rejected(world: World, token: str, status: int, *fragments: str, scope: str = "mcp:tools") -> None:
    calls, upstream = world.calls(), len(world.upstream.api_requests)
    response = world.post(token)
    challenge = response.headers.get("www-authenticate", "")
    assert response.status_code == status, (response.status_code, response.text)
    assert challenge.startswith('Bearer resource_metadata="') and 'error="' in challenge
    # the manifest's scopes (a 403's: those the token holds first, scope_challenge.py)
    assert challenge.endswith(f', scope="{scope}"'), challenge
    for fragment in fragments:
        assert fragment in challenge, challenge
    assert "mcp-session-id" not in response.headers
    assert world.calls() == calls and len(world.upstream.api_requests) == upstream


@pytest.mark.parametrize("user", ["ci-bot", "stdio", "bearer", "anonymous"])
def test_a_user_named_like_a_static_token_or_a_reserved_principal_is_refused(world: World, user: str) -> None:
    # An operator trial: with `tokens: {alice: …}` plus oauth, an authorization-server user whose sub
    # was `alice` approved as alice (policies match the subject only, in one namespace).
    token = world.idp.user_token(world.resource, user=user)
    assert unverified(token)["sub"] == user
    why = "is also the name of a static token" if user == "ci-bot" else "is a name mcprt reserves"
    assert_rejected(world, token, 401, 'error="invalid_token"', f"error_description=\"the token's subject (sub) '{user}'", why)
    world.up.wait_log(f"(sub) '{user}'")  # stderr is collected by a thread: the line may follow the answer
    refused = [line for line in world.up.log().splitlines() if "rejected request: access token" in line
               and f"'{user}'" in line]
    assert len(refused) == 1, world.up.log()[-3000:]
    assert token not in world.up.log() and token.split(".")[2] not in world.up.log()


async def test_a_user_with_another_name_still_gets_in(world: World) -> None:
    token = world.idp.user_token(world.resource, user="ci-bot2")
    assert (await echo_as(world, token)).startswith("oauth|ci-bot2|webapp|")


def test_token_for_another_audience_is_rejected(world: World) -> None:
    token = world.idp.client_credentials("https://other.example/api")
    assert_rejected(world, token, 401, 'error="invalid_token"', "(aud)")


def test_token_with_a_bad_signature_is_rejected(world: World) -> None:
    token = world.idp.client_credentials(world.resource)
    header, payload, signature = token.split(".")
    claims = unverified(token) | {"sub": "admin"}
    tampered = base64.urlsafe_b64encode(__import__("json").dumps(claims).encode()).rstrip(b"=").decode()
    assert_rejected(world, f"{header}.{tampered}.{signature}", 401, 'error="invalid_token"', "signature")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert_rejected(world, f"{header}.{payload}.{flipped}", 401, "signature")


def test_unsigned_token_alg_none_is_rejected(world: World) -> None:
    token = world.idp.client_credentials(world.resource)
    header = unverified(token, 0)
    assert_rejected(world, forged(token, {**header, "alg": "none"}), 401, "alg none")
    assert_rejected(world, forged(token, {**header, "alg": "None"}), 401, "alg none")


def test_hmac_signed_with_the_public_key_is_rejected(world: World) -> None:
    """The classic key-confusion attack (RFC 8725 §2.1): HS256 keyed with the published public key."""
    import hashlib
    import hmac
    import json

    token = world.idp.client_credentials(world.resource)
    header = {**unverified(token, 0), "alg": "HS256"}
    jwks = httpx.get(f"{world.idp.issuer}/jwks", timeout=10).text
    signing_input = forged(token, header).rstrip(".")
    signature = base64.urlsafe_b64encode(
        hmac.new(json.dumps(json.loads(jwks)["keys"][0]).encode(), signing_input.encode(), hashlib.sha256).digest()
    ).rstrip(b"=").decode()
    assert_rejected(world, f"{signing_input}.{signature}", 401, "HS256")


def test_token_without_the_required_scope_gets_403(world: World) -> None:
    # the same 403 as the step-up's (review of authfix2, problem 5): the scope a token holds is kept in the
    # challenge (MCP "Scope Challenge Handling"), and the body's data says insufficient_scope and the scope
    token = world.idp.client_credentials(world.resource, scope="mcp:admin")
    assert_rejected(world, token, 403, 'error="insufficient_scope"', 'error_description="the token lacks a required '
                    'scope"', scope="mcp:admin mcp:tools")
    answer = world.post(token).json()
    assert answer["id"] is None and answer["error"] == {
        "code": -32600, "message": "Forbidden: the token lacks a required scope",
        "data": {"reason": "insufficient_scope", "scope": "mcp:admin mcp:tools"}}


def test_the_insufficient_scope_log_line_names_who_was_refused(world: World) -> None:
    """A trial: `rejected request: insufficient scope required="mcp:tools mcp:write"` named no one, though the
    token was valid; the other rejections name the client. Now its `sub` and client claims and the path (never
    the token), for a user's token and a client's own. Claims, not a principal (review of authfix1): a token whose
    `sub` is a reserved name is refused for its scope before the guard would refuse that subject, so
    `principal=stdio` would have named a principal that never was."""
    user = world.idp.user_token(world.resource, user="kim", scope="mcp:admin")
    held_then_lacking = "mcp:admin mcp:tools"  # the challenge keeps the scopes held (scope_challenge.py)
    assert_rejected(world, user, 403, 'error="insufficient_scope"', scope=held_then_lacking)
    client = world.idp.client_credentials(world.resource, scope="mcp:admin", client="partner[eu]")
    assert_rejected(world, client, 403, 'error="insufficient_scope"', scope=held_then_lacking)
    reserved = world.idp.user_token(world.resource, user="stdio", scope="mcp:admin")
    assert_rejected(world, reserved, 403, 'error="insufficient_scope"', scope=held_then_lacking)
    world.up.wait_log("sub=stdio")
    lines = [line for line in world.up.log().splitlines() if "rejected request: insufficient scope" in line]
    assert any("sub=kim client_id=webapp path=/mcp" in line for line in lines), lines
    assert any("sub=partner[eu] client_id=partner[eu] path=/mcp" in line for line in lines), lines  # its sub is its id
    assert any("sub=stdio client_id=webapp path=/mcp" in line for line in lines), lines
    assert not any("principal=" in line for line in lines), lines
    assert user not in world.up.log() and user.split(".")[2] not in world.up.log()


def test_opaque_token_without_introspection_is_rejected(world: World) -> None:
    assert_rejected(world, "an-opaque-token-mcprt-cannot-check", 401, "introspection")


def test_token_of_another_issuer_is_rejected_naming_both_issuers(world: World) -> None:
    # A trial: a second authorization server's token was told "signed with a key the issuer does not
    # publish" (the key lookup ran before the issuer check), and each one cost a key-set fetch.
    token = foreign_token(world.resource)
    assert unverified(token)["iss"] == ELSEWHERE != world.idp.issuer
    assert_rejected(world, token, 401, 'error="invalid_token"',
                    f"issued by '{ELSEWHERE}', not by the accepted issuer '{world.idp.issuer}'")
    unnamed = foreign_token(world.resource, issuer="")
    assert_rejected(world, unnamed, 401, "issued by '', not by the accepted issuer")


# RFC 6750 §3: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ), nothing else, nothing escaped.
DESCRIPTION = re.compile(r'error_description="([\x20\x21\x23-\x5b\x5d-\x7e]+)"')


@pytest.mark.parametrize("header, iss", [
    # A review: a header's `alg` went into the description raw; CR LF made uvicorn refuse the header
    # (connection reset, a traceback per request, no token needed).
    ({"alg": "X\r\nSet-Cookie: a=1"}, None),
    ({"alg": "\U0001F600" * 30 + '"\\'}, None),
    # `ascii()` of an `iss` grew ~10x past the 100-character cut, and left `"`/`\\` escapes in the header.
    (None, "\U0001F600" * 100),
    (None, 'x", scope="admin\r\n'),
    (None, "x' path=/admin reason='ok"),  # cannot close the quotes of the log line's value
], ids=["alg-crlf", "alg-emoji", "iss-emoji", "iss-crlf", "iss-quote"])
def test_a_crafted_alg_or_iss_gets_a_401_whose_description_stays_in_the_rfc_6750_set(
        world: World, header: dict[str, str] | None, iss: str | None) -> None:
    if header is not None:
        token = forged(world.idp.client_credentials(world.resource), header)
    else:
        token = foreign_token(world.resource, issuer=str(iss))
    response = world.post(token)
    challenge = response.headers.get("www-authenticate", "")
    assert response.status_code == 401, (response.status_code, response.text)
    found = DESCRIPTION.search(challenge)
    assert found is not None, challenge
    description = found.group(1)
    assert len(description) <= 200, description
    assert challenge == challenge.strip() and challenge.endswith(', scope="mcp:tools"'), challenge
    assert "set-cookie" not in response.headers
    world.up.wait_log(description[:40])
    log = world.up.log()
    assert "Traceback" not in log and "Invalid HTTP header" not in log, log[-3000:]
    # the logged reason is the description, quoted as logfmt quotes a value with spaces; a chosen value
    # stays inside its quotes there too
    quoted = '"' + description.replace("\\", "\\\\").replace('"', '\\"') + '"'
    assert f"reason={quoted}" in log and description.count("'") % 2 == 0, description
    if iss is not None and "path=" in iss:
        assert "by 'x? path=/admin reason=?ok'" in description, description


def test_expired_token_is_rejected(world: World) -> None:
    token = world.idp.client_credentials(world.resource, client="short")  # 2-second tokens
    expires = unverified(token)["exp"]
    response = world.post(token, INITIALIZE)
    assert response.status_code == 200 or time.time() > expires + 1, response.headers
    while time.time() <= expires + 1.5:  # the manifest's clock_skew is 1s
        time.sleep(0.2)
    assert_rejected(world, token, 401, "expired")


# --- key rotation -----------------------------------------------------------------------------------


UNKNOWN_KID_REFRESH = 1.0  # MCPRT_UNKNOWN_KID_REFRESH below (default 5 s): the wait for it is 1.2 s, not 5.2 s


def test_unknown_kid_after_rotation_refreshes_the_keys(modules: Path, tmp_path: Path) -> None:
    settings = {"MCPRT_UNKNOWN_KID_REFRESH": f"{UNKNOWN_KID_REFRESH:g}"}
    with auth_server(modules) as idp, world_of(idp, tmp_path, settings=settings) as world:
        before = idp.client_credentials(world.resource)
        assert world.post(before, INITIALIZE).status_code == 200
        fetched = time.monotonic()
        idp.rotate_keys()
        after = idp.client_credentials(world.resource)
        assert unverified(after, 0)["kid"] != unverified(before, 0)["kid"]
        # Refreshes on unknown kids are rate-limited; wait out that window (it bounds, not paces, the test).
        time.sleep(max(0.0, fetched + UNKNOWN_KID_REFRESH + 0.2 - time.monotonic()))
        # Another issuer's token (a kid unknown here too) is turned away for what it is, before any key
        # fetch: it must not spend the refresh the rotated key needs next.
        assert_rejected(world, foreign_token(world.resource), 401, f"issued by '{ELSEWHERE}'")
        assert world.post(after, INITIALIZE).status_code == 200
        assert_rejected(world, before, 401, "a key the issuer does not publish")
        # The key set was fetched once before the rotation (then reused from the cache) and once after.
        assert world.up.log().count("fetched the issuer's signing keys") == 2


async def test_opaque_tokens_are_checked_by_introspection(modules: Path, idp: AuthServer, tmp_path: Path) -> None:
    with world_of(idp, tmp_path, extra=INTROSPECTION.format(issuer=idp.issuer)) as world:
        token = idp.client_credentials(world.resource, client="opaque")
        assert token.count(".") != 2  # not a JWT: only the authorization server can say what it is
        assert await echo_as(world, token) == "oauth|opaque|opaque|mcp:tools|-|hi"
        elsewhere = idp.client_credentials("https://other.example/api", client="opaque")
        assert_rejected(world, elsewhere, 401, "(aud)")
        assert_rejected(world, "not-a-token-the-server-issued", 401, "not active")
        narrow = idp.client_credentials(world.resource, scope="mcp:admin", client="opaque")
        assert_rejected(world, narrow, 403, 'error="insufficient_scope"', scope="mcp:admin mcp:tools")


# --- the MCP SDK client's own OAuth flow ---------------------------------------------------------


class MemoryStorage:
    """The SDK's TokenStorage, in memory."""

    def __init__(self) -> None:
        self.tokens: Any = None
        self.client_info: Any = None

    async def get_tokens(self) -> Any:
        return self.tokens

    async def set_tokens(self, tokens: Any) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> Any:
        return self.client_info

    async def set_client_info(self, client_info: Any) -> None:
        self.client_info = client_info


async def test_sdk_client_oauth_flow_completes_against_mcprt_up(world: World) -> None:
    """401 → RFC 9728 metadata → the issuer's metadata → dynamic registration → authorization code
    with PKCE and the resource indicator (the user logs in on the provider's pages) → token → tools."""
    import anyio
    from mcp import Client
    from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client
    from mcp.shared.auth import OAuthClientMetadata

    callback = "http://127.0.0.1:9/sdk-callback"
    answered: dict[str, str] = {}

    async def redirect(url: str) -> None:
        answered.update(await anyio.to_thread.run_sync(authorization_response, url, callback, "erin"))

    async def back() -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=answered["code"], state=answered.get("state"), iss=answered.get("iss"))

    storage = MemoryStorage()
    provider = OAuthClientProvider(
        world.up.url,
        OAuthClientMetadata(client_name="mcprt tests", redirect_uris=[callback], grant_types=["authorization_code"],
                            response_types=["code"]),
        storage,
        redirect_handler=redirect,
        callback_handler=back,
    )
    async with create_mcp_http_client(auth=provider) as http:
        async with Client(streamable_http_client(world.up.url, http_client=http), mode="legacy") as client:
            result = await client.call_tool("echo", {"text": "hi"})
    assert not result.is_error, text_of(result)
    registered = storage.client_info.client_id
    assert text_of(result) == f"oauth|erin|{registered}|mcp:tools|erin@example.com|hi"
    assert unverified(storage.tokens.access_token)["aud"] == world.resource


async def test_a_configured_audience_is_the_resource_and_the_metadata_stays_on_this_server(
        idp: AuthServer, tmp_path: Path) -> None:
    """Entra-style: tokens are for `api://<app>`, not for the URL; clients still find the metadata here."""
    with world_of(idp, tmp_path, extra="      audience: api://mcprt-tests") as world:
        metadata = f"{world.up.base}/.well-known/oauth-protected-resource/mcp"
        assert world.post(None).headers["www-authenticate"] == f'Bearer resource_metadata="{metadata}", scope="mcp:tools"'
        assert httpx.get(metadata, timeout=10).json()["resource"] == "api://mcprt-tests"
        token = idp.client_credentials("api://mcprt-tests")
        assert await echo_as(world, token) == "oauth|svc|svc|mcp:tools|-|hi"
        assert_rejected(world, idp.client_credentials(world.resource), 401, "(aud)")


def test_an_unreachable_authorization_server_is_a_503_not_a_bad_token(tmp_path: Path) -> None:
    """When keys cannot be fetched the caller is not at fault: 503 with Retry-After, no challenge."""
    state = Upstream(issuer="http://127.0.0.1:9")
    with serve_app(upstream_app(state)) as base:
        manifest = oauth_manifest(tmp_path, issuer="http://127.0.0.1:9", upstream=base)  # nothing listens on 9
        with mcprt_http(manifest, env=env()) as up:
            world = World(None, state, up)  # type: ignore[arg-type]
            # claims that pass (they are checked before any key is fetched); only the key is missing
            claims = {"iss": "http://127.0.0.1:9", "aud": up.url, "sub": "svc", "exp": time.time() + 300}
            payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
            token = forged(f"e30.{payload}.x", {"alg": "ES256", "kid": "k1"}, "c2ln")
            response = world.post(token)
            assert response.status_code == 503 and response.headers["retry-after"] == "5"
            assert "www-authenticate" not in response.headers
            up.wait_log("cannot validate access tokens")


# --- who acted, in the audit log; limits per OAuth client ------------------------------------------


@pytest.fixture(scope="module")
def governed(idp: AuthServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, Path]]:
    """The world with an audit log, a static token named like the `webapp` OAuth client (its users' calls
    spend that client's bucket), and `echo` limited to 2 calls a minute per OAuth client."""
    folder = tmp_path_factory.mktemp("oauth-audit")
    state = Upstream(issuer=idp.issuer)
    with serve_app(upstream_app(state)) as base:
        manifest = oauth_manifest(folder, issuer=idp.issuer, upstream=base)
        text = manifest.read_text().replace('    tokens: {ci-bot: "${CI_TOKEN}"}',
                                            '    tokens: {ci-bot: "${CI_TOKEN}", webapp: "${WEBAPP_TOKEN}"}')
        text = text.replace("server:\n", "server:\n  observability: {audit: audit.jsonl}\n", 1)
        manifest.write_text(text + "policy:\n  rate_limits:\n"
                            "    - {match: {tools: [echo]}, per: client, limit: 2/min}\n")
        with mcprt_http(manifest, env=env(WEBAPP_TOKEN="webapp-static-token-0123")) as up:
            state.resource = up.url
            yield World(idp, state, up), folder / "audit.jsonl"


def call_records(audit: Path, principal: str, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10  # written by a background thread
    while True:
        found = [r for r in map(json.loads, audit.read_text().splitlines() if audit.exists() else [])
                 if r["type"] == "call" and r.get("principal") == principal]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


async def test_audit_records_name_the_oauth_client_and_the_principals_kind(governed: tuple[World, Path]) -> None:
    """A compliance trial: OAuth call records carried only `sub`, so which agent application acted for
    a user (and whether the principal was a static token or OAuth) could not be told."""
    world, audit = governed
    await echo_as(world, world.idp.user_token(world.resource, user="dave"))
    await echo_as(world, CI_TOKEN)
    [user] = call_records(audit, "dave")
    assert (user["principal_kind"], user["client_id"]) == ("oauth", "webapp")
    [static] = call_records(audit, "ci-bot")
    assert static["principal_kind"] == "token" and "client_id" not in static


async def test_a_rate_limit_per_client_is_shared_by_the_users_of_one_client(governed: tuple[World, Path]) -> None:
    world, _ = governed
    erin = world.idp.user_token(world.resource, user="erin")
    frank = world.idp.user_token(world.resource, user="frank")
    async with http_client(world.up.url, token=erin) as client:
        results = [await client.call_tool("echo", {"text": "hi"}) for _ in range(2)]
    assert not results[0].is_error  # (the audit test may have spent one of webapp's 2 calls before)
    async with http_client(world.up.url, token=frank) as client:  # another user, the same client: refused
        refused = await client.call_tool("echo", {"text": "hi"})
    assert refused.is_error and "2 calls per minute for each OAuth client" in text_of(refused), text_of(refused)
    # another client, and a static token (its own client), have their own buckets — the static token named
    # `webapp` too, though webapp's bucket is spent: a token's name and a client id never share one (review
    # of govfix2: with a static token named like a client no call had spent, the test passed without that)
    assert (await echo_as(world, world.idp.client_credentials(world.resource))).startswith("oauth|svc|svc|")
    assert (await echo_as(world, "webapp-static-token-0123")).startswith("token|webapp|")


# --- policy rules matching the OAuth client ----------------------------------------------------------

CLIENT_RULES = """\
policy:
  rules:
    - {match: {tools: [echo], clients: ["partner[eu]"]}, action: deny, reason: "partner[eu] may not echo", name: no-partner}
    - {match: {tools: [echo], clients: [svc]}, action: deny, reason: "the svc client may not echo", name: no-svc}
    - {match: {tools: [echo], clients: ["web*"]}, action: allow, name: known-clients}
    - {match: {tools: [echo]}, action: approve, approvals: {wait: 0, uses: valid_for}, name: unknown-client}
  approvals: {approvers: [ci-bot]}
"""


@pytest.fixture(scope="module")
def by_client(idp: AuthServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, Path]]:
    """`echo` denied to the `svc` client, allowed through the `webapp` client (a glob), and for any other
    caller — another client, or a static token, which has none — in need of a human's approval."""
    folder = tmp_path_factory.mktemp("oauth-clients")
    state = Upstream(issuer=idp.issuer)
    with serve_app(upstream_app(state)) as base:
        manifest = oauth_manifest(folder, issuer=idp.issuer, upstream=base)
        text = manifest.read_text().replace("server:\n", "server:\n  observability: {audit: audit.jsonl}\n", 1)
        manifest.write_text(text + CLIENT_RULES)
        with mcprt_http(manifest, env=env()) as up:
            state.resource = up.url
            yield World(idp, state, up), folder / "audit.jsonl"


def decision_records(audit: Path, rule: str, until: Callable[[list[dict[str, Any]]], bool] = bool,
                     **where: Any) -> list[dict[str, Any]]:
    """The decision records of `rule` whose fields have the values `where` gives, once `until(them)` holds
    (default: there is one) or 10 s passed: the audit log is written by a background thread, so a test waits for
    the very records it reads (one that stopped at the first record of the rule read another caller's, before
    the one it wanted was written: a KeyError under load)."""
    deadline = time.monotonic() + 10
    while True:
        found = [r for r in map(json.loads, audit.read_text().splitlines() if audit.exists() else [])
                 if r["type"] == "decision" and r.get("rule") == rule
                 and all(r.get(name) == value for name, value in where.items())]
        if until(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


async def echo_result(world: World, token: str) -> tuple[bool, str]:
    async with http_client(world.up.url, token=token) as client:
        result = await client.call_tool("echo", {"text": "hi"})
        return bool(result.is_error), text_of(result)


async def test_a_rule_denies_one_oauth_client_and_the_audit_names_it(by_client: tuple[World, Path]) -> None:
    world, audit = by_client
    refused, text = await echo_result(world, world.idp.client_credentials(world.resource))  # client svc
    assert refused and "the svc client may not echo" in text, text
    [record] = decision_records(audit, "no-svc")
    assert (record["action"], record["principal"], record["client_id"]) == ("deny", "svc", "svc")
    assert record["principal_by_client"] is True  # the client acting for itself, not a user named svc


async def test_a_user_through_a_known_client_is_allowed_by_the_clients_glob(by_client: tuple[World, Path]) -> None:
    world, audit = by_client
    refused, text = await echo_result(world, world.idp.user_token(world.resource, user="gina"))  # client webapp
    assert not refused and text.startswith("oauth|gina|webapp|"), text
    [record] = decision_records(audit, "known-clients", principal="gina")
    assert (record["action"], record["client_id"]) == ("allow", "webapp") and "principal_by_client" not in record


async def test_an_unknown_client_and_a_caller_with_no_client_need_approval(by_client: tuple[World, Path]) -> None:
    """`clients` fails closed: the static token ci-bot has no client, so the allow rule naming clients is
    not for it (nor is the deny: it is not the svc client); like the unknown `short` client it falls to
    the approve rule."""
    world, audit = by_client
    for token, who in ((world.idp.client_credentials(world.resource, client="short"), "short"), (CI_TOKEN, "ci-bot")):
        refused, text = await echo_result(world, token)
        assert refused and "needs human approval" in text, (who, text)
    both = decision_records(audit, "unknown-client", lambda found: {r["principal"] for r in found} >= {
        "short", "ci-bot"}, action="approval_requested")
    records = {r["principal"]: r for r in both}
    assert records["short"]["client_id"] == "short" and "client_id" not in records["ci-bot"]


async def test_a_clients_entry_with_brackets_names_that_client_literally(by_client: tuple[World, Path]) -> None:
    """RFC 6749 VSCHAR allows `[ ] ?` in a client id; read as a shell glob, `partner[eu]` matched `partnere`
    and `partneru` and never the client it names, so its deny failed open (review of govleft, problem 1)."""
    world, audit = by_client
    refused, text = await echo_result(world, world.idp.client_credentials(world.resource, client="partner[eu]"))
    assert refused and "partner[eu] may not echo" in text, text
    [record] = decision_records(audit, "no-partner")
    assert (record["action"], record["client_id"]) == ("deny", "partner[eu]")


def status_json(world: World, token: str) -> dict[str, Any]:
    response = httpx.get(world.up.url.removesuffix("/mcp") + "/status.json",
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_user_whose_sub_is_a_client_id_is_not_that_client(by_client: tuple[World, Path]) -> None:
    """A client-credentials token has no `sub`: its client id names the principal. A user whose `sub` is that
    id is another caller: they read neither the client's pending approval nor its calls on the status page
    (review of govleft, problem 2: the user `short` read the client `short`'s approval and call). The client
    reads its own, and the approval shows the client to approvers (problem 3)."""
    world, _ = by_client
    client = world.idp.client_credentials(world.resource, client="short")  # a 2-second token: used at once
    refused, text = await echo_result(world, client)
    assert refused and "needs human approval" in text, text
    approval = re.search(r"ap_[A-Za-z0-9_-]+", text).group(0)
    own = status_json(world, world.idp.client_credentials(world.resource, client="short"))
    assert [a["id"] for a in own["approvals"]] == [approval] and own["approvals"][0]["client_id"] == "short"
    user = world.idp.user_token(world.resource, user="short")  # sub "short", through webapp
    assert (await echo_as(world, user)).startswith("oauth|short|webapp|")
    seen = status_json(world, user)
    assert seen["recent_scope"] == "own" and seen["approvals"] == [], seen["approvals"]
    assert len(seen["recent"]) == 1, seen["recent"]  # their one echo, not the client's refused one
    admin = status_json(world, CI_TOKEN)  # an approver reads every request, with its client
    [shown] = [a for a in admin["approvals"] if a["id"] == approval]
    assert (shown["principal"], shown["client_id"]) == ("short", "short")


async def test_an_approval_given_for_one_clients_call_does_not_run_it_through_another(
        by_client: tuple[World, Path]) -> None:
    """The catch-all approve rule is how "ask about unknown clients" is written; it names no `clients`. An
    approval is for the call the approver saw, client included: hank's call through `desk`, once approved,
    runs through `desk`, and the identical call through `tray` opens its own request (review of govleft,
    problem 3: any client rode one approval, and approvers were not told which client asked)."""
    world, _ = by_client
    desk, tray = (world.idp.user_token(world.resource, user="hank", client=c) for c in ("desk", "tray"))
    first = await echo_result(world, desk)
    assert first[0] and "needs human approval" in first[1], first
    desk_id = re.search(r"ap_[A-Za-z0-9_-]+", first[1]).group(0)
    [shown] = [a for a in status_json(world, CI_TOKEN)["approvals"] if a["id"] == desk_id]
    assert (shown["principal"], shown["client_id"]) == ("hank", "desk")
    vote = httpx.post(world.up.url.removesuffix("/mcp") + f"/policy/approvals/{desk_id}/approve",
                      headers={"Authorization": f"Bearer {CI_TOKEN}"}, json={}, timeout=30)
    assert vote.status_code == 200, vote.text
    assert await echo_result(world, desk) == (False, await echo_as(world, desk))  # approved: it runs
    other = await echo_result(world, tray)
    assert other[0] and "needs human approval" in other[1] and desk_id not in other[1], other


# --- step-up: a tool needing a scope the token lacks (MCP authorization 2025-11-25, "Scope Challenge Handling") --

STEP_UP_POLICY = """\
policy:
  default: allow
  rules:
    - {match: {tools: [echo], scopes: [mcp:admin]}, action: allow, name: admins}
    - {match: {tools: [echo]}, action: deny, reason: echo is for admins}
    - {match: {tools: [whoami], scopes: [mcp:auditor]}, action: deny, reason: auditors may not ask}
    - {match: {tools: [whoami], scopes: [mcp:intern]}, action: hide}
    - {match: {tools: [whoami]}, action: deny, reason: nobody may ask}
"""


@pytest.fixture(scope="module", params=[False, True], ids=["stateful", "stateless"])
def stepped(request: pytest.FixtureRequest, idp: AuthServer,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, Path]]:
    """The world whose `echo` needs `mcp:admin` on top of the required `mcp:tools`; `whoami` is denied to
    everyone (no scope would help). An audit log records the decisions."""
    folder = tmp_path_factory.mktemp("oauth-step-up")
    state = Upstream(issuer=idp.issuer)
    with serve_app(upstream_app(state)) as base:
        manifest = oauth_manifest(folder, issuer=idp.issuer, upstream=base, stateless=request.param)
        text = manifest.read_text().replace("server:\n", "server:\n  observability: {audit: audit.jsonl}\n", 1)
        text = text.replace("  http: {stateless: ", f'  http: {{allowed_origins: ["{WEB_ORIGIN}"], stateless: ', 1)
        manifest.write_text(text + STEP_UP_POLICY)
        with mcprt_http(manifest, env=env()) as up:
            state.resource = up.url
            yield World(idp, state, up), folder / "audit.jsonl"


WEB_ORIGIN = "https://agent.example"  # a browser-based client's origin (allowed_origins)


def session_post(world: World, token: str, body: dict[str, Any]) -> httpx.Response:
    """`body` POSTed as a browser-based client on WEB_ORIGIN would: inside an initialized session where
    the server keeps them."""
    headers = {"accept": ACCEPT, "authorization": f"Bearer {token}", "mcp-protocol-version": "2025-06-18",
               "origin": WEB_ORIGIN}
    opened = httpx.post(world.up.url, json=INITIALIZE, headers=headers, timeout=30)
    assert opened.status_code == 200, opened.text
    if session := opened.headers.get("mcp-session-id"):
        headers["mcp-session-id"] = session
        httpx.post(world.up.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers,
                   timeout=30)
    return httpx.post(world.up.url, json=body, headers=headers, timeout=30)


def test_the_metadata_advertises_the_scopes_a_policy_asks_for(stepped: tuple[World, Path]) -> None:
    # the trial: `scopes_supported` listed only the required scopes, so no client could discover mcp:admin;
    # and only an `allow` rule's scope is one a client can step up to: mcp:auditor (a deny rule's) and mcp:intern
    # (a hide rule's) are not advertised (review of authfix2, problem 1)
    world, _ = stepped
    document = httpx.get(f"{world.up.base}/.well-known/oauth-protected-resource/mcp", timeout=10).json()
    assert document["scopes_supported"] == ["mcp:tools", "mcp:admin"]


def test_a_call_refused_only_for_a_missing_scope_gets_the_scope_challenge(stepped: tuple[World, Path]) -> None:
    world, audit = stepped
    token = world.idp.client_credentials(world.resource)  # mcp:tools only
    call = {**CALL, "id": 7}
    response = session_post(world, token, call)
    assert response.status_code == 403, response.text
    metadata = f"{world.up.base}/.well-known/oauth-protected-resource/mcp"
    assert response.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{metadata}", error="insufficient_scope", error_description="echo: it needs the '
        'OAuth scope mcp:admin, which this access token lacks", scope="mcp:tools mcp:admin"')
    # a browser-based client reads the challenge too (CORS, tests/server/test_cors_browser.py)
    assert response.headers["access-control-allow-origin"] == WEB_ORIGIN
    assert "WWW-Authenticate" in response.headers["access-control-expose-headers"]
    answer = response.json()
    assert answer["id"] == 7 and answer["error"]["data"] == {"reason": "insufficient_scope",
                                                             "scope": "mcp:tools mcp:admin"}
    [record] = decision_records(audit, "rules[1]", principal="svc")
    assert record["action"] == "deny" and record["reason"] == (
        "insufficient scope: it needs the OAuth scope mcp:admin, which this access token lacks")
    assert record["call"], record  # a call id like every other deny's record (review of authfix2, problem 4)
    world.up.wait_log("rejected request: insufficient scope")
    [line] = [l for l in world.up.log().splitlines() if "rejected request: insufficient scope" in l]
    # the trial's fault 8: the line names who was refused, for what
    assert "tool=echo" in line and 'required="mcp:tools mcp:admin"' in line, line
    assert "principal=svc" in line and "client_id=svc" in line, line
    # with the scope the same call runs
    stepped_up = world.idp.client_credentials(world.resource, scope="mcp:tools mcp:admin")
    again = session_post(world, stepped_up, call)
    assert again.status_code == 200 and "oauth|svc|svc|" in again.text, again.text


def test_the_scope_challenge_waits_for_the_session_checks(stepped: tuple[World, Path]) -> None:
    """A call that names a session this server does not hold gets 404 (the client re-initializes), and a
    handshake-era call without a session on a stateful server gets 400: not a scope challenge sending the
    user through a new consent for a session that does not exist, and no audited deny (review of authfix2,
    problem 2). Stateless, no session is checked: both get the challenge."""
    world, audit = stepped
    token = world.idp.client_credentials(world.resource)  # mcp:tools only: echo would be stepped up
    headers = {"accept": ACCEPT, "authorization": f"Bearer {token}", "mcp-protocol-version": "2025-06-18"}
    stateful = "mcp-session-id" in httpx.post(world.up.url, json=INITIALIZE, headers=headers, timeout=30).headers
    before = len(decision_records(audit, "rules[1]"))
    call = {**CALL, "id": 9}
    unknown = httpx.post(world.up.url, json=call, headers={**headers, "mcp-session-id": "no-such-session"}, timeout=30)
    missing = httpx.post(world.up.url, json=call, headers=headers, timeout=30)
    if stateful:
        assert (unknown.status_code, missing.status_code) == (404, 400), (unknown.text, missing.text)
        assert "www-authenticate" not in unknown.headers and "www-authenticate" not in missing.headers
        time.sleep(0.3)  # the audit is written by a background thread
        assert len(decision_records(audit, "rules[1]")) == before
    else:
        assert (unknown.status_code, missing.status_code) == (403, 403), (unknown.text, missing.text)
        assert 'error="insufficient_scope"' in missing.headers["www-authenticate"]


async def test_a_refusal_no_scope_would_lift_stays_a_tool_error(stepped: tuple[World, Path]) -> None:
    world, _ = stepped
    admin = world.idp.client_credentials(world.resource, scope="mcp:tools mcp:admin")
    async with http_client(world.up.url, token=admin) as client:
        result = await client.call_tool("whoami", {})
    assert result.is_error and text_of(result) == "whoami was refused by policy: nobody may ask", text_of(result)
    # a static token has no scopes to step up to: its refusal is the policy's tool error, without scope advice
    async with http_client(world.up.url, token=CI_TOKEN) as client:
        result = await client.call_tool("echo", {"text": "hi"})
    assert result.is_error and text_of(result) == "echo was refused by policy: echo is for admins", text_of(result)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_sdk_oauth_client_steps_up_and_the_call_then_succeeds(stepped: tuple[World, Path], mode: str) -> None:
    """The SDK's OAuthClientProvider against oidc-provider: the first sign-in asks for the 401's scope
    (mcp:tools), `echo` answers 403 insufficient_scope, the SDK signs in again asking for the challenge's
    scope, and the retried call runs with a token carrying mcp:admin.

    The client is pre-registered (`webapp`): oidc-provider limits a dynamically registered client to the
    scopes it registered with, and the SDK registers with the first challenge's scope, so that AS would
    refuse any step-up of such a client (`invalid_scope`) — the README says so."""
    import anyio
    from mcp import Client
    from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client
    from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata

    world, _ = stepped
    callback = WEBAPP_REDIRECT
    asked: list[str] = []
    answered: dict[str, str] = {}

    async def redirect(url: str) -> None:
        asked.append(parse_qs(urlsplit(url).query)["scope"][0])
        answered.update(await anyio.to_thread.run_sync(authorization_response, url, callback, "ivy"))

    async def back() -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=answered["code"], state=answered.get("state"), iss=answered.get("iss"))

    storage = MemoryStorage()
    storage.client_info = OAuthClientInformationFull(
        client_id="webapp", client_secret="webapp-secret", redirect_uris=[WEBAPP_REDIRECT],
        grant_types=["authorization_code"], response_types=["code"], token_endpoint_auth_method="client_secret_basic")
    provider = OAuthClientProvider(
        world.up.url,
        OAuthClientMetadata(client_name="mcprt step-up", redirect_uris=[WEBAPP_REDIRECT],
                            grant_types=["authorization_code"], response_types=["code"]),
        storage, redirect_handler=redirect, callback_handler=back,
    )
    async with create_mcp_http_client(auth=provider) as http:
        async with Client(streamable_http_client(world.up.url, http_client=http), mode=mode) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            assert "echo" in tools
            result = await client.call_tool("echo", {"text": "hi"})
    assert not result.is_error, text_of(result)
    assert text_of(result).startswith("oauth|ivy|webapp|"), text_of(result)
    assert asked == ["mcp:tools", "mcp:tools mcp:admin"]
    assert set(unverified(storage.tokens.access_token)["scope"].split()) >= {"mcp:tools", "mcp:admin"}


# --- a client acting for itself is matched only by `client:` entries ----------------------------------

NAMESPACE_RULES = """\
policy:
  default: deny
  default_reason: nobody listed this caller
  admins: [svc]
  approvals: {approvers: [svc, "client:short"], wait: 0}
  rules:
    - {match: {tools: [echo], principals: [ci-bot]}, action: approve, name: ask}
    - {match: {tools: [echo], principals: [svc]}, action: allow, name: user-svc}
    - {match: {tools: [echo], principals: ["client:short", "client:partner*"]}, action: allow, name: clients-themselves}
    - {match: {tools: [whoami], principals: ["client:svc"]}, action: approve, name: ask-client}
"""


@pytest.fixture(scope="module")
def namespaced(idp: AuthServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, Path]]:
    """`svc` is both the name of a user (an admin, an approver, allowed by a `principals: [svc]` rule) and the id
    of a client-credentials client of the authorization server; `client:short` approves, `client:short` and
    `client:partner*` are allowed. ci-bot's calls need an approval."""
    folder = tmp_path_factory.mktemp("oauth-namespaces")
    state = Upstream(issuer=idp.issuer)
    with serve_app(upstream_app(state)) as base:
        manifest = oauth_manifest(folder, issuer=idp.issuer, upstream=base)
        text = manifest.read_text().replace("server:\n", "server:\n  observability: {audit: audit.jsonl}\n", 1)
        manifest.write_text(text + NAMESPACE_RULES)
        with mcprt_http(manifest, env=env()) as up:
            state.resource = up.url
            yield World(idp, state, up), folder / "audit.jsonl"


async def pending_for_ci_bot(world: World, text: str) -> str:
    """ci-bot's echo of `text` (its own request: identical calls share one), refused pending; its approval id."""
    async with http_client(world.up.url, token=CI_TOKEN) as client:
        result = text_of(await client.call_tool("echo", {"text": text}))
    found = re.search(r"ap_[A-Za-z0-9_-]+", result)
    assert found is not None and "needs human approval" in result, result
    return found.group(0)


def admin_http(world: World, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, world.up.url.removesuffix("/mcp") + path,
                         headers={"Authorization": f"Bearer {token}"}, timeout=30, **kwargs)


def audit_records(audit: Path, wanted: Any, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10  # written by a background thread
    while True:
        found = [r for r in map(json.loads, audit.read_text().splitlines() if audit.exists() else []) if wanted(r)]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


async def test_a_client_whose_id_is_an_admins_name_cannot_see_or_decide_approvals(
        namespaced: tuple[World, Path]) -> None:
    """The fault: `admins: [svc]` and `approvers: [svc]` matched the client-credentials client `svc` (its subject is
    its id), so it listed and decided every pending approval. The user svc still does."""
    world, audit = namespaced
    approval = await pending_for_ci_bot(world, "client-admin")
    client = world.idp.client_credentials(world.resource)  # client svc, acting for itself
    listing = admin_http(world, "GET", "/policy/approvals", client)
    assert listing.status_code == 403, listing.text
    # how such a caller is listed, never the admins' entries (they were quoted: review problem 2)
    assert listing.json()["error"] == ("client:svc may not list approvals (policy.admins) (an OAuth client acting "
                                       "for itself is listed only as `client:<id>`)"), listing.json()
    assert admin_http(world, "GET", f"/policy/approvals/{approval}", client).status_code == 403
    assert admin_http(world, "GET", "/status/approvals", client).status_code == 403
    seen = status_json(world, client)
    assert seen["recent_scope"] == "own" and seen["approvals"] == [], seen["approvals"]
    vote = admin_http(world, "POST", f"/policy/approvals/{approval}/approve", client, json={})
    assert vote.status_code == 403 and vote.json()["error"] == (
        "client:svc may not decide approvals (policy.approvals.approvers) (an OAuth client acting for itself is "
        "listed only as `client:<id>`)"), vote.text
    [refused] = audit_records(audit, lambda r: r.get("action") == "approval_vote_refused"
                              and r.get("approval_id") == approval)
    assert (refused["voter"], refused["voter_by_client"]) == ("svc", True), refused
    assert refused["reason"].endswith("— 'svc' matches users and static tokens only; write `client:svc` for the "
                                      "OAuth client svc acting for itself"), refused  # the operator's upgrade note
    user = world.idp.user_token(world.resource, user="svc")  # the admin: a user whose sub is svc
    [shown] = [a for a in admin_http(world, "GET", "/policy/approvals", user).json() if a["id"] == approval]
    assert (shown["status"], shown["votes"]) == ("pending", [])  # the client's attempt recorded nothing
    decided = admin_http(world, "POST", f"/policy/approvals/{approval}/approve", user, json={})
    assert decided.status_code == 200 and decided.json()["status"] == "approved", decided.text


async def test_a_client_whose_id_is_a_users_name_is_refused_by_that_users_allow_rule(
        namespaced: tuple[World, Path]) -> None:
    world, audit = namespaced
    refused, text = await echo_result(world, world.idp.client_credentials(world.resource))  # client svc
    assert refused and text == "echo was refused by policy: nobody listed this caller", text  # no rule named
    [record] = audit_records(audit, lambda r: r["type"] == "decision" and r.get("rule") == "default"
                             and r.get("principal") == "svc")
    assert (record["action"], record.get("principal_by_client")) == ("deny", True), record
    assert record["reason"] == ("nobody listed this caller (user-svc lists 'svc' under `principals`, which allows "
                                "users and static tokens only: `client:svc` lists this OAuth client acting for "
                                "itself)"), record  # the operator's upgrade note
    user = world.idp.user_token(world.resource, user="svc")
    assert (await echo_as(world, user)).startswith("oauth|svc|webapp|")  # the user the rule names: allowed
    page = admin_http(world, "GET", "/status", user)  # the admin's recent calls tell the two callers apart
    assert page.status_code == 200 and "<td>client:svc</td>" in page.text and "<td>svc</td>" in page.text


async def test_client_entries_admit_the_client_acting_for_itself(namespaced: tuple[World, Path]) -> None:
    """`client:short` approves and is allowed; `client:partner*` is a glob over client ids (literal but for `*`)."""
    world, audit = namespaced
    short = world.idp.client_credentials(world.resource, client="short")  # 2-second tokens: one per use
    assert (await echo_as(world, short)).startswith("oauth|short|short|")
    partner = world.idp.client_credentials(world.resource, client="partner[eu]")
    assert (await echo_as(world, partner)).startswith("oauth|partner[eu]|partner[eu]|")
    approval = await pending_for_ci_bot(world, "client-approver")
    vote = admin_http(world, "POST", f"/policy/approvals/{approval}/approve",
                      world.idp.client_credentials(world.resource, client="short"), json={})
    assert vote.status_code == 200, vote.text
    assert vote.json()["status"] == "approved" and vote.json()["votes"][0]["by_client"] is True, vote.json()
    [granted] = audit_records(audit, lambda r: r.get("action") == "approval_granted" and r.get("approval_id") == approval)
    assert granted["approvers"] == ["client:short"], granted  # not the user short


@pytest.mark.parametrize("user", ["short", "client:short"])
async def test_a_user_named_like_a_client_entry_is_not_matched_by_it(
        namespaced: tuple[World, Path], user: str) -> None:
    """A user whose `sub` is `short` — or literally `client:short` — is neither the client short nor listed by
    `client:short`: refused by the rule that admits the client, and not an approver."""
    world, _ = namespaced
    token = world.idp.user_token(world.resource, user=user)
    refused, text = await echo_result(world, token)
    assert refused and "nobody listed this caller" in text, text
    approval = await pending_for_ci_bot(world, f"user-{user}")
    vote = admin_http(world, "POST", f"/policy/approvals/{approval}/approve", token, json={})
    assert vote.status_code == 403 and f"{user} may not decide approvals" in vote.text, vote.text


async def test_the_user_decides_the_pending_call_of_the_client_that_bears_their_name(
        namespaced: tuple[World, Path]) -> None:
    """The client svc and the user svc are two callers: the user (an approver) may decide the client's call — the
    self-approval check compared names and refused it — and `mcprt status` shows the caller as `client:svc`."""
    world, _ = namespaced
    refused, text = await echo_whoami(world, world.idp.client_credentials(world.resource))
    approval = re.search(r"ap_[A-Za-z0-9_-]+", text)
    assert refused and approval is not None and "needs human approval" in text, text
    user = world.idp.user_token(world.resource, user="svc")
    status = mcprt_cli("status", "--url", world.up.url.removesuffix("/mcp"), "--token", user, env={"COLUMNS": "200"})
    assert status.returncode == 0, status.stderr
    [row] = [line for line in status.stdout.splitlines() if approval.group(0) in line]
    assert "client:svc" in row and "whoami" in row, status.stdout
    # the upgrade trial: `mcprt approvals list` said `by svc` for this request, where the approvers decide
    listing = mcprt_cli("approvals", "list", "--url", world.up.url.removesuffix("/mcp"), "--token", user)
    assert listing.returncode == 0, listing.stderr
    [line] = [line for line in listing.stdout.splitlines() if approval.group(0) in line]
    assert " by client:svc " in line, line
    decided = admin_http(world, "POST", f"/policy/approvals/{approval.group(0)}/approve", user, json={})
    assert decided.status_code == 200 and decided.json()["status"] == "approved", decided.text
    assert decided.json()["by_client"] is True and decided.json()["principal"] == "svc"


async def echo_whoami(world: World, token: str) -> tuple[bool, str]:
    async with http_client(world.up.url, token=token) as client:
        result = await client.call_tool("whoami", {})
        return bool(result.is_error), text_of(result)


# --- who decides a stored request is who the rule in force lists (the upgrade trial's fault 1) ----------------------

BEFORE_UPGRADE = """\
policy:
  default: deny
  admins: [alice]
  approvals: {approvers: [alice, bob, svc], wait: 0, valid_for: 10m}
  rules:
    - {match: {tools: [echo], principals: [ci-bot]}, action: approve, name: ask}
"""


async def test_an_approver_a_reload_adds_decides_the_requests_already_pending(
        idp: AuthServer, tmp_path: Path) -> None:
    """The upgrade trial: a request opened under `approvers: [alice, bob, svc]` (stored on Redis: its record is the
    one earlier releases wrote — no client fields for a static token's call) stayed pending after the operator added
    `client:svc` as the upgrade note says and the reload applied, and the client svc's vote got 404 "no open approval
    request …" while `mcprt approvals list` showed it pending; the log told the operator to write `client:svc`. The
    vote is counted under the rule in force now, and the identical call runs on it."""
    from tests.support.components import redis_server

    state = Upstream(issuer=idp.issuer)
    with redis_server(tmp_path) as redis, serve_app(upstream_app(state)) as base:
        manifest = oauth_manifest(tmp_path, issuer=idp.issuer, upstream=base)
        manifest.write_text(manifest.read_text() + BEFORE_UPGRADE)
        with mcprt_http(manifest, env=env(MCPRT_STATE_URL=redis.url)) as up:
            state.resource = up.url
            world = World(idp, state, up)
            approval = await pending_for_ci_bot(world, "opened-before-the-edit")
            client = idp.client_credentials(world.resource)  # client svc, acting for itself
            before = admin_http(world, "POST", f"/policy/approvals/{approval}/approve", client, json={})
            assert before.status_code == 403 and "client:svc may not decide approvals" in before.text, before.text
            manifest.write_text(manifest.read_text().replace("approvers: [alice, bob, svc]",
                                                             'approvers: [alice, bob, svc, "client:svc"]'))
            up.wait_log("reload applied")
            mark = up.log_mark()
            vote = admin_http(world, "POST", f"/policy/approvals/{approval}/approve", client, json={})
            assert vote.status_code == 200, vote.text
            decided = vote.json()
            assert decided["status"] == "approved" and decided["votes"][0]["by_client"] is True, decided
            # put under the rule in force, so every replica counts client:svc's vote as that rule does
            assert (decided["required"], decided["approvers"]) == (1, ["alice", "bob", "svc", "client:svc"]), decided
            assert "approval vote refused" not in up.log_since(mark)  # nor advice to write what is written
            async with http_client(world.up.url, token=CI_TOKEN) as mcp:
                result = await mcp.call_tool("echo", {"text": "opened-before-the-edit"})
            assert not result.is_error, text_of(result)  # the identical call runs on the client's approval


# --- rules and limits that restrict keep matching a client acting for itself by a plain entry (review problem 1) ---

RESTRICTING_RULES = """\
policy:
  default: allow
  approvals: {wait: 0}
  rules:
    - {match: {tools: [whoami], principals: ["*"]}, action: hide, name: hide-star}
    - {match: {tools: [echo], principals: ["*"], when: "text == 'deny-star'"}, action: deny, name: deny-star,
       reason: nobody echoes deny-star}
    - {match: {tools: [echo], principals: ["*"], when: "text == 'approve-star'"}, action: approve, name: approve-star}
    - {match: {tools: [echo], principals: [svc, ci-bot], when: "text == 'deny-name'"}, action: deny, name: deny-name,
       reason: svc and ci-bot never echo deny-name}
    - {match: {tools: [echo], principals: ["sv*", "ci-*"], when: "text == 'approve-glob'"}, action: approve,
       name: approve-glob}
    - {match: {tools: [echo], principals: [svc, ci-bot], when: "text == 'allow-name'"}, action: allow, name: allow-name}
    - {match: {tools: [echo], principals: ["client:svc"], when: "text == 'allow-name'"}, action: deny,
       name: not-the-client, reason: only the user svc echoes allow-name}
  rate_limits:
    - {match: {tools: [echo], principals: ["*"], when: "text == 'limited-star'"}, per: principal, limit: 1/min}
    - {match: {tools: [echo], principals: [svc, ci-bot], when: "text == 'limited-name'"}, per: principal,
       limit: 1/min}
"""


@pytest.fixture(scope="module")
def restricting(idp: AuthServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """`default: allow`, and rules and limits for everyone (`*`), for the names svc and ci-bot, and for the globs
    `sv*`/`ci-*`: the client-credentials client svc and the static token ci-bot must meet each alike."""
    folder = tmp_path_factory.mktemp("oauth-restricting")
    state = Upstream(issuer=idp.issuer)
    with serve_app(upstream_app(state)) as base:
        manifest = oauth_manifest(folder, issuer=idp.issuer, upstream=base)
        manifest.write_text(manifest.read_text() + RESTRICTING_RULES)
        with mcprt_http(manifest, env=env()) as up:
            state.resource = up.url
            yield World(idp, state, up)


async def echo_text(world: World, token: str, text: str) -> tuple[bool, str]:
    async with http_client(world.up.url, token=token) as client:
        result = await client.call_tool("echo", {"text": text})
        return bool(result.is_error), text_of(result)


def caller_token(world: World, who: str) -> str:
    return world.idp.client_credentials(world.resource) if who == "client-svc" else CI_TOKEN


@pytest.mark.parametrize("who", ["client-svc", "token-ci-bot"])
@pytest.mark.parametrize(("text", "expected"), [
    ("deny-star", "echo was refused by policy: nobody echoes deny-star"),
    ("approve-star", "echo needs human approval"),
    ("deny-name", "echo was refused by policy: svc and ci-bot never echo deny-name"),
    ("approve-glob", "echo needs human approval"),
])
async def test_a_restricting_rule_refuses_a_client_acting_for_itself_as_the_token_of_its_name(
        restricting: World, who: str, text: str, expected: str) -> None:
    """The branch let the client svc through every one of these (`deny`/`approve` by `*`, by the plain name svc,
    by the glob `sv*`) while the static token ci-bot was refused: a restriction lifted on upgrade. Both are refused."""
    refused, answer = await echo_text(restricting, caller_token(restricting, who), text)
    assert refused and answer.startswith(expected), answer


@pytest.mark.parametrize("who", ["client-svc", "token-ci-bot"])
async def test_a_hide_rule_for_everyone_hides_from_a_client_acting_for_itself(restricting: World, who: str) -> None:
    async with http_client(restricting.up.url, token=caller_token(restricting, who)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "echo" in names and "whoami" not in names, names
        result = await client.call_tool("whoami", {})
        assert result.is_error and "unknown tool" in text_of(result).lower(), text_of(result)


@pytest.mark.parametrize("who", ["client-svc", "token-ci-bot"])
@pytest.mark.parametrize("text", ["limited-star", "limited-name"])
async def test_a_rate_limit_by_star_or_name_limits_a_client_acting_for_itself(
        restricting: World, who: str, text: str) -> None:
    token = caller_token(restricting, who)
    assert not (await echo_text(restricting, token, text))[0]
    refused, answer = await echo_text(restricting, token, text)
    assert refused and answer.startswith("rate limit reached for echo"), answer


async def test_an_allow_by_name_admits_the_user_not_the_client_of_that_name(restricting: World) -> None:
    """`allow` grants: `principals: [svc]` admits the user svc; the client svc falls to the next rule (`client:svc`)."""
    user = restricting.idp.user_token(restricting.resource, user="svc")
    assert await echo_text(restricting, user, "allow-name") == (
        False, "oauth|svc|webapp|mcp:tools|svc@example.com|allow-name")
    refused, answer = await echo_text(restricting, restricting.idp.client_credentials(restricting.resource),
                                      "allow-name")
    assert refused and answer == "echo was refused by policy: only the user svc echoes allow-name", answer


# --- an `approve` rule naming a scope ----------------------------------------------------------------------------

APPROVE_SCOPE_RULES = """\
policy:
  default: allow
  approvals: {approvers: [ci-bot], wait: 0}
  rules:
    - {match: {tools: [echo], scopes: [mcp:admin]}, action: approve, name: admins-ask}
    - {match: {tools: [whoami], scopes: [mcp:admin]}, action: approve, name: admins-ask-whoami}
    - {match: {tools: [whoami]}, action: deny, reason: "whoami is for admins, with an approval"}
"""


@pytest.fixture(scope="module")
def approving(idp: AuthServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, Path]]:
    """`echo` called with `mcp:admin` needs ci-bot's approval, without it runs; `whoami` needs `mcp:admin` and then an
    approval, and is refused to a token without it."""
    folder = tmp_path_factory.mktemp("oauth-approve-scope")
    state = Upstream(issuer=idp.issuer)
    with serve_app(upstream_app(state)) as base:
        manifest = oauth_manifest(folder, issuer=idp.issuer, upstream=base)
        text = manifest.read_text().replace("server:\n", "server:\n  observability: {audit: audit.jsonl}\n", 1)
        text = text.replace("  http: {stateless: ", f'  http: {{allowed_origins: ["{WEB_ORIGIN}"], stateless: ', 1)
        manifest.write_text(text + APPROVE_SCOPE_RULES)
        with mcprt_http(manifest, env=env()) as up:
            state.resource = up.url
            yield World(idp, state, up), folder / "audit.jsonl"


async def test_an_approve_rule_naming_a_scope_asks_a_human_only_for_tokens_carrying_it(
        approving: tuple[World, Path]) -> None:
    """A real access token carrying `mcp:admin` matches the rule (a human decides, and the call runs once approved);
    one without it does not (the default allows it at once)."""
    world, audit = approving
    admin = world.idp.client_credentials(world.resource, scope="mcp:tools mcp:admin")
    refused, text = await echo_result(world, admin)
    assert refused and "needs human approval" in text, text
    approval = re.search(r"ap_[A-Za-z0-9_-]+", text).group(0)
    [asked] = decision_records(audit, "admins-ask", action="approval_requested")
    assert (asked["principal"], asked["client_id"], asked["approval_id"]) == ("svc", "svc", approval)
    vote = admin_http(world, "POST", f"/policy/approvals/{approval}/approve", CI_TOKEN, json={})
    assert vote.status_code == 200, vote.text
    ran, answer = await echo_result(world, world.idp.client_credentials(world.resource, scope="mcp:tools mcp:admin"))
    assert not ran and answer.startswith("oauth|svc|svc|"), answer
    plain = world.idp.client_credentials(world.resource)  # mcp:tools only: the rule is not for it
    assert (await echo_as(world, plain)).startswith("oauth|svc|svc|")
    allowed = decision_records(audit, "default", action="allow", tool="echo")
    assert allowed, "the call without mcp:admin was allowed by the default"


async def test_a_call_an_approve_rule_would_take_with_a_scope_gets_the_scope_challenge(
        approving: tuple[World, Path]) -> None:
    """`whoami` is refused to a token without `mcp:admin`, and with it a human may approve it: the refusal is one a
    scope lifts, so the client gets MCP's scope challenge naming mcp:admin (HTTP 403 insufficient_scope), saying a
    human then approves (before: the plain tool error `whoami was refused by policy: whoami is for admins, with an
    approval`, naming no scope, so no client could step up). The metadata does not list it: a client asking for
    every listed scope at sign-in would have its `echo` calls, allowed without mcp:admin, wait for a human."""
    world, _ = approving
    document = httpx.get(f"{world.up.base}/.well-known/oauth-protected-resource/mcp", timeout=10).json()
    assert document["scopes_supported"] == ["mcp:tools"], document
    token = world.idp.client_credentials(world.resource)  # mcp:tools only
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}
    response = session_post(world, token, call)
    assert response.status_code == 403, response.text
    assert response.headers["www-authenticate"].endswith(
        'error="insufficient_scope", error_description="whoami: it needs the OAuth scope mcp:admin, which this access '
        'token lacks (with it, the call waits for a human\'s approval)", scope="mcp:tools mcp:admin"'), response.headers
    stepped_up = world.idp.client_credentials(world.resource, scope="mcp:tools mcp:admin")
    again = session_post(world, stepped_up, call)
    assert again.status_code == 200 and "needs human approval" in again.text, again.text
