"""A token written literally in a source's `headers:` under a name that does not say so never reaches the model.

The fault (review of prunedepth, item 3): `mcprt validate` warned about `X-Custom: "Bearer sk-live-…"` (its value
reads as a token: `scrubbing.is_literal_credential`) and `mcprt diff` hid it, but only headers named as
credentials were registered with the runtime scrubber, so an upstream echoing its request headers handed
the token to the model. End to end: a real upstream on 127.0.0.1 echoing every header it received, `mcprt up`
over stdio, the SDK client calling the tool.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from mcp import Client
from mcp.client.stdio import stdio_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.served import child_env, stdio_up, text_of
from tests.support.upstream import serve_app

TOKEN = "pk9Live4Partner7Token2025xyz"
SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Echo", "version": "1"},
    "paths": {"/echo": {"get": {
        "operationId": "echo",
        "responses": {"200": {"description": "the request's headers",
                              "content": {"application/json": {"schema": {"type": "object"}}}}},
    }}},
}
# Under names that say nothing: by value only. A scheme word before the token, the token alone, and two
# values that are no token (a version, a region), which must come back as sent.
HEADERS = {"X-Custom": f"Bearer {TOKEN}", "X-Partner": f"{TOKEN}-2", "X-Api-Version": "2024-01-01",
           "X-Region": "eu-west-1",
           # Review of prunedepth, problem 1: registering by looks also took a media type with a digit and
           # values from ${VAR} under ordinary names, and redacted them from every result. By value only a
           # literal entry counts, and a media type never does.
           "X-Media": "application/vnd.github.v3+json", "X-Build": "${BUILD_ID}"}
BUILD_ID = "build2024release7candidate"  # reads as a token, but comes from ${VAR} under a name that says nothing


SENT: list[dict[str, str]] = []  # what the upstream received, before anything scrubbed it


async def echo(request: Request) -> JSONResponse:
    SENT.append(dict(request.headers))
    return JSONResponse({"received": dict(request.headers)})


def test_an_echoed_literal_token_header_is_scrubbed_and_plain_headers_are_not(tmp_path: Path) -> None:
    with serve_app(Starlette(routes=[Route("/echo", echo)])) as base:
        (tmp_path / "echo.json").write_text(json.dumps(SPEC))
        headers = ", ".join(f'{name}: "{value}"' for name, value in HEADERS.items())
        manifest = tmp_path / "mcp.yaml"
        manifest.write_text(f"version: 1\nsources:\n  echo:\n    openapi: echo.json\n    base_url: {base}\n"
                            f"    headers: {{{headers}}}\n")
        log = tmp_path / "stderr.log"

        async def call() -> str:
            with open(log, "w") as errlog:
                async with Client(stdio_client(stdio_up(manifest, env=child_env(BUILD_ID=BUILD_ID)), errlog=errlog),  # type: ignore[arg-type]
                                  mode="legacy") as client:
                    with anyio.fail_after(60):
                        result = await client.call_tool("echo", {})
                        assert not result.is_error, text_of(result)
                        return text_of(result)

        text = anyio.run(call)
    assert SENT[-1]["x-custom"] == f"Bearer {TOKEN}" and SENT[-1]["x-partner"] == f"{TOKEN}-2"  # sent as written
    received = json.loads(text)["received"]
    assert received["x-custom"] == "Bearer [redacted]", received
    assert received["x-partner"] == "[redacted]", received
    assert received["x-api-version"] == "2024-01-01" and received["x-region"] == "eu-west-1", received
    assert received["x-media"] == "application/vnd.github.v3+json" and received["x-build"] == BUILD_ID, received
    assert TOKEN not in text
    assert TOKEN not in log.read_text()
