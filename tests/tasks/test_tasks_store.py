"""The task store and record on their own (a clock the test moves): limits, TTL, binding to the
creator, the wire forms. The served behaviour is tested through `mcprt up` in the other modules."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import pytest

from mcprt.identity.principal import ANONYMOUS, Principal
from mcprt.tasks.record import OUTLASTED_DRAIN, REPLICA_GONE, TaskRecord
from mcprt.tasks.store import TaskLimitReached, TaskStore

ALICE = Principal("alice", "token")
ALICE_REFRESHED = Principal("alice", "token", scopes=frozenset({"more"}))  # same subject, new token
MALLORY = Principal("alice", "oauth")  # same subject string, another kind of identity


@dataclass
class Limits:
    ttl: float = 10.0
    poll_interval: float = 0.5
    max: int = 3
    max_per_principal: int = 2
    answer_within: float = 0.5


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_limits_per_principal_and_in_all() -> None:
    store = TaskStore(Limits())

    async def scenario() -> None:
        await store.create(ALICE, "t")
        await store.create(ALICE_REFRESHED, "t")
        with pytest.raises(TaskLimitReached, match="per principal"):
            await store.create(ALICE, "t")
        await store.create(ANONYMOUS, "t")
        with pytest.raises(TaskLimitReached, match="at most 3 tasks"):
            await store.create(MALLORY, "t")

    run(scenario())


def test_a_record_lives_its_ttl_then_is_dropped_and_its_slot_freed() -> None:
    clock = Clock()
    store = TaskStore(Limits(max_per_principal=1), clock=clock)

    async def scenario() -> None:
        record = await store.create(ALICE, "t")
        clock.now += 9.999
        assert await store.get(record.task_id, ALICE) is record
        clock.now += 0.001
        assert await store.get(record.task_id, ALICE) is None
        assert (await store.create(ALICE, "t")).task_id != record.task_id  # the slot is free again

    run(scenario())


def test_only_the_creator_sees_a_task() -> None:
    store = TaskStore(Limits())

    async def scenario() -> None:
        record = await store.create(ALICE, "t")
        assert await store.get(record.task_id, ALICE_REFRESHED) is record
        assert await store.get(record.task_id, MALLORY) is None
        assert await store.get(record.task_id, ANONYMOUS) is None
        assert await store.get(record.task_id, None) is None

    run(scenario())


def test_task_ids_are_long_and_distinct() -> None:
    store = TaskStore(Limits(max=1000, max_per_principal=1000))

    async def scenario() -> set[str]:
        return {(await store.create(ALICE, "t")).task_id for _ in range(500)}

    ids = run(scenario())
    assert len(ids) == 500 and min(len(i) for i in ids) >= 43  # 256 bits, URL-safe base64


def test_wire_forms_by_status() -> None:
    record = TaskRecord("id1", "token:alice", "t", 1_800_000_000.0, 1_800_000_001.5, 60_000, 500)
    assert record.create_result() == {
        "resultType": "task", "taskId": "id1", "status": "working", "createdAt": "2027-01-15T08:00:00.000Z",
        "lastUpdatedAt": "2027-01-15T08:00:01.500Z", "ttlMs": 60_000, "pollIntervalMs": 500}
    record.status, record.input_requests = "input_required", {"k": {"method": "elicitation/create"}}
    assert record.detailed()["inputRequests"] == {"k": {"method": "elicitation/create"}}
    record.status, record.result = "completed", {"content": [], "isError": False}
    assert record.detailed()["result"] == {"content": [], "isError": False} and "inputRequests" not in record.detailed()
    record.status, record.error = "failed", {"code": -32603, "message": "boom"}
    assert record.detailed()["error"] == {"code": -32603, "message": "boom"} and "result" not in record.detailed()
    assert TaskRecord.from_json(record.to_json()) == record
    assert json.loads(record.to_json())["task_id"] == "id1"


def test_expired_records_are_swept_while_no_client_asks() -> None:
    """The server's sweep (`TaskService.sweep_forever`, spawned by `serve`) drops expired records on a timer:
    before it, they went only at the next `tasks/*` access, so a server whose clients stopped asking kept
    every expired result in memory."""
    from mcprt.server.tasks import TaskService

    service = TaskService(Limits(ttl=0.2, max_per_principal=3))

    async def scenario() -> tuple[int, int]:
        sweeping = asyncio.ensure_future(service.sweep_forever(every=0.05))
        try:
            for _ in range(3):
                await service.store.create(ALICE, "t")
            held = len(service.store)
            for _ in range(100):  # 5 s at most; no get, no create: only the sweep may drop them
                if not len(service.store):
                    break
                await asyncio.sleep(0.05)
            return held, len(service.store)
        finally:
            sweeping.cancel()

    assert run(scenario()) == (3, 0)


@pytest.mark.parametrize("retry_safe", [False, True])
def test_an_interrupted_task_invites_a_retry_only_for_a_tool_marked_read_only_or_idempotent(retry_safe: bool) -> None:
    """The fleet trial: a task cut by a stop read "call the tool again" although `charge` had run; a blind retry
    charges twice. Only a tool whose annotations say a repeat is harmless is told a retry is safe."""
    store = TaskStore(Limits())
    record = asyncio.run(store.create(ALICE, "charge", retry_safe=retry_safe))
    record.input_requests = {"r1": {"method": "elicitation/create"}}
    record.interrupted(OUTLASTED_DRAIN)
    assert record.status == "failed" and record.input_requests == {}
    assert record.error == {"code": -32603, "message": record.status_message}
    assert record.status_message is not None and OUTLASTED_DRAIN in record.status_message
    if retry_safe:
        assert record.status_message.endswith("charge is marked read-only or idempotent, so calling it again is safe")
    else:
        assert "may have run in part or in full" in record.status_message
        assert record.status_message.endswith("before calling charge again, check whether it took effect")
    assert TaskRecord.from_json(record.to_json()).retry_safe is retry_safe  # another replica words it alike


def test_a_record_with_fields_this_version_does_not_know_is_still_read() -> None:
    """During a rolling upgrade a newer replica may write fields an older one lacks: `tasks/get` must not fail."""
    record = asyncio.run(TaskStore(Limits()).create(ALICE, "charge"))
    wire = json.loads(record.to_json()) | {"from_a_newer_version": 1}
    read = TaskRecord.from_json(json.dumps(wire))
    read.interrupted(REPLICA_GONE)
    assert read.task_id == record.task_id and read.status == "failed"
