"""Swagger 2.0 `collectionFormat` ssv, tsv and pipes apply to path and header arrays as to query ones.

Trial of untidy REST APIs, fault 7: `{in: header, type: array, collectionFormat: ssv}` was warned about as
"not defined for header; csv used" and sent `a,b`. Swagger 2.0 (Parameter Object, `collectionFormat`) defines
csv, ssv, tsv and pipes for every non-body parameter; only `multi` is for query and formData alone. A real
upstream reads the header and the raw path; `mcprt validate` and the SDK client over `mcprt up`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.cli import mcprt_cli
from tests.support.served import child_env, http_client, mcprt_http
from tests.support.upstream import serve_app


def _spec(host: str) -> dict[str, object]:
    def header(name: str, fmt: str) -> dict[str, object]:
        return {"name": name, "in": "header", "type": "array", "items": {"type": "string"}, "collectionFormat": fmt}

    return {"swagger": "2.0", "info": {"title": "sw", "version": "1"}, "host": host, "schemes": ["http"],
            "paths": {"/hdr/{ids}": {"get": {"operationId": "sw_hdr", "produces": ["application/json"], "parameters": [
                {"name": "ids", "in": "path", "required": True, "type": "array", "items": {"type": "string"},
                 "collectionFormat": "pipes"},
                header("X-Ssv", "ssv"), header("X-Tsv", "tsv"), header("X-Pipes", "pipes"), header("X-Csv", "csv"),
                header("X-Multi", "multi")],
                "responses": {"200": {"description": "what arrived"}}}}}}


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.scope["raw_path"].decode(),
                         "headers": {k: v for k, v in request.headers.items() if k.startswith("x-")}})


def test_ssv_tsv_and_pipes_are_sent_as_defined_for_headers_and_paths(tmp_path: Path) -> None:
    with serve_app(Starlette(routes=[Route("/hdr/{ids}", _echo)])) as base:
        (tmp_path / "sw.json").write_text(json.dumps(_spec(base.removeprefix("http://"))))
        (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  s:\n    openapi: sw.json\n")
        validated = mcprt_cli("validate", str(tmp_path / "mcp.yaml"), cwd=tmp_path)
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload", env=child_env()) as up:
            async def call() -> dict[str, object]:
                async with http_client(up.url) as client:
                    items = ["a", "b"]
                    result = await asyncio.wait_for(client.call_tool("sw_hdr", {
                        "ids": ["7", "8"], "X-Ssv": items, "X-Tsv": items, "X-Pipes": items, "X-Csv": items,
                        "X-Multi": items}), 30)
                    assert result.is_error is False, result.content
                    assert result.structured_content is not None
                    return result.structured_content

            seen = asyncio.run(call())
    out = validated.stdout + validated.stderr
    assert "collectionFormat `ssv`" not in out and "collectionFormat `tsv`" not in out and \
        "collectionFormat `pipes`" not in out, out
    assert "collectionFormat `multi` is not defined for header; csv used" in out, out  # still true of `multi`
    assert seen["headers"] == {"x-ssv": "a b", "x-tsv": "a\tb", "x-pipes": "a|b", "x-csv": "a,b", "x-multi": "a,b"}, seen
    assert seen["path"] == "/hdr/7%7C8", seen
