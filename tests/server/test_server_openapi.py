"""`mcprt up` serving an OpenAPI source against a real loopback upstream: the whole path from MCP
client to HTTP API and back, including progress notifications while the executor retries."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from server_support import UpProcess, child_env, http_client, mcprt_http, text_of
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.upstream import serve_app

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Pets", "version": "1"},
    "paths": {
        "/pets/{petId}": {
            "get": {
                "operationId": "getPet",
                "summary": "Get one pet by id.",
                "parameters": [{"name": "petId", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "The pet."}},
            }
        },
        "/busy": {
            "get": {
                "operationId": "busyThing",
                "summary": "Answers 503 once, then works.",
                "responses": {"200": {"description": "ok"}},
            }
        },
    },
}


def upstream_app() -> Starlette:
    busy_calls = {"n": 0}

    async def pet(request: Request) -> JSONResponse:
        pet_id = int(request.path_params["pet_id"])
        if pet_id != 1:
            return JSONResponse({"message": f"pet {pet_id} not found"}, status_code=404)
        return JSONResponse({"id": 1, "name": "Rex", "tag": None})

    async def busy(request: Request) -> JSONResponse:
        busy_calls["n"] += 1
        if busy_calls["n"] % 2 == 1:
            return JSONResponse({"message": "busy"}, status_code=503, headers={"Retry-After": "0"})
        return JSONResponse({"status": "done"})

    return Starlette(routes=[Route("/pets/{pet_id}", pet), Route("/busy", busy)])


pytestmark = pytest.mark.xdist_group("test_server_openapi")  # one started server per run, not one per worker


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    folder = tmp_path_factory.mktemp("openapi")
    (folder / "pets.json").write_text(json.dumps(SPEC))
    with serve_app(upstream_app()) as base:
        manifest = folder / "mcp.yaml"
        manifest.write_text(
            "version: 1\nserver: {name: pets}\n"
            "defaults: {prune: {drop_nulls: true}}\n"
            f"sources:\n  pets:\n    openapi: pets.json\n    base_url: {base}\n"
        )
        with mcprt_http(manifest, "--no-reload") as up:
            yield up


async def test_openapi_tools_are_served_and_called(served: UpProcess) -> None:
    async with http_client(served.url, token=None) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert sorted(tools) == ["busyThing", "getPet"]
        assert tools["getPet"].annotations is not None and tools["getPet"].annotations.read_only_hint is True
        found = await client.call_tool("getPet", {"petId": 1})
        assert not found.is_error
        assert json.loads(text_of(found)) == {"id": 1, "name": "Rex"}
        missing = await client.call_tool("getPet", {"petId": 7})
        assert missing.is_error and "404" in text_of(missing) and "pet 7 not found" in text_of(missing)


async def test_progress_while_the_executor_retries(served: UpProcess) -> None:
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    async with http_client(served.url, token=None) as client:
        result = await client.call_tool("busyThing", {}, progress_callback=on_progress)
        assert not result.is_error and json.loads(text_of(result)) == {"status": "done"}
    assert len(updates) == 1
    assert updates[0][2] is not None and "503" in updates[0][2]


async def test_the_http_client_is_loaded_before_the_first_call(tmp_path) -> None:
    """Found by a new-user trial: the first call took ~0.3 s against ~8 ms for the next (the HTTP client's
    import landed on it). `mcprt up` now warms each source once it serves, before any call arrives."""
    import time

    (tmp_path / "pets.json").write_text(json.dumps(SPEC))
    with serve_app(upstream_app()) as base:
        manifest = tmp_path / "mcp.yaml"
        manifest.write_text(f"version: 1\nserver: {{name: pets}}\nsources:\n  pets:\n    openapi: pets.json\n"
                            f"    base_url: {base}\n")
        with mcprt_http(manifest, "--no-reload", env=child_env(MCPRT_LOG_LEVEL="debug")) as up:
            deadline = time.monotonic() + 60  # bounds a hang only
            while "source warmed up" not in up.log() and time.monotonic() < deadline:
                time.sleep(0.05)
            log = up.log()
            assert "source warmed up source=pets" in log, log
            assert "mcprt: call" not in log and "tool=getPet" not in log  # before any call
            async with http_client(up.url, token=None) as client:
                found = await client.call_tool("getPet", {"petId": 1})
            assert not found.is_error and json.loads(text_of(found))["name"] == "Rex"
