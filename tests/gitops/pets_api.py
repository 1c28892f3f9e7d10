"""A real pets API for the recorded-case tests, and a workspace (manifest + spec) that points at it."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.cli import mcprt_cli

API_KEY = "sekret-key-4711"
PETS = [
    {
        "id": i,
        "name": f"pet-{i}",
        "tag": "dog" if i % 2 else "cat",
        "status": "available",
        "photoUrls": [f"https://img.example.com/pets/{i}/{n}.jpg" for n in range(3)],
        "category": {"id": 7, "name": "Mammals", "links": {"self": f"https://api.example.com/categories/{i}"}},
        "created_at": "2026-01-02T03:04:05Z",
        "owner": None,
    }
    for i in range(1, 21)
]

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Pets", "version": "1"},
    "servers": [{"url": "https://pets.example.com/v1"}],
    "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}}},
    "security": [{"key": []}],
    "paths": {
        "/pets": {
            "get": {
                "operationId": "listPets",
                "summary": "List pets",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["available", "sold"]}},
                ],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "array"}}}}},
            },
            "post": {
                "operationId": "createPet",
                "summary": "Create a pet",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string"}, "tag": {"type": "string"}}}}}},
                "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"type": "object"}}}}},
            },
        },
        "/pets/{petId}": {
            "get": {
                "operationId": "showPetById",
                "summary": "Info for a specific pet",
                "parameters": [{"name": "petId", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}},
            },
            "delete": {
                "operationId": "deletePet",
                "summary": "Delete a pet",
                "parameters": [{"name": "petId", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"204": {"description": "deleted"}},
            },
        },
    },
}

MANIFEST = """\
version: 1
defaults:
  prune: {drop_nulls: true}
sources:
  pets:
    openapi: pets.json
    base_url: BASE_URL/v1
    auth: {api_key: {name: X-Api-Key, in: header, value: "${PETS_KEY}"}}
    tools:
      listPets:
        name: list_pets
        args:
          limit: {default: 5}
        prune: "[].{id: id, name: name, tag: tag}"
        output: |
          {% for p in result %}#{{ p.id }} {{ p.name }} ({{ p.tag }})
          {% endfor %}
      showPetById:
        name: get_pet
        prune: "{id: id, name: name, status: status, category: category.name}"
      createPet:
        name: create_pet
"""


def pets_app() -> Starlette:
    async def guarded(request: Request) -> Response | None:
        if request.headers.get("x-api-key") != API_KEY:
            return JSONResponse({"message": "bad key"}, status_code=401)
        return None

    async def list_pets(request: Request) -> Response:
        if (denied := await guarded(request)) is not None:
            return denied
        limit = int(request.query_params.get("limit", "20"))
        return JSONResponse(PETS[:limit], headers={"X-Request-Id": "r-1", "Set-Cookie": "session=abc"})

    async def create_pet(request: Request) -> Response:
        if (denied := await guarded(request)) is not None:
            return denied
        body = await request.json()
        return JSONResponse({"id": 99, **body, "status": "available", "owner": None}, status_code=201)

    async def show_pet(request: Request) -> Response:
        if (denied := await guarded(request)) is not None:
            return denied
        pet_id = int(request.path_params["pet_id"])
        return JSONResponse(PETS[pet_id - 1])

    return Starlette(routes=[
        Route("/v1/pets", list_pets, methods=["GET"]),
        Route("/v1/pets", create_pet, methods=["POST"]),
        Route("/v1/pets/{pet_id:int}", show_pet, methods=["GET"]),
    ])


@dataclass
class Workspace:
    root: Path
    env: dict[str, str]

    @property
    def manifest(self) -> Path:
        return self.root / "mcp.yaml"

    def write_manifest(self, text: str) -> Path:
        self.manifest.write_text(text, encoding="utf-8")
        return self.manifest

    def edit(self, old: str, new: str) -> None:
        text = self.manifest.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in the manifest"
        self.manifest.write_text(text.replace(old, new), encoding="utf-8")

    def mcprt(self, *args: str, drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        """Run the CLI (in this process: `tests.support.cli.mcprt_cli`) in the workspace; `drop` removes
        variables from its environment."""
        return mcprt_cli(*args, cwd=self.root, env=self.env, drop=drop, timeout=120)


def make_workspace(root: Path, base_url: str, cache: Path) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pets.json").write_text(json.dumps(SPEC), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCPRT_")}
    env.update({"MCPRT_CACHE_DIR": str(cache), "PETS_KEY": API_KEY, "NO_COLOR": "1"})
    workspace = Workspace(root, env)
    workspace.write_manifest(MANIFEST.replace("BASE_URL", base_url))
    return workspace
