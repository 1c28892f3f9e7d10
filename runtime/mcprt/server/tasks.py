"""Serving the tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) to 2026-07-28 clients.

Glue between the MCP server and `mcprt.tasks`:

- **Negotiation.** The extension is advertised under `capabilities.extensions` in `server/discover`
  (never as a 2025-11-25 `capabilities.tasks`), and a client opts in per request: its `_meta`
  client capabilities name the extension (SEP-2575). Without it `tasks/get`, `tasks/update` and
  `tasks/cancel` answer -32021 with `data.requiredCapabilities`, no call becomes a task, and a call of
  a `required` tool answers -32021 too. The extension is not defined for handshake-era clients
  (2025-11-25): to them the methods do not exist (-32601).
- **Creation is the server's choice** (`escalation`): a call of a task-supporting tool first runs as
  a direct one; if it ends or asks the client within `server.tasks.answer_within` it is answered
  directly (its result, or an `InputRequiredResult` round: questions asked before a task exists are
  resolved synchronously, SEP-2663 "Composition with Multi Round-Trip Requests"); still running
  then, it becomes a task and the client gets `CreateTaskResult` once the record is stored.
- **Replicas** (`server.state`): records live in Redis too (`state.tasks`), so `tasks/get` reaches any
  replica; `tasks/update` and `tasks/cancel` of a task another replica runs are carried to it by the round
  relay (`state.rounds`); a stopping replica drains its tasks (`server.serve`); a task whose replica was
  killed reads `failed` saying so, and that the tool may have run.
- **Errors.** An unknown, expired or another principal's task id answers -32602 ("Task not found",
  the same for all three); over HTTP, `Mcp-Name` must repeat `params.taskId` (-32020 HeaderMismatch,
  HTTP 400, SEP-2663 "Streamable HTTP: Routing Headers").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.server import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import MCP_NAME_HEADER, decode_header_value
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import Field

from ..contracts import ToolResult
from ..errors import SERVER_ERROR, ToolCallError
from ..identity.principal import Principal
from ..periodic import repeat_forever
from ..tasks.record import EXTENSION, TaskRecord
from ..tasks.run import Conversation, TaskRunner
from ..tasks.store import SWEEP_EVERY, TaskLimits, TaskStore
from .results import to_call_result

if TYPE_CHECKING:
    from ..state.rounds import RoundRelay

METHODS = ("tasks/get", "tasks/update", "tasks/cancel")
NOT_FOUND = "Failed to retrieve task: Task not found (unknown, expired, or not yours)"
_REQUIRED = {"requiredCapabilities": {"extensions": {EXTENSION: {}}}}
_EXTENSION_CAPABILITY = types.ClientCapabilities(extensions={EXTENSION: {}})


class TaskParams(types.RequestParams):
    """`tasks/get` and `tasks/cancel` params. `taskId` is checked by `find`, not by the model: the
    SDK answers a params validation failure -32602 with no word of which parameter (a new-user trial
    sent `tasks/get` without it and learned nothing)."""

    task_id: Any = Field(None, alias="taskId")


class UpdateTaskParams(TaskParams):
    """`tasks/update` params: answers to the task's `inputRequests`, by key."""

    input_responses: dict[str, Any] = Field(default_factory=dict, alias="inputResponses")


def client_declares_tasks(ctx: ServerRequestContext[Any, Any]) -> bool:
    """This request's client capabilities name the tasks extension (2026-07-28 only)."""
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and ctx.session.check_client_capability(
        _EXTENSION_CAPABILITY)


def missing_extension(what: str) -> MCPError:
    """-32021 naming the extension (SEP-2575 "Missing Required Capabilities", SEP-2663)."""
    return MCPError(types.MISSING_REQUIRED_CLIENT_CAPABILITY,
                    f"{what} needs the client capability extensions[{EXTENSION!r}], which this request did not "
                    "declare", _REQUIRED)


