"""The lean stdio path (server/stdio_lean.py) answers as the SDK's session does.

Every test runs the same exchange against `mcprt up` twice — lean (the default) and through the SDK's
session task (`MCPRT_STDIO_LEAN=0`) — and compares what the client gets. The server is a real
subprocess driven with raw JSON-RPC lines (the SDK client would hide duplicates, ordering and
unanswered ids) or with the SDK client; the tools call a real HTTP upstream on 127.0.0.1. The debug
log's count of lean answers shows the lean path was actually taken (and the off switch held).
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import json
import re
import subprocess
import termios
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcprt.server.stdio import PIPE_BYTES
from tests.server.server_support import DEMO_TOOLS, child_env
from tests.server.test_server_early import INITIALIZED, TIMEOUT, RawStdio, initialize, request
from tests.support.served import launch_command
from tests.support.upstream import serve_app

MODERN = "2026-07-28"
ENVELOPE = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "lean-test", "version": "1.0"}}
LEAN_COUNT = re.compile(r"stdio: (\d+) requests answered on the lean path")


BULK_TOOLS = '''
"""A tool with a large result."""


def rows(count: int) -> dict:
    """`count` rows of about 100 bytes each."""
    return {"rows": [{"n": n, "text": "row " + "x" * 80} for n in range(count)]}
'''


@dataclass
class Upstream:
    """What the upstream saw: `/slow` requests block until released or abandoned by their client."""

    url: str = ""
    slow_started: threading.Event = field(default_factory=threading.Event)
    slow_aborted: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


def _app(state: Upstream) -> Starlette:
    async def item(request: Request) -> Response:
        n = int(request.path_params["n"])
        await asyncio.sleep(float(request.query_params.get("delay", "0")))
        return JSONResponse({"id": n, "name": f"item {n}", "note": "é ✓ " * 100, "tags": [f"t{i}" for i in range(20)]})

    async def slow(request: Request) -> Response:
        state.slow_started.set()
        while not state.release.is_set():
            if await request.is_disconnected():
                state.slow_aborted.set()
                return Response(status_code=499)
            await asyncio.sleep(0.02)
        return JSONResponse({"slow": True})

    async def broken(request: Request) -> Response:
        return JSONResponse({"message": "upstream exploded"}, status_code=500)

    return Starlette(routes=[Route("/items/{n:int}", item), Route("/slow", slow), Route("/broken", broken)])


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    state = Upstream()
    with serve_app(_app(state)) as url:
        state.url = url
        yield state
    state.release.set()


def _operation(operation_id: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {"get": {"operationId": operation_id, "parameters": parameters, "responses": {
        "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}}}


def write_manifest(folder: Path, upstream: Upstream) -> Path:
    """An OpenAPI source on the upstream, the demo Python tools, a deny rule and an audit log."""
    spec = {"openapi": "3.0.3", "info": {"title": "items", "version": "1"}, "paths": {
        "/items/{n}": _operation("get_item", [{"name": "n", "in": "path", "required": True, "schema": {"type": "integer"}},
                                              {"name": "delay", "in": "query", "schema": {"type": "number"}}]),
        "/slow": _operation("slow_item", []),
        "/broken": _operation("broken_item", []),
    }}
    (folder / "items.json").write_text(json.dumps(spec))
    (folder / "demo_tools.py").write_text(DEMO_TOOLS)
    (folder / "bulk_tools.py").write_text(BULK_TOOLS)
    path = folder / "mcp.yaml"
    path.write_text(
        "version: 1\n"
        "server:\n"
        "  name: lean-test\n"
        "  observability: {audit: audit.jsonl}\n"
        "sources:\n"
        "  items:\n"
        "    openapi: items.json\n"
        f"    base_url: {upstream.url}\n"
        "  demo:\n"
        "    python: demo_tools\n"
        "  bulk:\n"
        "    python: bulk_tools\n"
        "policy:\n"
        "  rules:\n"
        '    - {match: {tools: [fail]}, action: deny, reason: "failing is not allowed here"}\n'
    )
    return path


def call(request_id: Any, name: str, arguments: Any = None, *, modern: bool = False, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, **params}
    if arguments is not None:
        body["arguments"] = arguments
    if modern:
        body["_meta"] = {**body.get("_meta", {}), **ENVELOPE}
    return request(request_id, "tools/call", body)


def listing(request_id: Any, *, modern: bool = False, **params: Any) -> dict[str, Any]:
    if modern:
        params["_meta"] = ENVELOPE
    return request(request_id, "tools/list", params)


def start(manifest: Path, tmp: Path, lean: bool) -> RawStdio:
    return RawStdio(manifest, tmp, log_level="debug", **({} if lean else {"MCPRT_STDIO_LEAN": "0"}))


def opened(server: RawStdio, modern: bool) -> None:
    """Open the session and wait until the SDK holds it: its answer to a method only the SDK answers
    (the early phase answers the handshake and pings itself) came back."""
    if modern:
        server.send(listing("open", modern=True))
        server.responses({"open"})
        return
    server.send(initialize("2025-06-18"), INITIALIZED, request("open", "mcprt/no-such-method"))
    assert server.responses({1, "open"})["open"][0]["error"]["code"] == -32601


def finish(server: RawStdio) -> tuple[list[dict[str, Any]], int | None]:
    """Close stdin, wait for the exit; every message written after that, and the lean answer count
    from the debug log (None when the lean path was off)."""
    assert server.close() == 0, server.stderr_text()
    rest = []
    while (line := server.lines.get(timeout=TIMEOUT)) != b"":
        rest.append(json.loads(line))
    found = LEAN_COUNT.search(server.stderr_text())
    return rest, int(found.group(1)) if found else None


def exchange(manifest: Path, tmp: Path, lean: bool, modern: bool, batch: list[dict[str, Any]]
             ) -> tuple[dict[Any, list[dict[str, Any]]], int | None]:
    server = start(manifest, tmp, lean)
    try:
        opened(server, modern)
        server.send(*batch)
        got = server.responses({m["id"] for m in batch if "id" in m})
    finally:
        rest, count = finish(server)
    assert rest == [], f"messages after every answer: {rest}"
    return got, count


def batch_for(modern: bool) -> tuple[list[dict[str, Any]], int]:
    """Requests of every kind; and how many of them the lean path answers."""
    lean = [
        call(10, "get_item", {"n": 7}, modern=modern),
        call("eleven", "get_item", {"n": "seven"}, modern=modern),  # bad arguments: an isError result
        call(12, "no_such_tool", {}, modern=modern),  # unknown tool: close matches named
        call(13, "broken_item", {}, modern=modern),  # the upstream fails: an isError result
        call(14, "fail", {"message": "x"}, modern=modern),  # denied by policy
        request(15, "tools/call", {"arguments": {}, **({"_meta": ENVELOPE} if modern else {})}),  # no name: -32602
        call(16, "echo", {"text": "stray print"}, modern=modern),
        listing(17, modern=modern),
        listing(18, modern=modern, cursor="not-a-cursor"),
        request(19, "tools/call", {"name": "get_item", "arguments": [1, 2], **({"_meta": ENVELOPE} if modern else {})}),
        call(20, "rows", {"count": 1000}, modern=modern),  # ~200 KB: more than a pipe holds
    ]
    sdk = [
        request(30, "ping") if not modern else request(30, "ping", {"_meta": ENVELOPE}),
        request(31, "tools/frobnicate", {"_meta": ENVELOPE} if modern else None),  # unknown method
        call(32, "get_item", {"n": 1}, modern=not modern),  # the other era's shape: refused by the SDK
        call(33, "get_item", {"n": 2}, modern=modern, _meta={"progressToken": "p33"}),  # may stream: the SDK's
        {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"},
    ]
    if modern:  # an envelope the ladder refuses is the SDK's to refuse
        sdk.append(call(34, "get_item", {"n": 3}, _meta={**ENVELOPE, "io.modelcontextprotocol/protocolVersion": "1999-01-01"}))
    return lean + sdk, len(lean)


@pytest.mark.parametrize("era", ["handshake", "modern"])
def test_lean_answers_equal_the_sdk_sessions(tmp_path: Path, upstream: Upstream, era: str) -> None:
    manifest = write_manifest(tmp_path, upstream)
    batch, lean_requests = batch_for(era == "modern")
    lean, lean_count = exchange(manifest, tmp_path, True, era == "modern", batch)
    sdk, sdk_count = exchange(manifest, tmp_path, False, era == "modern", batch)
    assert sdk_count is None  # MCPRT_STDIO_LEAN=0: the SDK's session answered everything
    assert lean_count is not None and lean_count >= lean_requests
    assert set(lean) == set(sdk)
    for request_id in sdk:
        assert len(lean[request_id]) == 1, lean[request_id]
        assert lean[request_id] == sdk[request_id], request_id
    assert lean[10][0]["result"]["isError"] is False and '"id":7' in json.dumps(lean[10][0]["result"], separators=(",", ":"))
    assert lean[14][0]["result"]["isError"] is True and "failing is not allowed here" in json.dumps(lean[14][0])
    assert lean[15][0]["error"]["code"] == -32602
    assert lean[33][0]["result"]["isError"] is False


def test_calls_in_flight_come_back_in_any_order_each_id_once(tmp_path: Path, upstream: Upstream) -> None:
    manifest = write_manifest(tmp_path, upstream)
    # Later calls finish first: the answers come back out of order.
    calls = [call(n, "get_item", {"n": n, "delay": (40 - n) / 200}) for n in range(40)]
    got, count = exchange(manifest, tmp_path, True, False, calls)
    assert count is not None and count >= 40
    assert set(got) == set(range(40)) and all(len(v) == 1 for v in got.values())
    for n, (answer,) in got.items():
        assert json.loads(answer["result"]["content"][0]["text"])["id"] == n


def _with_a_slow_call(manifest: Path, tmp: Path, upstream: Upstream, lean: bool) -> Any:
    """A started, initialized server whose call `slow` has reached the upstream and waits there."""
    upstream.slow_started.clear()
    upstream.slow_aborted.clear()
    server = start(manifest, tmp, lean)
    try:
        opened(server, False)
        server.send(call("slow", "slow_item", {}))
        assert upstream.slow_started.wait(TIMEOUT), "the call never reached the upstream"
    except BaseException:
        finish(server)
        raise
    return server


def _cancelled_call(manifest: Path, tmp: Path, upstream: Upstream, lean: bool) -> list[dict[str, Any]]:
    server = _with_a_slow_call(manifest, tmp, upstream, lean)
    try:
        server.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
                     "params": {"requestId": "slow", "reason": "the user changed their mind"}})
        assert upstream.slow_aborted.wait(TIMEOUT), "the cancelled call's upstream request went on"
        server.send(request("after", "ping"), call("next", "get_item", {"n": 1}))
        seen = server.responses({"after", "next"})
    finally:
        rest, count = finish(server)
    assert (count is not None) == lean
    return [m for messages in seen.values() for m in messages] + rest


def test_a_cancelled_call_is_not_answered_and_its_upstream_request_stops(tmp_path: Path, upstream: Upstream) -> None:
    manifest = write_manifest(tmp_path, upstream)
    for lean in (True, False):
        messages = _cancelled_call(manifest, tmp_path, upstream, lean)
        assert [m.get("id") for m in messages if m.get("id") == "slow"] == [], (lean, messages)
        assert sorted(m["id"] for m in messages) == ["after", "next"], (lean, messages)


def _closed_with_a_call_in_flight(manifest: Path, tmp: Path, upstream: Upstream, lean: bool) -> list[dict[str, Any]]:
    server = _with_a_slow_call(manifest, tmp, upstream, lean)
    rest, count = finish(server)  # stdin's EOF with the call in flight
    assert (count is not None) == lean
    assert upstream.slow_aborted.wait(TIMEOUT), "the upstream request outlived the session"
    return rest


def test_stdin_eof_cancels_calls_in_flight_as_the_sdk_does(tmp_path: Path, upstream: Upstream) -> None:
    manifest = write_manifest(tmp_path, upstream)
    lean = _closed_with_a_call_in_flight(manifest, tmp_path, upstream, True)
    sdk = _closed_with_a_call_in_flight(manifest, tmp_path, upstream, False)
    def timeless(answers: list[dict[str, Any]]) -> str:  # the call's seconds differ from run to run
        return re.sub(r"\(\d+\.\d s\)", "(… s)", json.dumps(answers))

    assert timeless(lean) == timeless(sdk)
    # -32000, saying the upstream may have acted (stdio.finish_at_eof; it said only "Connection closed")
    ((answer,),) = [lean]
    assert answer["id"] == "slow" and answer["error"]["code"] == -32000, lean
    assert answer["error"]["message"].startswith("Connection closed: the client closed stdin while the call to "), lean
    assert "may or may not have acted" in answer["error"]["message"], lean


@pytest.mark.parametrize("first", ["call", "initialize-then-call"])
def test_calls_before_the_handshake_completes_are_treated_as_the_sdk_treats_them(
        tmp_path: Path, upstream: Upstream, first: str) -> None:
    manifest = write_manifest(tmp_path, upstream)
    if first == "call":  # no initialize at all: the SDK refuses it
        lines = [call(5, "get_item", {"n": 5}), listing(6)]
    else:  # pipelined right behind initialize, before the SDK took the session over
        lines = [initialize("2025-11-25"), call(5, "get_item", {"n": 5}), listing(6), INITIALIZED,
                 call(7, "get_item", {"n": 7})]
    answers = []
    for lean in (True, False):
        server = start(manifest, tmp_path, lean)
        try:
            server.send(*lines)
            got = server.responses({m["id"] for m in lines if "id" in m})
        finally:
            rest, _ = finish(server)
        assert rest == []
        answers.append(got)
    assert answers[0] == answers[1]
    assert all(len(v) == 1 for v in answers[0].values())


BIG_CALLS = 16


def _wait_until_full(pipe: IO[bytes]) -> None:
    """Until the unread pipe is about full (7/8 of its capacity: a write that does not fit whole leaves
    part of a page unused, 6 KB of 1 MiB seen), so the server, with far more to write, must wait for its
    client: the state a client reading late leaves it in (Linux `FIONREAD`, `F_GETPIPE_SZ`; the capacity
    is read each time, as the server widens the pipe after it starts)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        queued = array.array("i", [0])
        fcntl.ioctl(pipe.fileno(), termios.FIONREAD, queued)
        if queued[0] >= fcntl.fcntl(pipe.fileno(), fcntl.F_GETPIPE_SZ) * 7 // 8:
            return
        assert time.monotonic() < deadline, f"the pipe never filled: {queued[0]} bytes"
        time.sleep(0.02)


