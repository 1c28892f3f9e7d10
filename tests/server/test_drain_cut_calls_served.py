"""A call still running when SIGTERM's drain runs out gets an answer: a real `mcprt up`, a slow
upstream, the SDK client over streamable HTTP in both protocol eras, with JSON and SSE responses.

Found by an operator trial: a slow upstream call that outlived `server.http.drain_timeout` ended
with uvicorn's HTTP 500 (the connection cut by the shutdown), which no client can act on. It now
ends with a tool error saying the server is restarting and to call again; the process exits 0."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.served import child_env, http_client, mcprt_http, text_of
from tests.support.upstream import serve_app

TOKEN = "drain-token-8c1f3a"
SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Slow", "version": "1"},
    "paths": {"/slow/{n}": {"get": {"operationId": "slow",
                                    "parameters": [{"name": "n", "in": "path", "required": True,
                                                    "schema": {"type": "integer"}}],
                                    "responses": {"200": {"description": "ok"}}}}},
}


class Upstream:
    """Counts arrivals; each call waits until released (or 60 s), far past the drain."""

    def __init__(self) -> None:
        self.arrived = 0
        self.lock = threading.Lock()
        self.release = threading.Event()

    def app(self) -> Starlette:
        async def slow(request: Request) -> JSONResponse:
            with self.lock:
                self.arrived += 1
            deadline = time.monotonic() + 60
            while not self.release.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return JSONResponse({"n": request.path_params["n"]})

        return Starlette(routes=[Route("/slow/{n:int}", slow)])


@pytest.fixture
def upstream() -> Iterator[tuple[Upstream, str]]:
    state = Upstream()
    with serve_app(state.app()) as base:
        try:
            yield state, base
        finally:
            state.release.set()


# A sync Python tool: its thread cannot be interrupted, and it sleeps far past the drain
NAP = """import pathlib
import time


def nap(seconds: float) -> str:
    \"\"\"Sleep for a while.\"\"\"
    pathlib.Path("napping").touch()
    time.sleep(seconds)
    return "rested"
"""


def write_manifest(folder: Path, base: str) -> Path:
    (folder / "slow.json").write_text(json.dumps(SPEC))
    (folder / "naps.py").write_text(NAP)
    manifest = folder / "mcp.yaml"
    manifest.write_text(f"""version: 1
server:
  name: drain
  http: {{drain_timeout: 1s}}
  auth: {{tokens: {{alice: "${{ALICE_TOKEN}}"}}}}
  observability: {{audit: audit.jsonl}}
sources:
  naps:
    python: naps
  slow:
    openapi: ./slow.json
    base_url: {base}
    tools:
      slow: {{timeout: 120s}}
