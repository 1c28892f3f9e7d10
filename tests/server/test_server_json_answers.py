"""Handshake-era POSTs over streamable HTTP: one JSON body unless the answer may stream (server/lean.py).

A real `mcprt up` subprocess serving an OpenAPI source (a real upstream on 127.0.0.1), a Python
source and a proxied MCP server (the everything fixture over stdio), driven with raw HTTP so the
answer's Content-Type can be checked, and with the SDK client, which must accept either.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mcp_types as types
import pytest
from server_support import UpProcess, mcprt_http, text_of
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.everything import command_source
from tests.support.served import http_client
from tests.support.upstream import held_until_disconnected, serve_app

BIG = 2**70  # beyond 64 bits: orjson would turn it into a float
HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
TOOLS = '''
"""Python tools: one that takes the call's context (it may reach the client), one that does not."""
from mcprt.contracts import CallContext


def shout(text: str) -> str:
    """Upper-case the text."""
    return text.upper()


def whisper(text: str, context: CallContext) -> str:
    """Lower-case the text; takes the call context."""
    return text.lower()
'''


class Upstream:
    """Records what reached it; `/slow` waits until released or the caller goes away."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.slow_started = threading.Event()
        self.slow_ended = threading.Event()

    def app(self) -> Starlette:
        async def item(request: Request) -> Response:
            raw = request.url.path.rsplit("/", 1)[1]
            self.paths.append(request.url.path)
            body = '{"id": %s, "twice": %d, "name": "item"}' % (raw, 2 * int(raw))
            return Response(body, media_type="application/json")

        slow = held_until_disconnected(self.slow_started, self.slow_ended)

        return Starlette(routes=[Route("/items/{id}", item), Route("/slow", slow)])


def spec(base_url: str) -> dict[str, Any]:
    def get(operation_id: str, path: str, params: list[dict[str, Any]]) -> dict[str, Any]:
        return {"get": {"operationId": operation_id, "summary": operation_id, "parameters": params,
                        "responses": {"200": {"description": "ok", "content": {"application/json": {
                            "schema": {"type": "object"}}}}}}}

    id_param = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    return {"openapi": "3.0.3", "info": {"title": "items", "version": "1"}, "servers": [{"url": base_url}],
            "paths": {"/items/{id}": get("get_item", "/items/{id}", id_param), "/slow": get("slow", "/slow", [])}}


pytestmark = pytest.mark.xdist_group("test_server_json_answers")  # one started server per run, not one per worker


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[Upstream, str]]:
    recorder = Upstream()
    with serve_app(recorder.app()) as base:
        yield recorder, base


def write_manifest(folder: Path, base_url: str) -> Path:
    (folder / "spec.json").write_text(json.dumps(spec(base_url)))
    (folder / "texts.py").write_text(TOOLS)
    manifest = folder / "mcp.yaml"
    manifest.write_text(
        "version: 1\nserver: {name: answers}\nsources:\n"
        "  items: {openapi: spec.json}\n"
        "  texts: {python: texts}\n" + command_source("everything", extra="prefix: everything_\n"))
    return manifest


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, upstream: tuple[Upstream, str]) -> Iterator[UpProcess]:
    manifest = write_manifest(tmp_path_factory.mktemp("json-answers"), upstream[1])
    with mcprt_http(manifest, "--no-reload", startup_timeout=60) as up:
        yield up


class Session:
    """A handshake-era session driven with raw HTTP."""

    def __init__(self, up: UpProcess) -> None:
        self.url = up.url
        self.http = httpx.Client(timeout=60)
        opened = self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
        assert opened.status_code == 200 and opened.headers["content-type"] == "application/json"
        assert opened.json()["result"]["serverInfo"]["name"] == "answers"
        self.headers = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
        assert self.post({"jsonrpc": "2.0", "method": "notifications/initialized"}).status_code == 202

    def post(self, body: object, **headers: str) -> httpx.Response:
        return self.http.post(self.url, content=json.dumps(body),
                              headers={**HEADERS, **getattr(self, "headers", {}), **headers})

    def call(self, request_id: int, name: str, arguments: dict[str, Any], **params: Any) -> httpx.Response:
        return self.post({"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                          "params": {"name": name, "arguments": arguments, **params}})


def sse_messages(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.headers["content-type"].startswith("text/event-stream"), response.text
    return [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:") and line[5:].strip()]


def test_requests_that_cannot_stream_get_one_json_body(served: UpProcess, upstream: tuple[Upstream, str]) -> None:
    session = Session(served)
    listed = session.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert listed.status_code == 200 and listed.headers["content-type"] == "application/json"
    assert listed.headers["mcp-session-id"] == session.headers["mcp-session-id"]
    names = {tool["name"] for tool in listed.json()["result"]["tools"]}
    assert {"get_item", "shout", "whisper", "everything_test_simple_text"} <= names
    called = session.call(2, "get_item", {"id": 7})
    assert called.headers["content-type"] == "application/json"
    answer = called.json()
    assert answer["id"] == 2 and answer["jsonrpc"] == "2.0"
    result = types.CallToolResult.model_validate(answer["result"], by_name=False)
    assert not result.is_error and json.loads(text_of(result)) == {"id": 7, "twice": 14, "name": "item"}
    assert session.call(3, "shout", {"text": "hi"}).json()["result"]["content"][0]["text"] == "HI"
    pinged = session.post({"jsonrpc": "2.0", "id": "p", "method": "ping"})
    assert pinged.headers["content-type"] == "application/json" and pinged.json() == {"jsonrpc": "2.0", "id": "p",
                                                                                         "result": {}}


def test_errors_are_the_sdks_in_a_json_body(served: UpProcess) -> None:
    session = Session(served)
    unknown_method = session.post({"jsonrpc": "2.0", "id": 1, "method": "tools/nope"}).json()
    assert unknown_method["error"]["code"] == -32601 and unknown_method["id"] == 1
    no_name = session.post({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"arguments": {}}}).json()
    assert no_name["error"]["code"] == -32602 and no_name["id"] == 2
    bad_arguments = session.call(3, "get_item", {"id": "seven"}).json()["result"]
    assert bad_arguments["isError"] is True and "'seven' is not of type 'integer'" in bad_arguments["content"][0]["text"]
    unknown_tool = session.call(4, "get_itme", {}).json()["result"]
    assert unknown_tool["isError"] is True and "get_item" in unknown_tool["content"][0]["text"]


def test_a_progress_token_or_a_tool_that_may_reach_the_client_gets_sse(served: UpProcess) -> None:
    session = Session(served)
    with_token = sse_messages(session.call(1, "get_item", {"id": 1}, _meta={"progressToken": "tok"}))
    assert with_token[-1]["id"] == 1 and not with_token[-1]["result"].get("isError")
    with_context = sse_messages(session.call(2, "whisper", {"text": "HI"}))
    assert with_context[-1]["result"]["content"][0]["text"] == "hi"
    proxied = sse_messages(session.call(3, "everything_test_tool_with_logging", {}))
    logs = [m["params"]["data"] for m in proxied if m.get("method") == "notifications/message"]
    assert logs == ["Tool execution started", "Tool processing data", "Tool execution completed"]
    assert proxied[-1]["id"] == 3 and proxied[-1]["result"]["content"][0]["text"] == "Logging completed"


def test_integers_beyond_64_bits_pass_unchanged(served: UpProcess, upstream: tuple[Upstream, str]) -> None:
    session = Session(served)
    response = session.call(1, "get_item", {"id": BIG})
    assert response.headers["content-type"] == "application/json"
    assert f"/items/{BIG}" in upstream[0].paths
    text = response.json()["result"]["content"][0]["text"]
    assert json.loads(text) == {"id": BIG, "twice": 2 * BIG, "name": "item"}


def test_a_cancelled_call_ends_with_the_eras_error_and_stops_upstream(served: UpProcess,
                                                                     upstream: tuple[Upstream, str]) -> None:
    recorder = upstream[0]
    recorder.slow_started.clear()
    recorder.slow_ended.clear()
    session = Session(served)
    answered: list[httpx.Response] = []
    caller = threading.Thread(target=lambda: answered.append(session.call(41, "slow", {})))
    caller.start()
    assert recorder.slow_started.wait(30), "the call never reached the upstream"
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 41, "reason": "test"}}
    assert session.post(cancel).status_code == 202
    caller.join(30)
    assert answered, "the cancelled call's POST was never answered"
    assert answered[0].json() == {"jsonrpc": "2.0", "id": 41, "error": {"code": -32800, "message": "Request cancelled"}}
    assert recorder.slow_ended.wait(30), "the upstream request went on after the cancel"
    assert session.call(42, "get_item", {"id": 2}).json()["result"]["content"]  # the session still serves


def test_session_and_header_rules_hold(served: UpProcess) -> None:
    session = Session(served)
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "shout", "arguments": {"text": "x"}}}
    assert session.post(call, **{"mcp-session-id": "0" * 32}).status_code == 404
    missing = httpx.post(session.url, content=json.dumps(call), headers=HEADERS, timeout=30)
    assert missing.status_code == 400  # no session id on a request other than initialize
    assert session.post(call, accept="application/json").status_code == 406
    refused = session.post(call, **{"content-type": "text/plain"})  # server/post_headers.py
    assert refused.status_code == 415 and refused.json()["error"]["code"] == -32600
    assert session.http.delete(session.url, headers=session.headers).status_code == 200
    assert session.post(call).status_code == 404


async def test_the_sdk_client_accepts_either_answer(served: UpProcess) -> None:
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with http_client(served.url, mode="legacy") as client:
        plain = await client.call_tool("get_item", {"id": 3})
        assert not plain.is_error and json.loads(text_of(plain))["twice"] == 6
        with_progress = await client.call_tool("everything_test_tool_with_progress", {}, progress_callback=on_progress)
        assert text_of(with_progress) == "Progress completed" and progress == [0, 50, 100]


def test_stateless_requests_get_json_unless_they_may_stream(tmp_path: Path, upstream: tuple[Upstream, str]) -> None:
    with mcprt_http(write_manifest(tmp_path, upstream[1]), "--no-reload", "--stateless", startup_timeout=60) as up:
        http = httpx.Client(timeout=60)
        headers = {**HEADERS, "mcp-protocol-version": "2025-06-18"}

        def call(request_id: int, name: str, arguments: dict[str, Any], **params: Any) -> httpx.Response:
            body = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                    "params": {"name": name, "arguments": arguments, **params}}
            return http.post(up.url, content=json.dumps(body), headers=headers)

        plain = call(1, "get_item", {"id": 5})
        assert plain.headers["content-type"] == "application/json" and "mcp-session-id" not in plain.headers
        assert json.loads(plain.json()["result"]["content"][0]["text"])["twice"] == 10
        with_token = sse_messages(call(2, "get_item", {"id": 5}, _meta={"progressToken": 9}))
        assert with_token[-1]["id"] == 2 and with_token[-1]["result"]["content"]
        listed = http.post(up.url, content=json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
                           headers=headers)
        assert listed.headers["content-type"] == "application/json" and listed.json()["result"]["tools"]
        refused = http.post(up.url, content=json.dumps({"jsonrpc": "2.0", "id": 4, "method": "ping"}),
                            headers={**headers, "accept": "application/json"})
        assert refused.status_code == 406  # SSE mode still requires a client that accepts both
