"""A real `mcprt up` serving calls that end in each way an operator meets: the per-call log line,
the audit log and `/metrics` name the same outcome for each (found by a new-user trial: the log line
said `status=rejected` for a policy denial and for an upstream timeout, which metrics and the audit
log call `denied` and `upstream_error`), and a call the server stops in flight is still recorded."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.served import child_env, http_client, mcprt_http
from tests.support.upstream import serve_app

TOKEN = "alice-token-5d1e0c9b8a7f6e5d"
CALL_LINE = re.compile(r"\bcall tool=(\S+) source=\S+ status=(\S+) ")

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Pets", "version": "1"},
    "paths": {
        "/pets/{petId}": {
            "get": {"operationId": "getPet",
                    "parameters": [{"name": "petId", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "responses": {"200": {"description": "ok"}}},
            "delete": {"operationId": "deletePet",
                       "parameters": [{"name": "petId", "in": "path", "required": True,
                                       "schema": {"type": "integer"}}],
                       "responses": {"204": {"description": "gone"}}},
        },
        "/stuck": {"get": {"operationId": "stuck", "responses": {"200": {"description": "ok"}}}},
        "/slow": {"get": {"operationId": "slow", "responses": {"200": {"description": "ok"}}}},
    },
}


def pets_app(arrived: threading.Event) -> Starlette:
    async def get_pet(request: Request) -> JSONResponse:
        return JSONResponse({"id": int(request.path_params["pet_id"]), "name": "Rex"})

    async def delete_pet(request: Request) -> JSONResponse:
        raise AssertionError("a denied call must not reach the upstream")

    async def stuck(request: Request) -> JSONResponse:
        arrived.set()
        await asyncio.sleep(10)  # past the tool's 1 s timeout, and past a short drain
        return JSONResponse({})

    return Starlette(routes=[Route("/pets/{pet_id:int}", get_pet), Route("/pets/{pet_id:int}", delete_pet,
                                                                           methods=["DELETE"]),
                             Route("/stuck", stuck), Route("/slow", stuck)])


def write_manifest(folder: Path, base: str, *, extra_http: str = "") -> Path:
    (folder / "pets.json").write_text(json.dumps(SPEC))
    manifest = folder / "mcp.yaml"
    manifest.write_text(f"""version: 1
server:
  name: outcomes
  http: {{{extra_http}}}
  auth: {{tokens: {{alice: "${{ALICE_TOKEN}}"}}}}
  observability: {{audit: audit.jsonl}}
sources:
  pets:
    openapi: ./pets.json
    base_url: {base}
    tools:
      stuck: {{timeout: 1s}}
policy:
  rules:
    - {{match: {{methods: [DELETE]}}, action: deny, reason: "no deleting here"}}
""")
    return manifest


def audit_calls(path: Path, count: int, timeout: float = 30) -> list[dict]:
    """The audit log's call records, once there are `count` of them (the writer is a thread)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        calls = [r for r in map(json.loads, lines) if r["type"] == "call"]
        if len(calls) >= count or time.monotonic() > deadline:
            return calls
        time.sleep(0.05)


def call_counts(base: str) -> dict[tuple[str, str], float]:
    response = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    return {(s.labels["tool"], s.labels["outcome"]): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples
            if s.name == "mcprt_tool_calls_total"}


@pytest.fixture
def arrived() -> threading.Event:
    return threading.Event()


@pytest.fixture
def upstream(arrived: threading.Event) -> Iterator[str]:
    with serve_app(pets_app(arrived)) as base:
        yield base


async def test_the_log_line_names_the_outcome_metrics_and_the_audit_log_name(upstream: str, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, upstream)
    with mcprt_http(manifest, "--no-reload", env=child_env(ALICE_TOKEN=TOKEN)) as up:
        async with http_client(up.url, token=TOKEN) as client:
            assert not (await client.call_tool("getPet", {"petId": 1})).is_error
            assert (await client.call_tool("getPet", {"petId": "one"})).is_error  # refused before the upstream
            denied = await client.call_tool("deletePet", {"petId": 1})
            assert denied.is_error and "no deleting here" in denied.content[0].text
            timed_out = await client.call_tool("stuck", {})
            assert timed_out.is_error and "did not answer within" in timed_out.content[0].text
        calls = audit_calls(tmp_path / "audit.jsonl", 4)
        counts = call_counts(up.base)
        deadline = time.monotonic() + 10
        while len(CALL_LINE.findall(up.log())) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        lines = CALL_LINE.findall(up.log())
    expected = [("getPet", "ok", "200"), ("getPet", "rejected", "rejected"), ("deletePet", "denied", "denied"),
                ("stuck", "timeout", "timeout")]
    assert [(r["tool"], r["outcome"]) for r in calls] == [(tool, outcome) for tool, outcome, _ in expected]
    assert lines == [(tool, status) for tool, _, status in expected]
    for tool, outcome, _ in expected:
        assert counts[(tool, outcome)] >= 1


async def test_a_call_still_running_when_the_drain_ends_is_recorded_as_cancelled(
        upstream: str, arrived: threading.Event, tmp_path: Path) -> None:
    # Found by a new-user trial: a call waiting at a slow upstream (or for an approval) when
    # SIGTERM's drain ran out left no audit record, no log line and no metric, so the numbers
    # disagreed with what the clients saw.
    manifest = write_manifest(tmp_path, upstream, extra_http="drain_timeout: 0.5s")
    with mcprt_http(manifest, "--no-reload", env=child_env(ALICE_TOKEN=TOKEN)) as up:
        async with http_client(up.url, token=TOKEN) as client:
            assert not (await client.call_tool("getPet", {"petId": 2})).is_error
            call = asyncio.ensure_future(client.call_tool("slow", {}))  # the upstream answers after 10 s
            assert await asyncio.to_thread(arrived.wait, 30), up.log()
            up.signal(signal.SIGTERM)
            assert await asyncio.to_thread(up.process.wait, 30) == 0, up.log()
            # the cut call is answered (tests/server/test_drain_cut_calls_served.py covers the answer)
            answer = await asyncio.wait_for(call, 30)
        calls = audit_calls(tmp_path / "audit.jsonl", 2)
    assert [(r["tool"], r["outcome"]) for r in calls] == [("getPet", "ok"), ("slow", "cancelled")]
    assert answer.is_error and calls[1]["error"] == answer.content[0].text and "restarting" in calls[1]["error"]
    assert calls[1]["bytes_sent"] == len(answer.content[0].text.encode())  # the model received it
    assert re.search(r"call tool=slow source=pets status=cancelled ", up.log()), up.log()