""")
    return manifest


async def _noted(progress: float, total: float | None, message: str | None) -> None:
    """A progress callback: its token makes the handshake-era call an SSE response."""


async def test_calls_cut_by_the_end_of_the_drain_are_told_the_server_is_restarting(
        upstream: tuple[Upstream, str], tmp_path: Path) -> None:
    state, base = upstream
    manifest = write_manifest(tmp_path, base)
    # the nap's thread gets 1 s after the stop (MCPRT_SYNC_CALLS_STOP_TIMEOUT), not the default 5 s
    with mcprt_http(manifest, "--no-reload", env=child_env(ALICE_TOKEN=TOKEN, MCPRT_SYNC_CALLS_STOP_TIMEOUT="1")) as up:
        async with http_client(up.url, token=TOKEN) as legacy, \
                http_client(up.url, token=TOKEN, mode="auto") as modern:
            calls = {
                "handshake era, JSON": legacy.call_tool("slow", {"n": 1}),
                "handshake era, SSE": legacy.call_tool("slow", {"n": 2}, progress_callback=_noted),
                "2026-07-28, JSON": modern.call_tool("slow", {"n": 3}),
                "2026-07-28, with a progress token": modern.call_tool("slow", {"n": 4}, progress_callback=_noted),
            }
            running = {name: asyncio.ensure_future(call) for name, call in calls.items()}
            running["a sync Python tool"] = asyncio.ensure_future(legacy.call_tool("nap", {"seconds": 30}))
            deadline = time.monotonic() + 60
            # every call is waiting at the upstream, and the nap is asleep
            while state.arrived < len(calls) or not (tmp_path / "napping").exists():
                assert time.monotonic() < deadline, (state.arrived, up.log())
                failed = [name for name, task in running.items() if task.done()]
                assert not failed, (failed, [running[n].result() for n in failed], up.log())
                await asyncio.sleep(0.05)
            up.signal(signal.SIGTERM)
            signalled = time.monotonic()
            results = {}
            for name, task in running.items():
                results[name] = await asyncio.wait_for(task, 60)  # an HTTP 500 would raise here
        exit_code = await asyncio.to_thread(up.process.wait, 60)
    # The nap's thread outlives the stop: the process waited for it silently, 30 s past SIGTERM (the
    # interpreter joins its worker threads), where README promises at most MCPRT_SYNC_CALLS_STOP_TIMEOUT (1 s
    # here) more and a named warning.
    assert time.monotonic() - signalled < 1 + 1 + 3, up.log()
    assert "tool calls did not stop in time; left running tools=nap" in up.log()
    assert "within_s=1" in up.log_since(0).split("left running tools=nap", 1)[1].splitlines()[0], up.log()
    for name, result in results.items():
        text = text_of(result)
        tool = "nap" if name == "a sync Python tool" else "slow"
        assert result.is_error, (name, text)
        assert f"mcprt is restarting: the call to {tool} was stopped" in text, (name, text)
        assert "Call again in a few seconds" in text and "may or may not have acted" in text, (name, text)
    assert exit_code == 0, up.log()
    # Every request in flight is answered (server/stop_answers.py), so the line counts requests, not
    # calls: it said "ending the calls in flight … calls_ended=N" before 2026-11-30.
    assert "drain timed out; ending the requests in flight" in up.log()
    ended = re.search(r"requests_ended=(\d+)", up.log())
    assert ended is not None and int(ended.group(1)) >= len(calls), up.log()
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    cut = [r for r in records if r["type"] == "call"]
    assert sorted((r["tool"], r["outcome"]) for r in cut) == [("nap", "cancelled")] + [("slow", "cancelled")] * 4
    # the model received the message: it is counted as sent, as every answer is
    assert all(r["bytes_sent"] > 0 and "restarting" in r["error"] for r in cut), cut


async def test_a_second_sigterm_answers_the_calls_in_flight_then_exits_143(
        upstream: tuple[Upstream, str], tmp_path: Path) -> None:
    """A second SIGTERM during the drain ended the process at once (143): the calls in flight got no
    answer at all (a dropped connection), and the line saying so was at INFO. Each is now answered
    ("mcprt is restarting …", a tool error), the line is a warning, and the exit code stays 143."""
    state, base = upstream
    manifest = write_manifest(tmp_path, base)
    manifest.write_text(manifest.read_text().replace("drain_timeout: 1s", "drain_timeout: 60s"))
    with mcprt_http(manifest, "--no-reload", env=child_env(ALICE_TOKEN=TOKEN)) as up:
        async with http_client(up.url, token=TOKEN) as legacy, \
                http_client(up.url, token=TOKEN, mode="auto") as modern:
            running = [asyncio.ensure_future(legacy.call_tool("slow", {"n": 1}, progress_callback=_noted)),
                       asyncio.ensure_future(modern.call_tool("slow", {"n": 2}))]
            deadline = time.monotonic() + 60
            while state.arrived < len(running):
                assert time.monotonic() < deadline and not any(t.done() for t in running), up.log()
                await asyncio.sleep(0.05)
            up.signal(signal.SIGTERM)
            await asyncio.to_thread(up.wait_log, "draining")
            up.signal(signal.SIGTERM)
            results = [await asyncio.wait_for(task, 30) for task in running]  # a dropped connection raises
        exit_code = await asyncio.to_thread(up.process.wait, 30)
    assert exit_code == 143, up.log()
    for result in results:
        assert result.is_error and "mcprt is restarting: the call to slow was stopped" in text_of(result), result
    assert re.search(r"WARNING .*second stop signal: exiting without finishing the drain.* requests_ended=2 "
                     r"exit_code=143", up.log()), up.log()
