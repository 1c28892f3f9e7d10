"""Task records in Redis, so `tasks/get` from any replica finds a task (`server.state`).

The replica that runs a task (its *owner*) keeps it in memory as without shared state (the limits,
`tasks.store.TaskStore`, hold per replica, as the session caps do) and writes its record to
`<prefix>task:<sha256(task id)>` on creation — before `CreateTaskResult` is answered, so a
`tasks/get` reaching another replica right after finds it (SEP-2663: no `CreateTaskResult` before
the task is durably created) — and on every change, expiring with the task's TTL. The key is a
digest: the keys Redis keeps hold no usable task id.

Another replica reads the record (one GET), checks that the caller created it, and, for a task not
yet ended whose owner no longer listens on its relay channel (the owner was killed or crashed: a
stopping owner drains its tasks and records how each ended), answers it `failed` saying so and that the
call may have acted (`TaskRecord.interrupted`): a task's calls live in its owner's process. `tasks/update` and
`tasks/cancel` are carried to the owner by the round relay (`state.rounds`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ..identity.principal import Principal
from ..observability.log import log_event
from ..tasks.record import REPLICA_GONE, TaskRecord, owner_of
from ..tasks.store import TaskLimits, TaskStore
from .redis_client import guarded
from .write_back import write_back

if TYPE_CHECKING:
    from redis.asyncio import Redis

class SharedTaskStore(TaskStore):
    """A `TaskStore` whose records are also in Redis (see the module docstring)."""

    def __init__(self, limits: TaskLimits, client: Redis, *, prefix: str, replica: str,
                 alive: Callable[[str], Awaitable[bool]]) -> None:
        super().__init__(limits)
        self._client = client
        self._prefix = prefix
        self.replica = replica
        self._alive = alive  # does that replica still serve (listen on its relay channel)?

    def _key(self, task_id: str) -> str:
        return f"{self._prefix}task:{hashlib.sha256(task_id.encode()).hexdigest()}"

    async def create(self, principal: Principal | None, tool: str, *, retry_safe: bool = False) -> TaskRecord:
        record = await super().create(principal, tool, retry_safe=retry_safe)
        record.replica = self.replica
        try:
            await self._write(record)  # durable before CreateTaskResult (raises StateUnavailable)
        except BaseException:
            self.forget(record.task_id)
            raise
        return record

    async def save(self, record: TaskRecord) -> None:
        await super().save(record)
        await self._write(record)

    async def get(self, task_id: str, principal: Principal | None) -> TaskRecord | None:
        local = await super().get(task_id, principal)
        if local is not None:
            return local
        raw = await guarded(self._client.get(self._key(task_id)))
        if raw is None:
            return None
        record = TaskRecord.from_json(raw)
        if record.owner != owner_of(principal) or record.task_id != task_id:
            return None
        if not record.terminal and record.replica != self.replica and not await self._alive(str(record.replica)):
            record.interrupted(REPLICA_GONE)  # its call had started: it may have acted (`TaskRecord.interrupted`)
        return record

    async def restore(self) -> int:
        """Write back the records of the tasks this replica keeps (running or ended, not expired) that
        Redis no longer has, after it lost its data (`server.shared_state`): without them another
        replica answers a running task's `tasks/get` as unknown. SET NX: a record written meanwhile
        (the task changed) is kept. Returns how many were written; raises StateUnavailable."""
        self._drop_expired()
        now = self._clock()
        return await write_back(self._client, [(self._key(r.task_id), r.to_json(), int((r.expires - now) * 1000))
                                               for r in self._records.values()])

    async def _write(self, record: TaskRecord) -> None:
        left_ms = int((record.expires - self._clock()) * 1000)
        if left_ms <= 0:
            return
        await guarded(self._client.set(self._key(record.task_id), record.to_json(), px=left_ms))
        log_event("task record shared", logging.DEBUG, task=record.task_id, status=record.status)
