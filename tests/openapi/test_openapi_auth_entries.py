"""Several `auth` entries per source: an API that needs two credentials at once (a Security Requirement Object
naming several schemes, OpenAPI 3.1 §4.8.30 — Datadog's `DD-API-KEY` + `DD-APPLICATION-KEY`, Algolia's
application id + API key, a query key plus a bearer token). Each entry is sent with every request, each value is
scrubbed wherever a single one is, two entries setting the same header or parameter are refused at their line,
and `init` writes the set a requirement names.

The upstreams here are real HTTP servers on 127.0.0.1 that answer 403 unless every credential arrives, and echo
what they got (an upstream that echoes a request must never hand a key to the model or the operator).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcprt.pipeline import Runtime
from mcprt.settings import load_settings
from mcprt.toolset.invoke import call_tool
from tests.support.cli import mcprt_cli
from tests.support.served import child_env, http_client, mcprt_http, text_of
from tests.support.upstream import serve_app

API_KEY = "dd-api-key-0123456789abcdef"
APP_KEY = "dd-app-key-fedcba9876543210"
QUERY_KEY = "q-key-5f2a9c81d7e64b30"
BEARER = "bearer-tok-8d1e3f5a7b9c2e4d"
EVERY_KEY = (API_KEY, APP_KEY, QUERY_KEY, BEARER)
ENV = {"DD_API_KEY": API_KEY, "DD_APPLICATION_KEY": APP_KEY, "SEARCH_KEY": QUERY_KEY, "SEARCH_TOKEN": BEARER}
JSON_OK = {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}


def _got(request: Request) -> dict[str, Any]:
    return {"headers": {k: v for k, v in request.headers.items() if k.startswith(("dd-", "authorization"))},
            "query": dict(request.query_params)}


async def _validate(request: Request) -> JSONResponse:
    """Datadog's `GET /api/v1/validate`: both keys or 403 (which echoes what arrived, as some APIs do)."""
    ok = request.headers.get("dd-api-key") == API_KEY and request.headers.get("dd-application-key") == APP_KEY
    return JSONResponse({"valid": ok, "you_sent": _got(request)}, status_code=200 if ok else 403)


async def _search(request: Request) -> JSONResponse:
    """A query key plus a bearer token, or 401."""
    ok = request.query_params.get("key") == QUERY_KEY and request.headers.get("authorization") == f"Bearer {BEARER}"
    return JSONResponse({"hits": [] if ok else None, "you_sent": _got(request)}, status_code=200 if ok else 401)


ISSUED: list[str] = []  # the OAuth2 tokens `_token` issued, in order; the first is revoked at once


async def _token(request: Request) -> JSONResponse:
    form = await request.form()
    if form.get("grant_type") != "client_credentials":
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
    ISSUED.append(f"oauth-token-{len(ISSUED) + 1}-9f8e7d6c5b4a")
    return JSONResponse({"access_token": ISSUED[-1], "token_type": "Bearer", "expires_in": 3600})


async def _renewing(request: Request) -> JSONResponse:
    """An API key plus a client-credentials token, of which only a token issued after the first counts."""
    ok = request.headers.get("dd-api-key") == API_KEY and \
        request.headers.get("authorization") in [f"Bearer {t}" for t in ISSUED[1:]]
    return JSONResponse({"ok": ok}, status_code=200 if ok else 401)


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    app = Starlette(routes=[Route("/api/v1/validate", _validate), Route("/search", _search),
                            Route("/token", _token, methods=["POST"]), Route("/renewing", _renewing)])
    with serve_app(app) as base:
        yield base


