"""Tasks under a manifest's settings: principals, limits, TTL, audit, `task_support` overrides and an
OpenAPI tool against a real slow HTTP upstream on 127.0.0.1 (raw 2026-07-28 JSON-RPC, `mcprt up`).

One `mcprt up` serves the everything fixture (stdio) and a slow reports API, with three named tokens,
`server.tasks: {ttl: 4s, max_per_principal: 2}` and an audit log. `test_slow` (which declares no task
support) is made `optional` by an override, `slow_compute` (which declares `optional`) is made
`forbidden`, and the reports API's source defaults its tools to `optional`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.cli import mcprt_cli
from tests.support.everything import SERVER
from tests.support.served import UpProcess, child_env, mcprt_http
from tests.support.upstream import serve_app
from tests.support.zygote import script_command_yaml
from tests.tasks.tasks_support import EXTENSION, call, get, rpc, wait_for

pytestmark = pytest.mark.xdist_group("tasks-governed")  # its `mcprt up` once per run, not once per worker

TOKENS = {"alice": "alice-secret-token-0123456789", "bob": "bob-secret-token-0123456789",
          "carol": "carol-secret-token-0123456789"}
TTL = 4.0
SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Reports", "version": "1"},
    "paths": {"/reports": {"get": {
        "operationId": "build_report",
        "summary": "Build a report (slow).",
        "parameters": [{"name": "seconds", "in": "query", "required": True, "schema": {"type": "number"}},
                       {"name": "label", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "The report.", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"label": {"type": "string"}, "rows": {"type": "integer"}}}}}}},
    }}},
}


class Reports:
    """A slow HTTP upstream: GET /reports sleeps `seconds`, noting requests that end before it answers."""

    def __init__(self) -> None:
        self.abandoned: list[str] = []
        self.started = threading.Event()

    def app(self) -> Starlette:
        async def build(request: Request) -> JSONResponse:
            self.started.set()
            label = request.query_params.get("label", "")
            deadline = time.monotonic() + float(request.query_params["seconds"])
            while time.monotonic() < deadline:
                if await request.is_disconnected():
                    self.abandoned.append(label)
                    return JSONResponse({"label": label, "rows": 0})
                await asyncio.sleep(0.05)
            return JSONResponse({"label": label, "rows": 42})

        return Starlette(routes=[Route("/reports", build)])


@pytest.fixture(scope="module")
def reports() -> Reports:
    return Reports()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tasks-governed")


def manifest_text(folder: Path, upstream: str) -> str:
    (folder / "reports.json").write_text(json.dumps(SPEC))
    tokens = ", ".join(f'{name}: "${{{name.upper()}_TOKEN}}"' for name in TOKENS)
    return "\n".join([
        "version: 1",
        "server:",
        f"  auth: {{tokens: {{{tokens}}}}}",
        f"  tasks: {{ttl: {TTL:g}s, max_per_principal: 2, poll_interval: 250ms}}",
        "  observability: {audit: audit.jsonl}",
        "sources:",
        "  everything:",
        f'    command: {script_command_yaml(SERVER, "--features", "tools,rounds")}',
        "    env: {FIXTURE_CANCEL_FILE: \"${FIXTURE_CANCEL_FILE}\"}",
        "    tools:",
        "      test_slow: {task_support: optional}",
        "      test_ask_then_wait: {task_support: optional}",
        "      slow_compute: {task_support: forbidden}",
        "  reports:",
        "    openapi: reports.json",
        f"    base_url: {upstream}",
        "    task_support: optional",
        "",
    ])


def settings() -> dict[str, str]:
    """The variables the manifest reads: the principals' tokens and the fixture's cancel file."""
    return {**{f"{name.upper()}_TOKEN": token for name, token in TOKENS.items()}, "FIXTURE_CANCEL_FILE": "cancelled.txt"}


def env() -> dict[str, str]:
    return child_env(**settings())


@pytest.fixture(scope="module")
def upstream(reports: Reports) -> Iterator[str]:
    with serve_app(reports.app()) as url:
        yield url


@pytest.fixture(scope="module")
def up(workdir: Path, upstream: str) -> Iterator[UpProcess]:
    manifest = workdir / "mcp.yaml"
    manifest.write_text(manifest_text(workdir, upstream))
    with mcprt_http(manifest, "--no-reload", env=env(), startup_timeout=60) as served:
        yield served


def as_(name: str) -> dict[str, Any]:
    return {"token": TOKENS[name]}


# --- principals ------------------------------------------------------------------------------------


def test_another_principals_task_is_as_unknown(up: UpProcess) -> None:
    task = call(up.url, "test_slow", {"seconds": 3}, **as_("alice")).result
    assert task["resultType"] == "task"
    unknown = get(up.url, "no-such-task", **as_("bob")).error
    for method, params in (("tasks/get", {"taskId": task["taskId"]}),
                           ("tasks/update", {"taskId": task["taskId"], "inputResponses": {}}),
                           ("tasks/cancel", {"taskId": task["taskId"]})):
        refused = rpc(up.url, method, params, **as_("bob")).error
        assert refused == unknown, (method, refused)
    # bob's cancel did nothing: alice's task runs to its end
    assert wait_for(up.url, task["taskId"], **as_("alice"))["status"] == "completed"


# --- limits and TTL -------------------------------------------------------------------------------


def test_past_the_per_principal_limit_calls_are_answered_directly(up: UpProcess) -> None:
    first = call(up.url, "test_slow", {"seconds": 1}, **as_("carol")).result
    second = call(up.url, "test_slow", {"seconds": 1}, **as_("carol")).result
    assert first["resultType"] == second["resultType"] == "task"
    third = call(up.url, "test_slow", {"seconds": 1}, **as_("carol")).result
    assert third["resultType"] == "complete" and third["content"][0]["text"] == "slept"
    # another principal is not held back by carol's tasks
    assert call(up.url, "test_slow", {"seconds": 1}, **as_("bob")).result["resultType"] == "task"
    up.wait_log("call answered directly, not as a task")


def test_a_task_is_kept_for_its_ttl_then_dropped_and_a_running_one_cancelled(up: UpProcess, workdir: Path) -> None:
    task = call(up.url, "test_slow", {"seconds": 60}, **as_("alice")).result
    assert task["ttlMs"] == int(TTL * 1000) and task["pollIntervalMs"] == 250
    created = time.monotonic()
    assert get(up.url, task["taskId"], **as_("alice")).result["status"] == "working"
    while time.monotonic() - created < TTL + 30:
        reply = get(up.url, task["taskId"], **as_("alice"))
        if "error" in reply.message:
            break
        assert reply.result["status"] in ("working", "cancelled")
        time.sleep(0.2)
    assert time.monotonic() - created >= TTL - 0.5  # never dropped before its TTL
    assert reply.error["code"] == -32602
    marker = workdir / "cancelled.txt"
    deadline = time.monotonic() + 30
    while "cancelled" not in (marker.read_text() if marker.exists() else ""):
        assert time.monotonic() < deadline, "the running call was not cancelled at the TTL"
        time.sleep(0.05)


# --- task_support in the manifest ---------------------------------------------------------------------


def test_an_override_forbids_what_the_upstream_declares(up: UpProcess) -> None:
    result = call(up.url, "slow_compute", {"seconds": 1, "label": "forbidden"}, **as_("bob")).result
    assert result["resultType"] == "complete" and result["content"][0]["text"] == "computed forbidden after 1s"


def test_the_listing_shows_task_support_as_mcp_tool_execution(workdir: Path, upstream: str) -> None:
    """`execution.taskSupport` (MCP's Tool field) as the manifest decides: what `mcprt tools --json`
    prints is the handshake-era tools/list (2026-07-28's Tool has no such field)."""
    listed = mcprt_cli("tools", str(workdir / "mcp.yaml"), "--json", env=settings(), cwd=workdir, timeout=120)
    assert listed.returncode == 0, listed.stderr
    tools = {tool["name"]: tool for tool in json.loads(listed.stdout)["tools"]}
    assert tools["test_slow"]["execution"] == {"taskSupport": "optional"}
    assert "execution" not in tools["slow_compute"]
    assert tools["failing_job"]["execution"] == {"taskSupport": "required"}
    assert tools["build_report"]["execution"] == {"taskSupport": "optional"}
    assert "execution" not in tools["greet"]


def test_the_retry_of_a_round_decides_by_its_own_capabilities(up: UpProcess, workdir: Path) -> None:
    """A round's retry is a request of its own: without the extension it is answered directly even
    though the first request declared it (SEP-2575: capabilities are per request)."""
    outcomes = {}
    for declared in (True, False):
        marker = workdir / f"asked-{declared}.json"
        arguments = {"seconds": 1.5, "marker": str(marker)}
        first = call(up.url, "test_ask_then_wait", arguments, **as_("alice")).result
        assert first["resultType"] == "input_required"  # it asks at once: a round, no task yet
        [key] = first["inputRequests"]
        capabilities = None if declared else {"elicitation": {}}
        retry = rpc(up.url, "tools/call", {
            "name": "test_ask_then_wait", "arguments": arguments, "requestState": first["requestState"],
            "inputResponses": {key: {"action": "accept", "content": {"username": "ada"}}}},
            capabilities=capabilities, **as_("alice")).result
        outcomes[declared] = retry["resultType"]
        if declared:
            assert wait_for(up.url, retry["taskId"], **as_("alice"))["result"]["content"][0]["text"] == "waited"
        else:
            assert retry["content"][0]["text"] == "waited"
    assert outcomes == {True: "task", False: "complete"}


# --- an OpenAPI tool against a slow upstream ------------------------------------------------------------


def test_an_openapi_tool_runs_as_a_task_with_the_same_shaping(up: UpProcess) -> None:
    task = call(up.url, "build_report", {"seconds": 1.5, "label": "q3"}, **as_("alice")).result
    assert task["resultType"] == "task"
    done = wait_for(up.url, task["taskId"], **as_("alice"))
    assert done["status"] == "completed"
    assert done["result"]["isError"] is False
    assert json.loads(done["result"]["content"][0]["text"]) == {"label": "q3", "rows": 42}
    direct = call(up.url, "build_report", {"seconds": 0, "label": "now"}, **as_("alice")).result
    assert direct["resultType"] == "complete"  # fast enough: answered directly


def test_cancelling_an_openapi_task_abandons_the_upstream_request(up: UpProcess, reports: Reports) -> None:
    task = call(up.url, "build_report", {"seconds": 60, "label": "cancel-me"}, **as_("alice")).result
    assert task["resultType"] == "task"
    rpc(up.url, "tasks/cancel", {"taskId": task["taskId"]}, **as_("alice"))
    assert wait_for(up.url, task["taskId"], **as_("alice"))["status"] == "cancelled"
    deadline = time.monotonic() + 30
    while "cancel-me" not in reports.abandoned:
        assert time.monotonic() < deadline, "the upstream request went on"
        time.sleep(0.05)


def test_bad_arguments_complete_the_call_directly_with_a_tool_error(up: UpProcess) -> None:
    result = call(up.url, "build_report", {"label": "no seconds"}, **as_("alice")).result
    assert result["resultType"] == "complete" and result["isError"] is True
    assert "seconds" in result["content"][0]["text"]


# --- observability --------------------------------------------------------------------------------------


def test_one_audit_record_per_task_call_with_its_task_id(up: UpProcess, workdir: Path) -> None:
    task = call(up.url, "build_report", {"seconds": 1, "label": "audited"}, **as_("bob")).result
    assert wait_for(up.url, task["taskId"], **as_("bob"))["status"] == "completed"
    audit = workdir / "audit.jsonl"
    deadline = time.monotonic() + 30
    while True:
        records = [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []
        mine = [r for r in records if r.get("task") == task["taskId"]]
        if mine:
            break
        assert time.monotonic() < deadline, records
        time.sleep(0.05)
    assert len(mine) == 1
    assert mine[0]["principal"] == "bob" and mine[0]["tool"] == "build_report" and mine[0]["outcome"] == "ok"
    assert TOKENS["bob"] not in audit.read_text()


def test_discover_names_the_extension(up: UpProcess) -> None:
    assert EXTENSION in rpc(up.url, "server/discover", {}, **as_("alice")).result["capabilities"]["extensions"]
