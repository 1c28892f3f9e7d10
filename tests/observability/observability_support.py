"""The observability tests' world: a real pets API on 127.0.0.1 (recording the trace headers it
receives), its OpenAPI description, and a manifest that serves it through `mcprt up` with named
tokens, an upstream API key, pruning and an audit log."""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ALICE_TOKEN = "alice-token-7f3e9a1c5b2d4e6f"
BOB_TOKEN = "bob-token-0a1b2c3d4e5f6a7b"
UPSTREAM_KEY = "upstream-key-9c8b7a6f5e4d3c2b"

PETS = [{"id": i, "name": f"pet-{i}", "tag": "dog" if i % 2 else "cat", "owner": {"name": f"owner-{i}",
         "address": "1 Long Street, Springfield"}, "notes": None} for i in range(1, 11)]
PETS_BODY = json.dumps(PETS).encode()  # what the upstream sends (compact JSON): the raw bytes

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Pets", "version": "1"},
    "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}}},
    "security": [{"key": []}],
    "paths": {
        "/pets": {"get": {"operationId": "listPets", "summary": "List pets.",
                          "responses": {"200": {"description": "ok"}}}},
        "/pets/{petId}": {"get": {
            "operationId": "getPet", "summary": "One pet.",
            "parameters": [{"name": "petId", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok"}, "404": {"description": "missing"}}}},
    },
}


@dataclass
class Seen:
    """What the upstream received, shared with the test thread."""

    traceparents: list[str | None] = field(default_factory=list)
    api_keys: list[str | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def pets_app(seen: Seen) -> Starlette:
    def note(request: Request) -> None:
        with seen.lock:
            seen.traceparents.append(request.headers.get("traceparent"))
            seen.api_keys.append(request.headers.get("x-api-key"))

    async def list_pets(request: Request) -> JSONResponse:
        note(request)
        return JSONResponse(PETS)

    async def get_pet(request: Request) -> JSONResponse:
        note(request)
        pet_id = int(request.path_params["pet_id"])
        if pet_id == 500:  # an upstream fault: the source is degraded
            return JSONResponse({"message": "database unavailable"}, status_code=500)
        pet = next((p for p in PETS if p["id"] == pet_id), None)
        return JSONResponse(pet) if pet else JSONResponse({"message": "no such pet"}, status_code=404)

    return Starlette(routes=[Route("/pets", list_pets), Route("/pets/{pet_id:int}", get_pet)])


def write_manifest(folder: Path, upstream: str, *, observability: str = "", extra_server: str = "",
                   extra_sources: str = "") -> Path:
    """mcp.yaml serving the pets API (`list_pets` pruned to id+name, `get_pet`) with named tokens, and
    `extra_sources` (YAML lines of more `sources:` entries)."""
    (folder / "pets.json").write_text(json.dumps(SPEC))
    lines = [
        "version: 1",
        "server:",
        "  name: pets-ops",
        '  auth: {tokens: {alice: "${ALICE_TOKEN}", bob: "${BOB_TOKEN}"}}',
    ]
    if observability:
        lines.append(f"  observability: {observability}")
    if extra_server:
        lines.append(extra_server)
    lines += [
        "sources:",
        "  pets:",
        "    openapi: pets.json",
        f"    base_url: {upstream}",
        '    auth: {api_key: {in: header, name: X-Api-Key, value: "${PETS_KEY}"}}',
        "    tools:",
        '      listPets: {name: list_pets, prune: "[].{id: id, name: name}"}',
        "      getPet: {name: get_pet}",
    ]
    path = folder / "mcp.yaml"
    path.write_text("\n".join(lines) + "\n" + extra_sources)
    return path


def env_for(**extra: str) -> dict[str, str]:
    from tests.support.served import child_env

    return child_env(ALICE_TOKEN=ALICE_TOKEN, BOB_TOKEN=BOB_TOKEN, PETS_KEY=UPSTREAM_KEY, **extra)


class Restartable:
    """A real upstream that can be killed (connections refused) and brought back on the same port."""

    def __init__(self, app: Any) -> None:
        self.app, self.port, self._running = app, 0, None

    def start(self) -> str:
        from tests.support.upstream import serve_app

        running = serve_app(self.app, port=self.port)
        base = running.__enter__()
        self.port, self._running = int(base.rsplit(":", 1)[1]), running
        return base

    def stop(self) -> None:
        if self._running is not None:
            running, self._running = self._running, None
            running.__exit__(None, None, None)

    @contextlib.contextmanager
    def served(self) -> Any:
        try:
            yield self.start()
        finally:
            self.stop()


def openapi_source(name: str, base: str, tools: dict[str, str]) -> str:
    """A `sources:` entry serving pets.json (written by `write_manifest`) from `base`: operationId → tool name."""
    named = "".join(f"      {operation}: {{name: {tool}}}\n" for operation, tool in tools.items())
    return (f"  {name}:\n    openapi: pets.json\n    base_url: {base}\n"
            '    auth: {api_key: {in: header, name: X-Api-Key, value: "${PETS_KEY}"}}\n'
            f"    tools:\n{named}")
