"""A compressed body whose stream ends early is an upstream fault the model is told of, never a short answer.

Trial of untidy REST APIs, fault 3: an upstream (or a proxy) sent the first half of a gzip stream with a
matching Content-Length; mcprt returned 989 of 2,000 CSV rows, the last cut mid-field, as a complete,
successful result. A gzip stream says where it ends (its final block, then a CRC-32 and length trailer:
RFC 1952 §2.2), as a zlib or raw deflate stream does its final block (RFC 1950, 1951): a stream that has
not ended is a cut body, whatever the connection said. The SDK client calls `mcprt up` over streamable HTTP.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.served import child_env, http_client, mcprt_http, text_of
from tests.support.upstream import serve_app

CSV = ("id,name\n" + "".join(f"{i},row-{i}-abcdefghijklmnopqrstuvwxyz\n" for i in range(2000))).encode()
GZIPPED = gzip.compress(CSV)
ZLIBBED = zlib.compress(CSV)
_raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
RAW_DEFLATED = _raw.compress(CSV) + _raw.flush()

BODIES: dict[str, tuple[bytes, str]] = {  # path → (body sent, Content-Encoding)
    "/half_gzip": (GZIPPED[: len(GZIPPED) // 2], "gzip"),
    "/gzip_without_trailer": (GZIPPED[:-8], "gzip"),
    "/half_deflate": (ZLIBBED[: len(ZLIBBED) // 2], "deflate"),
    "/half_raw_deflate": (RAW_DEFLATED[: len(RAW_DEFLATED) // 2], "deflate"),
    "/whole_gzip": (GZIPPED, "gzip"),
    "/whole_raw_deflate": (RAW_DEFLATED, "deflate"),
    "/empty_gzip": (b"", "gzip"),
}


async def _body(request: Request) -> Response:
    body, encoding = BODIES[request.url.path]
    return Response(body, media_type="text/csv", headers={"Content-Encoding": encoding})  # Content-Length: len(body)


def test_a_compressed_body_cut_before_its_stream_ends_is_an_upstream_error(tmp_path: Path) -> None:
    paths = {path: {"get": {"operationId": path.strip("/"), "responses": {"200": {"description": "rows"}}}}
             for path in BODIES}
    (tmp_path / "api.json").write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
                                                   "paths": paths}))
    results = {}
    with serve_app(Starlette(routes=[Route("/{path:path}", _body)])) as url:
        (tmp_path / "mcp.yaml").write_text(f"version: 1\nsources:\n  a:\n    openapi: api.json\n    base_url: {url}\n")
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload", env=child_env()) as up:
            async def calls() -> None:
                async with http_client(up.url) as client:
                    for path in BODIES:
                        results[path.strip("/")] = await asyncio.wait_for(client.call_tool(path.strip("/"), {}), 30)

            asyncio.run(calls())
    for tool in ("half_gzip", "gzip_without_trailer", "half_deflate", "half_raw_deflate"):
        result = results[tool]
        assert result.is_error is True, (tool, text_of(result)[:300])
        text = text_of(result)
        kind = "gzip" if "gzip" in tool else "deflate"
        assert f"upstream's {kind}-compressed body ended before its compressed stream did" in text, text
        assert "the response is incomplete and was not used" in text and f"/{tool}" in text, text
        assert "row-1" not in text, text  # nothing of the prefix passes for the answer
    assert results["whole_gzip"].is_error is False and text_of(results["whole_gzip"]) == CSV.decode()
    assert results["whole_raw_deflate"].is_error is False and text_of(results["whole_raw_deflate"]) == CSV.decode()
    assert results["empty_gzip"].is_error is False, text_of(results["empty_gzip"])