def test_answers_larger_than_the_pipe_arrive_whole_when_the_client_reads_late(tmp_path: Path,
                                                                            upstream: Upstream) -> None:
    """A client that stops reading fills the pipe (widened to 1 MiB where Linux allows): the rest waits
    (written by a thread) and arrives whole, in one piece, once the client reads again."""
    manifest = write_manifest(tmp_path, upstream)
    answers = []
    for lean in (True, False):
        env = child_env(MCPRT_CACHE_DIR=str(tmp_path / "cache"), **({} if lean else {"MCPRT_STDIO_LEAN": "0"}))
        process = subprocess.Popen(launch_command(manifest, "--transport", "stdio", "--no-reload"), stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=str(tmp_path))
        assert process.stdin is not None and process.stdout is not None
        try:
            lines = [initialize("2025-06-18"), INITIALIZED, request("open", "mcprt/no-such-method"),
                     *(call(f"rows-{n}", "rows", {"count": 5000}) for n in range(BIG_CALLS)), call("item", "get_item", {"n": 3})]
            process.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in lines))
            process.stdin.flush()
            _wait_until_full(process.stdout)  # nobody reads meanwhile
            got = {}
            written = 0
            while len(got) < BIG_CALLS + 3:
                line = process.stdout.readline()
                written += len(line)
                message = json.loads(line)
                if str(message["id"]).startswith("rows"):
                    assert len(line) > 150_000  # shaped down to max_response_bytes, still > 2 pipes
                assert message["id"] not in got
                got[message["id"]] = message
            process.stdin.close()
            assert process.stdout.read() == b""
            assert process.wait(TIMEOUT) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert written > 2 * PIPE_BYTES  # far more than the pipe holds
        assert all(got[f"rows-{n}"]["result"] == got["rows-0"]["result"] for n in range(BIG_CALLS))
        assert got["item"]["result"]["isError"] is False
        answers.append(got)
    assert answers[0] == answers[1]


