"""A file argument's `data:` URL `name=` reaches the upstream decoded, and still cannot inject (real upstream, SDK).

Trial "fastmcp", fault 8: `data:image/png;name=my%20cat.png;base64,aGk=` was sent as `filename="my%20cat.png"`;
RFC 2397 §3 says parameter values are URL-encoded, so the upstream stored a name nobody gave. Decoded now — and a
name decoding to a quote, CR/LF or another control character is written percent-encoded in the part's header, as
the injection tests of the trial (already neutralised) require. Directory parts are sent as written, as before the
decoding (review of fixfm1, problem 3): RFC 7578 §4.2 leaves what a path means to the receiver.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.served import http_client, mcprt_http, text_of
from tests.support.upstream import serve_app

SPEC = {
    "openapi": "3.0.3", "info": {"title": "Acme", "version": "1"},
    "paths": {"/products/{sku}/image": {"post": {
        "operationId": "uploadProductImage",
        "parameters": [{"name": "sku", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}}}}}},
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}},
    }}},
}

# (what the model sends as `name=`, the Content-Disposition line the upstream must receive)
CASES = [
    ("my%20cat.png", 'form-data; name="file"; filename="my cat.png"'),  # the trial's input
    ("caf%C3%A9.png", 'form-data; name="file"; filename="café.png"'),  # UTF-8, percent-encoded
    ("plain.png", 'form-data; name="file"; filename="plain.png"'),  # nothing to decode
    # injection attempts: a quote and CRLF, raw or percent-encoded, stay inside the one quoted value
    ('a%22%0D%0AX-Evil:%201.png', 'form-data; name="file"; filename="a%22%0D%0AX-Evil: 1.png"'),
    ("nul%00.png", 'form-data; name="file"; filename="nul%00.png"'),
    ("reports/2026/q1.pdf", 'form-data; name="file"; filename="reports/2026/q1.pdf"'),  # as the upstream keys it
    ("..%2F..%2Fetc%2Fpasswd", 'form-data; name="file"; filename="../../etc/passwd"'),  # the receiver's to judge
    ("C:%5Cx%5Cy.png", 'form-data; name="file"; filename="C:\\\\x\\\\y.png"'),  # a backslash escaped in the header
    ("a%252F.png", 'form-data; name="file"; filename="a%2F.png"'),  # decoded once
    ("%20", 'form-data; name="file"; filename="file"'),  # nothing left of it: the property's name
]


def upstream(seen: list[bytes]) -> Starlette:
    async def upload(request: Request) -> JSONResponse:
        seen.append(await request.body())
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/products/{sku}/image", upload, methods=["POST"])])


def _dispositions(body: bytes) -> list[str]:
    return [m.decode() for m in re.findall(rb"Content-Disposition: ([^\r\n]*)\r\n", body)]


@pytest.mark.parametrize("written,expected", CASES)
async def test_a_data_url_file_name_is_sent_decoded_and_confined(tmp_path: Path, written: str,
                                                                  expected: str) -> None:
    (tmp_path / "acme.json").write_text(json.dumps(SPEC))
    seen: list[bytes] = []
    with serve_app(upstream(seen)) as base:
        manifest = tmp_path / "mcp.yaml"
        manifest.write_text(f"version: 1\nserver: {{name: acme}}\nsources:\n  acme:\n    openapi: acme.json\n"
                            f"    base_url: {base}\n")
        with mcprt_http(manifest, "--no-reload") as up:
            async with http_client(up.url) as client:
                result = await client.call_tool("uploadProductImage", {
                    "sku": "W-1", "file": f"data:image/png;name={written};base64,aGk="})
    assert not result.is_error, text_of(result)
    assert len(seen) == 1
    assert _dispositions(seen[0]) == [expected]  # one part, one header line: nothing injected
    assert b"Content-Type: image/png\r\n\r\nhi\r\n" in seen[0]
