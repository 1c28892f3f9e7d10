"""The tasks extension (SEP-2663) through `mcprt up` proxying the everything fixture, raw 2026-07-28
JSON-RPC over HTTP: one test per MUST the conformance suite's `tasks-*` scenarios check (and the ones
it cannot check, such as cancellation reaching the upstream).

The fixture's tasks tools (tests/support/everything_server.py) declare their `execution.taskSupport`
the handshake-era way; mcprt takes it over: `greet` sync only, `slow_compute` and `multi_input`
optional, `failing_job`, `protocol_error_job`, `confirm_delete` and `test_tool_with_task` required.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.everything import CANCEL_FILE_ENV, command_source, write_manifest
from tests.support.served import UpProcess, child_env, mcprt_http
from tests.tasks.tasks_support import (
    EXTENSION,
    WITHOUT_TASKS,
    call,
    get,
    rpc,
    wait_for,
)

pytestmark = pytest.mark.xdist_group("tasks-proxied")  # its `mcprt up` once per run, not once per worker

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
ACK_FORBIDDEN = ("taskId", "status", "result", "error", "inputRequests")


@pytest.fixture(scope="module")
def cancel_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tasks-cancel") / "cancelled.txt"


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory, cancel_file: Path) -> Iterator[UpProcess]:
    manifest = write_manifest(tmp_path_factory.mktemp("tasks"), command_source("everything", extra=CANCEL_FILE_ENV))
    with mcprt_http(manifest, "--no-reload", env=child_env(FIXTURE_CANCEL_FILE=str(cancel_file)),
                    startup_timeout=60) as served:
        yield served


def created(up: UpProcess, name: str, arguments: dict | None = None) -> dict:
    result = call(up.url, name, arguments).result
    assert result["resultType"] == "task", result
    return result


# --- negotiation -------------------------------------------------------------------------------------


def test_discover_advertises_the_extension_and_no_v1_tasks_capability(up: UpProcess) -> None:
    capabilities = rpc(up.url, "server/discover", {}).result["capabilities"]
    assert capabilities["extensions"] == {EXTENSION: {}}
    assert "tasks" not in capabilities


def test_tasks_methods_need_the_extension_on_the_request(up: UpProcess) -> None:
    for method, params in (("tasks/get", {"taskId": "gate-test"}),
                           ("tasks/update", {"taskId": "gate-test", "inputResponses": {}}),
                           ("tasks/cancel", {"taskId": "gate-test"})):
        reply = rpc(up.url, method, params, capabilities=WITHOUT_TASKS)
        assert reply.error["code"] == -32021, (method, reply.message)
        assert reply.error["data"] == {"requiredCapabilities": {"extensions": {EXTENSION: {}}}}


def test_without_the_extension_a_task_supporting_tool_answers_directly(up: UpProcess) -> None:
    result = call(up.url, "slow_compute", {"seconds": 1, "label": "no-ext"}, capabilities=WITHOUT_TASKS).result
    assert result["resultType"] == "complete" and "taskId" not in result
    assert result["content"][0]["text"] == "computed no-ext after 1s"


def test_a_required_task_tool_without_the_extension_is_refused_with_32021(up: UpProcess) -> None:
    reply = call(up.url, "failing_job", capabilities=WITHOUT_TASKS)
    assert reply.status == 400
    assert reply.error["code"] == -32021
    assert reply.error["data"]["requiredCapabilities"]["extensions"] == {EXTENSION: {}}


def test_the_per_request_capability_opts_one_call_in(up: UpProcess) -> None:
    """SEP-2575: capabilities are per request, so one call may declare the extension and the next not."""
    task = created(up, "slow_compute", {"seconds": 1, "label": "opt-in"})
    assert "task" not in task  # flat, no v1 `task` wrapper
    assert wait_for(up.url, task["taskId"])["status"] == "completed"


# --- creation and polling ---------------------------------------------------------------------------


def test_a_sync_tool_answers_a_plain_result_even_with_the_legacy_task_param(up: UpProcess) -> None:
    for params in ({"name": "greet", "arguments": {"name": "World"}},
                   {"name": "greet", "arguments": {"name": "World"}, "task": {"ttl": 60000, "pollInterval": 100}}):
        result = rpc(up.url, "tools/call", params).result
        assert result["resultType"] == "complete" and "taskId" not in result
        assert result["content"] == [{"type": "text", "text": "Hello, World!"}]


def test_create_task_result_is_flat_with_the_renamed_fields(up: UpProcess) -> None:
    task = created(up, "slow_compute", {"seconds": 2, "label": "shape"})
    assert task["status"] == "working"
    assert ISO.match(task["createdAt"]) and ISO.match(task["lastUpdatedAt"])
    assert type(task["ttlMs"]) is int and task["ttlMs"] > 0
    assert type(task["pollIntervalMs"]) is int and task["pollIntervalMs"] > 0
    for absent in ("task", "result", "error", "inputRequests", "requestState", "ttl", "pollInterval"):
        assert absent not in task, absent
    assert len(task["taskId"]) >= 32  # unguessable: 256 random bits
    # durably created: the very next tasks/get finds it
    working = get(up.url, task["taskId"]).result
    assert working["taskId"] == task["taskId"] and working["status"] == "working"
    assert working["resultType"] == "complete"
    for absent in ("result", "error", "requestState"):
        assert absent not in working


def test_a_completed_task_inlines_the_tool_result_once(up: UpProcess) -> None:
    task = created(up, "slow_compute", {"seconds": 1, "label": "inline"})
    done = wait_for(up.url, task["taskId"])
    assert done["status"] == "completed" and done["resultType"] == "complete"
    assert done["result"]["content"] == [{"type": "text", "text": "computed inline after 1s"}]
    assert "io.modelcontextprotocol/related-task" not in (done["result"].get("_meta") or {})
    assert "resultType" not in done["result"]
    time.sleep(0.5)  # still there well inside its TTL
    assert get(up.url, task["taskId"]).result["status"] == "completed"


def test_a_tool_error_completes_with_is_error(up: UpProcess) -> None:
    done = wait_for(up.url, created(up, "failing_job")["taskId"])
    assert done["status"] == "completed"
    assert done["result"]["isError"] is True
    assert done["result"]["content"][0]["text"] == "the job failed: no such input"


def test_a_protocol_error_fails_with_the_json_rpc_error(up: UpProcess) -> None:
    done = wait_for(up.url, created(up, "protocol_error_job")["taskId"])
    assert done["status"] == "failed"
    assert done["error"] == {"code": -32603, "message": "the job crashed"}
    assert "result" not in done
    assert done["statusMessage"] == "the job crashed"


def test_a_fast_call_of_a_task_supporting_tool_answers_directly(up: UpProcess) -> None:
    result = call(up.url, "slow_compute", {"seconds": 0, "label": "instant"}).result
    assert result["resultType"] == "complete"
    assert result["content"][0]["text"] == "computed instant after 0s"


# --- errors ------------------------------------------------------------------------------------------


def test_an_unknown_task_id_answers_32602_on_every_method(up: UpProcess) -> None:
    for method, params in (("tasks/get", {"taskId": "tasks-conformance-nonexistent-12345"}),
                           ("tasks/update", {"taskId": "nope", "inputResponses": {}}),
                           ("tasks/cancel", {"taskId": "nope"})):
        reply = rpc(up.url, method, params)
        assert reply.error["code"] == -32602, (method, reply.message)


def test_a_missing_or_malformed_task_id_is_named(up: UpProcess) -> None:
    """Found by a new-user trial: `tasks/get` without `taskId` answered -32602 "Invalid request parameters", no data."""
    for method, params in (("tasks/get", {}), ("tasks/cancel", {"taskId": 7}), ("tasks/update", {"taskId": ""})):
        reply = rpc(up.url, method, params)
        assert reply.error["code"] == -32602, (method, reply.message)
        assert f"{method}: params.taskId" in reply.error["message"], reply.error


def test_the_removed_v1_methods_are_not_found(up: UpProcess) -> None:
    assert rpc(up.url, "tasks/result", {"taskId": "a"}).error["code"] == -32601
    assert rpc(up.url, "tasks/list", {}).error["code"] == -32601


def test_mcp_name_must_repeat_the_task_id(up: UpProcess) -> None:
    task = created(up, "slow_compute", {"seconds": 60, "label": "headers"})
    try:
        matched = get(up.url, task["taskId"], headers={"Mcp-Method": "tasks/get", "Mcp-Name": task["taskId"]})
        assert matched.result["taskId"] == task["taskId"]
        for wrong in ("sep-2663-wrong-task-id", ""):
            reply = get(up.url, task["taskId"], headers={"Mcp-Name": wrong})
            assert reply.status == 400 and reply.error["code"] == -32020, reply.message
        mismatched_method = call(up.url, "greet", {"name": "x"}, headers={"Mcp-Method": "tasks/get"})
        assert mismatched_method.error["code"] == -32020
    finally:
        rpc(up.url, "tasks/cancel", {"taskId": task["taskId"]})


# --- cancellation ------------------------------------------------------------------------------------


def test_cancel_acks_empty_and_really_cancels_the_upstream_call(up: UpProcess, cancel_file: Path) -> None:
    task = created(up, "slow_compute", {"seconds": 60, "label": "cancel-me"})
    ack = rpc(up.url, "tasks/cancel", {"taskId": task["taskId"]}).result
    assert ack["resultType"] == "complete"
    assert not [field for field in ACK_FORBIDDEN if field in ack]
    assert wait_for(up.url, task["taskId"])["status"] == "cancelled"
    deadline = time.monotonic() + 30
    while "slow_compute cancel-me cancelled" not in (cancel_file.read_text() if cancel_file.exists() else ""):
        assert time.monotonic() < deadline, "the upstream call was not cancelled"
        time.sleep(0.05)
    line = next(line for line in up.wait_log(f"task={task['taskId']}").splitlines() if task["taskId"] in line)
    assert "tool=slow_compute source=everything status=cancelled" in line  # its one call line, with the task id


def test_cancel_of_an_ended_task_is_the_same_ack(up: UpProcess) -> None:
    task = created(up, "slow_compute", {"seconds": 1, "label": "ended"})
    assert wait_for(up.url, task["taskId"])["status"] == "completed"
    ack = rpc(up.url, "tasks/cancel", {"taskId": task["taskId"]}).result
    assert ack["resultType"] == "complete" and not [f for f in ACK_FORBIDDEN if f in ack]
    assert get(up.url, task["taskId"]).result["status"] == "completed"


# --- input while a task runs --------------------------------------------------------------------------


def test_a_question_parks_the_task_and_tasks_update_resumes_it(up: UpProcess) -> None:
    task = created(up, "confirm_delete", {"filename": "notes.txt"})
    parked = wait_for(up.url, task["taskId"], ("input_required",))
    assert parked["status"] == "input_required" and "requestState" not in parked
    [(key, request)] = parked["inputRequests"].items()
    assert request["method"] == "elicitation/create" and request["params"]["message"] == "Delete notes.txt?"
    ignored = rpc(up.url, "tasks/update", {"taskId": task["taskId"], "inputResponses": {"unknown-key": {}}}).result
    assert ignored["resultType"] == "complete"
    assert get(up.url, task["taskId"]).result["inputRequests"] == {key: request}  # still waiting
    ack = rpc(up.url, "tasks/update", {"taskId": task["taskId"], "inputResponses": {
        key: {"action": "accept", "content": {"confirm": True}}}}).result
    assert ack["resultType"] == "complete" and not [f for f in ACK_FORBIDDEN if f in ack]
    done = wait_for(up.url, task["taskId"])
    assert done["status"] == "completed" and done["result"]["content"][0]["text"] == "deleted notes.txt"


def test_questions_asked_together_may_be_answered_one_at_a_time(up: UpProcess) -> None:
    task = created(up, "multi_input")
    deadline = time.monotonic() + 30
    while True:
        parked = get(up.url, task["taskId"]).result
        if parked["status"] == "input_required" and len(parked["inputRequests"]) == 2:
            break
        assert time.monotonic() < deadline, parked
        time.sleep(0.05)
    first, second = parked["inputRequests"]
    rpc(up.url, "tasks/update", {"taskId": task["taskId"], "inputResponses": {
        first: {"action": "accept", "content": {"name": "one"}}}})
    after = get(up.url, task["taskId"]).result
    assert after["status"] == "input_required" and list(after["inputRequests"]) == [second]
    rpc(up.url, "tasks/update", {"taskId": task["taskId"], "inputResponses": {
        second: {"action": "accept", "content": {"name": "two"}}}})
    done = wait_for(up.url, task["taskId"])
    assert done["status"] == "completed"
    assert '"name": "one"' in done["result"]["content"][0]["text"]
    assert '"name": "two"' in done["result"]["content"][0]["text"]


def test_questions_before_the_task_are_rounds_then_the_call_becomes_a_task(up: UpProcess) -> None:
    """SEP-2663 "Composition with Multi Round-Trip Requests": round 1 is an InputRequiredResult (no
    taskId), round 2 a CreateTaskResult (no requestState), and the task's result has the answer."""
    first = call(up.url, "test_tool_with_task").result
    assert first["resultType"] == "input_required" and "taskId" not in first
    [key] = first["inputRequests"]
    second = rpc(up.url, "tools/call", {
        "name": "test_tool_with_task", "arguments": {}, "requestState": first["requestState"],
        "inputResponses": {key: {"action": "accept", "content": {"name": "Alice"}}}}).result
    assert second["resultType"] == "task" and second["taskId"]
    assert "requestState" not in second and "inputRequests" not in second
    done = wait_for(up.url, second["taskId"])
    assert done["status"] == "completed" and done["result"]["content"][0]["text"] == "Hello, Alice!"


