"""A raw 2026-07-28 JSON-RPC client for the tasks extension (httpx, no SDK in between), and manifests
proxying the everything fixture whose tasks fixtures (`tests/support/everything_server.py`) the
conformance suite's tasks scenarios call."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

MODERN = "2026-07-28"
EXTENSION = "io.modelcontextprotocol/tasks"
WITH_TASKS = {"elicitation": {}, "sampling": {}, "roots": {}, "extensions": {EXTENSION: {}}}
WITHOUT_TASKS = {"elicitation": {}, "sampling": {}, "roots": {}}
TERMINAL = ("completed", "failed", "cancelled")
NAMED = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri",
         "tasks/get": "taskId", "tasks/update": "taskId", "tasks/cancel": "taskId"}


@dataclass
class Reply:
    status: int  # HTTP status
    message: dict[str, Any]  # the JSON-RPC response

    @property
    def result(self) -> dict[str, Any]:
        assert self.status == 200 and "result" in self.message, (self.status, self.message)
        return self.message["result"]

    @property
    def error(self) -> dict[str, Any]:
        assert "error" in self.message, (self.status, self.message)
        return self.message["error"]


def rpc(url: str, method: str, params: dict[str, Any], *, capabilities: dict[str, Any] | None = None,
        token: str | None = None, headers: dict[str, str] | None = None, request_id: int = 1,
        timeout: float = 60) -> Reply:
    """One 2026-07-28 request with the routing headers a client sends (`Mcp-Name` repeats the name,
    URI or task id); `headers` adds or replaces some."""
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientInfo": {"name": "raw-tasks", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": WITH_TASKS if capabilities is None else capabilities}
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**params, "_meta": meta}}
    sent = {"content-type": "application/json", "accept": "application/json, text/event-stream",
            "mcp-protocol-version": MODERN, "mcp-method": method}
    key = NAMED.get(method)
    if key is not None and key in params:
        sent["mcp-name"] = str(params[key])
    if token is not None:
        sent["authorization"] = f"Bearer {token}"
    sent.update({k.lower(): v for k, v in (headers or {}).items()})
    response = httpx.post(url, json=body, headers=sent, timeout=timeout)
    text = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        messages = [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:") and line[5:].strip()]
        message = next(m for m in messages if "id" in m and ("result" in m or "error" in m))
    else:
        message = json.loads(text)
    return Reply(response.status_code, message)


def call(url: str, name: str, arguments: dict[str, Any] | None = None, **kwargs: Any) -> Reply:
    return rpc(url, "tools/call", {"name": name, "arguments": arguments or {}}, **kwargs)


def get(url: str, task_id: str, **kwargs: Any) -> Reply:
    return rpc(url, "tasks/get", {"taskId": task_id}, **kwargs)


def wait_for(url: str, task_id: str, statuses: tuple[str, ...] = TERMINAL, *, timeout: float = 60,
             **kwargs: Any) -> dict[str, Any]:
    """Poll `tasks/get` until the task has one of `statuses` (timeout only bounds a hang)."""
    deadline = time.monotonic() + timeout
    while True:
        task = get(url, task_id, **kwargs).result
        if task["status"] in statuses:
            return task
        assert time.monotonic() < deadline, f"task stayed {task['status']}: {task}"
        time.sleep(0.05)
