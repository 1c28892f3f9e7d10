"""The local upstream the call benchmarks hit: a starlette app served by uvicorn on 127.0.0.1,
and the small OpenAPI description both mcprt and the peer compile from.

    python bench/upstream_app.py PORT      # serve until terminated

GET /items/{id}          → one item, about 2 KB of JSON
GET /items/{id}/history  → a list of 50 events, about 100 KB of JSON
Bodies are built once at start-up, so the upstream's own cost stays small and constant.
"""

from __future__ import annotations

import json
import sys
from typing import Any

ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "owner": {"type": "object", "properties": {"login": {"type": "string"}, "id": {"type": "integer"}}},
        "attributes": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def openapi_spec(base_url: str) -> dict[str, Any]:
    """OpenAPI 3.0 description of the two routes (operationIds become the tool names)."""
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Bench items", "version": "1.0"},
        "servers": [{"url": base_url}],
        "paths": {
            "/items/{id}": {
                "get": {
                    "operationId": "get_item",
                    "summary": "Get one item by id.",
                    "parameters": [id_param],
                    "responses": {"200": {"description": "The item.",
                                          "content": {"application/json": {"schema": ITEM_SCHEMA}}}},
                }
            },
            "/items/{id}/history": {
                "get": {
                    "operationId": "get_item_history",
                    "summary": "The item's change history (about 100 KB).",
                    "parameters": [id_param],
                    "responses": {"200": {"description": "Events, newest first.",
                                          "content": {"application/json": {"schema": {"type": "array", "items": {
                                              "type": "object"}}}}}},
                }
            },
        },
    }


def item(item_id: int) -> dict[str, Any]:
    """About 2 KB of JSON."""
    return {
        "id": item_id,
        "name": f"item-{item_id}",
        "description": "A benchmark item with a description long enough to look like real data. " * 6,
        "tags": [f"tag-{n}" for n in range(12)],
        "owner": {"login": "octocat", "id": 583231},
        "attributes": {f"key_{n}": f"value number {n} of this item" for n in range(24)},
        "html_url": f"https://example.invalid/items/{item_id}",
        "deleted_at": None,
    }


def history(item_id: int) -> list[dict[str, Any]]:
    """About 100 KB of JSON: 50 events of ~2 KB."""
    return [{"event": n, "actor": {"login": f"user{n}", "id": n, "avatar_url": None},
             "snapshot": item(item_id), "note": None} for n in range(50)]


def make_app():
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    item_body = json.dumps(item(1)).encode()
    history_body = json.dumps(history(1)).encode()

    async def get_item(request: Request) -> Response:
        return Response(item_body, media_type="application/json")

    async def get_history(request: Request) -> Response:
        return Response(history_body, media_type="application/json")

    return Starlette(routes=[Route("/items/{id:int}", get_item), Route("/items/{id:int}/history", get_history)])


def main() -> None:
    import uvicorn

    port = int(sys.argv[1])
    uvicorn.run(make_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
