"""Which requests carry the source's credentials, from the operation's `security` and `servers`.

Found by a new-user trial: an operation whose own `servers` named another host (a third-party
geocoder) got the source's `X-API-Key`, and an operation with `security: []` (OpenAPI 3.x §4.8.10)
got the credentials too — and failed when the OAuth2 token endpoint was down. One real upstream on
127.0.0.1 answers both "origins": `127.0.0.1:<port>` (the API's) and `localhost:<port>` (another
origin, RFC 6454 §4: the host differs), so the test needs no second server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from mcprt.pipeline import Runtime
from mcprt.settings import load_settings
from mcprt.toolset.invoke import call_tool
from tests.support.cli import mcprt_cli
from tests.support.upstream import serve_app

KEY = "k-operation-auth-secret"
ECHO = {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}


def spec(port: int) -> dict[str, Any]:
    other = f"http://localhost:{port}/api"
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": f"http://127.0.0.1:{port}/api"}],
        "security": [{"key": []}],
        "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                                           "basic": {"type": "http", "scheme": "basic"},
                                           "cc": {"type": "oauth2", "flows": {"clientCredentials": {
                                               "tokenUrl": f"http://127.0.0.1:{port}/nowhere", "scopes": {}}}}}},
        "paths": {
            "/secure": {"get": {"operationId": "secure", "responses": ECHO}},
            "/public": {"get": {"operationId": "public", "security": [], "responses": ECHO}},
            # the trial's geocoder: another origin, public
            "/ext/geocode": {"servers": [{"url": other}],
                             "get": {"operationId": "geocode", "security": [], "responses": ECHO}},
            # another origin at the operation and at the path level, needing the key
            "/ext/op": {"get": {"operationId": "extOp", "servers": [{"url": other}], "responses": ECHO}},
            "/ext/path": {"servers": [{"url": other}], "get": {"operationId": "extPath", "responses": ECHO}},
            # two schemes at once (the trial's /auth/both)
            "/both": {"get": {"operationId": "both", "security": [{"key": [], "basic": []}], "responses": ECHO}},
        },
    }


class Seen:
    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append({"host": headers.get("host", "").split(":")[0], "path": scope["path"],
                              "key": headers.get("x-api-key", ""), "auth": headers.get("authorization", ""),
                              "tenant": headers.get("x-tenant-token", "")})
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        # reflects the key it got, as the trial's `echo401` did: a result must never hand it on
        await send({"type": "http.response.body", "body": json.dumps({"you_sent": headers.get("x-api-key")}).encode()})


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[int, Seen]]:
    seen = Seen()
    with serve_app(seen) as base:
        yield int(base.rsplit(":", 1)[1]), seen


def write(tmp: Path, port: int, auth: str, extra: str = "") -> Path:
    (tmp / "api.json").write_text(json.dumps(spec(port)))
    manifest = tmp / "mcp.yaml"
    manifest.write_text(f"version: 1\nsources:\n  s:\n    openapi: api.json\n    auth: {auth}\n{extra}")
    return manifest


async def calls(manifest: Path, seen: Seen, *names: str) -> dict[str, Any]:
    runtime = Runtime(manifest, load_settings())
    compiled = await runtime.start()
    results: dict[str, Any] = {}
    try:
        for name in names:
            seen.requests.clear()
            tool = compiled.toolset.get(name)
            assert tool is not None, name
            result = await call_tool(tool, {})
            results[name] = (result, list(seen.requests))
    finally:
        await runtime.aclose()
    return results


@pytest.fixture
async def env(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    monkeypatch.setenv("OPAUTH_KEY", KEY)
    yield


API_KEY = '{api_key: {name: X-API-Key, in: header, value: "${OPAUTH_KEY}"}}'


async def test_another_origin_gets_no_credentials_and_security_none_gets_none(
        tmp_path: Path, upstream: tuple[int, Seen], env: None) -> None:
    port, seen = upstream
    # the trial's workaround header rides along too: a sensitive fixed header must not cross either
    manifest = write(tmp_path, port, API_KEY, "    headers: {X-Tenant-Token: \"${OPAUTH_KEY}\"}\n")
    got = await calls(manifest, seen, "secure", "public", "geocode", "extOp", "extPath")
    for name, (result, _) in got.items():
        assert not result.is_error, (name, result.content)
    assert got["secure"][1] == [{"host": "127.0.0.1", "path": "/api/secure", "key": KEY, "auth": "", "tenant": KEY}]
    assert got["public"][1] == [{"host": "127.0.0.1", "path": "/api/public", "key": "", "auth": "", "tenant": KEY}]
    for name, path in (("geocode", "/api/ext/geocode"), ("extOp", "/api/ext/op"), ("extPath", "/api/ext/path")):
        assert got[name][1] == [{"host": "localhost", "path": path, "key": "", "auth": "", "tenant": ""}], name


async def test_credential_origins_opts_another_origin_in(
        tmp_path: Path, upstream: tuple[int, Seen], env: None) -> None:
    port, seen = upstream
    manifest = write(tmp_path, port, API_KEY, f"    credential_origins: [\"http://localhost:{port}\"]\n")
    got = await calls(manifest, seen, "extOp", "geocode")
    assert [r["key"] for r in got["extOp"][1]] == [KEY]
    assert [r["key"] for r in got["geocode"][1]] == [""]  # `security: []` still wins


async def test_security_none_needs_no_token_endpoint(tmp_path: Path, upstream: tuple[int, Seen], env: None) -> None:
    """OAuth2 whose token endpoint is down (port 9: nothing listens): the public operation still works."""
    port, seen = upstream
    auth = '{oauth2: {token_url: "http://127.0.0.1:9/token", client_id: c, client_secret: "${OPAUTH_KEY}"}}'
    got = await calls(write(tmp_path, port, auth), seen, "public", "secure")
    assert not got["public"][0].is_error, got["public"][0].content
    assert got["public"][1] == [{"host": "127.0.0.1", "path": "/api/public", "key": "", "auth": "", "tenant": ""}]
    assert got["secure"][0].is_error and got["secure"][1] == []  # needs the token: nothing sent without it


def test_validate_warns_at_each_operation_on_another_origin(tmp_path: Path, upstream: tuple[int, Seen]) -> None:
    port, _ = upstream
    manifest = write(tmp_path, port, API_KEY)
    checked = mcprt_cli("validate", str(manifest), env={"OPAUTH_KEY": KEY})
    assert checked.returncode == 0, checked.stderr
    for name in ("extOp", "extPath"):
        assert (f"operation `{name}` is served from http://localhost:{port}, not the API's origin "
                f"(http://127.0.0.1:{port}): the source's credentials are not sent there; if that host should "
                "get them, list its origin in the source's `credential_origins`") in checked.stderr
    assert "geocode" not in checked.stderr  # public: it wants none
    assert KEY not in checked.stderr
    opted = write(tmp_path, port, API_KEY, f"    credential_origins: [\"http://localhost:{port}\"]\n")
    assert "credential_origins" not in mcprt_cli("validate", str(opted), env={"OPAUTH_KEY": KEY}).stderr


async def test_two_schemes_at_once_by_auth_plus_a_credential_header(tmp_path: Path, upstream: tuple[int, Seen],
                                                                    env: None) -> None:
    """The documented way for `security: [{key: [], basic: []}]` (README, `auth` of a source): one scheme in
    `auth`, the other as a fixed header whose name says credential, which is then a secret: scrubbed from
    what the upstream reflects, and no `validate` warning that the operation's auth is missing."""
    port, seen = upstream
    manifest = write(tmp_path, port, '{basic: {username: alice, password: "${OPAUTH_KEY}"}}',
                     '    headers: {X-API-Key: "${OPAUTH_KEY}"}\n')
    got = await calls(manifest, seen, "both")
    result, sent = got["both"]
    assert not result.is_error and sent[0]["key"] == KEY and sent[0]["auth"].startswith("Basic ")
    assert KEY not in json.dumps(result.content) and KEY not in json.dumps(result.structured_content)
    checked = mcprt_cli("validate", str(manifest), env={"OPAUTH_KEY": KEY})
    assert "`both`" not in checked.stderr, checked.stderr


