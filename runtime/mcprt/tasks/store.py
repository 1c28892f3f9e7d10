"""Where task records live in this process: bound to their creator, bounded, dropped after their TTL.

- **Unguessable ids.** A task id is 256 random bits (`secrets.token_urlsafe(32)`): the extension lets a
  task id act as a bearer handle, so it must not be enumerable (SEP-2663, "Security Considerations").
- **Bound to the creator.** `get` answers only the principal that created the task (`owner_of`);
  for anyone else the task does not exist, exactly as an unknown id, so a task's existence does not
  leak (-32602 either way, `server.tasks`).
- **Bounded.** At most `max` records at once and `max_per_principal` per principal, finished ones
  included (their results take memory until their TTL): `create` raises `TaskLimitReached` and the
  caller answers the call directly instead.
- **Kept at least `ttlMs`.** A record is dropped once `createdAt + ttlMs` has passed (checked on
  every access, oldest first, and by `sweep`, which the server runs every `SWEEP_EVERY` seconds so a
  server whose clients stopped asking does not hold every expired result); a task still running then
  is cancelled by its runner's own timer (`tasks.run`).

With `server.state` the records live in Redis instead (`state.tasks.SharedTaskStore`, same methods).
"""

from __future__ import annotations

import heapq
import secrets
import time
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from ..identity.principal import Principal
from .record import TaskRecord, owner_of


SWEEP_EVERY = 5.0  # s: how late past its TTL an expired record may still be held (a sweep costs O(1) when none is due)


class TaskLimitReached(Exception):
    """No task can be created now (`max` or `max_per_principal` reached); the message says which."""


class TaskLimits(Protocol):
    """What the store reads of `server.tasks` (the manifest's `TasksConfig`)."""

    ttl: float
    poll_interval: float
    max: int
    max_per_principal: int
    answer_within: float  # s: how long a task-supporting call runs before it becomes a task (`server.tasks`)


def new_task_id() -> str:
    return secrets.token_urlsafe(32)


class TaskStore:
    """Task records of this process (see the module docstring)."""

    def __init__(self, limits: TaskLimits, *, clock: Callable[[], float] = time.time) -> None:
        self.limits = limits
        self._clock = clock
        self._records: dict[str, TaskRecord] = {}
        self._per_owner: Counter[str] = Counter()
        self._expiry: list[tuple[float, str]] = []  # (expires, task id), a heap

    def new_record(self, principal: Principal | None, tool: str, *, retry_safe: bool = False) -> TaskRecord:
        """A fresh `working` record for `principal`'s call of `tool` (not stored yet); `retry_safe`: the
        tool says a repeat is harmless (`TaskRecord.retry_safe`)."""
        now = self._clock()
        return TaskRecord(task_id=new_task_id(), owner=owner_of(principal), tool=tool, created=now, updated=now,
                          ttl_ms=int(self.limits.ttl * 1000), poll_interval_ms=max(1, int(self.limits.poll_interval * 1000)),
                          retry_safe=retry_safe)

    async def create(self, principal: Principal | None, tool: str, *, retry_safe: bool = False) -> TaskRecord:
        """Store a new task; raises `TaskLimitReached` when one of the limits is reached."""
        self._drop_expired()
        owner = owner_of(principal)
        if len(self._records) >= self.limits.max:
            raise TaskLimitReached(f"this server keeps at most {self.limits.max} tasks at once")
        if self._per_owner[owner] >= self.limits.max_per_principal:
            raise TaskLimitReached(f"at most {self.limits.max_per_principal} tasks per principal are kept at once")
        record = self.new_record(principal, tool, retry_safe=retry_safe)
        self._records[record.task_id] = record
        self._per_owner[owner] += 1
        heapq.heappush(self._expiry, (record.expires, record.task_id))
        return record

    async def get(self, task_id: str, principal: Principal | None) -> TaskRecord | None:
        """The task, if it exists, has not expired and `principal` created it; else None."""
        self._drop_expired()
        record = self._records.get(task_id)
        if record is None or record.owner != owner_of(principal):
            return None
        return record

    def forget(self, task_id: str) -> None:
        """Drop a record before its TTL (one whose creation could not be completed)."""
        record = self._records.pop(task_id, None)
        if record is not None:
            self._per_owner[record.owner] -= 1
            if self._per_owner[record.owner] <= 0:
                del self._per_owner[record.owner]

    async def save(self, record: TaskRecord) -> None:
        """Record a change of `record` (its `lastUpdatedAt` is now)."""
        record.updated = self._clock()  # the stored object itself: the runner changes it in place

    def __len__(self) -> int:
        """How many records this process holds (finished ones included, until their TTL)."""
        return len(self._records)

    async def sweep(self) -> None:
        """Drop every record whose TTL has passed, as an access would (`periodic.repeat_forever` runs it)."""
        self._drop_expired()

    def _drop_expired(self) -> None:
        now = self._clock()
        while self._expiry and self._expiry[0][0] <= now:
            self.forget(heapq.heappop(self._expiry)[1])