def test_calls_are_audited_with_the_stdio_principal(tmp_path: Path, upstream: Upstream) -> None:
    manifest = write_manifest(tmp_path, upstream)
    got, count = exchange(manifest, tmp_path, True, False,
                          [call(n, "get_item", {"n": n}) for n in range(5)] + [call(9, "fail", {"message": "m"})])
    assert count is not None and count >= 6
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    calls = [r for r in records if r["type"] == "call" and r["tool"] == "get_item"]
    assert len(calls) == 5 and {r["principal"] for r in calls} == {"stdio"}
    assert {r["outcome"] for r in calls} == {"ok"}
    denials = [r for r in records if r["type"] == "decision" and r["tool"] == "fail"]
    assert denials and denials[0]["principal"] == "stdio" and denials[0]["action"] == "deny"


async def _sdk_client_results(manifest: Path, tmp: Path, lean: bool, mode: str) -> tuple[list[Any], str]:
    env = child_env(MCPRT_LOG_LEVEL="debug", MCPRT_CACHE_DIR=str(tmp / "cache"),
                    **({} if lean else {"MCPRT_STDIO_LEAN": "0"}))
    command = launch_command(manifest, "--no-reload")
    params = StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=str(manifest.parent))
    log = tmp / f"client-{lean}-{mode}.log"
    with open(log, "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode=mode) as client:  # type: ignore[arg-type]
            await client.list_tools()
            results = list(await asyncio.gather(*(client.call_tool("get_item", {"n": n}) for n in range(24))))
            results.append(await client.call_tool("get_item", {"n": "x"}))
            results.append(await client.call_tool("fail", {"message": "m"}))
            results.append(await client.list_tools())
    return [r.model_dump() for r in results], log.read_text()


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_sdk_client_gets_the_same_answers(tmp_path: Path, upstream: Upstream, mode: str) -> None:
    manifest = write_manifest(tmp_path, upstream)
    lean, lean_log = await _sdk_client_results(manifest, tmp_path, True, mode)
    sdk, sdk_log = await _sdk_client_results(manifest, tmp_path, False, mode)
    assert lean == sdk
    found = LEAN_COUNT.search(lean_log)
    assert found and int(found.group(1)) > 0, lean_log[-2000:]  # most calls came after the SDK took over
    assert not LEAN_COUNT.search(sdk_log)
    assert json.loads(lean[3]["content"][0]["text"])["id"] == 3
    assert lean[24]["is_error"] and lean[25]["is_error"]


def test_the_off_switch_is_read_per_process(tmp_path: Path, upstream: Upstream) -> None:
    """`MCPRT_STDIO_LEAN=0` leaves every request to the SDK (nothing counted), anything else is on."""
    manifest = write_manifest(tmp_path, upstream)
    _, off = exchange(manifest, tmp_path, False, False, [call(1, "get_item", {"n": 1})])
    server = RawStdio(manifest, tmp_path, log_level="debug", MCPRT_STDIO_LEAN="1")
    try:
        opened(server, False)
        server.send(call(1, "get_item", {"n": 1}))
        assert text_of_raw(server.responses({1})[1][0]).startswith("{")
    finally:
        _, on = finish(server)
    assert off is None and on == 1


def text_of_raw(answer: dict[str, Any]) -> str:
    return str(answer["result"]["content"][0]["text"])