def relative_spec(port: int) -> dict[str, Any]:
    """A local description whose servers are relative (`/v1`): the API's origin is unknown without
    `base_url`; one operation names an absolute server of its own (the upstream here)."""
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "/v1"}],
            "security": [{"key": []}],
            "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}},
            "paths": {"/ext/op": {"get": {"operationId": "extOp", "responses": ECHO,
                                          "servers": [{"url": f"http://localhost:{port}/api"}]}}}}


async def test_an_unknown_api_origin_sends_credentials_to_no_other_server(
        tmp_path: Path, upstream: tuple[int, Seen], env: None) -> None:
    """Before, an unknown origin protected nothing: the key went to any operation's own server, unsaid."""
    port, seen = upstream
    manifest = write(tmp_path, port, API_KEY)
    (tmp_path / "api.json").write_text(json.dumps(relative_spec(port)))
    got = await calls(manifest, seen, "extOp")
    assert not got["extOp"][0].is_error and [r["key"] for r in got["extOp"][1]] == [""]
    checked = mcprt_cli("validate", str(manifest), env={"OPAUTH_KEY": KEY})
    assert (f"operation `extOp` is served from http://localhost:{port}, not the API's origin, which is unknown "
            "(the description's servers are relative to a local file: set `base_url`)") in checked.stderr
    opted = write(tmp_path, port, API_KEY, f"    credential_origins: [\"http://localhost:{port}\"]\n")
    (tmp_path / "api.json").write_text(json.dumps(relative_spec(port)))
    got = await calls(opted, seen, "extOp")
    assert [r["key"] for r in got["extOp"][1]] == [KEY]


@pytest.mark.parametrize(("url", "text"), [
    ("https://api.example.com/v1", "https://api.example.com"),  # was https://api.example.com:443
    ("http://API.example.com:80/", "http://api.example.com"),  # was http://api.example.com:80
    ("https://api.example.com:8443/", "https://api.example.com:8443"),
    ("http://[::1]:9101/x", "http://[::1]:9101"),
])
def test_an_origin_is_written_without_its_default_port(url: str, text: str) -> None:
    from mcprt.outbound.redirects import origin_of, origin_text
    assert origin_text(origin_of(url)) == text
