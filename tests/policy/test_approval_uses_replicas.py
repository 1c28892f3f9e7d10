"""An approval's use across two `mcprt up` replicas sharing a real Redis: which call used it shows on both, a
call cut on one replica before it started gives it back (the give-back is the same atomic compare-and-set on the
shared record as the use), the identical call through the other replica then runs on it once, and the pending
approvals gauge is the fleet's figure on every replica.

Each replica is reached directly (no balancer), so the test decides which replica a call runs on: `pay` has one
worker thread per replica (`concurrency: 1`), and a call queued behind a busy one is the call cut in mcprt's queue.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest

from mcprt.policy.service import STALE_REFRESHES, PolicyService, refresh_interval
from mcprt.policy.state import ApprovalRequest, MemoryPolicyState, new_approval_id
from tests.policy.test_approval_uses import (
    ALICE,
    BOT,
    PAY_TOOLS,
    QUEUE_MANIFEST,
    approve,
    lines,
    listed,
    pending_id,
    until_async,
)
from tests.support.components import redis_server, stop_process
from tests.support.served import UpProcess, child_env, http_client, mcprt_http, text_of

MANIFEST = QUEUE_MANIFEST.replace("server:\n", "server:\n  http: {drain_timeout: 1s}\n", 1)
PENDING = re.compile(r"^mcprt_approval_requests_pending (\S+)$", re.MULTILINE)


@dataclass
class Pair:
    folder: Path
    one: UpProcess
    two: UpProcess


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    (tmp_path / "pay_tools.py").write_text(PAY_TOOLS)
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    with ExitStack() as stack:
        redis = stack.enter_context(redis_server(tmp_path))
        # the status page and the gauge read the shared state every 0.2 s (not 2 s): the test waits that out
        env = child_env(MCPRT_STATE_URL=redis.url, MCPRT_POLICY_REFRESH_INTERVAL="0.2", ALICE_TOKEN=ALICE,
                        BOT_TOKEN=BOT)
        one, two = (stack.enter_context(mcprt_http(tmp_path / "mcp.yaml", env=env, startup_timeout=60))
                    for _ in range(2))
        yield Pair(tmp_path, one, two)
        (tmp_path / "released").touch()  # a hog still holding a thread returns


def pending_gauge(up: UpProcess) -> float:
    answer = httpx.get(up.base + "/metrics", headers={"Authorization": f"Bearer {ALICE}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    found = PENDING.search(answer.text)
    assert found is not None, answer.text
    return float(found.group(1))


async def gauges_read(pair: Pair, value: float) -> None:
    """Both replicas' gauge reads `value` (each refreshes from Redis every 0.2 s)."""
    await until_async(lambda: all(pending_gauge(up) == value for up in (pair.one, pair.two)), timeout=10)


