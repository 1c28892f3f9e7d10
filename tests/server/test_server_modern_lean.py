"""2026-07-28 POSTs on the lean path (server/lean_modern.py) answer exactly as the SDK's entry does.

Two real `mcprt up` subprocesses serve one manifest (an OpenAPI source on a real upstream on
127.0.0.1, a Python source): one as built, one with `MCPRT_HTTP_LEAN=0` (every request through
the SDK's `handle_modern_request`). The same raw 2026-07-28 requests go to both; status,
Content-Type and the parsed answer must be equal — for results (2 KB, ~100 KB with floats, NaN,
integers beyond 64 bits, text), tool errors, JSON-RPC errors and every header/envelope refusal.
A call whose client goes away stops its upstream request (this era's cancellation), and the
answer of a request that may stream still comes from the SDK.
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.served import UpProcess, child_env, mcprt_http
from tests.support.upstream import held_until_disconnected, serve_app

MODERN = "2026-07-28"
BIG = 2**70
META = {"io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"}}
TOOLS = '''
"""Python tools: one plain, one taking the call's context (its answer may stream)."""
from mcprt.contracts import CallContext


def shout(text: str) -> str:
    """Upper-case the text — loudly."""
    return text.upper()


def whisper(text: str, context: CallContext) -> str:
    """Lower-case the text; takes the call context."""
    return text.lower()
