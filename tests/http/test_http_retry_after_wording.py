"""What a model is told of an upstream's `Retry-After`: whole seconds for a date, and an invalid value ignored, said.

Trial of untidy REST APIs (minor): `Retry-After` as an HTTP-date was shown as `retry after 88.2321s` (the date
has second precision), and `Retry-After: -5` (no delay-seconds: RFC 9110 §10.2.3) became `retry after 0s`,
telling the model to retry at once. Real upstream, SDK client over `mcprt up`.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.served import child_env, http_client, mcprt_http, text_of
from tests.support.upstream import serve_app


async def _limited(request: Request) -> Response:
    if request.url.path == "/dated":
        value = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=88), usegmt=True)
    else:
        value = "-5"
    return Response(b'{"error": "slow down"}', 429, headers={"Retry-After": value}, media_type="application/json")


def test_retry_after_is_whole_seconds_and_an_invalid_one_is_ignored_and_said(tmp_path: Path) -> None:
    paths = {p: {"get": {"operationId": p.strip("/"), "responses": {"200": {"description": "ok"}}}}
             for p in ("/dated", "/negative")}
    (tmp_path / "api.json").write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
                                                   "paths": paths}))
    results = {}
    with serve_app(Starlette(routes=[Route("/{path:path}", _limited)])) as base:
        (tmp_path / "mcp.yaml").write_text(f"version: 1\nsources:\n  a:\n    openapi: api.json\n    base_url: {base}\n"
                                           "    retries: 0\n")
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload", env=child_env()) as up:
            async def calls() -> None:
                async with http_client(up.url) as client:
                    for tool in ("dated", "negative"):
                        results[tool] = await asyncio.wait_for(client.call_tool(tool, {}), 30)

            asyncio.run(calls())
    dated = text_of(results["dated"])
    assert results["dated"].is_error and re.match(r"HTTP 429 Too Many Requests: upstream is rate limited \(HTTP 429\); retry after (87|88|89)s\.",
                                                  dated), dated
    negative = text_of(results["negative"])
    assert results["negative"].is_error and "retry after" not in negative, negative
    assert "the upstream's Retry-After header was neither a number of seconds nor an HTTP date" in negative, negative
