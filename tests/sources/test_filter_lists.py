"""`include`/`exclude` as a list of filters — an OR of ANDs, as FastMCP's route maps (SDK client over `mcprt up`).

Trial "fastmcp", fault 6: `exclude: [{tags: [internal]}, {tags: [admin], methods: [DELETE]}]` was refused
("expected a mapping, got a list"); the only way left was a hand list of operationIds, stale when the API grows.
"""

from __future__ import annotations

import json
from pathlib import Path

from mcp import Client
from mcp.client.stdio import stdio_client

from tests.support.served import stdio_up


def _op(operation_id: str, *tags: str) -> dict:
    return {"operationId": operation_id, "tags": list(tags), "responses": {"200": {"description": "OK"}}}


# the trial's route maps' targets (acme.json): tag `internal`, and `admin` operations of every method
SPEC = {
    "openapi": "3.0.3", "info": {"title": "Acme", "version": "1"},
    "paths": {
        "/customers/{customer_id}": {
            "parameters": [{"name": "customer_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": _op("getCustomer", "customers"), "delete": _op("deleteCustomer", "customers", "admin")},
        "/products": {"post": _op("createProduct", "products", "admin")},
        "/webhooks": {"get": _op("listWebhooks", "admin")},
        "/webhooks/{webhook_id}": {
            "parameters": [{"name": "webhook_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "delete": _op("deleteWebhook", "admin")},
        "/internal/reindex": {"post": _op("reindexSearch", "internal")},
        "/internal/health": {"get": _op("healthCheck", "internal")},
    },
}


async def _listed(tmp_path: Path, filters: str) -> list[str]:
    (tmp_path / "acme.json").write_text(json.dumps(SPEC))
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(f"version: 1\nserver: {{name: acme}}\nsources:\n  acme:\n    openapi: acme.json\n"
                        f"    base_url: http://127.0.0.1:9\n{filters}")
    async with Client(stdio_client(stdio_up(manifest))) as client:  # type: ignore[arg-type]
        return sorted(tool.name for tool in (await client.list_tools()).tools)


async def test_a_list_of_filters_excludes_what_any_of_them_matches(tmp_path: Path) -> None:
    listed = await _listed(tmp_path, "    exclude: [{tags: [internal]}, {tags: [admin], methods: [DELETE]}]\n")
    # internal: both gone; admin AND DELETE: deleteCustomer, deleteWebhook gone; other admin operations stay
    assert listed == ["createProduct", "getCustomer", "listWebhooks"]


async def test_a_list_of_filters_includes_what_any_of_them_matches(tmp_path: Path) -> None:
    listed = await _listed(tmp_path, "    include:\n      - {tags: [customers], methods: [GET]}\n"
                                     "      - {operations: ['*Webhook*']}\n    exclude: {methods: [DELETE]}\n")
    assert listed == ["getCustomer", "listWebhooks"]
