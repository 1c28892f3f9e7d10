"""Finding 3 of #13 and fault 3 of #12: no configured secret in any result, error, log, case or output.

The upstream reflects everything it receives (headers, cookies, query, basic auth decoded, the token
endpoint's form). Whatever the credential's kind, name and location, none of its forms (raw, URL-,
form-, base64-, JSON-escaped) may reach the model, the log (debug level), /healthz, a recorded case,
a snapshot or the CLI's output; and `mcprt record` then `mcprt test` pass.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
from pathlib import Path

import httpx

from tests.hostile.hostile_support import (
    ALL_SECRETS,
    BEARER,
    CLIENT_SECRET,
    echo_manifest,
    leaks,
)
from tests.support.cli import mcprt_process
from tests.support.served import child_env, http_client, mcprt_http, text_of

KINDS = ("bearer", "basic", "project", "query", "cookie", "oauth")


# this worker's own cache (it was /tmp/mcprt-hostile-cache: one folder for every xdist worker, and for every
# checkout running the suite on the machine, written at once)
CACHE = tempfile.mkdtemp(prefix="mcprt-hostile-cache-")


def _env(**extra: str) -> dict[str, str]:
    return child_env(MCPRT_CACHE_DIR=CACHE, **ALL_SECRETS, **extra)


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`mcprt ARGS` with `env` added, as a real process forked from the suite's warm zygote (no ~1 s of imports per
    command): a secret leaked by a write to fd 1/2 itself (`os.write`, a child inheriting stderr, a message at
    interpreter exit) must show here, which the in-process runner's captured `sys.stdout`/`sys.stderr` would miss."""
    return mcprt_process(*args, cwd=cwd, env=env, forked=True, timeout=90)


def _output(run: subprocess.CompletedProcess[str]) -> str:
    return run.stdout + run.stderr


def test_reflected_credentials_never_reach_results_or_logs(tmp_path: Path, echo_upstream: str) -> None:
    manifest = echo_manifest(tmp_path / "p", echo_upstream)
    # Security trial, item 2: an upstream document quoting a configured secret in a description was
    # served as is in tools/list (only tool results were scrubbed).
    spec_file = manifest.parent / "echo.json"
    spec = json.loads(spec_file.read_text())
    operation = next(iter(next(iter(spec["paths"].values())).values()))
    operation["description"] = f"Echo. Use the token {BEARER} here."
    spec_file.write_text(json.dumps(spec))
    with mcprt_http(manifest, env=_env(MCPRT_LOG_LEVEL="debug")) as up:
        async def calls() -> list[str]:
            async with http_client(up.url) as client:
                listed = await asyncio.wait_for(client.list_tools(), 30)
                described = json.dumps([tool.model_dump(mode="json") for tool in listed.tools])
                assert "Use the token [redacted] here." in described and leaks(described) == [], described[:2000]
                texts = []
                for kind in KINDS:
                    result = await asyncio.wait_for(client.call_tool(f"{kind}_echo", {"q": "hello"}), 30)
                    assert not result.is_error, text_of(result)
                    texts.append(text_of(result) + json.dumps(result.structured_content))
                return texts

        texts = asyncio.run(calls())
        # The credential did travel (the upstream saw it) and came back scrubbed, not dropped silently.
        assert all("[redacted]" in t for t in texts), texts
        for kind, text in zip(KINDS, texts):
            assert leaks(text) == [], (kind, text)
        assert leaks(httpx.get(f"{up.base}/healthz", timeout=5).text) == []
        assert leaks(up.log()) == [], up.log()
    # The same listing printed by the CLI (`mcprt tools --json`) is scrubbed too.
    printed = _cli("tools", "--json", "--offline", str(manifest), cwd=manifest.parent, env=_env())
    assert printed.returncode == 0, printed.stderr
    assert "Use the token [redacted] here." in printed.stdout and leaks(printed.stdout) == [], printed.stdout[:2000]


def test_token_endpoint_error_never_shows_the_client_secret(tmp_path: Path, echo_upstream: str) -> None:
    """The token endpoint quotes `client_secret=zz%2Fsecret…` back in its error: the model gets the
    error, never the secret in any form; the server then answers a normal call."""
    manifest = echo_manifest(tmp_path / "p", echo_upstream, oauth_secret_var="WRONG_SECRET")
    wrong = CLIENT_SECRET + "-wrong"
    with mcprt_http(manifest, env=_env(WRONG_SECRET=wrong, MCPRT_LOG_LEVEL="debug")) as up:
        async def calls() -> tuple[str, str]:
            async with http_client(up.url) as client:
                failed = await asyncio.wait_for(client.call_tool("oauth_echo", {}), 30)
                assert failed.is_error
                normal = await asyncio.wait_for(client.call_tool("bearer_echo", {"q": "after"}), 30)
                assert not normal.is_error
                return text_of(failed), text_of(normal)

        error, normal = asyncio.run(calls())
        assert "OAuth2 token request failed" in error and "invalid_client" in error
        assert leaks(error, [wrong]) == [] and leaks(error) == [], error
        assert '"q":"after"' in normal.replace(" ", "") or "after" in normal
        assert leaks(up.log(), [wrong]) == []