class TaskService:
    """The tasks of one server: its store, the runner of the tasks this process runs, and the handlers."""

    def __init__(self, limits: TaskLimits) -> None:
        self.store = TaskStore(limits)
        self.runner = TaskRunner(self.store)
        self.relay: RoundRelay | None = None  # with shared state: updates and cancels reach a task's replica

    def configure(self, limits: TaskLimits) -> None:
        """Apply `server.tasks` as a reload changed it. New calls and new tasks follow it; a task
        already created keeps the `ttlMs` and `pollIntervalMs` it was created with (its client
        was told them), and a call already running keeps the `answer_within` it started with.
        `max` and `max_per_principal` are checked when the next task is created."""
        self.store.limits = limits

    async def sweep_forever(self, every: float = SWEEP_EVERY) -> None:
        """Drop expired task records every `every` seconds while serving, whether or not a client asks
        (the store in use now: `share` may replace it)."""
        await repeat_forever(lambda: self.store.sweep(), every, "task sweep")

    @property
    def answer_within(self) -> float:
        """Seconds a task-supporting call runs before it becomes a task (`server.tasks.answer_within`, now)."""
        return self.store.limits.answer_within

    def share(self, store: TaskStore, relay: RoundRelay) -> None:
        """Keep task records in shared state (`state.tasks`) and carry `tasks/update`/`tasks/cancel` of a
        task another replica runs to it over `relay` (`state.rounds`)."""
        store.limits = self.store.limits  # what the manifest says now (a reload may have changed it)
        self.store = self.runner.store = store
        self.relay = relay
        relay.on_task = self._carried

    async def _carried(self, action: str, task_id: str, responses: dict[str, Any]) -> bool:
        """A task's update or cancel carried here from another replica (which checked the principal)."""
        if action == "update":
            return await self.runner.update(task_id, responses)
        return await self.runner.cancel(task_id)

    async def _elsewhere(self, action: str, record: TaskRecord, responses: dict[str, Any]) -> None:
        """Carry an update or cancel to the replica running `record`'s task, if another one does."""
        if self.relay is None or record.replica is None or record.terminal or record.replica == self.relay.replica:
            return  # ended (nothing to do), or this process's and no longer running
        try:
            await self.relay.forward_task(record.replica, action, record.task_id, responses)
        except ToolCallError as exc:  # the owner stopped (the task reads failed), or Redis does not answer
            if action == "update":
                raise MCPError(SERVER_ERROR, str(exc)) from None

    def escalation(self, principal: Principal | None, tool_name: str, *, retry_safe: bool = False
                   ) -> Callable[[Conversation], Awaitable[dict[str, Any] | None]]:
        """How a call of `tool_name` becomes a task (`RoundTrips.call(escalate=)`); `retry_safe`: the tool
        is marked read-only or idempotent (`TaskRecord.retry_safe`)."""

        async def escalate(conversation: Conversation) -> dict[str, Any] | None:
            return await self.runner.start(principal, tool_name, conversation,
                                           lambda result: result_wire(result, tool_name), retry_safe=retry_safe)

        return escalate

    def install(self, server: Any, principal_of: Callable[[ServerRequestContext[Any, Any]], Principal]) -> None:
        """Serve `tasks/get`, `tasks/update` and `tasks/cancel` on `server` (a low-level SDK Server)."""

        async def find(ctx: ServerRequestContext[Any, Any], params: TaskParams) -> TaskRecord:
            if not isinstance(params.task_id, str) or not params.task_id:
                given = "is missing" if params.task_id is None else "must be a non-empty string"
                raise MCPError(types.INVALID_PARAMS, f"{ctx.method}: params.taskId {given}: the id a tools/call "
                               "answered with (resultType \"task\")")
            _check_era_and_header(ctx, params.task_id)
            if not client_declares_tasks(ctx):
                raise missing_extension(ctx.method)
            try:
                record = await self.store.get(params.task_id, principal_of(ctx))
            except ToolCallError as exc:  # shared state (Redis) does not answer
                raise MCPError(SERVER_ERROR, str(exc)) from None
            if record is None:
                raise MCPError(types.INVALID_PARAMS, NOT_FOUND)
            return record

        async def get(ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
            return (await find(ctx, params)).detailed()

        async def update(ctx: ServerRequestContext[Any, Any], params: UpdateTaskParams) -> dict[str, Any]:
            record = await find(ctx, params)
            if not await self.runner.update(record.task_id, params.input_responses):
                await self._elsewhere("update", record, params.input_responses)
            return {}  # an empty acknowledgement; the task's state is read with tasks/get

        async def cancel(ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
            record = await find(ctx, params)
            if not await self.runner.cancel(record.task_id):
                await self._elsewhere("cancel", record, {})
            return {}  # idempotent: a task that already ended stays as it is

        server.middleware.append(TaskNotificationsGate())
        server.add_request_handler("tasks/get", TaskParams, get)
        server.add_request_handler("tasks/update", UpdateTaskParams, update)
        server.add_request_handler("tasks/cancel", TaskParams, cancel)


class TaskNotificationsGate:
    """Server middleware: a `subscriptions/listen` asking for task status notifications
    (`notifications.taskIds`) from a request that did not declare the extension is refused with -32021
    (SEP-2663 "Task Status Notifications"). mcprt sends no `notifications/tasks` (they are optional):
    the acknowledgement of a declaring client's stream names no task ids, and clients poll `tasks/get`."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: Any) -> Any:
        if ctx.method == "subscriptions/listen" and ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            notifications = (ctx.params or {}).get("notifications")
            if isinstance(notifications, dict) and "taskIds" in notifications and not client_declares_tasks(ctx):
                raise missing_extension("task status notifications (notifications.taskIds)")
        return await call_next(ctx)


def result_wire(result: ToolResult, tool_name: str) -> dict[str, Any]:
    """A call's result as the `result` of a completed task: the `CallToolResult` a direct call answers."""
    answer = to_call_result(result, tool_name)
    wire = dict(answer) if isinstance(answer, dict) else answer.model_dump(by_alias=True, mode="json",
                                                                           exclude_none=True)
    wire.pop("resultType", None)
    return wire


def _check_era_and_header(ctx: ServerRequestContext[Any, Any], task_id: str) -> None:
    if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
        # the extension is defined from 2026-07-28 on; mcprt offers no 2025-11-25 tasks
        raise MCPError(types.METHOD_NOT_FOUND, "Method not found", ctx.method)
    headers = getattr(ctx.request, "headers", None)
    if headers is None:  # stdio: no routing headers
        return
    if decode_header_value(headers.get(MCP_NAME_HEADER)) != task_id:
        raise MCPError(types.HEADER_MISMATCH,
                       f"{MCP_NAME_HEADER} header does not match the request body's 'taskId' parameter")
