"""A 2xx answer of another media type than the JSON an operation documents is a tool error.

The trial's case: an SSO "session expired" page (200, text/html) where the description promises
`application/json` came back as `isError: false` with the page as the result — or, with an `output`
template, as a template failure blaming the server's configuration. Now the model is told what came
(media type received vs documented, a short scrubbed excerpt) and that the upstream may need
re-authentication. Everything that is not such a mismatch keeps working: each case below is served by
one real upstream on 127.0.0.1 and called through the real `mcprt call`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.cli import mcprt_cli
from tests.support.upstream import serve_app

TOKEN = "tok-7f3a9c1e5b"  # the page echoes it: the excerpt must not
LOGIN_PAGE = (f"<!doctype html><html><head><title>SSO</title><script>var t='{TOKEN}'</script></head>"
              f"<body><h1>Session expired</h1><p>Please sign in again. ref={TOKEN}</p></body></html>")

# path → (documented response content, what the upstream answers: content type, body)
CASES: dict[str, tuple[dict[str, Any] | None, str | None, bytes]] = {
    "html": ({"application/json": {}}, "text/html; charset=utf-8", LOGIN_PAGE.encode()),
    "plain": ({"application/json": {}}, "text/plain", b"upstream maintenance until 14:00"),
    "binary": ({"application/json": {}}, "application/octet-stream", b"\x00\x01\x02"),
    "vendor_json_ok": ({"application/vnd.api+json": {}}, "application/json; charset=utf-8", b'{"id": 1}'),
    "problem_ok": ({"application/json": {}}, "application/problem+json", b'{"title": "odd", "id": 2}'),
    "text_ok": ({"text/plain": {}}, "text/plain", b"pong"),
    "wildcard_ok": ({"*/*": {}}, "text/html", b"<html><body>fine</body></html>"),
    "mixed_ok": ({"application/json": {}, "text/csv": {}}, "text/csv", b"id,name\n1,a\n"),
    "undocumented_ok": (None, "text/html", b"<html><body>anything</body></html>"),
    "empty_ok": ({"application/json": {}}, "application/json", b""),
    # JSON under another label is JSON: shaped as JSON (the `output` template below reads it)
    "json_as_plain_ok": ({"application/json": {}}, "text/plain; charset=utf-8", b'{"id": 5}'),
    "json_as_octets_ok": ({"application/json": {}}, "application/octet-stream", b'{"id": 7}'),
    "json_as_ndjson_ok": ({"application/json": {}}, "application/x-ndjson", b'{"id": 6}\n'),
    "ndjson_lines_ok": ({"application/json": {}}, "application/x-ndjson", b'{"id": 1}\n\n{"id": 2}\n'),
    "no_type": ({"application/json": {}}, None, b"upstream maintenance"),
    # per status code: 200 documents JSON, 202 CSV (a queued export)
    "csv_202_ok": ({"application/json": {}}, "text/csv", b"id\n1\n"),
    "csv_200": ({"application/json": {}}, "text/csv", b"id\n1\n"),
    "csv_201_undocumented_ok": ({"application/json": {}}, "text/csv", b"id\n1\n"),
}
STATUS = {"csv_202_ok": 202, "csv_201_undocumented_ok": 201}
ALSO_202_CSV = ("csv_202_ok", "csv_200", "csv_201_undocumented_ok")

# A Swagger 2.0 description whose only `produces` is the document's
SWAGGER_CASES: dict[str, tuple[str, bytes]] = {
    "sw_html": ("text/html", LOGIN_PAGE.encode()),
    "sw_json_ok": ("application/json", b'{"id": 3}'),
}


def _spec(base: str) -> dict[str, Any]:
    paths = {}
    for name, (content, _, _) in CASES.items():
        response: dict[str, Any] = {"description": "ok"}
        if content is not None:
            response["content"] = {mt: {"schema": {"type": "object", "properties": {"id": {"type": "integer"}}}}
                                   if "json" in mt else {} for mt in content}
        responses = {"200": response}
        if name in ALSO_202_CSV:
            responses["202"] = {"description": "queued", "content": {"text/csv": {}}}
        paths[f"/{name}"] = {"get": {"operationId": name, "responses": responses}}
    return {"openapi": "3.1.0", "info": {"title": "answers", "version": "1"}, "servers": [{"url": base}],
            "paths": paths}


def _swagger(base: str) -> dict[str, Any]:
    paths = {f"/{name}": {"get": {"operationId": name, "responses": {"200": {
        "description": "ok", "schema": {"type": "object", "properties": {"id": {"type": "integer"}}}}}}}
        for name in SWAGGER_CASES}
    return {"swagger": "2.0", "info": {"title": "answers", "version": "1"}, "host": base.split("://", 1)[1],
            "schemes": ["http"], "produces": ["application/json"], "paths": paths}


def _app() -> Starlette:
    async def answer(request: Request) -> Response:
        name = request.path_params["name"]
        if name in SWAGGER_CASES:
            content_type, body = SWAGGER_CASES[name]
        else:
            _, content_type, body = CASES[name]
        return Response(body, status_code=STATUS.get(name, 200),
                        headers={"content-type": content_type} if content_type else {})

    return Starlette(routes=[Route("/{name}", answer)])


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with serve_app(_app()) as base:
        folder = tmp_path_factory.mktemp("answers")
        (folder / "api.json").write_text(json.dumps(_spec(base)))
        (folder / "swagger.json").write_text(json.dumps(_swagger(base)))
        path = folder / "mcp.yaml"
        path.write_text("version: 1\nserver: {name: answers}\nsources:\n  a:\n    openapi: api.json\n"
                        "    auth: {bearer: '${ANSWERS_TOKEN}'}\n"
                        # an `output` template: the mismatch is said, not a template failure blaming the operator
                        "    tools:\n      html: {output: '#{{ result.id }}'}\n"
                        "      json_as_plain_ok: {output: '#{{ result.id }}'}\n"
                        "  b:\n    openapi: swagger.json\n")
        yield path


def _call(manifest: Path, tool: str) -> dict[str, Any]:
    done = mcprt_cli("call", str(manifest), tool, env={"ANSWERS_TOKEN": TOKEN})
    assert TOKEN not in done.stdout + done.stderr
    return json.loads(done.stdout)


def test_a_login_page_for_a_json_operation_is_an_error_that_says_so(manifest: Path) -> None:
    result = _call(manifest, "html")
    text = result["content"][0]["text"]
    assert result["isError"] is True, result
    assert text.startswith("HTTP 200 OK: the upstream answered with text/html where this operation documents "
                           "application/json"), text
    assert "may need re-authentication" in text and "It began: 'Session expired Please sign in again." in text
    assert "configuration, not in the arguments" not in text and "could not format" not in text
    assert "<" not in text and "structuredContent" not in result


@pytest.mark.parametrize(("tool", "received", "begins"), [
    ("plain", "with text/plain", "It began: 'upstream maintenance until 14:00'"),
    ("binary", "with application/octet-stream", "It was 3 bytes of binary data."),
    # 200 documents JSON; the CSV documented for 202 does not make it right for 200
    ("csv_200", "with text/csv", "It began: 'id 1'"),
    # no Content-Type: the message names none, not the type mcprt guessed
    ("no_type", "without a Content-Type (its body reads as text/plain)", "It began: 'upstream maintenance'"),
])
def test_other_non_json_answers_are_errors_without_the_login_hint(manifest: Path, tool: str, received: str,
                                                                  begins: str) -> None:
    result = _call(manifest, tool)
    text = result["content"][0]["text"]
    assert result["isError"] is True and f"answered {received} where" in text and begins in text, text
    assert "re-authentication" not in text


@pytest.mark.parametrize(("tool", "expected"), [
    ("vendor_json_ok", '{"id":1}'),
    ("problem_ok", '{"title":"odd","id":2}'),
    ("text_ok", "pong"),
    ("wildcard_ok", "<html><body>fine</body></html>"),
    ("mixed_ok", "id,name\n1,a\n"),
    ("undocumented_ok", "<html><body>anything</body></html>"),
    ("empty_ok", "HTTP 200 OK (empty body)"),
    ("json_as_plain_ok", "#5"),
    ("json_as_octets_ok", '{"id":7}'),
    ("json_as_ndjson_ok", '{"id":6}'),
    ("ndjson_lines_ok", '[{"id":1},{"id":2}]'),
    ("csv_202_ok", "id\n1\n"),
    ("csv_201_undocumented_ok", "id\n1\n"),
    ("sw_json_ok", '{"id":3}'),
])
def test_answers_of_a_documented_or_json_type_are_results(manifest: Path, tool: str, expected: str) -> None:
    result = _call(manifest, tool)
    assert result.get("isError") is not True, result
    assert result["content"][0]["text"] == expected, result


def test_swagger_2_checks_answers_by_the_documents_produces(manifest: Path) -> None:
    result = _call(manifest, "sw_html")
    text = result["content"][0]["text"]
    assert result["isError"] is True and "answered with text/html where this operation documents " \
        "application/json" in text, text