'''


def history() -> list[dict[str, Any]]:
    """About 100 KB with what JSON writers disagree on: small floats, big integers, non-ASCII."""
    return [{"event": n, "at": 1.5e-7 * n, "ratio": n / 7, "big": BIG + n, "who": f"usér-{n} \u2028 \"q\"",
             "none": None, "tags": [f"t{k}" for k in range(20)], "blob": "x" * 1400} for n in range(50)]


class Upstream:
    def __init__(self) -> None:
        self.slow_started = threading.Event()
        self.slow_ended = threading.Event()

    def app(self) -> Starlette:
        item_body = json.dumps({"id": 1, "name": "item", "price": 2.5, "score": float("nan"),
                                "description": "An item. " * 200}, allow_nan=True)
        history_body = json.dumps(history())

        async def item(request: Request) -> Response:
            return Response(item_body, media_type="application/json")

        async def items(request: Request) -> Response:
            return Response(history_body, media_type="application/json")

        slow = held_until_disconnected(self.slow_started, self.slow_ended)

        return Starlette(routes=[Route("/items/{id}", item), Route("/history", items), Route("/slow", slow)])


def spec(base_url: str) -> dict[str, Any]:
    def get(operation_id: str, params: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
        return {"get": {"operationId": operation_id, "summary": operation_id, "parameters": params,
                        "responses": {"200": {"description": "ok", "content": {"application/json": {
                            "schema": schema}}}}}}

    id_param = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    return {"openapi": "3.0.3", "info": {"title": "items", "version": "1"}, "servers": [{"url": base_url}],
            "paths": {"/items/{id}": get("get_item", id_param, {"type": "object"}),
                      "/history": get("get_history", [], {"type": "array", "items": {"type": "object"}}),
                      "/slow": get("slow", [], {"type": "object"})}}


pytestmark = pytest.mark.xdist_group("test_server_modern_lean")  # one started servers per run, not one per worker


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[Upstream, str]]:
    recorder = Upstream()
    with serve_app(recorder.app()) as base:
        yield recorder, base


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory, upstream: tuple[Upstream, str]) -> Path:
    folder = tmp_path_factory.mktemp("modern-lean")
    (folder / "spec.json").write_text(json.dumps(spec(upstream[1])))
    (folder / "texts.py").write_text(TOOLS)
    path = folder / "mcp.yaml"
    path.write_text("version: 1\nserver: {name: modern}\nsources:\n"
                    "  items: {openapi: spec.json}\n  texts: {python: texts}\n")
    return path


@pytest.fixture(scope="module")
def pair(manifest: Path) -> Iterator[tuple[UpProcess, UpProcess]]:
    """(lean, sdk): the same manifest served with and without the lean path."""
    with mcprt_http(manifest, "--no-reload", startup_timeout=60) as lean, \
            mcprt_http(manifest, "--no-reload", env=child_env(MCPRT_HTTP_LEAN="0"), startup_timeout=60) as sdk:
        yield lean, sdk


def request(method: str, params: dict[str, Any], request_id: Any = 1, meta: dict[str, Any] | None = META) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "method": method,
            "params": {**params, **({"_meta": meta} if meta is not None else {})}}


def headers_for(body: dict[str, Any], **extra: str) -> dict[str, str]:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream",
               "mcp-protocol-version": MODERN, "mcp-method": body["method"]}
    name = body.get("params", {}).get("name")
    if body["method"] == "tools/call" and isinstance(name, str):
        headers["mcp-name"] = name
    headers.update(extra)
    return headers


def answer(response: httpx.Response) -> tuple[int, str, Any]:
    """Status, media type and the parsed answer (the last message of an SSE answer)."""
    media_type = response.headers.get("content-type", "").split(";")[0]
    if media_type == "text/event-stream":
        messages = [json.loads(line[5:]) for line in response.text.splitlines()
                    if line.startswith("data:") and line[5:].strip()]
        return response.status_code, media_type, messages[-1]
    if media_type != "application/json":
        return response.status_code, media_type, response.text
    return response.status_code, media_type, json.loads(response.text)


def both(pair: tuple[UpProcess, UpProcess], body: Any, **headers: str) -> tuple[Any, Any]:
    base = headers_for(body if isinstance(body, dict) and "method" in body else {"method": "tools/call"}, **headers)
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    with httpx.Client(timeout=60) as http:
        return tuple(answer(http.post(up.url, content=content, headers=base)) for up in pair)  # type: ignore[return-value]


def same(left: Any, right: Any) -> bool:
    """Equal, with NaN equal to NaN (the SDK's `json.dumps` writes NaN; so must the lean path)."""
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left) and math.isnan(right):
        return True
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right))
    return type(left) is type(right) and left == right


CASES = {
    "tools/list": request("tools/list", {}),
    "2 KB object": request("tools/call", {"name": "get_item", "arguments": {"id": 1}}),
    "100 KB array": request("tools/call", {"name": "get_history", "arguments": {}}),
    "python tool": request("tools/call", {"name": "shout", "arguments": {"text": "hé"}}, request_id="s-1"),
    "bad arguments": request("tools/call", {"name": "get_item", "arguments": {"id": "seven", "x": 1}}),
    "unknown tool": request("tools/call", {"name": "get_itme", "arguments": {}}),
    "no tool name": request("tools/call", {"arguments": {}}),
    "arguments not an object": request("tools/call", {"name": "get_item", "arguments": [1]}),
    "no envelope": request("tools/call", {"name": "get_item", "arguments": {"id": 1}}, meta=None),
    "unsupported version": request("tools/list", {}, meta={**META, "io.modelcontextprotocol/protocolVersion": "2099-01-01"}),
    "big request id": request("tools/list", {}, request_id=BIG),
    "a progress token": request("tools/call", {"name": "get_item", "arguments": {"id": 2}},
                                meta={**META, "progressToken": "p"}),
    "a tool that may stream": request("tools/call", {"name": "whisper", "arguments": {"text": "HI"}}),
    "unknown method": request("tools/nope", {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_lean_answers_equal_the_sdks(pair: tuple[UpProcess, UpProcess], case: str) -> None:
    lean, sdk = both(pair, CASES[case])
    assert lean[:2] == sdk[:2], (lean, sdk)
    assert same(lean[2], sdk[2]), (lean, sdk)
    if case in ("2 KB object", "100 KB array", "python tool", "tools/list"):
        assert lean[0] == 200 and lean[1] == "application/json" and "result" in lean[2]


def test_the_large_answer_keeps_every_value(pair: tuple[UpProcess, UpProcess]) -> None:
    """The text is the upstream's value, compact: small floats and big integers written as Python writes them."""
    status, _, message = both(pair, CASES["100 KB array"])[0]
    text = message["result"]["content"][0]["text"]
    assert text == json.dumps(history(), ensure_ascii=False, separators=(",", ":"))
    assert "1.5e-07" in text and str(BIG + 1) in text
    item = both(pair, CASES["2 KB object"])[0][2]["result"]
    # An upstream's NaN is no JSON value (RFC 8259 §6): the call is a tool error naming the field, on the lean path
    # as on the SDK's (`test_lean_answers_equal_the_sdks`), rather than text and structuredContent disagreeing.
    assert item["isError"] is True and "result['score'] = nan" in item["content"][0]["text"], item


@pytest.mark.parametrize("refusal", ["method header differs", "name header differs", "version header differs",
                                     "duplicated header", "no sse in accept", "wrong content type", "batch",
                                     "not json"])
def test_refusals_equal_the_sdks(pair: tuple[UpProcess, UpProcess], refusal: str) -> None:
    body: Any = CASES["2 KB object"]
    headers: dict[str, str] = {}
    if refusal == "method header differs":
        headers["mcp-method"] = "tools/list"
    elif refusal == "name header differs":
        headers["mcp-name"] = "shout"
    elif refusal == "version header differs":
        body = CASES["tools/list"]
        headers["mcp-protocol-version"] = "2099-01-01"
    elif refusal == "no sse in accept":
        headers["accept"] = "application/json"
    elif refusal == "wrong content type":
        headers["content-type"] = "text/plain"
    elif refusal == "batch":
        body = json.dumps([CASES["tools/list"]])
    elif refusal == "not json":
        body = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"'
    if refusal == "duplicated header":
        with httpx.Client(timeout=60) as http:
            results = []
            for up in pair:
                raw = [(k.encode(), v.encode()) for k, v in headers_for(body).items()]
                raw.append((b"mcp-method", b"tools/call"))
                results.append(answer(http.post(up.url, content=json.dumps(body), headers=raw)))
            lean, sdk = results
    else:
        lean, sdk = both(pair, body, **headers)
    assert lean[0] >= 400 or "error" in lean[2], lean
    assert lean[:2] == sdk[:2] and same(lean[2], sdk[2]), (lean, sdk)


def test_closing_the_response_stream_cancels_the_call(pair: tuple[UpProcess, UpProcess],
                                                     upstream: tuple[Upstream, str]) -> None:
    """MCP 2026-07-28: a client cancels by closing the response stream; the upstream request stops."""
    recorder = upstream[0]
    recorder.slow_started.clear()
    recorder.slow_ended.clear()
    lean = pair[0]
    body = json.dumps(request("tools/call", {"name": "slow", "arguments": {}})).encode()
    host, port = lean.url.split("//", 1)[1].split("/", 1)[0].split(":")
    headers = "".join(f"{k}: {v}\r\n" for k, v in headers_for(json.loads(body)).items())
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(f"POST /mcp HTTP/1.1\r\nhost: {host}:{port}\r\n{headers}content-length: {len(body)}\r\n\r\n"
                     .encode() + body)
        assert recorder.slow_started.wait(30), "the call never reached the upstream"
    assert recorder.slow_ended.wait(30), "the upstream request went on after the client closed the stream"
    # The server keeps serving.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, _, message = both(pair, CASES["python tool"])[0]
        if status == 200:
            break
    assert message["result"]["content"][0]["text"] == "HÉ"


def test_which_path_answered(pair: tuple[UpProcess, UpProcess]) -> None:
    """The lean path writes UTF-8 as is (orjson); the SDK's entry escapes it (`json.dumps`): so the
    bytes tell which answered. Plain calls are lean; a progress token or a tool that may send
    something back is left to the SDK."""
    def raw(up: UpProcess, body: dict[str, Any]) -> bytes:
        return httpx.post(up.url, content=json.dumps(body), headers=headers_for(body), timeout=60).content

    lean, sdk = pair
    plain = request("tools/call", {"name": "shout", "arguments": {"text": "hé"}})
    assert "HÉ".encode() in raw(lean, plain) and b"\\u00c9" in raw(sdk, plain)
    listed = request("tools/list", {})
    assert "loudly".encode() in raw(lean, listed) and "—".encode() in raw(lean, listed)
    assert rb"\u2014 loudly" in raw(sdk, listed)
    may_stream = request("tools/call", {"name": "whisper", "arguments": {"text": "HÉ"}})
    with_token = request("tools/call", {"name": "shout", "arguments": {"text": "hé"}}, meta={**META, "progressToken": 7})
    assert b"\\u00e9" in raw(lean, may_stream) and b"\\u00c9" in raw(lean, with_token)


def test_stateless_servers_take_the_lean_path_too(manifest: Path, pair: tuple[UpProcess, UpProcess]) -> None:
    """`--stateless` (replicas): the same lean answer, written by orjson, and the same refusals."""
    with mcprt_http(manifest, "--no-reload", "--stateless", startup_timeout=60) as stateless:
        body = request("tools/call", {"name": "shout", "arguments": {"text": "hé"}})
        response = httpx.post(stateless.url, content=json.dumps(body), headers=headers_for(body), timeout=60)
        assert "HÉ".encode() in response.content and "mcp-session-id" not in response.headers
        for case in ("100 KB array", "bad arguments", "no envelope"):
            with httpx.Client(timeout=60) as http:
                mine = answer(http.post(stateless.url, content=json.dumps(CASES[case]), headers=headers_for(CASES[case])))
                sdk = answer(http.post(pair[1].url, content=json.dumps(CASES[case]), headers=headers_for(CASES[case])))
            assert mine[:2] == sdk[:2] and same(mine[2], sdk[2]), (case, mine, sdk)