def _spec(base: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0", "info": {"title": "two keys", "version": "1"}, "servers": [{"url": base}],
        "components": {"securitySchemes": {
            "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "DD-API-KEY"},
            "appKeyAuth": {"type": "apiKey", "in": "header", "name": "DD-APPLICATION-KEY"},
            "queryKey": {"type": "apiKey", "in": "query", "name": "key"},
            "bearer": {"type": "http", "scheme": "bearer"},
            "cc": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": f"{base}/token", "scopes": {}}}}}},
        "paths": {
            "/api/v1/validate": {"get": {"operationId": "validate", "security": [{"apiKeyAuth": [], "appKeyAuth": []}],
                                         "responses": JSON_OK}},
            "/search": {"get": {"operationId": "search", "security": [{"queryKey": [], "bearer": []}],
                                "responses": JSON_OK}},
            "/renewing": {"get": {"operationId": "renewing", "security": [{"apiKeyAuth": [], "cc": []}],
                                  "responses": JSON_OK}},
        },
    }


DD_AUTH = ("\n      - api_key: {name: DD-API-KEY, value: \"${DD_API_KEY}\"}"
           "\n      - api_key: {name: DD-APPLICATION-KEY, value: \"${DD_APPLICATION_KEY}\"}")
SEARCH_AUTH = ("\n      - api_key: {name: key, in: query, value: \"${SEARCH_KEY}\"}"
               "\n      - bearer: \"${SEARCH_TOKEN}\"")


PATHS = {"dd": "/api/v1/validate", "s": "/search", "r": "/renewing"}  # the operation each source serves


def _project(folder: Path, base: str, auth: dict[str, str], server: str = "") -> Path:
    """A manifest with one source per item of `auth` ({source: the YAML after its `auth:`}), serving the operation
    of `PATHS` as `<source>_<operationId>`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "api.json").write_text(json.dumps(_spec(base)))
    sources = "".join(f"  {name}:\n    openapi: api.json\n    prefix: {name}_\n    include: {{paths: [{PATHS[name]}]}}\n"
                      f"    auth:{text}\n" for name, text in auth.items())
    manifest = folder / "mcp.yaml"
    manifest.write_text(f"version: 1\n{server}sources:\n{sources}")
    return manifest


async def test_both_credentials_reach_the_upstream_and_no_surface_shows_either(tmp_path: Path, upstream: str) -> None:
    """Over `mcprt up` with the SDK client: both the Datadog pair (two headers) and the query key + bearer pair
    reach the upstream, which refuses anything less; the echo of the keys in the result, the log, the audit log
    and the status page show none of them."""
    audit = tmp_path / "p" / "audit.jsonl"
    server = "server:\n  observability: {audit: audit.jsonl, audit_arguments: true}\n"
    manifest = _project(tmp_path / "p", upstream, {"dd": DD_AUTH, "s": SEARCH_AUTH}, server)
    with mcprt_http(manifest, env=child_env(MCPRT_LOG_LEVEL="debug", **ENV)) as up:
        async with http_client(up.url) as client:
            validated = await client.call_tool("dd_validate", {})
            searched = await client.call_tool("s_search", {})
        surfaces = {"result dd": text_of(validated), "result s": text_of(searched), "log": up.log(),
                    "/status": httpx.get(f"{up.base}/status", timeout=10).text,
                    "/status.json": httpx.get(f"{up.base}/status.json", timeout=10).text}
    assert not validated.is_error and not searched.is_error, (text_of(validated), text_of(searched))
    assert '"valid": true' in text_of(validated).replace('"valid":true', '"valid": true'), text_of(validated)
    echoed = json.loads(text_of(validated))["you_sent"]["headers"]
    assert echoed == {"dd-api-key": "[redacted]", "dd-application-key": "[redacted]"}, echoed
    assert json.loads(text_of(searched))["you_sent"] == {"headers": {"authorization": "Bearer [redacted]"},
                                                         "query": {"key": "[redacted]"}}
    surfaces["audit"] = audit.read_text()
    assert "dd_validate" in surfaces["audit"] and "s_search" in surfaces["audit"]
    for where, text in surfaces.items():
        for key in EVERY_KEY:
            assert key not in text, (where, key)


@pytest.mark.parametrize(("kept", "missing"), [(0, APP_KEY), (1, API_KEY)])
async def test_one_of_the_two_keys_alone_is_refused_by_the_upstream_and_the_error_names_neither(
        tmp_path: Path, upstream: str, kept: int, missing: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The upstream really needs both: with either entry alone (the one-entry form, unchanged) the call is its
    403, whose echo of the one key sent is scrubbed in the tool error."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    entry = DD_AUTH.split("\n      - ")[kept + 1]
    manifest = _project(tmp_path, upstream, {"dd": " " + entry.replace("api_key:", "{api_key:", 1) + "}"})
    result = await _call(manifest, "dd_validate")
    assert result.is_error
    text = json.dumps(result.content)
    assert "403" in text and "[redacted]" in text, text
    for key in EVERY_KEY:
        assert key not in text


async def test_a_refused_token_is_renewed_and_sent_again_with_the_api_key(
        tmp_path: Path, upstream: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An API key plus an OAuth2 client-credentials token: the upstream's 401 to the first token renews the token
    (the key has nothing to renew) and the one retry carries the new token and the key again."""
    monkeypatch.setenv("DD_API_KEY", API_KEY)
    monkeypatch.setenv("CC_SECRET", "cc-secret-31415926")
    ISSUED.clear()
    entries = (f"\n      - api_key: {{name: DD-API-KEY, value: \"${{DD_API_KEY}}\"}}\n      - oauth2: {{token_url: "
               f"\"{upstream}/token\", client_id: mcprt, client_secret: \"${{CC_SECRET}}\"}}")
    result = await _call(_project(tmp_path, upstream, {"r": entries}), "r_renewing")
    assert not result.is_error, result.content
    assert len(ISSUED) == 2, ISSUED


async def _call(manifest: Path, tool: str) -> Any:
    runtime = Runtime(manifest, load_settings())
    compiled = await runtime.start()
    try:
        found = compiled.toolset.get(tool)
        assert found is not None, tool
        return await call_tool(found, {})
    finally:
        await runtime.aclose()


def test_a_recorded_case_holds_neither_key_and_replays(tmp_path: Path, upstream: str) -> None:
    """`mcprt record` calls the live upstream with both keys and stores a case that holds neither; `mcprt test`
    replays it (each entry's header is a credential the comparison leaves out)."""
    manifest = _project(tmp_path, upstream, {"dd": DD_AUTH})
    recorded = mcprt_cli("record", str(manifest), "dd_validate", "--name", "both", env=ENV, cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stderr
    cases = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".json")
             and p.name not in ("mcp.yaml", "api.json")]
    assert cases, list(tmp_path.rglob("*"))
    for case in cases:
        for key in EVERY_KEY:
            assert key not in case.read_text(), case
    replayed = mcprt_cli("test", str(manifest), env=ENV, cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr


CLASHES = [
    # (auth entries, line:col of the refused one, what is said)
    ('\n      - api_key: {name: X-Key, value: "${A}"}\n      - api_key: {name: x-key, value: "${B}"}',
     "9:19", "the header x-key, which sources.dd.auth[0].api_key.name already sets"),
    ('\n      - api_key: {name: key, in: query, value: "${A}"}\n      - api_key: {name: key, in: query, value: "${B}"}',
     "9:19", "the query key, which sources.dd.auth[0].api_key.name already sets"),
    ('\n      - bearer: "${A}"\n      - basic: {username: u, password: "${B}"}',
     "9:9", "the header Authorization, which sources.dd.auth[0].bearer already sets"),
    ('\n      - oauth2: {token_url: "http://127.0.0.1:9/t", client_id: c, client_secret: "${A}"}\n'
     '      - api_key: {name: Authorization, value: "${B}"}',
     "9:19", "the header Authorization, which sources.dd.auth[0].oauth2 already sets"),
    ('\n      - api_key: {name: session, in: cookie, value: "${A}"}\n      - api_key: {name: session, in: cookie, value: "${B}"}',
     "9:19", "the cookie session, which sources.dd.auth[0].api_key.name already sets"),
    ('\n      - api_key: {name: X-Key, value: "${A}"}\n      - forward_claims: {x-KEY: sub}',
     "9:26", "the header x-KEY, which sources.dd.auth[0].api_key.name already sets"),
]


@pytest.mark.parametrize(("entries", "at", "said"), CLASHES)
def test_two_entries_setting_the_same_place_are_refused_at_the_second(
        tmp_path: Path, entries: str, at: str, said: str) -> None:
    """One value would silently replace the other on every request: exit 2, `file:line:col`, no traceback."""
    manifest = _project(tmp_path, "http://127.0.0.1:9", {"dd": entries})
    checked = mcprt_cli("validate", "--offline", str(manifest), env={"A": "a" * 24, "B": "b" * 24})
    assert checked.returncode == 2, checked.stderr
    assert f"mcp.yaml:{at}: this sets {said}" in checked.stderr, checked.stderr
    assert "Traceback" not in checked.stderr and "a" * 24 not in checked.stderr and "b" * 24 not in checked.stderr


@pytest.mark.parametrize("entries", [
    # a header and a query parameter of one name are two places (Algolia accepts its key in either)
    '\n      - api_key: {name: key, value: "${A}"}\n      - api_key: {name: key, in: query, value: "${B}"}',
    # query parameter names are compared as written (RFC 3986 leaves them to the server)
    '\n      - api_key: {name: key, in: query, value: "${A}"}\n      - api_key: {name: Key, in: query, value: "${B}"}',
    # and cookie names too: RFC 6265 §5.3/§5.4 match them byte for byte, `sess` and `SESS` are two cookies
    '\n      - api_key: {name: sess, in: cookie, value: "${A}"}\n      - api_key: {name: SESS, in: cookie, value: "${B}"}',
])
def test_two_places_of_one_name_are_no_clash(tmp_path: Path, entries: str) -> None:
    manifest = _project(tmp_path, "http://127.0.0.1:9", {"dd": entries})
    checked = mcprt_cli("validate", "--offline", str(manifest), env={"A": "a" * 24, "B": "b" * 24})
    assert "already sets" not in checked.stderr, checked.stderr


@pytest.mark.parametrize("header", ["DD-API-KEY", "dd-api-key"])
def test_a_source_header_an_auth_entry_also_sets_is_refused_at_the_header(tmp_path: Path, header: str) -> None:
    """`headers: {DD-API-KEY: …}` beside an `auth` entry setting DD-API-KEY: the upstream received the entry's
    value alone, the header's dropped without a word (the old reference told users to put a second credential in
    `headers:`). Exit 2 at the header's line, naming the entry; values never shown."""
    manifest = _project(tmp_path, "http://127.0.0.1:9", {"dd": DD_AUTH})
    manifest.write_text(manifest.read_text() + f'    headers: {{{header}: "${{K9}}", X-Other: plain}}\n')
    env = {**ENV, "K9": "k" * 24}
    checked = mcprt_cli("validate", "--offline", str(manifest), env=env)
    assert checked.returncode == 2, checked.stderr
    assert (f"mcp.yaml:10:15: the header {header} is also set by sources.dd.auth[0].api_key.name, whose value would "
            "replace this one on every request") in checked.stderr, checked.stderr
    assert "X-Other" not in checked.stderr and "Traceback" not in checked.stderr
    assert all(value not in checked.stderr for value in (*env.values(),)), checked.stderr


@pytest.mark.parametrize(("entries", "where", "said"), [
    ("\n      - []", "8:9", "sources.dd.auth.0: expected a mapping (key: value), got a list"),
    (" []", "7:11", "sources.dd.auth: List should have at least 1 item"),
    ("\n      - {api_key: {name: K, value: 5}}", "8:36", "sources.dd.auth.0.api_key.value: expected a string"),
    ("\n      - {bearer: \"${A}\", basic: {username: u, password: \"${A}\"}}", "8:9", "sources.dd.auth.0: auth takes exactly one of"),
])
def test_a_bad_entry_is_said_at_its_place_without_the_other_union_member(
        tmp_path: Path, entries: str, where: str, said: str) -> None:
    """`auth` is one entry or a list of them: an error inside a list entry is that entry's, not also
    "expected a mapping, got a list" (the one-entry form's complaint about the list as a whole)."""
    manifest = _project(tmp_path, "http://127.0.0.1:9", {"dd": entries})
    checked = mcprt_cli("validate", "--offline", str(manifest), env={"A": "a" * 24})
    assert checked.returncode == 2, checked.stderr
    assert f"mcp.yaml:{where}: {said}" in checked.stderr, checked.stderr
    assert checked.stderr.count("got a list") <= int("got a list" in said), checked.stderr


def test_an_entry_no_operation_names_is_a_warning_and_strict_refuses_it(tmp_path: Path, upstream: str) -> None:
    """An entry that meets no scheme any operation's `security` names (a typo'd key name, a credential for
    another API) is sent with every request all the same: `validate` warns, `validate --strict` exits 2."""
    entries = DD_AUTH + "\n      - api_key: {name: DD-APP-KEY, value: \"${DD_APPLICATION_KEY}\"}"
    manifest = _project(tmp_path, upstream, {"dd": entries})
    checked = mcprt_cli("validate", str(manifest), env=ENV)
    assert checked.returncode == 0, checked.stderr
    # at the typo'd name's line (10), not the source's `openapi:` line (4)
    assert ("mcp.yaml:10:25: warning: source 'dd': `auth[2]` (api_key in header `DD-APP-KEY`) meets no security "
            "scheme the operations' `security` names") in checked.stderr, checked.stderr
    strict = mcprt_cli("validate", "--strict", str(manifest), env=ENV)
    assert strict.returncode == 2 and "mcp.yaml:10:25: " in strict.stderr, strict.stderr
    bearer = _project(tmp_path / "bearer", upstream, {"dd": DD_AUTH + '\n      - bearer: "${DD_API_KEY}"'})
    checked = mcprt_cli("validate", str(bearer), env=ENV)
    assert "mcp.yaml:10:17: warning: source 'dd': `auth[2]` (bearer) meets no" in checked.stderr, checked.stderr
    exact = _project(tmp_path / "exact", upstream, {"dd": DD_AUTH, "s": SEARCH_AUTH})
    assert mcprt_cli("validate", "--strict", str(exact), env=ENV).returncode == 0


def test_init_writes_the_set_a_requirement_names_and_it_works_uncommented(tmp_path: Path, upstream: str) -> None:
    """`init` on a description whose requirement names two schemes writes one `auth: [...]` hint with both,
    each key in a variable of its own; uncommented, the call gets past the upstream that needs both."""
    (tmp_path / "api.json").write_text(json.dumps(_spec(upstream)))
    out = tmp_path / "mcp.yaml"
    made = mcprt_cli("init", "--openapi", str(tmp_path / "api.json"), "--out", str(out), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    text = out.read_text()
    hints = [line for line in text.splitlines() if line.startswith("    # auth: [")]
    assert hints[:2] == [
        '    # auth: [{api_key: {in: header, name: DD-API-KEY, value: "${DD_API_KEY}"}}, {api_key: {in: header, '
        'name: DD-APPLICATION-KEY, value: "${DD_APPLICATION_KEY}"}}]   # `apiKeyAuth` (API key in header '
        '`DD-API-KEY`) + `appKeyAuth` (API key in header `DD-APPLICATION-KEY`), all at once',
        '    # auth: [{api_key: {in: query, name: key, value: "${KEY}"}}, {bearer: "${API_TOKEN}"}]   # `queryKey` '
        '(API key in query `key`) + `bearer` (HTTP bearer), all at once'], hints
    assert len(hints) == 3 and hints[2].startswith(  # the oauth2 entry asks for a token at the declared endpoint
        f'    # auth: [{{api_key: {{in: header, name: DD-API-KEY, value: "${{DD_API_KEY}}"}}}}, {{oauth2: {{token_url: '
        f'"{upstream}/token"'), hints
    out.write_text(text.replace(hints[0], hints[0].replace("    # auth: ", "    auth: ", 1)))
    called = mcprt_cli("call", str(out), "validate", "--args", "{}", env=ENV, cwd=tmp_path)
    assert called.returncode == 0, called.stdout + called.stderr
    assert "[redacted]" in called.stdout and API_KEY not in called.stdout and APP_KEY not in called.stdout


@pytest.mark.parametrize(("keys", "variables"), [
    # a key of one name in a header and in the query: each named after its location too
    ((("header", "key"), ("query", "key")), ("KEY_HEADER", "KEY_QUERY")),
    # two query parameters whose names differ in case only (two places): then their position
    ((("query", "Key"), ("query", "key")), ("KEY_QUERY_1", "KEY_QUERY_2")),
    ((("header", "X-Api-Key"), ("query", "X_API_KEY"), ("cookie", "sid")), ("X_API_KEY_HEADER", "X_API_KEY_QUERY",
                                                                             "SID")),
])
def test_init_gives_two_keys_of_one_requirement_two_variables(
        tmp_path: Path, keys: tuple[tuple[str, str], ...], variables: tuple[str, ...]) -> None:
    """A Swagger 2.0 requirement `{k0: header key, k1: query key}` got `${KEY}` for both (review: two credentials
    read one variable, so one of them is always wrong)."""
    schemes = {f"k{i}": {"type": "apiKey", "in": where, "name": name} for i, (where, name) in enumerate(keys)}
    spec = {"swagger": "2.0", "info": {"title": "keys", "version": "1"}, "host": "127.0.0.1:9", "schemes": ["http"],
            "securityDefinitions": schemes, "security": [{name: [] for name in schemes}],
            "paths": {"/items": {"get": {"operationId": "items", "responses": {"200": {"description": "ok"}}}}}}
    (tmp_path / "api.json").write_text(json.dumps(spec))
    out = tmp_path / "mcp.yaml"
    made = mcprt_cli("init", "--openapi", str(tmp_path / "api.json"), "--out", str(out), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    hint = next(line for line in out.read_text().splitlines() if line.startswith("    # auth: ["))
    entries = ", ".join(f'{{api_key: {{in: {where}, name: {name}, value: "${{{variable}}}"}}}}'
                        for (where, name), variable in zip(keys, variables, strict=True))
    assert hint.startswith(f"    # auth: [{entries}]"), hint
