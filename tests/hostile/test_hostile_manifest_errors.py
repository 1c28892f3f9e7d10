"""A manifest error never quotes a value that may be a credential: in `mcprt validate`, the reload log line,
`/status` and `/status.json`.

Found by a pentest trial: `auth: {api_key: "sk_live_…"}` (a string where a mapping goes) gave
`expected a mapping (key: value), got a string 'sk_live_…'` in `validate`; during hot reload,
`headers: "X-Api-Key: Literal…"` put the value into the log line, `/status.json`'s errors and the status page.
A value from `${VAR}` was already hidden. Now a value at a credential-bearing key (`auth`, `headers`, `env`,
`webhook`, or a key the credential-name rule flags) or one the literal-credential rule flags is described by
its type only. Real CLI runs and a real `mcprt up` over HTTP.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.hostile.hostile_support import run_cli
from tests.support.served import mcprt_http

SPEC = '{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {"operationId": "a", ' \
       '"responses": {"200": {"description": "ok"}}}}}}'
NOT_SHOWN = "(not shown: it may be a credential)"

# (what is written under `sources.a`, or the whole `server:` block; the literal that must not be quoted;
# the message that says what is wrong instead)
MISTAKES = [
    ('    auth: {api_key: "sk_live_51HxLiteralKeyABCD1234"}\n', "sk_live_51HxLiteralKeyABCD1234",
     "sources.a.auth.api_key: expected a mapping (key: value), got a string " + NOT_SHOWN),
    ("    auth: {basic: {username: u, password: 12345}}\n", "12345",
     "sources.a.auth.basic.password: expected a string, got an integer " + NOT_SHOWN),
    ('    auth: {bearer: ["Tok3nInAList99999"]}\n', "Tok3nInAList99999",
     "sources.a.auth.bearer: expected a string"),
    ('    headers: "X-Api-Key: LiteralLeakTok3nQQQQ7777"\n', "LiteralLeakTok3nQQQQ7777",
     "sources.a.headers: expected a mapping (key: value), got a string " + NOT_SHOWN),
    ('    timeout: "Bearer sk-live-SECRET123456"\n', "sk-live-SECRET123456", "sources.a.timeout:"),
]
SERVER_MISTAKES = [
    ('server:\n  auth: {bearer_tokens: "LiteralInboundTok3nAAAA1111"}\n', "LiteralInboundTok3nAAAA1111",
     "server.auth.bearer_tokens: expected a list, got a string " + NOT_SHOWN),
    ("server:\n  auth: {tokens: [LiteralInboundTok3nBBBB2222]}\n", "LiteralInboundTok3nBBBB2222",
     "server.auth.tokens: expected a mapping"),
]


@pytest.mark.parametrize(("written", "literal", "said"), [*MISTAKES, *SERVER_MISTAKES],
                         ids=[m[1] for m in [*MISTAKES, *SERVER_MISTAKES]])
def test_validate_never_quotes_a_literal_credential(tmp_path: Path, written: str, literal: str, said: str) -> None:
    (tmp_path / "spec.json").write_text(SPEC)
    server, source = (written, "") if written.startswith("server:") else ("", written)
    (tmp_path / "mcp.yaml").write_text(f"version: 1\n{server}sources:\n  a:\n    openapi: spec.json\n"
                                       f"    base_url: http://127.0.0.1:9\n{source}")
    run = run_cli("validate", "mcp.yaml", cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert said in run.stderr and "mcp.yaml:" in run.stderr, run.stderr
    assert literal not in run.stderr + run.stdout, run.stderr
    assert "Traceback" not in run.stderr


def test_an_ordinary_value_is_still_quoted(tmp_path: Path) -> None:
    """Only what may be a credential is hidden: a wrong port still says what was written."""
    (tmp_path / "spec.json").write_text(SPEC)
    (tmp_path / "mcp.yaml").write_text("version: 1\nserver:\n  http: {port: eighty}\nsources:\n  a:\n"
                                       "    openapi: spec.json\n    base_url: http://127.0.0.1:9\n")
    run = run_cli("validate", "mcp.yaml", cwd=tmp_path)
    assert run.returncode == 2 and "server.http.port: expected an integer, got a string 'eighty'" in run.stderr, \
        run.stderr


def test_a_reload_error_never_quotes_a_literal_credential(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text(SPEC)
    manifest = tmp_path / "mcp.yaml"
    good = "version: 1\nsources:\n  a:\n    openapi: spec.json\n    base_url: http://127.0.0.1:9\n"
    manifest.write_text(good)
    literal = "LiteralLeakTok3nQQQQ7777"
    with mcprt_http(manifest) as up:
        mark = up.log_mark()
        manifest.write_text(good + f'    headers: "X-Api-Key: {literal}"\n')
        up.wait_log("sources.a.headers: expected a mapping")
        deadline = time.monotonic() + 30
        while not (errors := (httpx.get(f"{up.base}/status.json", timeout=10).json().get("reload") or {}).get("errors")):
            assert time.monotonic() < deadline, "the reload error never reached /status.json"
            time.sleep(0.1)
        page = httpx.get(f"{up.base}/status", timeout=10).text
        assert any("sources.a.headers: expected a mapping (key: value), got a string " + NOT_SHOWN in e
                   for e in errors), errors
        assert "expected a mapping" in page
        for surface in (up.log_since(mark), str(errors), page):
            assert literal not in surface, surface
