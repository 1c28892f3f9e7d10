"""A secret's `${VAR}` in a tool setting a client is shown is an error at the reference itself.

Shapeleft, fault 3: `output: "… ${API_TOKEN}"` passed `mcprt validate` silently, and the token, substituted when
the manifest loads, was rendered into every result the model reads (redacted by the scrubber when registered,
sent as is when not). The kind: every tool setting whose text a client is shown — `output` and `description`
templates, a prune's literals, the title, an argument's description or default. A secret is a variable a
credential setting reads, or one whose name says it is one.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.cli import mcprt_cli
from tests.support.served import http_client, mcprt_http
from tests.support.upstream import serve_app

SPEC = {"openapi": "3.1.0", "info": {"title": "Shop", "version": "1"}, "paths": {"/items/{id}": {"get": {
    "operationId": "getItem", "summary": "One item",
    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}}}}}}}}}

MANIFEST = """\
version: 1
sources:
  shop:
    openapi: shop.json
    base_url: http://127.0.0.1:9
    auth: {bearer: "${SHOP_KEY}"}
    headers: {X-Partner: "${PARTNER}", X-Region: "${REGION}"}
    tools:
      getItem:
        title: "Item (${REGION})"
        args: {id: {description: "id, key ${SHOP_KEY}"}}
        prune: "{name: name, k: '${DEPLOY_TOKEN}'}"
        description: "{{ summary }} (key ${SHOP_KEY}, region ${REGION})"
        output: |
          {{ result.name }} in ${REGION}
          partner ${PARTNER} token ${DEPLOY_TOKEN} $${SHOP_KEY}
"""
ENV = {"SHOP_KEY": "sk-live-3f9a8b7c6d5e4f3a2b1c", "PARTNER": "pt_9f8e7d6c5b4a39281706",
       "REGION": "eu-west-1", "DEPLOY_TOKEN": "dt-0a1b2c3d4e5f6a7b8c9d"}


def test_validate_reports_each_secret_in_a_template_at_its_reference(tmp_path: Path) -> None:
    (tmp_path / "shop.json").write_text(json.dumps(SPEC))
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    done = mcprt_cli("validate", str(tmp_path / "mcp.yaml"), env=ENV)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    where = str(tmp_path / "mcp.yaml")
    errors = [line for line in done.stderr.splitlines() if "is a secret" in line]
    assert errors == [
        f"{where}:11:43: argument description: ${{SHOP_KEY}} is a secret (it gives sources.shop.auth.bearer); "
        "substituted here, it would be rendered into the tool's input schema, which every client lists (and sent as "
        "[redacted]). Leave it out: a tool must not show a credential",
        f"{where}:12:34: prune: ${{DEPLOY_TOKEN}} is a secret (its name says it holds a credential); substituted here, "
        "it would be rendered into every result of the tool (a literal of the expression), which the model reads (and "
        "sent as [redacted]). Leave it out: a tool must not show a credential",
        f"{where}:13:42: description template: ${{SHOP_KEY}} is a secret (it gives sources.shop.auth.bearer); "
        "substituted here, it would be rendered into the tool's description, which every client lists (and sent as "
        "[redacted]). Leave it out: a tool must not show a credential",
        # `X-Partner` names no credential, but its value reads as a token (`configured_secrets`' rule)
        f"{where}:16:19: output template: ${{PARTNER}} is a secret (it gives sources.shop.headers.X-Partner); "
        "substituted here, it would be rendered into every result of the tool, which the model reads (and sent as "
        "[redacted]). Leave it out: a tool must not show a credential",
        f"{where}:16:36: output template: ${{DEPLOY_TOKEN}} is a secret (its name says it holds a credential); "
        "substituted here, it would be rendered into every result of the tool, which the model reads (and sent as "
        "[redacted]). Leave it out: a tool must not show a credential",
    ], done.stderr
    assert not any(value in done.stderr + done.stdout for value in ENV.values() if value != "eu-west-1")


async def test_a_template_with_no_secret_serves_its_variables(tmp_path: Path) -> None:
    """`${REGION}` (no credential) in a template stays allowed, and `$${SHOP_KEY}` is the literal text."""

    async def item(request: Request) -> JSONResponse:
        return JSONResponse({"id": 1, "name": "lamp"})

    (tmp_path / "shop.json").write_text(json.dumps(SPEC))
    with serve_app(Starlette(routes=[Route("/items/{id}", item)])) as base:
        (tmp_path / "mcp.yaml").write_text(
            MANIFEST.replace("http://127.0.0.1:9", base).replace(" (key ${SHOP_KEY}, region ${REGION})", "")
            .replace(", key ${SHOP_KEY}", "").replace(", k: '${DEPLOY_TOKEN}'", "")
            .replace("partner ${PARTNER} token ${DEPLOY_TOKEN} ", ""))
        assert mcprt_cli("validate", str(tmp_path / "mcp.yaml"), env=ENV).returncode == 0
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload", env=ENV) as up:
            async with http_client(up.url) as client:
                got = await client.call_tool("getItem", {"id": 1})
    assert [block.text for block in got.content] == ["lamp in eu-west-1\n${SHOP_KEY}"]
