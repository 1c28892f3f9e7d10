"""A redirect that leads nowhere is reported as what it is, naming where it led.

Trial of untidy REST APIs, fault 4: the upstream answered `GET /raw` with `307 Location:
http://127.0.0.1:48199/moved/here`, where nothing listens; the error read `connection refused after 3
attempts (GET 127.0.0.1:48101/raw)`, naming the upstream that had answered, so an operator looks at
`base_url` when the fault is the redirect. The message names the hop that failed (host and path, never its
query) and that a redirect from the request led there; the source is not marked unreachable for it. And a
redirect status without a `Location` (RFC 9110 §15.4) was passed on as a success (`HTTP 302 Found (empty
body)`, isError false): it is an upstream error. The SDK client calls `mcprt up` over streamable HTTP.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.served import child_env, http_client, mcprt_http, text_of
from tests.support.upstream import serve_app


def _refusing_port(family: int, host: str) -> int:
    """A port on `host` that refuses connections: bound, then closed (nothing listens there)."""
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def test_a_refused_redirect_target_is_named_and_a_redirect_without_location_is_an_error(tmp_path: Path) -> None:
    v4 = _refusing_port(socket.AF_INET, "127.0.0.1")
    v6 = _refusing_port(socket.AF_INET6, "::1")
    targets = {
        "/to_v4": f"http://127.0.0.1:{v4}/moved/here?token=s3cr3t-in-query",
        "/to_v6": f"http://[::1]:{v6}/moved/v6",
    }

    async def answer(request: Request) -> Response:
        if request.url.path == "/no_location":
            return Response(b"", 302)
        return Response(b"", 307, headers={"Location": targets[request.url.path]})

    paths = {path: {"get": {"operationId": path.strip("/"), "responses": {"200": {"description": "ok"}}}}
             for path in (*targets, "/no_location")}
    (tmp_path / "api.json").write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
                                                   "paths": paths}))
    results = {}
    with serve_app(Starlette(routes=[Route("/{path:path}", answer)])) as url:
        origin = url.removeprefix("http://")
        (tmp_path / "mcp.yaml").write_text(f"version: 1\nsources:\n  a:\n    openapi: api.json\n    base_url: {url}\n")
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload", env=child_env()) as up:
            async def calls() -> None:
                async with http_client(up.url) as client:
                    for tool in ("to_v4", "to_v6", "no_location"):
                        results[tool] = await asyncio.wait_for(client.call_tool(tool, {}), 60)

            asyncio.run(calls())
            log = up.log()
    for tool, hop in (("to_v4", f"GET 127.0.0.1:{v4}/moved/here"), ("to_v6", f"GET [::1]:{v6}/moved/v6")):
        text = text_of(results[tool])
        assert results[tool].is_error is True, text
        assert text.endswith(f"({hop}, reached by a redirect from GET {origin}/{tool})"), text
        assert "connection refused" in text, text
    assert "s3cr3t-in-query" not in text_of(results["to_v4"]) and "s3cr3t-in-query" not in log
    text = text_of(results["no_location"])
    assert results["no_location"].is_error is True, text
    assert "upstream answered HTTP 302 Found, a redirect, without a Location header to follow" in text, text
    assert text.endswith(f"(GET {origin}/no_location)"), text
