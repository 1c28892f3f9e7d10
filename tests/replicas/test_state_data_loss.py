"""The state client against a real `redis-server` that restarts or loses its data (a restart without
persistence, FLUSHALL, eviction): commands are retried over a restart, and what replicas write back
never undoes what an operator or a client did (a resume, a new pause, a DELETE, an idle expiry)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from mcprt.server import shared_state
from mcprt.server.options import ServeOptions
from mcprt.server.shared_state import SharedState, open_shared_state
from mcprt.state.policy import RESUMED_TTL, RedisPolicyState
from mcprt.state.redis_client import make_client
from mcprt.state.rounds import RoundRelay
from mcprt.state.sessions import SessionRecord, SessionRecords
from mcprt.stopping import stop_tasks
from tests.support.components import Redis, redis_server


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


async def test_the_first_command_after_a_redis_restart_is_retried_on_a_new_connection(tmp_path: Path) -> None:
    """The pooled connection dies with the server; the command on it must be retried (RETRIES), not
    fail with 'Connection closed by server' (the sync Retry given to the asyncio client never retried)."""
    with redis_server(tmp_path) as first:
        client = make_client(first.url)
        try:
            assert await client.set("k", b"1")
            first.process.kill()
            first.process.wait()
            with redis_server(tmp_path, port=first.port):
                assert await client.set("k", b"2")  # on the dead pooled connection: one retry reconnects
        finally:
            await client.aclose()


async def test_a_redis_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A trial: with Redis down ~28 s each replica logged `pauses not refreshed` at every re-read (5 s:
    720 lines an hour per replica), its error reading "…Connection refused.; try again shortly"."""
    caplog.set_level(logging.WARNING, logger="mcprt")
    with redis_server(tmp_path) as first:
        # resumed_ttl 0.4 s: the idle re-read runs every 0.05 s, so the outage below spans many of them
        state = RedisPolicyState(make_client(first.url), prefix="mcprt:outage:", resumed_ttl=0.4)
        await state.start()
        try:
            first.process.kill()
            first.process.wait()
            for _ in range(2):  # calls re-read too (`pause_check`, once per refresh period)
                state._pauses_read = 0.0
                assert await state.pause_check(("tool:x",)) is None
                await asyncio.sleep(0.1)
            with redis_server(tmp_path, port=first.port):
                deadline = time.monotonic() + 10
                while "pauses refreshed again" not in caplog.text:
                    assert time.monotonic() < deadline, caplog.text
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.2)  # more re-reads that work: no more lines
        finally:
            await state.aclose()
            await state._client.aclose()
    lines = [r for r in caplog.records if r.getMessage().startswith("pauses ")]
    assert [r.getMessage().split(":")[0] for r in lines] == ["pauses not refreshed", "pauses refreshed again"], \
        caplog.text
    error = lines[0].fields["error"]  # type: ignore[attr-defined]
    assert error.startswith("shared state (Redis) is unavailable: ") and error.endswith("; try again shortly")
    assert ".;" not in error and ".." not in error, error


# --- pauses: a kill switch never turns itself off, and a resume or a new pause is never undone ------


