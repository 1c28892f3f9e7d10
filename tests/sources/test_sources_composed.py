"""One manifest composing every kind of source — Python functions, a stdio MCP server, a remote MCP
server over HTTP and an OpenAPI description — served by one Runtime, each tool called end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sources_support import FIXTURES, MCP_SERVER, call, http_server, json_of, running, script_command, text_of, write_manifest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.upstream import serve_app

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "greeter", "version": "1"},
    "paths": {
        "/greet/{name}": {
            "get": {
                "operationId": "greet",
                "summary": "Greet someone.",
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {}}}},
            }
        }
    },
}


def greeter() -> Starlette:
    async def greet(request: Request) -> JSONResponse:
        return JSONResponse({"greeting": f"hello {request.path_params['name']}", "debug": None})

    return Starlette(routes=[Route("/greet/{name}", greet)])


async def test_python_command_url_and_openapi_sources_in_one_manifest(tmp_path: Path) -> None:
    pytest.importorskip("mcprt.sources.openapi.binding")
    shutil.copy(FIXTURES / "typed_tools.py", tmp_path / "typed_tools.py")
    (tmp_path / "greeter.json").write_text(json.dumps(OPENAPI))
    with http_server() as (_, port), serve_app(greeter()) as base_url:
        manifest = write_manifest(tmp_path, json.dumps({
            "version": 1,
            "defaults": {"prune": {"drop_nulls": True}},
            "sources": {
                "py": {"python": "typed_tools:add"},
                "local": {"command": script_command(MCP_SERVER), "include": {"operations": ["echo"]}},
                "remote": {"url": f"http://127.0.0.1:{port}/mcp", "prefix": "remote_",
                           "include": {"operations": ["echo", "add"]}},
                "api": {"openapi": "greeter.json", "base_url": base_url},
            },
        }, indent=2))
        async with running(manifest) as (_, compiled):
            assert sorted(tool["name"] for tool in compiled.toolset.list_tools()) == [
                "add", "echo", "greet", "remote_add", "remote_echo"
            ]
            assert text_of(await call(compiled, "add", {"a": 1, "b": 1})) == "2"
            assert text_of(await call(compiled, "echo", {"text": "stdio"})) == "stdio"
            assert text_of(await call(compiled, "remote_echo", {"text": "http"})) == "http"
            assert (await call(compiled, "remote_add", {"a": 3, "b": 4}))["structuredContent"] == {"result": 7}
            assert json_of(await call(compiled, "greet", {"name": "ada"})) == {"greeting": "hello ada"}