def granted(up: UpProcess, approval_id: str) -> dict | None:
    answer = httpx.get(up.base + "/status.json", headers={"Authorization": f"Bearer {ALICE}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return next((a for a in answer.json().get("granted_approvals") or [] if a["id"] == approval_id), None)


async def hold_the_thread(pair: Pair, client: object, group: anyio.abc.TaskGroup) -> None:
    group.start_soon(client.call_tool, "pay", {"who": "hog", "hold": 60})  # type: ignore[attr-defined]
    await until_async(lambda: "hog" in lines(pair.folder / "started.log"))


async def test_a_call_cut_on_one_replica_gives_back_the_approval_the_other_then_runs_once(pair: Pair) -> None:
    alice = {"who": "alice"}
    async with http_client(pair.one.url, token=BOT) as one, http_client(pair.two.url, token=BOT) as two:
        first = pending_id(await one.call_tool("pay", alice))
        # one request awaits a decision in the whole fleet: each replica says 1, not its share (sum would say 2)
        await gauges_read(pair, 1.0)
        approve(pair.two, first)  # through the other replica
        await gauges_read(pair, 0.0)
        async with anyio.create_task_group() as group:
            await hold_the_thread(pair, one, group)
            cut = anyio.CancelScope()

            async def queued() -> None:
                with cut:
                    await one.call_tool("pay", alice)

            group.start_soon(queued)
            # the use made on replica one shows on replica two (the shared record), with its call and session
            taker = await until_async(lambda: listed(pair.two, first)["used_by"])
            assert listed(pair.two, first)["used_session"]
            cut.cancel()  # the SDK sends notifications/cancelled: the call never started
            await until_async(lambda: listed(pair.two, first)["used"] is None)
            assert "alice" not in lines(pair.folder / "started.log")
            ran = await two.call_tool("pay", alice)  # replica two's thread is free: it runs, on the same approval
            assert not ran.is_error and text_of(ran) == "paid alice", text_of(ran)
            (pair.folder / "released").touch()
        assert lines(pair.folder / "paid.log").count("alice") == 1
        used = listed(pair.one, first)  # replica one reads replica two's use
        assert used["used_by"] not in (None, taker) and used["used_session"] and used["uses"] == "once", used
        shown = await until_async(lambda: (g := granted(pair.one, first)) and g["used_by"] == used["used_by"] and g)
        assert shown["used_session"] == used["used_session"]
        again = await one.call_tool("pay", alice)  # that call ran: the approval is spent on every replica
        assert f"approval {first} was used by the call at" in text_of(again), text_of(again)
        await gauges_read(pair, 1.0)  # the new request it opened


async def test_a_call_queued_on_a_draining_replica_gives_back_its_approval(pair: Pair) -> None:
    """SIGTERM on replica one while an approved call waits in its queue: the drain (1 s) runs out, the call is
    answered that it did not start and that its approval is not used, and replica two runs it on that approval."""
    alice = {"who": "alice"}
    async with http_client(pair.two.url, token=BOT) as two:
        first = pending_id(await two.call_tool("pay", alice))
        approve(pair.two, first)
        outcome: dict[str, object] = {}
        async with http_client(pair.one.url, token=BOT) as one:
            async with anyio.create_task_group() as group:
                await hold_the_thread(pair, one, group)

                async def queued() -> None:
                    outcome["result"] = await one.call_tool("pay", alice)

                group.start_soon(queued)
                await until_async(lambda: listed(pair.two, first)["used_by"])
                pair.one.signal(signal.SIGTERM)
                await until_async(lambda: "result" in outcome, timeout=30)
                group.cancel_scope.cancel()  # the hog's answer (cut by the drain too) is not awaited
        text = text_of(outcome["result"])  # type: ignore[arg-type]
        assert "mcprt is restarting: the call to pay was stopped" in text and "before it started" in text, text
        assert f"approval {first} is not used: make the same call again" in text, text
        assert listed(pair.two, first)["used"] is None
        ran = await two.call_tool("pay", alice)
        assert not ran.is_error and text_of(ran) == "paid alice", text_of(ran)
    assert lines(pair.folder / "paid.log").count("alice") == 1


async def test_a_call_that_won_its_approval_runs_though_the_approvals_cannot_be_listed(tmp_path: Path) -> None:
    """Review of govleft, problem 1: after winning its approval (`approval_use`) a call re-read every live approval
    for the status page, inside the clause that gives the approval back on failure — so a failing listing refused
    a call that legally won it. Redis here refuses ZRANGE (the approvals index a listing reads; an ACL, a real
    refusal) but not the record's own reads and writes: the approved call runs, once, and the status page shows
    it used by that call at once (the use is put into its snapshot in place, with no listing)."""
    (tmp_path / "pay_tools.py").write_text(PAY_TOOLS)
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    alice = {"who": "alice"}
    with redis_server(tmp_path) as redis:
        env = child_env(MCPRT_STATE_URL=redis.url, ALICE_TOKEN=ALICE, BOT_TOKEN=BOT)
        with mcprt_http(tmp_path / "mcp.yaml", env=env, startup_timeout=60) as up:
            async with http_client(up.url, token=BOT) as client:
                first = pending_id(await client.call_tool("pay", alice))
                approve(up, first)
                await until_async(lambda: (g := granted(up, first)) is not None and g["used_by"] is None)
                assert redis.cli("ACL", "SETUSER", "default", "-zrange") == "OK"
                try:
                    ran = await client.call_tool("pay", alice)
                    assert not ran.is_error and text_of(ran) == "paid alice", text_of(ran)
                    shown = granted(up, first)  # the snapshot, while no listing can be read
                    assert shown is not None and shown["used_by"] and shown["used_session"], shown
                finally:
                    assert redis.cli("ACL", "SETUSER", "default", "+zrange") == "OK"
                assert listed(up, first)["used_by"] == shown["used_by"]
    assert lines(tmp_path / "paid.log") == ["alice"]


def pending_series(up: UpProcess) -> float | None:
    """The gauge's value, None when the scrape lacks the series."""
    answer = httpx.get(up.base + "/metrics", headers={"Authorization": f"Bearer {ALICE}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    found = PENDING.search(answer.text)
    return None if found is None else float(found.group(1))


async def test_the_pending_gauge_is_left_out_while_redis_cannot_be_read(tmp_path: Path) -> None:
    """Review of govleft, problem 4: with Redis down the gauge went on reporting the last figure (1) as if it were
    current. Now the series is absent once the snapshot is 3 refresh intervals old, and back once Redis is."""
    (tmp_path / "pay_tools.py").write_text(PAY_TOOLS)
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    with redis_server(tmp_path) as redis:
        env = child_env(MCPRT_STATE_URL=redis.url, MCPRT_POLICY_REFRESH_INTERVAL="0.2", ALICE_TOKEN=ALICE,
                        BOT_TOKEN=BOT)
        with mcprt_http(tmp_path / "mcp.yaml", env=env, startup_timeout=60) as up:
            async with http_client(up.url, token=BOT) as client:
                pending_id(await client.call_tool("pay", {"who": "alice"}))
            await until_async(lambda: pending_series(up) == 1.0)
            stop_process(redis.process)
            await until_async(lambda: pending_series(up) is None, timeout=30)
            with redis_server(tmp_path, redis.port):  # back, empty (no persistence): the figure is read again
                await until_async(lambda: pending_series(up) == 0.0, timeout=30)


async def test_the_pending_figure_leaves_out_requests_expired_since_the_last_read_and_a_stale_snapshot() -> None:
    """Review of govleft, problem 4, the figure itself (`PolicyService.pending_now`, which the gauge reports): a
    request that expired after the snapshot was read stops counting at once (not at the next refresh), and a
    snapshot older than 3 refresh intervals (2 s by default) gives no figure; one never read gives none either."""
    service = PolicyService(MemoryPolicyState())
    assert service.pending_now() is None  # never read
    now = time.time()
    for name, lasts in (("soon", 0.5), ("later", 600.0)):
        await service.state.approval_create(ApprovalRequest(
            id=new_approval_id(), key=name, tool="pay", source="q", principal="bot", arguments={}, created=now,
            expires=now + lasts))
    await service.refresh()
    assert service.pending_now() == 2
    await anyio.sleep(0.7)  # "soon" expired; no refresh since
    assert service.pending_now() == 1
    service.snapshot.at = time.time() - STALE_REFRESHES * refresh_interval() - 1  # its refreshes failed meanwhile
    assert service.pending_now() is None
