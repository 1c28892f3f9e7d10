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
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from ..identity.principal import Principal
from ..observability.log import rfc3339

EXTENSION = "io.modelcontextprotocol/tasks"
Status = Literal["working", "input_required", "completed", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
INTERNAL_ERROR = -32603  # JSON-RPC: a task that failed inside mcprt (or whose replica stopped)

# Why a task's call ended without its result: the drain's deadline ran out (SIGTERM), the process stopped
# without a drain (stdio, a second signal), or its replica vanished (SIGKILL, a crash: read on another replica).
OUTLASTED_DRAIN = "its replica stopped and the call outlasted the drain (server.http.drain_timeout)"
STOPPED_UNDRAINED = "its replica stopped before the call ended"
REPLICA_GONE = "the replica running this task stopped (killed or crashed) before the call ended"


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
    # the tool says a repeat does no harm (MCP `readOnlyHint` or `idempotentHint` true): what an interrupted
    # task may tell the model (`interrupted`)
    retry_safe: bool = False

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

    def interrupted(self, why: str) -> None:
        """Mark the task `failed` because its call ended without a result (`why`: `OUTLASTED_DRAIN`,
        `STOPPED_UNDRAINED`, `REPLICA_GONE`). The call had started, so the tool may have acted: the
        message invites a retry only for a tool that says a repeat is harmless (`retry_safe`); a blind
        retry of any other (a charge) may do it twice (MCP schema `ToolAnnotations`)."""
        self.status, self.status_message = "failed", interrupted_message(self.tool, why, self.retry_safe)
        self.error = {"code": INTERNAL_ERROR, "message": self.status_message}
        self.input_requests = {}

    @classmethod
    def from_json(cls, text: str | bytes) -> TaskRecord:
        """A record as `to_json` wrote it; fields this version does not know (a newer replica's, during a
        rolling upgrade) are ignored rather than failing every `tasks/get` of the task."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in json.loads(text).items() if key in known})


def interrupted_message(tool: str, why: str, retry_safe: bool) -> str:
    """What a task interrupted by `why` tells its client (see `TaskRecord.interrupted`)."""
    if retry_safe:
        return (f"the task's call to {tool} did not finish: {why}. {tool} is marked read-only or idempotent, "
                "so calling it again is safe")
    return (f"the task's call to {tool} did not finish: {why}. It had started, so it may have run in part or in "
            f"full (its effect may have happened): before calling {tool} again, check whether it took effect")
