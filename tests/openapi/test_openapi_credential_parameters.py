"""`credential_parameters`: a description that declares the credential as an ordinary (even required)
parameter — Slack's official description does, for `token` — gets it neither shown nor sent;
the configured `auth` carries the credential. Real HTTP upstream on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

from mcprt.pipeline import Runtime
from mcprt.settings import load_settings
from mcprt.toolset.invoke import call_tool
from tests.support.upstream import serve_app

SPEC = {
    "openapi": "3.0.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/users.info": {"get": {
            "operationId": "users_info",
            "parameters": [
                {"name": "token", "in": "query", "required": True, "schema": {"type": "string"}},
                {"name": "token", "in": "header", "required": False, "schema": {"type": "string"}},
                {"name": "user", "in": "query", "required": True, "schema": {"type": "string"}},
            ],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}},
        }},
    },
}


async def test_credential_parameters_are_neither_shown_nor_sent(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    seen: list[dict[str, str]] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        seen.append({"query": scope["query_string"].decode(), "auth": headers.get("authorization", ""),
                     "token_header": headers.get("token", "")})
        body = json.dumps({"ok": True}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    with serve_app(app) as base:
        (tmp_path / "spec.json").write_text(json.dumps(SPEC))
        (tmp_path / "mcp.yaml").write_text(
            "version: 1\nsources:\n  slack:\n    openapi: spec.json\n"
            f"    base_url: {base}\n    auth: {{bearer: \"${{T}}\"}}\n    credential_parameters: [token]\n")
        monkeypatch.setenv("T", "xoxb-secret")
        runtime = Runtime(tmp_path / "mcp.yaml", load_settings())
        compiled = await runtime.start()
        try:
            tool = compiled.toolset.get("users_info")
            assert tool is not None
            assert set(tool.input_schema["properties"]) == {"user"}
            assert tool.input_schema["required"] == ["user"]
            result = await call_tool(tool, {"user": "W1"})
            assert not result.is_error, result.content
        finally:
            await runtime.aclose()
    assert seen == [{"query": "user=W1", "auth": "Bearer xoxb-secret", "token_header": ""}]