class Replicas:
    """Policy states of several replicas sharing one prefix on the module's Redis (their own clients)."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url, self.prefix = url, prefix
        self.started: list[RedisPolicyState] = []

    async def replica(self, *, start: bool = True, resumed_ttl: float = RESUMED_TTL) -> RedisPolicyState:
        """A replica's policy state; `start=False`: one that never re-reads on its own (as if its link
        to Redis were down), its copy as old as its last own command."""
        state = RedisPolicyState(make_client(self.url), prefix=self.prefix, resumed_ttl=resumed_ttl)
        if start:
            await state.start()
        self.started.append(state)
        return state

    async def aclose(self) -> None:
        try:
            for state in self.started:
                assert await stop_time(state.aclose) < STOPS_WITHIN
        finally:
            for state in self.started:
                await state._client.aclose()


STOPS_WITHIN = 1.0  # s: generous (a stop takes milliseconds; a lost cancel costs `stopping.GRACE`, 0.25 s)


async def stop_time(aclose: Callable[[], Awaitable[None]]) -> float:
    """Seconds `aclose()` took, bounded at twice `STOPS_WITHIN` so a stop that hangs fails instead of
    hanging the suite (the old `aclose` swallowed even this bound's cancel, and returned at it)."""
    started = time.monotonic()
    await asyncio.wait_for(aclose(), 2 * STOPS_WITHIN)
    return time.monotonic() - started


@pytest.fixture
async def replicas(redis: Redis, request: pytest.FixtureRequest) -> AsyncIterator[Replicas]:
    made = Replicas(redis.url, f"mcprt:{request.node.name}:")
    yield made
    await made.aclose()


async def lose_data(redis: Redis) -> None:
    """FLUSHALL once the replicas' re-reads on their own "pauses changed" messages have landed (a
    re-read that came after the flush would notice the loss before the step under test)."""
    await asyncio.sleep(0.3)
    assert redis.cli("FLUSHALL") == "OK"


async def paused_everywhere(replicas: Replicas, redis: Redis, *, also_new: bool = True) -> list[list[str]]:
    """What the hash holds, then what each replica's copy holds once it re-read (one started now too)."""
    if also_new:
        await replicas.replica()
    copies = [sorted(await state.pause_list()) for state in replicas.started]
    hash_fields = redis.cli("HKEYS", f"{replicas.prefix}pauses").split()
    return [sorted(f for f in hash_fields if not f.startswith("~")), *copies]


async def test_a_resume_right_after_redis_lost_its_data_is_not_undone(replicas: Replicas, redis: Redis) -> None:
    holder, operator = await replicas.replica(), await replicas.replica()
    await holder.pause_set("tool:x", True, by="ops")
    await holder.pause_set("tool:y", True, by="ops")
    assert sorted(await operator.pause_list()) == ["tool:x", "tool:y"]
    await lose_data(redis)
    await operator.pause_set("tool:x", False, by="ops")  # before any replica noticed the loss
    # the holder's copy brings tool:y back, not tool:x; every replica (one started since too) agrees
    assert await paused_everywhere(replicas, redis) == [["tool:y"]] * 4


def _tombstones(replicas: Replicas, redis: Redis) -> list[str]:
    return sorted(f for f in redis.cli("HKEYS", f"{replicas.prefix}pauses").split() if f.startswith("~resumed:"))


async def test_resume_tombstones_do_not_accumulate(replicas: Replicas, redis: Redis) -> None:
    """One tombstone per target ever resumed stayed in the pauses hash forever; each now lives
    `RESUMED_TTL` (1 s here, a day by default) and the next pause or resume drops the older ones."""
    operator = await replicas.replica(resumed_ttl=1.0)
    for target in ("tool:a", "tool:b"):
        await operator.pause_set(target, True, by="ops")
        await operator.pause_set(target, False, by="ops")
    assert _tombstones(replicas, redis) == ["~resumed:tool:a", "~resumed:tool:b"]
    await asyncio.sleep(1.1)
    await operator.pause_set("tool:c", True, by="ops")
    await operator.pause_set("tool:c", False, by="ops")
    assert _tombstones(replicas, redis) == ["~resumed:tool:c"]


async def test_an_older_versions_tombstone_starts_its_ttl_when_next_touched(replicas: Replicas, redis: Redis) -> None:
    """A tombstone written by the version before tombstones had a time holds "1", which Lua's
    tonumber read as a time in 1970: the next pause or resume deleted it at once (and with it the
    protection of that resume). It gets the time of that pause or resume instead, and lives a TTL."""
    operator = await replicas.replica(start=False)  # only the script is under test
    redis.cli("HSET", f"{replicas.prefix}pauses", "~resumed:tool:old", "1")
    before = time.time()
    await operator.pause_set("tool:new", True, by="ops")
    assert _tombstones(replicas, redis) == ["~resumed:tool:old"]
    stamped = float(redis.cli("HGET", f"{replicas.prefix}pauses", "~resumed:tool:old"))
    assert before - 1 <= stamped <= time.time() + 1
    await operator.pause_set("tool:new", False, by="ops")  # touched again: the stamp stays
    assert float(redis.cli("HGET", f"{replicas.prefix}pauses", "~resumed:tool:old")) == stamped


async def test_a_copy_older_than_the_tombstones_is_not_merged_back(replicas: Replicas, redis: Redis) -> None:
    """The bound must not reopen what tombstones fix: a replica whose copy predates a resume whose
    tombstone is gone does not write that copy back after a loss (every replica re-reads at least
    every eighth of the TTL; this one never did, as if cut off from Redis)."""
    holder = await replicas.replica(start=False, resumed_ttl=1.0)
    operator = await replicas.replica(resumed_ttl=1.0)
    await holder.pause_set("tool:x", True, by="ops")  # the holder's copy: tool:x paused
    await lose_data(redis)
    await operator.pause_set("tool:x", False, by="ops")  # resumed after the loss: a tombstone
    await asyncio.sleep(1.1)
    await operator.pause_set("tool:y", True, by="ops")  # drops the tombstone, older than the TTL
    assert _tombstones(replicas, redis) == []
    assert sorted(await holder.pause_list()) == ["tool:y"]  # tool:x stays resumed
    assert sorted(await operator.pause_list()) == ["tool:y"]


async def test_a_pause_survives_a_long_outage_followed_by_a_data_loss(replicas: Replicas, redis: Redis) -> None:
    """Redis unreachable for longer than half `RESUMED_TTL` (12 h by default; 0.6 s of a 1 s TTL
    here), then back empty: every replica's copy was "too old" and none restored the pause — the
    kill switch turned itself off. The new hash is younger than the TTL, so none of its tombstones
    can be gone yet: the copy is merged back."""
    holder = await replicas.replica(start=False, resumed_ttl=1.0)  # its copy ages as in an outage
    await holder.pause_set("tool:x", True, by="ops")
    await asyncio.sleep(0.6)
    await lose_data(redis)
    assert sorted(await holder.pause_list()) == ["tool:x"]
    assert sorted(await (await replicas.replica(resumed_ttl=1.0)).pause_list()) == ["tool:x"]  # started: it stops


async def test_a_pause_right_after_redis_lost_its_data_does_not_hide_the_older_ones(
        replicas: Replicas, redis: Redis) -> None:
    holder = await replicas.replica()
    await replicas.replica()  # another one that holds the pause
    await holder.pause_set("tool:x", True, by="ops")
    await lose_data(redis)
    fresh = await replicas.replica()  # started after the loss: it holds nothing
    await fresh.pause_set("tool:y", True, by="ops")  # the hash is not empty any more
    assert await paused_everywhere(replicas, redis) == [["tool:x", "tool:y"]] * 5


async def test_a_pauses_hash_of_an_older_version_is_migrated_not_restored_over(
        replicas: Replicas, redis: Redis) -> None:
    """Written before the `~kept` marker existed: resuming its last target must resume it."""
    old = json.dumps({"by": "ops", "since": time.time(), "reason": None})
    redis.cli("HSET", f"{replicas.prefix}pauses", "tool:x", old)
    holder, operator = await replicas.replica(), await replicas.replica()
    assert sorted(await holder.pause_list()) == ["tool:x"]
    await operator.pause_set("tool:x", False, by="ops")
    assert await paused_everywhere(replicas, redis) == [[]] * 4
    await operator.pause_set("tool:x", True, by="ops")  # paused again: the tombstone goes with it
    await lose_data(redis)
    assert await paused_everywhere(replicas, redis, also_new=False) == [["tool:x"]] * 4


# --- sessions: an ended session is not written back, nor one whose idle timeout passed --------------


def options_for(redis: Redis) -> ServeOptions:
    return ServeOptions("http", "127.0.0.1", 0, "/mcp", False, False, state_url=redis.url)


@pytest.fixture
async def two_replicas(redis: Redis, request: pytest.FixtureRequest) -> AsyncIterator[list[SharedState]]:
    """Two replicas' shared state as `mcprt up` opens it (wiring included), 2 s session idle timeout."""
    options = options_for(redis)
    opened = [await open_shared_state(options, request.node.name, 2.0) for _ in range(2)]
    yield [shared for shared in opened if shared is not None]
    for shared in opened:
        assert shared is not None
        await shared.aclose()


def record() -> SessionRecord:
    return SessionRecord("2025-06-18", {"capabilities": {}}, "alice", time.time())


async def test_a_session_deleted_through_another_replica_is_not_written_back(
        two_replicas: list[SharedState], redis: Redis) -> None:
    opener, other = two_replicas
    heard = asyncio.Event()
    opener.sessions.on_ended.append(lambda session_id, evicted: heard.set() or False)  # keeps nothing
    await opener.sessions.put("s1", record())
    other.sessions.hold("s1", record())  # adopted there, then the client's DELETE reached it
    await other.sessions.delete("s1")
    # the session-ended message reaches the opener (pub/sub: it was given a fixed 0.3 s, tight under load)
    await asyncio.wait_for(heard.wait(), 30)
    await lose_data(redis)
    assert [await opener.sessions.restore(), await other.sessions.restore()] == [0, 0]
    assert await opener.sessions.get("s1") is None


async def test_a_replica_that_missed_the_end_of_a_session_does_not_write_it_back(redis: Redis) -> None:
    """Cut off from Redis meanwhile (its marker expired, so it writes back): the ended-marker holds it."""
    client = make_client(redis.url)
    try:
        cut_off, other = (SessionRecords(client, prefix="mcprt:missed:", ttl=60) for _ in range(2))
        await cut_off.put("s1", record())
        await other.delete("s1")  # no one listens: the message is lost
        assert await cut_off.restore() == 0
        assert await other.get("s1") is None
    finally:
        await client.aclose()


async def test_a_written_back_session_keeps_the_lifetime_it_had_left_and_an_idle_one_stays_gone(
        two_replicas: list[SharedState], redis: Redis) -> None:
    opener = two_replicas[0].sessions
    await opener.put("s1", record())
    await asyncio.sleep(1.0)
    await lose_data(redis)
    assert await opener.restore() == 1
    assert 0 < int(redis.cli("PTTL", f"{two_replicas[0].prefix}session:s1")) <= 800  # not a fresh 2 s
    await asyncio.sleep(1.0)  # its idle timeout has passed: Redis dropped it
    assert await opener.get("s1") is None
    assert await opener.restore() == 0


async def test_a_kept_session_whose_record_cannot_be_written_back_is_logged_as_such(
        caplog: pytest.LogCaptureFixture) -> None:
    """A session evicted on another replica but busy here is kept, its record written back
    (`SessionRecords.revive`). When Redis refused that write, the failure only went to the sessions'
    outage line: nothing at all when that outage was logged already, and never that this session is
    now unknown to every other replica (it stays so after Redis is back). One line, naming it."""
    from mcp.server.lowlevel import Server
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

    from mcprt.server.shared_sessions import share_sessions
    from tests.support.components import free_port

    client = make_client(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens: every write fails
    try:
        records = SessionRecords(client, prefix="mcprt:revive:", ttl=60)
        records.hold("kept-session-1", record())
        holder = SimpleNamespace(_session_manager=StreamableHTTPSessionManager(app=Server("revive")))
        manager = share_sessions(holder, records, None)
        with caplog.at_level(logging.WARNING, logger="mcprt"):
            manager._sharing.failed(error="Redis went away earlier")  # the outage's line was logged already
            caplog.clear()
            await manager._revive("kept-session-1")  # as `_ended_elsewhere` starts it
        lines = [(r.getMessage(), getattr(r, "fields", {})) for r in caplog.records]
        assert len(lines) == 1 and "could not be written back" in lines[0][0], lines
        assert lines[0][1]["session"] == "kept-session"  # which one (an id's first 12 characters, as elsewhere)
    finally:
        await client.aclose()


async def test_ended_sessions_whose_records_cannot_be_removed_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    """An eviction (or a client's DELETE) whose delete Redis refused: `SessionRecords.delete` swallowed
    the failure, so the session manager's "not removed" line, waiting for an exception, was never
    written, while other replicas could still adopt the evicted session until its record expired.
    Logged once per outage (a DELETE per session under traffic)."""
    from tests.support.components import free_port

    client = make_client(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens: every write fails
    try:
        records = SessionRecords(client, prefix="mcprt:evict:", ttl=60)
        with caplog.at_level(logging.WARNING, logger="mcprt"):
            await records.delete("evicted-session-1", evicted=True)  # raises nothing, as before
            await records.delete("deleted-session-2")
        assert [r.getMessage() for r in caplog.records] == [
            "ended sessions not removed from shared state: other replicas may serve them until they idle out"]
    finally:
        await client.aclose()


# --- the data check: Redis that kept its data is not taken for one that lost it -------------------


async def test_a_data_check_interval_longer_than_the_marker_s_30_s_sees_no_loss_where_there_was_none(
        redis: Redis, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """MCPRT_DATA_LOSS_CHECK_INTERVAL=60 with the replica's marker living a fixed 30 s: the marker had
    expired at every check, so every check logged "shared state lost its data" and wrote everything
    back, Redis holding all of it. Scaled by 1/100 (a 0.3 s floor, a 0.6 s interval); a real loss is
    still noticed at the next check."""
    monkeypatch.setattr(shared_state, "MARK_TTL_MS", 300)
    monkeypatch.setenv("MCPRT_DATA_LOSS_CHECK_INTERVAL", "0.6")
    shared = await open_shared_state(options_for(redis), request.node.name, 60.0)
    assert shared is not None
    write_backs: list[float] = []

    async def counted() -> int:  # one more restorer, as serve adds the task records' own
        write_backs.append(time.monotonic())
        return 0

    shared.restorers["counted"] = counted
    watch = asyncio.create_task(shared.watch_data_loss())
    try:
        await asyncio.sleep(2.0)  # three checks after the first, each one past the 0.3 s floor
        assert write_backs == [], "Redis kept its data: nothing was to be written back"
        await lose_data(redis)
        deadline = time.monotonic() + 5
        while not write_backs:
            assert time.monotonic() < deadline, "Redis lost its data and no check noticed"
            await asyncio.sleep(0.05)
    finally:
        assert await stop_tasks([watch], what="data watch")  # as serve stops it: a lost cancel hung a gather
        await shared.aclose()


# --- stopping: a started replica's shared state stops within a bound, even mid-command -------------


def running(kind: type) -> list[str]:
    """Names of the tasks still running a method of `kind` (a stopped component leaves none)."""
    return [task.get_coro().__qualname__ for task in asyncio.all_tasks()
            if not task.done() and task.get_coro().__qualname__.startswith(kind.__name__ + ".")]


async def test_a_started_policy_state_stops_promptly_even_in_the_middle_of_a_command(redis: Redis) -> None:
    """Cancelled right as a command was written (re-reading the pauses every 6 ms here keeps one in
    flight), the refresher or the listener carried on — Python 3.11's `asyncio.wait_for` in redis-py's
    send returns instead of raising then — and `aclose`, awaiting the listener, hung for ever (a test's
    teardown never finished): about one stop in five here. Each stop now ends every task within the bound."""
    client = make_client(redis.url)
    try:
        for cycle in range(20):  # a stop hung one time in five or more: 20 catch it 99 times in 100
            state = RedisPolicyState(client, prefix="mcprt:stopping:", resumed_ttl=0.05)
            await state.start()
            await asyncio.sleep((cycle % 5) * 0.002)  # stopped at different points of a re-read
            took = await stop_time(state.aclose)
            assert took < STOPS_WITHIN and running(RedisPolicyState) == [], f"stop {cycle}: {took:.2f} s"
    finally:
        await client.aclose()


async def test_a_round_relay_stopped_while_subscribing_stops_promptly(redis: Redis) -> None:
    """A replica stopped while its relay was (re)subscribing — at start, or after Redis came back: the
    cancel landed in the SUBSCRIBE's send, was lost, and the listener went on to wait for messages for
    ever, so `aclose` never returned (about one stop in three here)."""
    async def resume(state: str, principal: object, responses: dict[str, object]) -> dict[str, object]:
        return {}

    client = make_client(redis.url)
    try:
        for cycle in range(20):  # a stop hung one time in five or more: 20 catch it 99 times in 100
            relay = RoundRelay(client, prefix="mcprt:stopping:", ttl=5.0)
            await relay.start(resume, timeout=0)  # returns at once: the listener is still subscribing
            await asyncio.sleep((cycle % 5) * 0.0005)
            took = await stop_time(relay.aclose)
            assert took < STOPS_WITHIN and running(RoundRelay) == [], f"stop {cycle}: {took:.2f} s"
    finally:
        await client.aclose()


async def test_each_task_a_stop_may_leave_running_is_named_for_what_it_does(redis: Redis) -> None:
    """The policy state's stop said "shared state events listener did not stop in time" whichever of
    its tasks was left (its pause refresher, a pause re-read); its tasks and the relay's had no
    names (`Task-7`). Each now has one, which `stop_tasks` logs for each task left running."""
    async def resume(state: str, principal: object, responses: dict[str, object]) -> dict[str, object]:
        return {}

    client = make_client(redis.url)
    state = RedisPolicyState(client, prefix="mcprt:names:")
    relay = RoundRelay(client, prefix="mcprt:names:", ttl=5.0)
    try:
        await state.start()
        await relay.start(resume)
        names = {task.get_name() for task in asyncio.all_tasks()
                 if task.get_coro().__qualname__.split(".")[0] in ("RedisPolicyState", "RoundRelay")}
        assert names == {"shared state events listener", "pause copy refresher", "round relay listener"}
    finally:
        await state.aclose()
        await relay.aclose()
        await client.aclose()
