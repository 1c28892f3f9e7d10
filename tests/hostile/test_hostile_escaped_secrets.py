"""A configured secret echoed by an upstream in any spelling its body's format allows never reaches the model.

Trial of untidy REST APIs, fault 1: Gson writes `=` as `\\u003d` by default, so a Java API answering
`invalid api_key c2VjcmV0LWtleS12YWx1ZQ\\u003d\\u003d` handed the base64 key to the model in clear (text and
structuredContent): the scrubber matched a fixed list of escaped forms in the raw body, never the decoded
strings it sent on. The kind is "any escape of any character": the upstream here writes the secret with
each escaping a JSON encoder may use (RFC 8259 §7: any character as `\\uXXXX`), in values and keys, in a
success and an error, as NDJSON lines, and as text or JSON in a charset whose bytes are no UTF-8 form at all
(UTF-16, ISO-8859-1, EBCDIC: JSON decoded by its declared charset — review of fixh, problem 1).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

from tests.support.cli import mcprt_process
from tests.support.served import child_env, http_client, mcprt_http, text_of
from tests.support.upstream import serve_app

QUERY_KEY = "c2VjcmV0LWtleS12YWx1ZQ=="  # a base64 API key: its `=` padding is what Gson escapes
BEARER = "ab/cd+ef=gh<ij&k"


def _escaped(secret: str, style: str) -> str:
    """`secret` inside a JSON string as some encoder writes it (spelled out here, independent of mcprt)."""
    if style == "gson":  # Gson's default HTML-safe escaping: < > & = ' as \u00XX, lower-case hex
        return "".join(f"\\u{ord(c):04x}" if c in "<>&='" else c for c in secret)
    if style == "first":  # only the first character escaped
        return f"\\u{ord(secret[0]):04x}" + secret[1:]
    if style == "every":  # every character escaped, upper-case hex
        return "".join(f"\\u{ord(c):04X}" for c in secret)
    if style == "mixed":  # every other character escaped, hex case alternating
        return "".join((f"\\u{ord(c):04x}" if i % 4 else f"\\u{ord(c):04X}") if i % 2 else c
                       for i, c in enumerate(secret))
    raise ValueError(style)


STYLES = ("gson", "first", "every", "mixed")


def _app():  # type: ignore[no-untyped-def]
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def reflect(request: Request) -> Response:
        secret = request.query_params.get("api_key") or request.headers.get("authorization", "")[len("Bearer "):]
        style, shape = request.query_params["style"], request.query_params["shape"]
        form = _escaped(secret, style)
        status = 401 if request.query_params.get("fail") else 200
        if shape == "value":
            return Response('{"error": "invalid api_key ' + form + '"}', status, media_type="application/json")
        if shape == "key":
            return Response('{"' + form + '": {"seen": true}}', status, media_type="application/json")
        if shape == "ndjson":  # lines of JSON, documented as JSON: mcprt reads them as a list
            body = '{"n": 1}\n{"seen": "' + form + '"}\n'
            return Response(body, status, media_type="application/x-ndjson")
        if shape == "utf16":  # text in a charset whose bytes no UTF-8 form matches
            return Response(f"your key is {secret}".encode("utf-16"), status,
                            media_type="text/plain; charset=utf-16")
        if shape == "utf16json":  # JSON in UTF-16 (RFC 8259 §8.1 lets a parser take it): no UTF-8 form matches
            body = ('{"seen": "' + form + '"}').encode("utf-16")
            return Response(body, status, media_type="application/json; charset=utf-16")
        if shape == "latin1json":  # JSON in a declared charset, not valid UTF-8: decoded by it, key written plain
            body = ('{"seen": "Schlüssel ' + secret + '"}').encode("latin-1")
            return Response(body, status, media_type="application/json; charset=iso-8859-1")
        if shape == "cp500json":  # EBCDIC: not one byte of it is a UTF-8 form of the key
            return Response(('{"seen": "' + secret + '"}').encode("cp500"), status,
                            media_type="application/json; charset=cp500")
        raise ValueError(shape)

    return Starlette(routes=[Route("/q/reflect", reflect), Route("/b/reflect", reflect)])


def _spec(prefix: str) -> dict[str, object]:
    query = [{"name": name, "in": "query", "required": name != "fail", "schema": {"type": "string"}}
             for name in ("style", "shape", "fail")]
    return {"openapi": "3.0.3", "info": {"title": prefix, "version": "1"}, "paths": {f"/{prefix}/reflect": {"get": {
        "operationId": f"reflect_{prefix}", "parameters": query,
        "responses": {"200": {"description": "the key as seen",
                              "content": {"application/json": {"schema": {}}}}}}}}}


def _leaks(text: str) -> list[str]:
    return [secret for secret in (QUERY_KEY, BEARER) if secret in text]


def test_secrets_echoed_with_any_json_escape_or_charset_are_redacted(tmp_path: Path) -> None:
    for prefix in ("q", "b"):
        (tmp_path / f"{prefix}.json").write_text(json.dumps(_spec(prefix)))
    with serve_app(_app()) as base:
        (tmp_path / "mcp.yaml").write_text(
            "version: 1\nsources:\n"
            f"  q:\n    openapi: q.json\n    base_url: {base}\n"
            '    auth: {api_key: {name: api_key, in: query, value: "${QKEY}"}}\n'
            f"  b:\n    openapi: b.json\n    base_url: {base}\n"
            '    auth: {bearer: "${BKEY}"}\n')
        env = child_env(QKEY=QUERY_KEY, BKEY=BEARER, MCPRT_LOG_LEVEL="debug")
        seen: dict[str, str] = {}
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload", env=env) as up:
            async def calls() -> None:
                async with http_client(up.url) as client:
                    for tool in ("reflect_q", "reflect_b"):
                        for style in STYLES:
                            for shape in ("value", "key", "ndjson", "utf16", "utf16json", "latin1json", "cp500json"):
                                for fail in ({}, {"fail": "1"}):
                                    result = await asyncio.wait_for(
                                        client.call_tool(tool, {"style": style, "shape": shape, **fail}), 30)
                                    seen[f"{tool} {style} {shape} {fail}"] = (
                                        text_of(result) + " " + json.dumps(result.structured_content))

            asyncio.run(calls())
            log = up.log()
        leaked = {case: text for case, text in seen.items() if _leaks(text)}
        assert leaked == {}, leaked
        unredacted = {case: text for case, text in seen.items() if "[redacted]" not in text}
        assert unredacted == {}, unredacted  # each answer did quote the key: the test reads what it should
        assert seen["reflect_q gson value {}"].startswith('{"error":"invalid api_key [redacted]"}'), seen
        assert seen["reflect_q gson ndjson {}"].startswith('[{"n":1},{"seen":"[redacted]"}]'), seen  # lines read
        assert _leaks(log) == [], log

        # `mcprt record` stores the answer: the recorded case holds no escaped spelling of the key either
        recorded = mcprt_process("record", str(tmp_path / "mcp.yaml"), "reflect_q", "--args",
                                 '{"style": "gson", "shape": "value"}', cwd=tmp_path,
                                 env={"QKEY": QUERY_KEY, "BKEY": BEARER}, forked=True, timeout=90)
        _check_recorded(recorded, tmp_path)


def _check_recorded(recorded: subprocess.CompletedProcess[str], folder: Path) -> None:
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    stored = "".join(p.read_text() for p in (folder / "cases").rglob("*") if p.is_file())
    assert "[redacted]" in stored, stored
    decoded = stored.encode().decode("unicode_escape", errors="replace")  # every `\uXXXX` spelled out
    assert _leaks(stored + decoded + recorded.stdout + recorded.stderr) == [], stored