def test_the_server_keeps_serving_while_tasks_run(up: UpProcess) -> None:
    tasks = [created(up, "slow_compute", {"seconds": 3, "label": f"many-{n}"})["taskId"] for n in range(5)]
    assert call(up.url, "greet", {"name": "meanwhile"}).result["content"][0]["text"] == "Hello, meanwhile!"
    assert all(wait_for(up.url, task)["status"] == "completed" for task in tasks)


def test_handshake_era_clients_see_no_tasks_and_are_served_directly(up: UpProcess) -> None:
    """The extension is defined from 2026-07-28 on, and mcprt offers no 2025-11-25 experimental tasks:
    a handshake-era session gets no `tasks` capability, no tasks methods, and direct answers."""
    import httpx

    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    init = httpx.post(up.url, headers=headers, timeout=60, json={
        "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "clientInfo": {"name": "old", "version": "1"},
            "capabilities": {"extensions": {EXTENSION: {}}, "tasks": {}}}})
    capabilities = init.json()["result"]["capabilities"]
    assert "tasks" not in capabilities and EXTENSION not in (capabilities.get("extensions") or {})
    session = {**headers, "mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
    httpx.post(up.url, headers=session, timeout=60, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    got = httpx.post(up.url, headers=session, timeout=60, json={
        "jsonrpc": "2.0", "id": 2, "method": "tasks/get", "params": {"taskId": "x"}}).json()
    assert got["error"]["code"] == -32601
    answered = httpx.post(up.url, headers=session, timeout=60, json={
        "jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "slow_compute", "arguments": {"seconds": 1, "label": "old"}, "task": {"ttl": 60000}}})
    text = answered.text
    message = json.loads(text[text.index("{"):text.rindex("}") + 1]) if "data:" in text else answered.json()
    assert message["result"]["content"] == [{"type": "text", "text": "computed old after 1s"}]
    assert "task" not in message["result"]


def test_task_status_notifications_need_the_extension_and_none_are_promised(up: UpProcess) -> None:
    """SEP-2663: asking `subscriptions/listen` for `taskIds` without the extension is -32021; with it, the
    acknowledgement names the task ids the server will notify about: none (mcprt's tasks are polled)."""
    import httpx

    asked = {"notifications": {"taskIds": ["some-task"], "toolsListChanged": True}}
    refused = rpc(up.url, "subscriptions/listen", asked, capabilities=WITHOUT_TASKS).error
    assert refused["code"] == -32021
    assert refused["data"] == {"requiredCapabilities": {"extensions": {EXTENSION: {}}}}
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {"extensions": {EXTENSION: {}}}}
    body = {"jsonrpc": "2.0", "id": 5, "method": "subscriptions/listen", "params": {**asked, "_meta": meta}}
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream",
               "mcp-protocol-version": "2026-07-28", "mcp-method": "subscriptions/listen"}
    with httpx.stream("POST", up.url, json=body, headers=headers, timeout=60) as response:
        first = next(json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:"))
    assert first["method"] == "notifications/subscriptions/acknowledged"
    assert first["params"]["notifications"] == {"toolsListChanged": True}
