"""Outbound credentials of every kind, against a real upstream and a real OAuth2 token endpoint.

Also: credentials never follow a redirect to another origin, and no secret reaches an error message,
a result's meta, or a log line of ours or httpx's.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError
from tests.http.http_support import CLIENT_ID, CLIENT_SECRET, Upstream

from mcprt.errors import ToolCallError
from mcprt.manifest.model import OutboundAuth
from mcprt.outbound import BuiltRequest, HttpUpstream
from mcprt.contracts import CallContext

BEARER = "bearer-Tok3n-value"
PASSWORD = "pa ss:wörd"
API_KEY = "k3y/with+odd=chars&more"


def ctx(timeout: float = 5.0) -> CallContext:
    return CallContext(tool="t", timeout=timeout, max_response_bytes=10_000_000)


def get(url: str) -> BuiltRequest:
    return BuiltRequest(method="GET", url=url, idempotent=True)


def auth(**kind: Any) -> OutboundAuth:
    return OutboundAuth.model_validate(kind)


def oauth(upstream: Upstream, *, secret: str = CLIENT_SECRET, path: str = "/token") -> OutboundAuth:
    return auth(
        oauth2={
            "token_url": upstream.url(path),
            "client_id": CLIENT_ID,
            "client_secret": secret,
            "scopes": ["read", "write"],
            "audience": "https://api.test",
        }
    )


@pytest.fixture
async def make() -> AsyncIterator[Any]:
    made: list[HttpUpstream] = []

    def factory(credentials: OutboundAuth | None, **kwargs: Any) -> HttpUpstream:
        kwargs.setdefault("headers", {})
        kwargs.setdefault("retries", 0)
        http = HttpUpstream(source="test", auth=credentials, **kwargs)
        made.append(http)
        return http

    yield factory
    for http in made:
        await http.aclose()


# --- static credentials ------------------------------------------------------------------------------


async def test_bearer(upstream: Upstream, make: Any) -> None:
    reflected = (await make(auth(bearer=BEARER)).send(get(upstream.url("/echo")), ctx())).body
    seen = upstream.recorder.seen[-1]
    assert seen["headers"]["authorization"] == f"Bearer {BEARER}"
    assert reflected["headers"]["authorization"] == "Bearer [redacted]"  # an echo never hands it on


async def test_basic(upstream: Upstream, make: Any) -> None:
    http = make(auth(basic={"username": "ann", "password": PASSWORD}))
    reflected = (await http.send(get(upstream.url("/echo")), ctx())).body
    seen = upstream.recorder.seen[-1]
    scheme, _, encoded = seen["headers"]["authorization"].partition(" ")
    assert scheme == "Basic" and base64.b64decode(encoded).decode() == f"ann:{PASSWORD}"
    assert encoded not in str(reflected)


async def test_api_key_in_header(upstream: Upstream, make: Any) -> None:
    http = make(auth(api_key={"name": "X-Api-Key", "in": "header", "value": API_KEY}))
    reflected = (await http.send(get(upstream.url("/echo")), ctx())).body
    assert upstream.recorder.seen[-1]["headers"]["x-api-key"] == API_KEY
    assert reflected["headers"]["x-api-key"] == "[redacted]"


async def test_api_key_in_query_is_encoded_and_hidden_from_meta(upstream: Upstream, make: Any) -> None:
    http = make(auth(api_key={"name": "api_key", "in": "query", "value": API_KEY}))
    result = await http.send(get(upstream.url("/echo?q=a%20b&api_key=spoofed")), ctx())
    assert upstream.recorder.seen[-1]["query"] == "q=a%20b&api_key=k3y%2Fwith%2Bodd%3Dchars%26more"
    assert result.body["query"] == "q=a%20b&api_key=[redacted]"
    assert result.meta["url"] == upstream.url("/echo?q=a%20b&api_key=[redacted]")
    assert API_KEY not in repr(result) and "k3y" not in repr(result.meta)


async def test_api_key_in_cookie_joins_request_cookies(upstream: Upstream, make: Any) -> None:
    http = make(auth(api_key={"name": "sid", "in": "cookie", "value": "abc123"}))
    request = BuiltRequest(method="GET", url=upstream.url("/echo"), cookies=[("theme", "dark")])
    reflected = (await http.send(request, ctx())).body
    assert upstream.recorder.seen[-1]["cookies"] == {"theme": "dark", "sid": "abc123"}
    assert reflected["cookies"] == {"theme": "dark", "sid": "[redacted]"}


# --- redirects and credentials -----------------------------------------------------------------------

SECRET_KINDS = {
    "bearer": (auth(bearer=BEARER), BEARER),
    "basic": (auth(basic={"username": "ann", "password": PASSWORD}), base64.b64encode(f"ann:{PASSWORD}".encode()).decode()),
    "header-key": (auth(api_key={"name": "X-Api-Key", "value": API_KEY}), API_KEY),
    "query-key": (auth(api_key={"name": "api_key", "in": "query", "value": API_KEY}), "k3y"),
    "cookie-key": (auth(api_key={"name": "sid", "in": "cookie", "value": "abc123"}), "abc123"),
}


@pytest.mark.parametrize("kind", sorted(SECRET_KINDS))
async def test_credentials_never_follow_a_redirect_to_another_host(upstream: Upstream, make: Any, kind: str) -> None:
    credentials, secret = SECRET_KINDS[kind]
    http = make(credentials, headers={"X-Session-Token": "default-secret", "X-Team": "blue"})
    target = upstream.other_host + "/echo?keep=1&api_key=" + API_KEY
    request = BuiltRequest(
        method="GET", url=upstream.url(f"/redirect?to={target}"), cookies=[("theme", "dark")], idempotent=True
    )
    result = await http.send(request, ctx())
    seen = result.body
    assert seen["host"].startswith("localhost:")
    assert "authorization" not in seen["headers"] and "x-api-key" not in seen["headers"]
    assert "cookie" not in seen["headers"] and "x-session-token" not in seen["headers"]
    assert seen["headers"]["x-team"] == "blue"  # harmless default headers do follow
    assert secret not in str(seen) and "default-secret" not in str(seen)
    if kind == "query-key":
        assert seen["query"] == "keep=1"  # our key is stripped even if the Location repeats it


@pytest.mark.parametrize("kind", sorted(SECRET_KINDS))
async def test_credentials_follow_a_redirect_on_the_same_origin(upstream: Upstream, make: Any, kind: str) -> None:
    credentials, secret = SECRET_KINDS[kind]
    http = make(credentials)
    result = await http.send(get(upstream.url("/redirect?status=308&to=/echo")), ctx())
    assert result.meta["redirects"] == 1
    assert secret in str(upstream.recorder.seen[-1])  # upstream saw the credential
    assert secret not in str(result.body)  # and its echo of it is scrubbed


async def test_credentials_return_when_a_redirect_comes_back_home(upstream: Upstream, make: Any) -> None:
    http = make(auth(bearer=BEARER))
    back_home = upstream.url("/echo")
    via_other = f"{upstream.other_host}/redirect?to={back_home}"
    result = await http.send(get(upstream.url(f"/redirect?to={via_other}")), ctx())
    assert result.meta["redirects"] == 2 and upstream.recorder.seen[-1]["headers"]["authorization"] == f"Bearer {BEARER}"


# --- OAuth2 client credentials -----------------------------------------------------------------------


async def test_oauth2_token_is_fetched_once_and_reused(upstream: Upstream, make: Any) -> None:
    http = make(oauth(upstream))
    for _ in range(3):
        result = await http.send(get(upstream.url("/protected")), ctx())
        assert result.body == {"ok": True, "token": "[redacted]"}  # the issued token is scrubbed too
        assert upstream.recorder.presented[-1] == "tok-1"
    assert upstream.recorder.token_fetches == 1
    form = upstream.recorder.token_forms[0]
    assert form == {"grant_type": "client_credentials", "scope": "read write", "audience": "https://api.test"}


async def test_oauth2_concurrent_callers_share_one_fetch(upstream: Upstream, make: Any) -> None:
    http = make(oauth(upstream))
    results = await asyncio.gather(*(http.send(get(upstream.url("/protected")), ctx()) for _ in range(10)))
    assert all(not r.is_error for r in results) and set(upstream.recorder.presented) == {"tok-1"}
    assert len(upstream.recorder.presented) == 10
    assert upstream.recorder.token_fetches == 1


async def test_oauth2_token_is_refetched_after_expiry(upstream: Upstream, make: Any) -> None:
    upstream.recorder.token_lifetime = 0.5
    http = make(oauth(upstream))
    for _ in range(2):
        assert not (await http.send(get(upstream.url("/protected")), ctx())).is_error
    await asyncio.sleep(0.5)
    assert not (await http.send(get(upstream.url("/protected")), ctx())).is_error
    assert upstream.recorder.presented == ["tok-1", "tok-1", "tok-2"]
    assert upstream.recorder.token_fetches == 2


async def test_oauth2_refreshes_once_on_401_then_retries(upstream: Upstream, make: Any) -> None:
    http = make(oauth(upstream))
    assert not (await http.send(get(upstream.url("/protected")), ctx())).is_error
    assert upstream.recorder.presented == ["tok-1"]
    await make(None).send(BuiltRequest(method="POST", url=upstream.url("/revoke")), ctx())
    result = await http.send(get(upstream.url("/protected")), ctx())
    assert result.body == {"ok": True, "token": "[redacted]"} and result.meta["attempts"] == 2
    assert upstream.recorder.presented == ["tok-1", "tok-2"]
    assert upstream.recorder.token_fetches == 2


async def test_oauth2_persistent_401_is_refreshed_only_once(upstream: Upstream, make: Any) -> None:
    http = make(oauth(upstream))
    result = await http.send(get(upstream.url("/always-401")), ctx())
    assert result.is_error and result.status == 401 and result.meta["attempts"] == 2
    assert upstream.recorder.token_fetches == 2


async def test_oauth2_falls_back_to_credentials_in_the_form(upstream: Upstream, make: Any) -> None:
    http = make(oauth(upstream, path="/token-form"))
    for _ in range(2):
        assert not (await http.send(get(upstream.url("/protected")), ctx())).is_error
    assert upstream.recorder.presented == ["tok-1", "tok-1"]
    assert upstream.recorder.token_forms[0]["client_id"] == CLIENT_ID


async def test_oauth2_rejected_client_is_a_clear_error_without_the_secret(upstream: Upstream, make: Any) -> None:
    http = make(oauth(upstream, secret="wrong-secret-value"))
    with pytest.raises(ToolCallError) as caught:
        await http.send(get(upstream.url("/protected")), ctx())
    message = str(caught.value)
    assert message.startswith("OAuth2 token request failed: POST 127.0.0.1:")
    assert "answered HTTP 401 (invalid_client: bad client)" in message
    assert "wrong-secret-value" not in message


async def test_oauth2_unreachable_token_endpoint(make: Any) -> None:
    from tests.support.upstream import free_port

    credentials = auth(oauth2={"token_url": f"http://127.0.0.1:{free_port()}/token", "client_id": "c",
                               "client_secret": CLIENT_SECRET})
    with pytest.raises(ToolCallError, match=r"^OAuth2 token request failed: cannot connect to upstream: connection refused"):
        await make(credentials).send(get("http://127.0.0.1:9/x"), ctx())


# --- secrets stay out of messages, meta and logs -----------------------------------------------------


@pytest.mark.parametrize("kind", sorted(SECRET_KINDS))
async def test_no_secret_in_errors_meta_or_logs(
    upstream: Upstream, make: Any, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    credentials, secret = SECRET_KINDS[kind]
    caplog.set_level(logging.DEBUG)
    http = make(credentials)
    result = await http.send(get(upstream.url("/echo?x=1")), ctx())
    assert secret not in repr(result.meta)
    for path, timeout in (("/slow?delay=1", 0.2), ("/status/500", 5.0)):
        try:
            outcome: object = await http.send(get(upstream.url(path)), ctx(timeout))
        except ToolCallError as exc:
            outcome = exc
        assert secret not in str(outcome if isinstance(outcome, ToolCallError) else outcome.meta)  # type: ignore[attr-defined]
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert secret not in logged and API_KEY not in logged
    assert "HTTP Request: GET" in logged  # httpx's own log line is captured, and it is clean


async def test_a_secret_that_breaks_http_is_not_quoted_back(upstream: Upstream, make: Any) -> None:
    """Refused where it is written (the manifest's `bearer`: its message, which the manifest's file:line:col
    diagnostic carries, quotes no value) and, should one reach the executor another way, refused there too."""
    with pytest.raises(ValidationError) as refused:
        auth(bearer="line-one\r\nline-two")
    [problem] = refused.value.errors()
    assert "cannot carry" in problem["msg"] and "line-" not in problem["msg"], problem["msg"]
    http = make(OutboundAuth.model_construct(bearer=SecretStr("line-one\r\nline-two")))
    with pytest.raises(ToolCallError) as caught:
        await http.send(get(upstream.url("/echo")), ctx())
    assert "not valid HTTP" in str(caught.value) and "line-" not in str(caught.value)
