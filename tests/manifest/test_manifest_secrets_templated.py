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

from mcp import Client
from mcp.client.stdio import stdio_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.cli import mcprt_cli
from tests.support.served import child_env, http_client, mcprt_http, stdio_up
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
    reads = "mcprt would send it as [redacted]"
    named = ("its name says it holds a credential, and its value reads as one; it is not one of the manifest's "
             "credentials, so it would be shown as it is")
    leave = "Leave it out: a client must not be shown a credential"
    assert errors == [
        f"{where}:11:43: argument description: ${{SHOP_KEY}} is a secret (it gives sources.shop.auth.bearer; {reads}); "
        f"substituted here, it would be rendered into the tool's input schema, which every client lists. {leave}",
        # only its name and its value say so: a warning, as a literal secret is (review of shapeleft, problem 2)
        f"{where}:12:34: warning: prune: ${{DEPLOY_TOKEN}} is a secret ({named}); substituted here, it would be "
        f"rendered into every result of the tool (a literal of the expression), which the model reads. {leave}",
        f"{where}:13:42: description template: ${{SHOP_KEY}} is a secret (it gives sources.shop.auth.bearer; {reads}); "
        f"substituted here, it would be rendered into the tool's description, which every client lists. {leave}",
        # `X-Partner` names no credential, but its value reads as a token (`configured_secrets`' rule)
        f"{where}:16:19: output template: ${{PARTNER}} is a secret (it gives sources.shop.headers.X-Partner; {reads}); "
        f"substituted here, it would be rendered into every result of the tool, which the model reads. {leave}",
        f"{where}:16:36: warning: output template: ${{DEPLOY_TOKEN}} is a secret ({named}); substituted here, it "
        f"would be rendered into every result of the tool, which the model reads. {leave}",
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


def test_a_variable_only_its_name_calls_a_credential_is_no_error_when_its_value_is_no_token(tmp_path: Path) -> None:
    """Review of shapeleft, problem 2: the header-redaction name test is broad — `MAX_TOKENS`, `TOKEN_LIMIT` and
    `AUTH_URL` all pass it — and made validate fail (exit 2) on a manifest with no credential at all. Their values
    (4096, 20, a URL) read as no token: nothing is reported."""
    (tmp_path / "shop.json").write_text(json.dumps(SPEC))
    (tmp_path / "mcp.yaml").write_text(
        "version: 1\nsources:\n  shop:\n    openapi: shop.json\n    base_url: http://127.0.0.1:9\n    tools:\n"
        "      getItem:\n        description: \"{{ summary }}; answers at most ${MAX_TOKENS} tokens\"\n"
        "        args: {id: {default: \"${TOKEN_LIMIT}\"}}\n"
        "        output: \"{{ result.name }} (see ${AUTH_URL})\"\n")
    done = mcprt_cli("validate", "--strict", str(tmp_path / "mcp.yaml"),
                     env={"MAX_TOKENS": "4096", "TOKEN_LIMIT": "20", "AUTH_URL": "https://auth.example.com/token"})
    assert done.returncode == 0, done.stderr
    assert "secret" not in done.stderr


SERVER_SHOWN = """\
version: 1
server:
  instructions: "Use the shop; its key is ${SHOP_KEY}"
sources:
  shop:
    openapi: shop.json
    base_url: http://127.0.0.1:9
    auth: {bearer: "${SHOP_KEY}"}
    tools:
      getItem:
        description: "{{ summary }} (key {{ key }})"
        args: {key: {fixed: "${SHOP_KEY}"}}
"""


def test_instructions_and_a_description_rendering_a_fixed_secret_are_errors_at_the_reference(tmp_path: Path) -> None:
    """Review of shapeleft, problem 3: `server.instructions` holding `${SHOP_KEY}` passed validate and reached every
    client unredacted at initialize; a description template rendering a `fixed` argument that holds the key
    passed too (redacted only at serving time)."""
    (tmp_path / "shop.json").write_text(json.dumps(SPEC))
    (tmp_path / "mcp.yaml").write_text(SERVER_SHOWN)
    done = mcprt_cli("validate", str(tmp_path / "mcp.yaml"), env=ENV)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    where = str(tmp_path / "mcp.yaml")
    assert [line for line in done.stderr.splitlines() if "secret" in line] == [
        f"{where}:3:43: server instructions: ${{SHOP_KEY}} is a secret (it gives sources.shop.auth.bearer; mcprt "
        "would send it as [redacted]); substituted here, it would be rendered into the instructions every client is "
        "sent at initialize. Leave it out: a client must not be shown a credential",
        f"{where}:11:45: description template: `key` is a fixed argument holding the secret ${{SHOP_KEY}} (it gives "
        "sources.shop.auth.bearer; mcprt would send it as [redacted]); rendered here, it would be put into the tool's "
        "description, which every client lists. Leave it out: a client must not be shown a credential",
    ], done.stderr
    assert ENV["SHOP_KEY"] not in done.stderr + done.stdout


def test_a_proxied_resource_or_prompt_override_holding_a_secret_is_an_error(tmp_path: Path) -> None:
    """Review of shapeleft, problem 3: a proxied resource's or prompt's `title`/`description` override is shown to
    every client as a tool's is. Loaded by the loader itself: validate would start the (absent) server."""
    from mcprt.errors import ManifestError
    from mcprt.manifest.loader import load_manifest

    (tmp_path / "mcp.yaml").write_text(
        "version: 1\nsources:\n  docs:\n    url: http://127.0.0.1:9/mcp\n    headers: {X-Api-Key: \"${DOCS_KEY}\"}\n"
        "    resources:\n      \"docs://readme\": {title: \"Readme (${DOCS_KEY})\"}\n"
        "    prompts:\n      greet: {description: \"Greets; key ${DOCS_KEY}\"}\n")
    try:
        load_manifest(tmp_path / "mcp.yaml", env={"DOCS_KEY": "dk_5a4b3c2d1e0f9a8b7c6d"})
    except ManifestError as exc:
        found = [(d.line, d.col, d.severity, d.message.split(":")[0]) for d in exc.diagnostics if "secret" in d.message]
    else:
        raise AssertionError("loaded")
    assert found == [(7, 41, "error", "resource title"), (9, 41, "error", "prompt description")]


async def test_a_secret_pasted_into_the_instructions_is_redacted_at_initialize(tmp_path: Path) -> None:
    """Review of shapeleft, problem 3: instructions were not scrubbed as descriptions are. Written literally (a
    paste, which `${VAR}` checks cannot see), the configured key reaches neither an HTTP nor a stdio client."""
    (tmp_path / "shop.json").write_text(json.dumps(SPEC))
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(
        "version: 1\nserver:\n  instructions: \"Use the shop; its key is sk-live-3f9a8b7c6d5e4f3a2b1c\"\n"
        "sources:\n  shop:\n    openapi: shop.json\n    base_url: http://127.0.0.1:9\n"
        "    auth: {bearer: \"${SHOP_KEY}\"}\n")
    env = child_env(SHOP_KEY=ENV["SHOP_KEY"])
    with mcprt_http(manifest, "--no-reload", env=env) as up:
        async with http_client(up.url) as client:
            over_http = client.instructions
    async with Client(stdio_client(stdio_up(manifest, env=env))) as client:  # type: ignore[arg-type]
        over_stdio = client.instructions
    assert [over_http, over_stdio] == ["Use the shop; its key is [redacted]"] * 2
