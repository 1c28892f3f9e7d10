"""Tasks over stdio (2026-07-28 lines written by hand): the same methods, no routing headers, the
stdio parent as the principal."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.support.everything import command_source, write_manifest
from tests.support.raw_stdio import RawStdio
from tests.tasks.tasks_support import MODERN, WITH_TASKS

META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": WITH_TASKS,
        "io.modelcontextprotocol/clientInfo": {"name": "raw-stdio-tasks", "version": "1"}}


def ask(server: RawStdio, request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
    server.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**params, "_meta": META}})
    return server.read_until(request_id)


def test_a_task_over_stdio_from_creation_to_its_result(tmp_path: Path) -> None:
    server = RawStdio(write_manifest(tmp_path, command_source("everything")), tmp_path)
    try:
        created = ask(server, 1, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 1, "label": "io"}})
        task = created["result"]
        assert task["resultType"] == "task", created
        deadline = time.monotonic() + 60
        request_id = 2
        while True:
            got = ask(server, request_id, "tasks/get", {"taskId": task["taskId"]})["result"]
            if got["status"] == "completed":
                break
            assert got["status"] == "working" and time.monotonic() < deadline, got
            request_id += 1
            time.sleep(0.05)
        assert got["result"]["content"] == [{"type": "text", "text": "computed io after 1s"}]
        unknown = ask(server, request_id + 1, "tasks/cancel", {"taskId": "nope"})
        assert unknown["error"]["code"] == -32602
    finally:
        server.close()
