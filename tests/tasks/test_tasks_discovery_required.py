"""A `required` task operation reached through discovery mode's call tool, refused for a client
without the tasks extension: the -32021 error names the operation (the one that needs the extension),
not `call_tool` (found by a later pass: "tool call_tool needs the client capability …").

`mcprt up` in discovery mode proxying the everything fixture, whose `failing_job` declares
`taskSupport: required`; raw 2026-07-28 JSON-RPC over HTTP, as the other tasks tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.everything import command_source, write_manifest
from tests.support.served import UpProcess, child_env, mcprt_http
from tests.tasks.tasks_support import EXTENSION, WITHOUT_TASKS, call, wait_for

pytestmark = pytest.mark.xdist_group("tasks-discovery-required")  # one `mcprt up` per run, not per worker


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    manifest = write_manifest(tmp_path_factory.mktemp("tasks-discovery"), command_source("everything"),
                              server="server:\n  expose: discovery\n")
    with mcprt_http(manifest, "--no-reload", startup_timeout=60, env=child_env(MCPRT_LOG_LEVEL="debug")) as served:
        yield served


def test_a_required_operation_refused_through_call_tool_is_named(up: UpProcess) -> None:
    reply = call(up.url, "call_tool", {"name": "failing_job", "arguments": {}}, capabilities=WITHOUT_TASKS)
    assert reply.status == 400
    error = reply.error
    assert error["code"] == -32021
    assert error["message"].startswith("tool failing_job (called through call_tool) needs the client capability "
                                       f"extensions['{EXTENSION}']"), error["message"]
    assert error["data"]["requiredCapabilities"]["extensions"] == {EXTENSION: {}}


def test_with_the_extension_it_runs_as_a_task(up: UpProcess) -> None:
    created = call(up.url, "call_tool", {"name": "failing_job", "arguments": {}}).result
    assert created["resultType"] == "task", created
    assert wait_for(up.url, created["taskId"])["status"] in ("failed", "completed")


def test_a_task_made_through_call_tool_names_the_operation(up: UpProcess) -> None:
    """Through discovery's call tool, the task was created as `call_tool`'s (its record, its log line: "task
    created tool=call_tool"), the meta-tool that carried the call; a direct call's task names the tool:
    now the operation reached is named, as there."""
    task = call(up.url, "call_tool", {"name": "failing_job", "arguments": {}}).result["taskId"]
    wait_for(up.url, task)
    created = up.wait_log(f"task={task}")
    assert f"task created tool=failing_job task={task}" in up.log(), created
