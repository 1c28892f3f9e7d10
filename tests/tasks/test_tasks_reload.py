"""`server.tasks` follows hot reload, and discovery's call tool runs a task-supporting operation as a
task (raw 2026-07-28 JSON-RPC against a real `mcprt up` proxying the everything fixture over stdio).

One `mcprt up` (hot reload on) serves `test_slow` as `optional`; the test edits `server.tasks` in the
manifest while a task runs. A second one serves the same tools behind `server.expose: discovery`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.everything import SERVER
from tests.support.served import UpProcess, child_env, mcprt_http
from tests.support.zygote import script_command_yaml
from tests.tasks.tasks_support import WITHOUT_TASKS, call, get, wait_for


def manifest_text(tasks: str, *, discovery: bool = False) -> str:
    return "\n".join([
        "version: 1",
        "server:",
        f"  tasks: {tasks}",
        *(["  expose: discovery"] if discovery else []),
        "sources:",
        "  everything:",
        f'    command: {script_command_yaml(SERVER, "--features", "tools,rounds")}',
        "    env: {FIXTURE_CANCEL_FILE: \"${FIXTURE_CANCEL_FILE:-cancelled.txt}\"}",
        "    tools:",
        "      test_slow: {task_support: optional}",
        "      slow_compute: {task_support: forbidden}",
        "",
    ])


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "mcp.yaml"
    path.write_text(manifest_text("{ttl: 40s, poll_interval: 250ms, max_per_principal: 1, answer_within: 2s}"))
    return path


@pytest.fixture
def up(manifest: Path) -> Iterator[UpProcess]:
    with mcprt_http(manifest, env=child_env(FIXTURE_CANCEL_FILE="cancelled.txt"), startup_timeout=60) as served:
        yield served


def _reloads(up: UpProcess) -> int:
    return up.log().count("reload applied")


def _edit(up: UpProcess, manifest: Path, text: str) -> None:
    """Save `text` and wait until the running server applied it."""
    before = _reloads(up)
    manifest.write_text(text)
    deadline = time.monotonic() + 60
    while _reloads(up) <= before:
        assert time.monotonic() < deadline and up.process.poll() is None, f"no reload applied:\n{up.log()}"
        time.sleep(0.05)


def test_task_limits_follow_a_manifest_edit_and_running_tasks_keep_theirs(up: UpProcess, manifest: Path) -> None:
    # answer_within 2 s: a 0.5 s call is answered directly (a call costs well under 0.5 s more, loaded)
    quick = call(up.url, "test_slow", {"seconds": 0.5}).result
    assert quick["resultType"] == "complete"
    first = call(up.url, "test_slow", {"seconds": 8}).result
    assert first["resultType"] == "task"
    # 8 s > answer_within (2 s): it became a task with the limits it started with
    assert (first["ttlMs"], first["pollIntervalMs"]) == (40_000, 250)
    # max_per_principal 1: a second long call (3.5 s > answer_within) is answered directly
    assert call(up.url, "test_slow", {"seconds": 3.5}).result["resultType"] == "complete"

    _edit(up, manifest, manifest_text("{ttl: 30s, poll_interval: 400ms, max_per_principal: 3, answer_within: 0s}"))
    assert "only after a restart" not in up.log()  # tasks are no restart-only setting
    # answer_within 0: every call of a task-supporting tool is a task at once, with the new TTL and interval
    second = call(up.url, "test_slow", {"seconds": 1}).result
    assert second["resultType"] == "task", second
    assert (second["ttlMs"], second["pollIntervalMs"]) == (30_000, 400)
    # max_per_principal 3: room for the second task beside the first
    # the task created before the edit keeps the TTL and poll interval its client was told
    kept = get(up.url, first["taskId"]).result
    assert (kept["ttlMs"], kept["pollIntervalMs"]) == (40_000, 250)
    assert wait_for(up.url, second["taskId"])["result"]["content"][0]["text"] == "slept"
    assert wait_for(up.url, first["taskId"])["status"] == "completed"


@pytest.fixture
def discovery(tmp_path: Path) -> Iterator[UpProcess]:
    path = tmp_path / "mcp.yaml"
    path.write_text(manifest_text("{answer_within: 300ms, poll_interval: 250ms}", discovery=True))
    with mcprt_http(path, "--no-reload", startup_timeout=60) as served:
        yield served


def test_discoverys_call_tool_runs_a_task_supporting_operation_as_a_task(discovery: UpProcess) -> None:
    created = call(discovery.url, "call_tool", {"name": "test_slow", "arguments": {"seconds": 2}}).result
    assert created["resultType"] == "task", created
    done = wait_for(discovery.url, created["taskId"])
    assert done["status"] == "completed" and done["result"]["content"][0]["text"] == "slept"
    # without the extension on the request, the same call is answered directly
    direct = call(discovery.url, "call_tool", {"name": "test_slow", "arguments": {"seconds": 1}},
                  capabilities=WITHOUT_TASKS).result
    assert direct["resultType"] == "complete" and direct["content"][0]["text"] == "slept"
    # an operation whose tasks the manifest forbids is answered directly however long it runs
    forbidden = call(discovery.url, "call_tool", {"name": "slow_compute", "arguments": {"seconds": 1, "label": "x"}})
    assert forbidden.result["resultType"] == "complete", forbidden.result
    assert forbidden.result["content"][0]["text"] == "computed x after 1s"
