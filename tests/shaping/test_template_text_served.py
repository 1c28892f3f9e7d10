"""What an `output` template (and a prune) writes of its own reaches the model scrubbed and without data values.

Shaping trial, faults 2 and 3, end to end: a real `mcprt up` over stdio, the SDK client, a real upstream on
127.0.0.1.

- Fault 2: the template's rendered text (a constant holding the secret, the secret assembled from two
  parts), a template error quoting a constant key that is the secret, and a prune's literal were sent as they
  were, while the same secret in a description read `[redacted]`. The secret is written into the manifest
  literally here (a warning): its `${SHOP_KEY}` in these places is now a load error (shapeleft, fault 3,
  `tests/manifest/test_manifest_secrets_templated.py`), and the scrubber stays the defence for what no check sees.
- Fault 3: a template error quoted the data value it failed on (`field 'c1@x.io' is missing`), to the model and
  into the operator's log: now the look-up is named as the template writes it, the value left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.stdio import stdio_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from tests.support.served import child_env, stdio_up, text_of
from tests.support.upstream import serve_app

KEY = "zz9PlainSecretValue"
EMAIL = "c1@x.io"
ACCT = 4111222233334444


def _get(operation_id: str, schema: dict[str, Any], media: str = "application/json") -> dict[str, Any]:
    return {"get": {"operationId": operation_id,
                    "responses": {"200": {"description": "ok", "content": {media: {"schema": schema}}}}}}


SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Shop", "version": "1"},
    "paths": {
        "/me": _get("me", {"type": "object", "properties": {"name": {"type": "string"}}}),
        "/whoami": _get("whoami", {"type": "object", "properties": {"name": {"type": "string"}}}),
        "/order": _get("getOrder", {"type": "object", "properties": {
            "id": {"type": "integer"},
            "customer": {"type": "object", "properties": {"email": {"type": "string"}}},
            "meta": {"type": "object", "additionalProperties": {"type": "string"}}}}),
        "/acct": _get("getAcct", {"type": "object", "properties": {
            "acct": {"type": "integer"}, "meta": {"type": "object", "additionalProperties": {"type": "string"}}}}),
        "/report.csv": _get("getReport", {"type": "string"}, "text/csv"),
        "/stats": _get("getStats", {"type": "object", "properties": {
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}}}}),
    },
}

TOOLS = """\
    tools:
      whoami:
        description: "Who am I (key zz9PlainSecretValue)"
        output: "ok {{ 'k=zz9PlainSecretValue' }}"
      getReport:
        name: get_report
        output: "{{ result[0:9] }} {{ 'zz9Plain' ~ 'SecretValue' }}"
      getStats:
        name: get_stats
        output: "{{ result.counts['zz9PlainSecretValue'] }}"
      getOrder:
        name: get_order
        output: "Order {{ result.id }}\\n{{ result.meta[result.customer.email] }}"
      me:
        prune: "{k: 'k=zz9PlainSecretValue', name: name}"
      getAcct:
        name: get_acct
        output: "{{ result.meta[result.acct] }}"
"""


def shop_app() -> Starlette:
    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse({"name": "svc"})

    async def order(request: Request) -> JSONResponse:
        return JSONResponse({"id": 1, "customer": {"email": EMAIL}, "meta": {"source": "web"}})

    async def report(request: Request) -> PlainTextResponse:
        return PlainTextResponse("id,status\n1,open\n", media_type="text/csv")

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse({"counts": {"open": 10}})

    async def acct(request: Request) -> JSONResponse:
        return JSONResponse({"acct": ACCT, "meta": {}})

    return Starlette(routes=[Route("/me", whoami), Route("/acct", acct), Route("/whoami", whoami), Route("/order", order), Route("/report.csv", report),
                             Route("/stats", stats)])


async def _calls(manifest: Path, errlog: Path) -> tuple[list[str], dict[str, Any]]:
    with open(errlog, "w") as log:
        async with Client(stdio_client(stdio_up(manifest, env=child_env()), errlog=log),  # type: ignore[arg-type]
                          mode="legacy") as client:
            described = [tool.description or "" for tool in (await client.list_tools()).tools]
            calls = {name: await client.call_tool(name, {}) for name in ("whoami", "get_report", "get_stats",
                                                                          "get_order", "get_acct", "me")}
    return described, calls


async def test_template_texts_are_scrubbed_and_template_errors_name_no_data_value(tmp_path: Path) -> None:
    (tmp_path / "shop.json").write_text(json.dumps(SPEC))
    (tmp_path / ".env").write_text(f"SHOP_KEY={KEY}\n")
    manifest = tmp_path / "mcp.yaml"
    with serve_app(shop_app()) as base:
        manifest.write_text("version: 1\nsources:\n  shop:\n    openapi: shop.json\n"
                            f"    base_url: {base}\n    headers: {{X-Api-Key: \"${{SHOP_KEY}}\"}}\n{TOOLS}")
        described, calls = await _calls(manifest, tmp_path / "stderr.log")
    log = (tmp_path / "stderr.log").read_text()

    assert "Who am I (key [redacted])" in described
    # fault 2: every text a template writes is scrubbed, as the description is
    assert text_of(calls["whoami"]) == "ok k=[redacted]"
    assert text_of(calls["get_report"]) == "id,status [redacted]"
    stats = text_of(calls["get_stats"])  # a template error quoting a constant key that is the secret
    assert calls["get_stats"].is_error and "field '[redacted]' is missing" in stats, stats
    for name, result in calls.items():
        assert KEY not in text_of(result), (name, text_of(result))
    assert KEY not in log

    # fault 3: the template's place and line, the look-up as written; never the data value it failed on
    order = text_of(calls["get_order"])
    assert calls["get_order"].is_error
    assert "mcp.yaml:19) failed at line 2: field " in order, order
    assert "`result.meta[result.customer.email]`" in order, order
    assert EMAIL not in order
    assert "could not format its result" in log and EMAIL not in log  # nor in the operator's log

    # review of shapefix, problem 3: an integer key is data too (Jinja prints it unquoted)
    acct = text_of(calls["get_acct"])
    assert calls["get_acct"].is_error and "`result.meta[result.acct]`" in acct, acct
    assert str(ACCT) not in acct and str(ACCT) not in log
    # a prune's literal (decided when the manifest loads: `Pruner.writes_text`): text and structuredContent
    assert calls["me"].structured_content == {"k": "k=[redacted]", "name": "svc"}, calls["me"]
