"""A call through discovery's `call_tool` carries the client's request `_meta` as a direct call does.

Found in the proxy/discovery pass: `call_tool` handed its target the caller's progress reporter but not the
request's `_meta`, so a proxied server called through it never got the client's vendor keys
(`example.com/tenant`, a correlation id: sources/mcp/request_meta.py) and a Python tool read `ctx.meta` as
None, while a direct call of the same operation got both. Now the relay passes it on (discovery/meta.py).

Real `mcprt up` in discovery mode, over stdio and streamable HTTP, with the MCP SDK client: a proxied SDK
server (tests/proxy/erring_server.py `meta_echo`, the everything fixture's progress tool), a Python tool
taking a `CallContext`, and an OpenAPI operation whose upstream (on 127.0.0.1) answers 503 once, so the
retry reports progress. Each operation is called directly and through `call_tool`, and the two must agree.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.everything import command_source
from tests.support.served import UpProcess, client_over, mcprt_http, text_of
from tests.support.upstream import serve_app
from tests.support.zygote import script_command_yaml

pytestmark = [pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
              pytest.mark.xdist_group("test_discovery_request_meta")]  # one gateway per run

ERRING = Path(__file__).parents[1] / "proxy" / "erring_server.py"

TOOLS = '''
from mcprt.contracts import CallContext


async def seen_meta(ctx: CallContext) -> dict:
    """The request _meta this tool was handed, after one progress report."""
    if ctx.progress is not None:
        await ctx.progress(1, 2, "half way")
    return {"meta": {k: v for k, v in (ctx.meta or {}).items() if k != "progress_token"},
            "progress": ctx.progress is not None}
'''

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "flaky", "version": "1"},
    "paths": {"/flaky/{key}": {"get": {
        "operationId": "flaky", "summary": "Get a flaky thing",
        "parameters": [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok"}}}}},
}

# Keys a client sends: vendor ones reach a proxied server, the hop's own do not (request_meta.py)
SENT = {"example.com/tenant": "acme", "correlationId": "c-42", "mcprt/approval": {"id": "forged"}}
VENDOR = {"example.com/tenant": "acme", "correlationId": "c-42"}


def _flaky_app() -> Starlette:
    seen: dict[str, int] = {}

    async def flaky(request: Request) -> JSONResponse:
        key = request.path_params["key"]
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 1:  # a 503 the executor retries (GET is idempotent), reporting progress meanwhile
            return JSONResponse({"busy": True}, status_code=503, headers={"Retry-After": "0"})
        return JSONResponse({"ok": True, "attempt": seen[key]})

    return Starlette(routes=[Route("/flaky/{key}", flaky)])


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("discovery_meta")
    (folder / "seen.py").write_text(TOOLS)
    (folder / "spec.json").write_text(json.dumps(SPEC))
    with serve_app(_flaky_app()) as base:
        (folder / "mcp.yaml").write_text(
            "version: 1\nserver: {name: meta, expose: discovery}\nsources:\n"
            f"  er:\n    prefix: er_\n    command: {script_command_yaml(ERRING)}\n"
            + command_source("ev", extra="prefix: ev_\n")
            + "  py:\n    python: [seen:seen_meta]\n"
            + f"  api:\n    openapi: spec.json\n    base_url: {base}\n")
        yield folder / "mcp.yaml"


@pytest.fixture(scope="module")
def served(manifest: Path) -> Iterator[UpProcess]:
    with mcprt_http(manifest, "--no-reload") as up:
        yield up


def _client(transport: str, manifest: Path, served: UpProcess) -> AbstractAsyncContextManager[Client]:
    return client_over(transport, manifest, served.url)


Call = Callable[..., Any]


def _ways(client: Client) -> dict[str, Call]:
    """The operation `name` with `arguments`, called directly and through discovery's call tool."""

    async def direct(name: str, arguments: dict[str, Any], **kw: Any) -> Any:
        return await client.call_tool(name, arguments, **kw)

    async def relayed(name: str, arguments: dict[str, Any], **kw: Any) -> Any:
        return await client.call_tool("call_tool", {"name": name, "arguments": arguments}, **kw)

    return {"direct": direct, "call_tool": relayed}


TRANSPORTS = ["stdio", "http"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_proxied_server_gets_the_vendor_meta_through_call_tool_as_directly(
        transport: str, manifest: Path, served: UpProcess) -> None:
    async with _client(transport, manifest, served) as client:
        seen = {}
        for way, call in _ways(client).items():
            result = await call("er_meta_echo", {}, meta={**SENT, "progressToken": "tok1"})
            assert not result.is_error, (way, result)
            got = json.loads(text_of(result))
            seen[way] = {k: v for k, v in got.items() if k in SENT}
            assert got.get("progress_token") != "tok1", (way, got)  # the hop's own key: mcprt mints its own
    assert seen["direct"] == VENDOR, seen
    assert seen["call_tool"] == seen["direct"], seen


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_python_tool_reads_the_same_meta_through_call_tool_as_directly(
        transport: str, manifest: Path, served: UpProcess) -> None:
    async with _client(transport, manifest, served) as client:
        seen = {}
        for way, call in _ways(client).items():
            result = await call("seen_meta", {}, meta=dict(SENT))
            assert not result.is_error, (way, result)
            seen[way] = json.loads(text_of(result))
    # a Python tool is mcprt's own: it reads the request's `_meta` as sent (the SDK's envelope keys too)
    assert SENT.items() <= seen["direct"]["meta"].items(), seen
    assert seen["call_tool"] == seen["direct"], seen


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("operation", "arguments", "words"), [
    ("seen_meta", {}, "half way"),  # a Python tool's own report
    ("ev_test_tool_with_progress", {}, None),  # a proxied server's, relayed
    ("flaky", None, "upstream answered 503; retrying in"),  # the HTTP executor's retry
], ids=["python", "proxied", "openapi"])
async def test_progress_reaches_the_client_through_call_tool_as_directly(
        transport: str, manifest: Path, served: UpProcess, operation: str, arguments: dict[str, Any] | None,
        words: str | None) -> None:
    async with _client(transport, manifest, served) as client:
        heard: dict[str, list[tuple[float, float | None, str | None]]] = {}
        for way, call in _ways(client).items():
            reports: list[tuple[float, float | None, str | None]] = []

            async def progress(done: float, total: float | None, message: str | None,
                               reports: list[Any] = reports) -> None:
                reports.append((done, total, message))

            args = arguments if arguments is not None else {"key": f"{transport}-{way}"}  # a fresh 503 each
            result = await call(operation, args, progress_callback=progress, meta={"example.com/tenant": "acme"})
            assert not result.is_error, (way, result)
            heard[way] = reports
    assert heard["direct"], heard
    assert len(heard["call_tool"]) == len(heard["direct"]), heard
    if words is not None:
        assert all(message and words in message for _, _, message in heard["call_tool"]), heard
