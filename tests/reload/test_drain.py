"""A reload that replaces an OpenAPI source while a call on it is in flight: the call finishes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from reload_support import wait_for
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcprt.pipeline import Runtime
from mcprt.reload import reloader_for
from mcprt.settings import Settings
from mcprt.toolset.invoke import call_tool
from tests.support.upstream import serve_app

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "slow", "version": "1"},
    "paths": {
        "/slow": {"get": {"operationId": "slow", "summary": "Answers after a while.",
                          "responses": {"200": {"description": "ok"}}}},
    },
}


async def slow(request: Request) -> JSONResponse:
    await asyncio.sleep(float(request.query_params.get("s", "0.6")))
    return JSONResponse({"done": True, "version": request.headers.get("x-version")})


@pytest.fixture
def upstream() -> Iterator[str]:
    with serve_app(Starlette(routes=[Route("/slow", slow)])) as url:
        yield url


def manifest(url: str, version: str) -> str:
    return (f"version: 1\nsources:\n  api:\n    openapi: spec.json\n    base_url: {url}\n"
            f"    headers: {{X-Version: '{version}'}}\n")


async def call_like_the_server(runtime: Runtime, name: str) -> dict:
    """As the server's call handler does: look the tool up in the current set and keep that set
    for the duration of the call (hot reload closes a replaced source once its set is unused)."""
    toolset = runtime.holder.current
    result = await call_tool(toolset.get(name), {})
    assert not result.is_error, result.content
    return json.loads(result.content[0]["text"])


async def test_a_call_in_flight_on_a_replaced_source_completes(tmp_path: Path, upstream: str) -> None:
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    path = tmp_path / "mcp.yaml"
    path.write_text(manifest(upstream, "1"))
    runtime = Runtime(path, Settings(cache_dir=tmp_path / "cache"))
    await runtime.start()
    try:
        reloader = reloader_for(runtime)
        old_source = runtime.pool.running["api"]
        in_flight = asyncio.create_task(call_like_the_server(runtime, "slow"))
        await asyncio.sleep(0.2)  # the request is at the upstream now

        path.write_text(manifest(upstream, "2"))  # headers are the source's own: it is reopened
        outcome = await reloader.reload()
        assert outcome.ok and outcome.opened == ["api"]
        assert runtime.pool.running["api"] is not old_source
        assert reloader.drainer.pending == 1  # the old source waits for its call

        assert await in_flight == {"done": True, "version": "1"}
        del in_flight
        await wait_for(lambda: reloader.drainer.pending == 0, timeout=5, what="the old source to close")
        assert (await call_like_the_server(runtime, "slow"))["version"] == "2"
    finally:
        await reloader.aclose()
        await runtime.aclose()


async def test_a_spec_file_deleted_and_recreated_is_waited_for(tmp_path: Path, upstream: str) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    path = tmp_path / "mcp.yaml"
    path.write_text(manifest(upstream, "1"))
    runtime = Runtime(path, Settings(cache_dir=tmp_path / "cache"))
    await runtime.start()
    reloader = reloader_for(runtime)
    try:
        changed = json.loads(json.dumps(SPEC))
        changed["paths"]["/slow"]["get"]["summary"] = "Answers eventually."
        spec.unlink()
        asyncio.get_running_loop().call_later(0.15, spec.write_text, json.dumps(changed))

        outcome = await reloader.reload()

        assert outcome.ok, outcome.errors
        assert outcome.opened == ["api"] and outcome.changes.changed == ["slow"]
        assert runtime.holder.current.get("slow").description.startswith("Answers eventually")
    finally:
        await reloader.aclose()
        await runtime.aclose()
