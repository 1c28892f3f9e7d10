"""The next page (`Link: <…>; rel="next"`) and a 201/202's `Location` reach the model as notes.

Found by a new-user trial: GitHub-style pagination (the next page only in the `Link` header) and the
`Location` of a created resource or an accepted job were dropped, so the model could neither page on
nor find what it made. Nothing else of the headers may pass (cookies, auth challenges). A real
upstream on 127.0.0.1 (the trial's `up.py` routes `/pl`, `/r/201`, `/r/202`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from mcprt.pipeline import Runtime
from mcprt.settings import load_settings
from mcprt.sources.openapi.answer_headers import next_link
from mcprt.toolset.invoke import call_tool
from tests.support.upstream import serve_app

KEY = "k-answer-headers-secret"
OK = {"200": {"description": "ok", "content": {"application/json": {"schema": {}}}}}


def spec(base: str) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": f"{base}/api/v1"}],
        "paths": {
            "/pl": {"get": {"operationId": "pageLink", "responses": OK, "parameters": [
                {"name": "page", "in": "query", "schema": {"type": "integer"}},
                {"name": "per_page", "in": "query", "schema": {"type": "integer"}}]}},
            "/elsewhere": {"get": {"operationId": "elsewhere", "responses": OK}},
            "/missing/{id}": {"get": {"operationId": "missing", "responses": OK, "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "q", "in": "query", "schema": {"type": "string"}}]}},
            "/r/{kind}": {"post": {"operationId": "respPost", "responses": OK, "parameters": [
                {"name": "kind", "in": "path", "required": True, "schema": {"type": "string"}}]}},
        },
    }


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path, query = scope["path"], scope["query_string"].decode()
    host = dict(scope["headers"])[b"host"].decode()
    headers = [(b"content-type", b"application/json"), (b"set-cookie", b"session=s3cr3t"),
               (b"www-authenticate", b'Bearer realm="x"'), (b"x-ratelimit-remaining", b"41")]
    status, body = 200, b"[]"
    if path == "/api/v1/pl":
        page = int(dict(p.split("=") for p in query.split("&") if p).get("page", "1"))
        if page < 3:  # GitHub's form: absolute URLs, the next link first, `last` beside it
            headers.append((b"link", f'<http://{host}/api/v1/pl?page={page + 1}&per_page=2>; rel="next", '
                                     f'<http://{host}/api/v1/pl?page=3&per_page=2>; rel="last"'.encode()))
        body = json.dumps([{"id": page * 10 + i} for i in range(2)]).encode()
    elif path == "/api/v1/elsewhere":  # a next link this operation cannot take: another path, the key echoed
        headers.append((b"link", f'</api/v2/other?cursor=abc&api_key={KEY}>; rel="next"'.encode()))
    elif path == "/api/v1/r/201":
        status, body = 201, b'{"id": 7}'
        headers.append((b"location", b"/api/v1/items/7"))
    elif path == "/api/v1/r/202":
        status, body = 202, b'{"job": "j1"}'
        headers.append((b"location", b"/api/v1/jobs/j1"))
    elif path.startswith("/api/v1/missing/"):  # what a wrong base URL gets on every call
        status, body = 404, b"Not Found"
        headers = [(b"content-type", b"text/plain")]
    elif path == "/api/v1/r/400":  # an error's Location is no resource
        status, body = 400, b'{"error": "bad"}'
        headers.append((b"location", b"/api/v1/items/8"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve_app(app) as url:
        yield url


@pytest.fixture
async def tools(base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    monkeypatch.setenv("AH_KEY", KEY)
    (tmp_path / "api.json").write_text(json.dumps(spec(base)))
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  s:\n    openapi: api.json\n"
                                       '    auth: {api_key: {name: api_key, in: query, value: "${AH_KEY}"}}\n')
    runtime = Runtime(tmp_path / "mcp.yaml", load_settings())
    compiled = await runtime.start()
    try:
        yield compiled.toolset
    finally:
        await runtime.aclose()


def texts(result: Any) -> list[str]:
    return [block["text"] for block in result.content if block.get("type") == "text"]


async def test_next_page_arguments_follow_the_link_header_to_the_last_page(tools: Any) -> None:
    tool = tools.get("pageLink")
    result = await call_tool(tool, {})
    assert texts(result) == ['[{"id":10},{"id":11}]',
                             'Note: next page: call again with the same arguments and {"page": 2, "per_page": 2}']
    result = await call_tool(tool, {"page": 2, "per_page": 2})
    assert texts(result)[1] == 'Note: next page: call again with the same arguments and {"page": 3}'
    result = await call_tool(tool, {"page": 3, "per_page": 2})
    assert texts(result) == ['[{"id":30},{"id":31}]']  # the last page: no next, no other header


async def test_a_next_link_the_tool_cannot_take_is_given_as_a_url_without_the_key(tools: Any, base: str) -> None:
    result = await call_tool(tools.get("elsewhere"), {})
    note = texts(result)[-1]
    assert note.startswith(f'Note: next page (Link rel="next"): {base}/api/v2/other?cursor=abc'), note
    assert KEY not in json.dumps(result.content)


@pytest.mark.parametrize(("kind", "note"), [
    ("201", "Note: Location of the created resource: /api/v1/items/7"),
    ("202", "Note: Location to check on the accepted request: /api/v1/jobs/j1"),
])
async def test_location_of_a_201_or_202(tools: Any, kind: str, note: str) -> None:
    result = await call_tool(tools.get("respPost"), {"kind": kind})
    assert not result.is_error and texts(result)[-1] == note
    assert "s3cr3t" not in json.dumps(result.content) and "realm" not in json.dumps(result.content)


async def test_no_header_note_on_an_error(tools: Any) -> None:
    result = await call_tool(tools.get("respPost"), {"kind": "400"})
    assert result.is_error and "items/8" not in json.dumps(result.content)


@pytest.mark.parametrize(("value", "target"), [
    ('<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=9>; rel="last"',
     "https://api.github.com/x?page=2"),
    ('<a?p=1>; rel="prev", <b?p=3>; rel=next', "b?p=3"),  # unquoted rel (RFC 8288 allows a token)
    ('<c>; title="a, b"; rel="last next"', "c"),  # several relation types, a comma inside a quoted param
    ('<d>; rel="prev"', None),
    ("garbage", None),
])
def test_next_link_parsing(value: str, target: str | None) -> None:
    assert next_link(value) == target


async def test_a_404_names_the_url_path_tried_without_the_query(tools: Any) -> None:
    """A wrong base URL (the trial's `server_variables: {base: api/v9}`) 404s every call: say where."""
    result = await call_tool(tools.get("missing"), {"id": "42", "q": "private words"})
    assert result.is_error
    assert texts(result) == ["HTTP 404 Not Found: Not Found",
                             "Note: the upstream has nothing at GET /api/v1/missing/42 (the URL path tried); if "
                             "every call of this source gets 404, its base URL is wrong: check the source's "
                             "`base_url` or `server_variables`"]
    assert KEY not in json.dumps(result.content) and "private" not in json.dumps(result.content)
