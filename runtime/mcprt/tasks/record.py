"""A task's state and its wire forms (MCP tasks extension, `io.modelcontextprotocol/tasks`, SEP-2663).

A task carries `taskId`, `status` (`working`, `input_required`, `completed`, `failed`, `cancelled`),
`createdAt` / `lastUpdatedAt` (ISO 8601), `ttlMs` and `pollIntervalMs` (integer milliseconds) and,
by status, `inputRequests` (the questions still waiting for `tasks/update`), `result` (the tool's
`CallToolResult`, once completed: tool errors, `isError: true`, included) or `error` (the JSON-RPC
error `{code, message}`, once failed). `CreateTaskResult` is the task with `resultType: "task"`;
the `tasks/get` answer (`DetailedTask`) is the task with what its status carries (the SDK adds
`resultType: "complete"`). Neither carries `requestState`: that belongs to `InputRequiredResult`
rounds, not to tasks (SEP-2663, "Composition with Multi Round-Trip Requests").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..identity.principal import Principal
from ..observability.log import rfc3339

EXTENSION = "io.modelcontextprotocol/tasks"
Status = Literal["working", "input_required", "completed", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
INTERNAL_ERROR = -32603  # JSON-RPC: a task that failed inside mcprt (or whose replica stopped)


def owner_of(principal: Principal | None) -> str:
    """The key a task is bound to: who created it (`kind:subject`; principals share one subject
    namespace, `identity.principal.subject_clash`). A refreshed OAuth token of the same subject is
    the same owner."""
    if principal is None:
        return "none:"
    return f"{principal.kind}:{principal.owner}"


@dataclass
class TaskRecord:
    """One task. Times are epoch seconds; `ttl_ms` and `poll_interval_ms` integer milliseconds."""

    task_id: str
    owner: str  # `owner_of(principal)`: only this principal sees the task
    tool: str
    created: float
    updated: float
    ttl_ms: int
    poll_interval_ms: int
    status: Status = "working"
    status_message: str | None = None
    input_requests: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None  # the CallToolResult (wire), once completed
    error: dict[str, Any] | None = None  # the JSON-RPC error object, once failed
    replica: str | None = None  # the process running it, with shared state (`state.tasks`)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def expires(self) -> float:
        """When the record may be dropped (epoch seconds): `createdAt` + `ttlMs`."""
        return self.created + self.ttl_ms / 1000

    def task(self) -> dict[str, Any]:
        """The `Task` fields, camelCase."""
        wire: dict[str, Any] = {
            "taskId": self.task_id,
            "status": self.status,
            "createdAt": rfc3339(self.created),
            "lastUpdatedAt": rfc3339(self.updated),
            "ttlMs": self.ttl_ms,
            "pollIntervalMs": self.poll_interval_ms,
        }
        if self.status_message:
            wire["statusMessage"] = self.status_message
        return wire

    def create_result(self) -> dict[str, Any]:
        """`CreateTaskResult`: flat `Result & Task` with `resultType: "task"` (no result, error or
        input requests: those are read with `tasks/get`)."""
        return {"resultType": "task", **self.task()}

    def detailed(self) -> dict[str, Any]:
        """The `tasks/get` result (`DetailedTask`) without its `resultType`: the task plus what its
        status carries (`inputRequests`, `result` or `error`)."""
        wire = self.task()
        if self.status == "input_required":
            wire["inputRequests"] = dict(self.input_requests)
        elif self.status == "completed" and self.result is not None:
            wire["result"] = self.result
        elif self.status == "failed":
            wire["error"] = self.error or {"code": INTERNAL_ERROR, "message": self.status_message or "failed"}
        return wire

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), default=str)

    @classmethod
    def from_json(cls, text: str | bytes) -> TaskRecord:
        return cls(**json.loads(text))
