"""Running a started call as a task: from `CreateTaskResult` to a terminal status.

The call is already running (a `Conversation`: a call whose questions to the client are queued,
`server.roundtrip`); the server hands it over when it outlasts `server.tasks.answer_within`.
From then on a driver follows it:

- questions it asks park the task in `input_required` with them as `inputRequests` (keys unique
  over the task's life); `tasks/update` answers some or all of them (`inputResponses`: unknown and
  already answered keys are ignored, SEP-2663 "Task Update Requests") and the task is `working`
  again once none is left;
- its end is recorded once: `completed` with the `CallToolResult` (a tool error too, `isError: true`),
  or `failed` with a JSON-RPC error when the upstream answered one (a proxied server's protocol
  error), when mcprt failed inside (-32603) or when the call needed a client capability the client
  did not declare (-32021): "failed" is for JSON-RPC errors only (SEP-2663 "Task Execution Errors");
- `tasks/cancel` cancels the call itself (the upstream request is cancelled, as when a client
  disconnects) and the task reads `cancelled`; a task that already ended stays as it is;
- a task still running when its TTL ends is cancelled the same way (its record is then dropped);
- a stopping server drains its tasks as it drains calls in flight (`running`, `wait_idle`: their results
  are recorded, in Redis too with shared state); a task whose call the drain's deadline ended, or that
  the process stopped without a drain, reads `failed` saying the tool may have run
  (`TaskRecord.interrupted`): it had started, and a blind retry of a side-effecting tool acts twice.

The call's own CallEvent, log line, shaping and size limits are those of any call (`call_tool`);
its event carries the task id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from mcp.shared.exceptions import MCPError

from ..contracts import ToolResult
from ..errors import ToolCallError
from ..identity.principal import Principal
from ..observability.log import log_event
from ..toolset.stopping import RUNNING, TOLD_TO_STOP
from .record import INTERNAL_ERROR, OUTLASTED_DRAIN, STOPPED_UNDRAINED, TaskRecord
from .store import TaskLimitReached, TaskStore

WAITING_MESSAGE = "waiting for the client's answers to inputRequests (tasks/update)"


class Conversation(Protocol):
    """What the driver needs of a started call (`server.roundtrip.Conversation` is one)."""

    task: asyncio.Task[Any] | None
    task_id: str | None

    async def turn(self, within: float | None = None) -> dict[str, Any] | None: ...

    def answer(self, responses: Mapping[str, Any], *, all_given: bool) -> None: ...

    def outcome(self) -> Any: ...


# A finished call's result in wire form (the `CallToolResult` a direct call would have answered).
ResultWire = Callable[[ToolResult], dict[str, Any]]


@dataclass
class _Running:
    record: TaskRecord
    conversation: Conversation
    driver: asyncio.Task[None] | None = None
    expiry: asyncio.TimerHandle | None = None


class TaskRunner:
    """The tasks this process runs, by task id (see the module docstring)."""

    def __init__(self, store: TaskStore) -> None:
        self.store = store
        self._running: dict[str, _Running] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def running(self) -> int:
        """How many tasks this process runs now (not yet ended, or ended and their record not yet saved)."""
        return len(self._running)

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until this process runs no task (each ended and its record saved); False when `timeout`
        (s) ran out first. The stop's drain waits here as it waits for requests in flight."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def start(self, principal: Principal | None, tool: str, conversation: Conversation,
                    result_wire: ResultWire, *, retry_safe: bool = False) -> dict[str, Any] | None:
        """Create a task for the running `conversation` and follow it; its `CreateTaskResult`, once
        the record is stored (a `tasks/get` right after finds it), or None when no task can be
        created now (a limit: the caller answers the call directly). `retry_safe`: the tool is marked
        read-only or idempotent (what an interrupted task may say, `TaskRecord.interrupted`)."""
        try:
            record = await self.store.create(principal, tool, retry_safe=retry_safe)
        except (TaskLimitReached, ToolCallError) as exc:  # a limit; shared state (Redis) not answering
            log_event("call answered directly, not as a task", logging.INFO, tool=tool, reason=str(exc))
            return None
        conversation.task_id = record.task_id
        running = _Running(record, conversation)
        self._running[record.task_id] = running
        self._idle.clear()
        loop = asyncio.get_running_loop()
        running.driver = loop.create_task(self._drive(running, result_wire))
        running.expiry = loop.call_later(record.ttl_ms / 1000, self._expired, record.task_id)
        log_event("task created", logging.DEBUG, tool=tool, task=record.task_id)
        return record.create_result()

    async def update(self, task_id: str, responses: Mapping[str, Any]) -> bool:
        """Deliver `responses` (by input request key) to the task's waiting questions; False when
        this process does not run it. Keys not outstanding are ignored."""
        running = self._running.get(task_id)
        if running is None:
            return False
        record = running.record
        answered = {key: value for key, value in responses.items() if key in record.input_requests}
        if not answered or record.terminal:
            return True
        running.conversation.answer(answered, all_given=False)
        for key in answered:
            record.input_requests.pop(key, None)
        if not record.input_requests:
            record.status, record.status_message = "working", None
        await self._save_quietly(record)
        return True

    async def cancel(self, task_id: str) -> bool:
        """Cancel the task's call (cooperative: the status reads `cancelled` once it stopped); False
        when this process does not run it."""
        running = self._running.get(task_id)
        if running is None:
            return False
        if not running.record.terminal:
            if running.conversation.task is not None:
                running.conversation.task.cancel()
        return True

    def _expired(self, task_id: str) -> None:
        running = self._running.get(task_id)
        if running is not None and running.conversation.task is not None:
            running.record.status_message = "the task's time to live ran out"
            running.conversation.task.cancel()

    async def _drive(self, running: _Running, result_wire: ResultWire) -> None:
        record, conversation = running.record, running.conversation
        try:
            while True:
                questions = await conversation.turn(None)
                if questions is None:
                    break
                record.input_requests.update(questions)
                record.status, record.status_message = "input_required", WAITING_MESSAGE
                await self._save_quietly(record)
            self._settle(record, conversation, result_wire)
        except asyncio.CancelledError:  # this process stops without a drain: the call was cancelled with it
            record.interrupted(STOPPED_UNDRAINED)
            raise
        except Exception as exc:  # noqa: BLE001 - a bug here must not leave the task working forever
            log_event("task driver failed", logging.ERROR, task=record.task_id, error=f"{type(exc).__name__}: {exc}")
            record.status, record.status_message = "failed", "internal error in mcprt"
            record.error = {"code": INTERNAL_ERROR, "message": "internal error in mcprt"}
        finally:
            if running.expiry is not None:
                running.expiry.cancel()
            try:
                await asyncio.shield(self._save_quietly(record))  # before it counts as ended: the drain waits
            finally:
                self._running.pop(record.task_id, None)
                if not self._running:
                    self._idle.set()

    def _settle(self, record: TaskRecord, conversation: Conversation, result_wire: ResultWire) -> None:
        record.input_requests = {}
        try:
            outcome = conversation.outcome()
        except asyncio.CancelledError:
            record.status = "cancelled"
            record.status_message = record.status_message or "cancelled by tasks/cancel"
            return
        except MCPError as exc:  # e.g. -32021: the call needed a capability the client lacks
            record.status, record.status_message = "failed", exc.error.message
            record.error = exc.error.model_dump(mode="json", exclude_none=True)
            return
        if isinstance(outcome, ToolResult) and outcome.outcome == "cancelled":
            # the stop ended the call (`toolset.stopping`: the drain ran out, or stdio's stop): its answer tells
            # a direct caller to call again; a task says instead whether a repeat is safe
            record.interrupted(STOPPED_UNDRAINED if RUNNING.why == TOLD_TO_STOP else OUTLASTED_DRAIN)
        elif isinstance(outcome, ToolResult) and outcome.protocol_error is not None:
            record.status, record.status_message = "failed", str(outcome.protocol_error.get("message", ""))
            record.error = dict(outcome.protocol_error)
        elif isinstance(outcome, ToolResult) and outcome.outcome == "internal":
            text = outcome.content[0].get("text") if outcome.content else None
            record.status, record.status_message = "failed", str(text or "internal error in mcprt")
            record.error = {"code": INTERNAL_ERROR, "message": record.status_message}
        else:
            record.status, record.status_message = "completed", None
            record.result = result_wire(outcome)

    async def _save_quietly(self, record: TaskRecord) -> None:
        try:
            await self.store.save(record)
        except Exception as exc:  # noqa: BLE001 - shared state down: tasks/get there says so itself
            log_event("task not saved", logging.WARNING, task=record.task_id, error=type(exc).__name__)