def test_record_and_test_with_an_api_key_in_any_header(tmp_path: Path, echo_upstream: str) -> None:
    """#12 fault 3: `api_key: {in: header, name: project_id}`; record prints no key and exits 0, and
    `mcprt test` passes — for every kind of credential."""
    manifest = echo_manifest(tmp_path / "p", echo_upstream)
    env = {"MCPRT_CACHE_DIR": CACHE, **ALL_SECRETS}
    for kind in KINDS:
        run = _cli("record", str(manifest), f"{kind}_echo", "--args", '{"q": "x"}', cwd=manifest.parent, env=env)
        assert run.returncode == 0, (kind, _output(run))
        assert leaks(_output(run)) == [], (kind, _output(run))
    stored = "".join(p.read_text() for p in (manifest.parent / "cases").rglob("*") if p.is_file())
    assert "project_id" in stored or "[redacted]" in stored
    assert leaks(stored) == [], stored
    tested = _cli("test", str(manifest), cwd=manifest.parent, env=env)
    assert tested.returncode == 0, _output(tested)
    assert leaks(_output(tested)) == []
    # And without the secrets in the environment (CI replays with placeholders) it passes too — but
    # for OAuth2, whose token endpoint a replay still calls live (left as it is; see the report).
    import shutil
    shutil.rmtree(manifest.parent / "cases" / "oauth_echo")
    shutil.rmtree(manifest.parent / "cases" / "__snapshots__" / "oauth_echo")
    bare = {"MCPRT_CACHE_DIR": CACHE}
    assert _cli("test", str(manifest), cwd=manifest.parent, env=bare).returncode == 0
    diffed = _cli("diff", str(manifest), str(manifest), cwd=manifest.parent, env=env)
    assert leaks(_output(diffed)) == []


# A credential with every character some JSON or HTML encoder escapes differently.
DIALECT_SECRET = "Tk/1+a&b<c>d'e\"f=g"  # ASCII: it travels in a header


def _dialect_forms(secret: str) -> dict[str, str]:
    """How encoders in common upstream stacks write `secret` inside a JSON string or an HTML page
    (spelled out here, independent of the scrubber)."""
    import html as html_module
    python = json.dumps(secret)[1:-1]
    net = "".join(f"\\u{ord(c):04X}" if c in "\"&'<>+`" or ord(c) > 127 else ("\\\\" if c == "\\" else c)
                  for c in secret)
    return {
        "php": python.replace("/", "\\/"),  # json_encode's default escapes `/`
        "go": json.dumps(secret, ensure_ascii=False)[1:-1]
              .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"),  # encoding/json
        "dotnet": net,  # System.Text.Json's default encoder: upper-case hex
        "html": html_module.escape(secret),  # an HTML error page quoting the header
    }


def _dialect_app():  # type: ignore[no-untyped-def]
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def reflect(request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        dialect = request.query_params["dialect"]
        form = _dialect_forms(token)[dialect]
        if dialect == "html":
            return Response(f"<html><body><p>bad token: {form}</p></body></html>", 401, media_type="text/html")
        status = 500 if request.query_params.get("fail") else 200
        return Response('{"seen": "' + form + '"}', status, media_type="application/json")

    return Starlette(routes=[Route("/reflect", reflect)])


def test_credentials_echoed_by_php_go_dotnet_or_html_encoders_are_redacted(tmp_path: Path) -> None:
    """An upstream echoing the credential as its own JSON encoder writes it (PHP's `\\/`, Go's
    `\\u0026`, .NET's upper-case `\\u002B`) or HTML-escaped in an error page: the scrubber knew
    Python's spelling only, and the secret reached the model and the log."""
    from tests.support.upstream import serve_app

    spec = {"openapi": "3.0.3", "info": {"title": "r", "version": "1"}, "paths": {"/reflect": {"get": {
        "operationId": "reflect", "parameters": [
            {"name": "dialect", "in": "query", "required": True, "schema": {"type": "string"}},
            {"name": "fail", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "the token as seen"}}}}}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    forms = _dialect_forms(DIALECT_SECRET)
    assert all(form != DIALECT_SECRET for form in forms.values())  # each is a spelling of its own
    with serve_app(_dialect_app()) as base:
        (tmp_path / "mcp.yaml").write_text(
            f'version: 1\nsources:\n  r:\n    openapi: spec.json\n    base_url: {base}\n'
            '    auth: {bearer: "${DIALECT_TOKEN}"}\n')
        env = child_env(DIALECT_TOKEN=DIALECT_SECRET, MCPRT_LOG_LEVEL="debug")
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload", env=env) as up:
            async def calls() -> list[str]:
                async with http_client(up.url) as client:
                    texts = []
                    for dialect in forms:
                        for fail in ({}, {"fail": "1"}):
                            result = await asyncio.wait_for(
                                client.call_tool("reflect", {"dialect": dialect, **fail}), 30)
                            texts.append(text_of(result) + json.dumps(result.structured_content))
                    return texts

            texts = asyncio.run(calls())
            assert all("[redacted]" in text for text in texts), texts
            for text in texts:
                assert leaks(text, list(forms.values())) == [] and DIALECT_SECRET not in text, text
            assert leaks(up.log(), list(forms.values())) == [], up.log()
        recorded = _cli("record", str(tmp_path / "mcp.yaml"), "reflect", "--args", '{"dialect": "dotnet"}',
                        cwd=tmp_path, env={"DIALECT_TOKEN": DIALECT_SECRET, "MCPRT_LOG_LEVEL": "debug"})
        assert recorded.returncode == 0, _output(recorded)
        stored = "".join(p.read_text() for p in (tmp_path / "cases").rglob("*") if p.is_file())
        assert "[redacted]" in stored
        assert leaks(stored + _output(recorded), list(forms.values())) == [], stored
