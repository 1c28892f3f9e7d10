"""A multipart part is labelled with one media type, never an Encoding Object's list of acceptable ones.

Trial of untidy REST APIs, fault 6: `encoding: {pic: {contentType: "image/png, image/jpeg"}}` (OAS 3.1
§4.8.15.1: a comma-separated list of acceptable types, or a wildcard) was copied into the part's header,
`Content-Type: image/png, image/jpeg`, which is no media type: strict multipart parsers reject it. The part
gets the data's own type when it has one (a `data:` URL's), else the first concrete type listed. Real
upstream parsing the multipart body; SDK client over `mcprt up`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.served import child_env, http_client, mcprt_http
from tests.support.upstream import serve_app

SPEC = {"openapi": "3.0.3", "info": {"title": "mp", "version": "1"}, "paths": {"/upload": {"post": {
    "operationId": "upload",
    "requestBody": {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "properties": {
            "pic": {"type": "string", "format": "binary"},
            "thumb": {"type": "string", "format": "binary"},
            "any": {"type": "string", "format": "binary"},
            "note": {"type": "string"}}},
        "encoding": {"pic": {"contentType": "image/png, image/jpeg"},
                     "thumb": {"contentType": "image/*, image/webp"},
                     "any": {"contentType": "image/*"},
                     "note": {"contentType": "text/markdown, text/plain"}}}}},
    "responses": {"200": {"description": "the parts' types",
                          "content": {"application/json": {"schema": {"type": "object"}}}}}}}}}


async def _parts(request: Request) -> JSONResponse:
    raw = (await request.body()).decode("latin-1")  # read first: the form is then parsed from it
    async with request.form() as form:  # python-multipart: a strict parser
        types = {name: (value.headers.get("content-type") if hasattr(value, "headers") else "(field)")
                 for name, value in form.multi_items()}
    headers = [line for line in raw.split("\r\n") if line.lower().startswith("content-type")]
    return JSONResponse({"types": types, "headers": headers})


def test_a_part_gets_one_media_type_from_an_encoding_list(tmp_path: Path) -> None:
    (tmp_path / "mp.json").write_text(json.dumps(SPEC))
    calls = {
        "plain text": {"pic": "hello", "thumb": "t", "any": "a", "note": "# hi"},
        "data url without a type": {"pic": "data:;base64,iVBORw0KGgo=", "thumb": "data:;base64,UklGRg=="},
        "data url with its type": {"pic": "data:image/jpeg;base64,/9j/4AAQ", "thumb": "data:image/gif;base64,R0lG"},
    }
    seen = {}
    with serve_app(Starlette(routes=[Route("/upload", _parts, methods=["POST"])])) as base:
        (tmp_path / "mcp.yaml").write_text(f"version: 1\nsources:\n  m:\n    openapi: mp.json\n    base_url: {base}\n")
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload", env=child_env()) as up:
            async def run() -> None:
                async with http_client(up.url) as client:
                    for case, args in calls.items():
                        result = await asyncio.wait_for(client.call_tool("upload", args), 30)
                        assert result.is_error is False, (case, result.content)
                        seen[case] = result.structured_content

            asyncio.run(run())
    assert not any("," in header for got in seen.values() for header in got["headers"]), seen  # one type a part
    assert seen["plain text"]["types"] == {"pic": "image/png", "thumb": "image/webp",
                                           "any": "text/plain; charset=utf-8", "note": "(field)"}, seen
    assert "Content-Type: text/markdown" in seen["plain text"]["headers"], seen
    assert seen["data url without a type"]["types"] == {"pic": "image/png", "thumb": "image/webp"}, seen
    assert seen["data url with its type"]["types"] == {"pic": "image/jpeg", "thumb": "image/gif"}, seen
