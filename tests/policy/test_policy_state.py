"""The `PolicyState` contract, run against every implementation — the in-process one and the Redis
one (on a real `redis-server` started for the session): buckets, approvals with votes and waiting, pauses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager

import pytest

from mcprt.policy.state import ApprovalRequest, MemoryPolicyState, PolicyState, Vote, new_approval_id

STATES: dict[str, Callable[[], PolicyState]] = {"memory": MemoryPolicyState}


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.support.components import redis_server

    with redis_server(tmp_path_factory.mktemp("redis")) as redis:
        yield redis.url


@pytest.fixture(params=[*sorted(STATES), "redis"])
async def state(request: pytest.FixtureRequest) -> AsyncIterator[PolicyState]:
    if request.param == "redis":
        from mcprt.state.policy import RedisPolicyState
        from mcprt.state.redis_client import make_client

        client = make_client(request.getfixturevalue("redis_url"))
        made: PolicyState = RedisPolicyState(client, prefix=f"test:{new_approval_id()}:")
        await made.start()  # type: ignore[attr-defined]
        yield made
        await made.aclose()
        await client.aclose()
        return
    made = STATES[request.param]()
    yield made
    await made.aclose()


def pending(key: str = "k1", required: int = 1, valid_for: float = 60) -> ApprovalRequest:
    now = time.time()
    return ApprovalRequest(id=new_approval_id(), key=key, tool="refund", source="ops", principal="ci-bot",
                           arguments={"amount": 5000}, created=now, expires=now + valid_for, required=required)


async def test_bucket_allows_burst_then_refuses_with_retry_time(state: PolicyState) -> None:
    results = [await state.bucket_take("b", rate=5 / 60, burst=5) for _ in range(6)]
    assert [allowed for allowed, _ in results] == [True] * 5 + [False]
    assert all(retry == 0 for _, retry in results[:5])
    assert 11 < results[5][1] <= 12  # one token every 12 s
    assert (await state.bucket_take("other", rate=5 / 60, burst=5))[0]  # buckets are independent


async def test_a_bucket_keeps_its_spent_calls_when_its_limit_changes(state: PolicyState) -> None:
    """A reload changing a limit (same key, another rate and burst) gave a full bucket of the new size:
    10/min with 10 spent, raised to 20/min, allowed 20 more (and lowered to 9/min, 9 more). The calls
    made count against the new limit: 10 more when raised; none when lowered below them."""
    assert all([(await state.bucket_take("up", rate=10 / 60, burst=10))[0] for _ in range(10)])
    raised = [(await state.bucket_take("up", rate=20 / 60, burst=20))[0] for _ in range(11)]
    assert raised == [True] * 10 + [False]
    assert all([(await state.bucket_take("down", rate=10 / 60, burst=10))[0] for _ in range(3)])
    lowered = [(await state.bucket_take("down", rate=4 / 60, burst=4)) for _ in range(2)]
    assert [allowed for allowed, _ in lowered] == [True, False]
    assert 14 < lowered[1][1] <= 15  # one spent call drains every 15 s at 4/min


async def test_memory_buckets_of_principals_gone_quiet_are_forgotten() -> None:
    """One bucket per principal (and tool, and limit): a server running for weeks meets any number of
    them. Once a bucket has refilled it is the same as none, so the table does not keep it; a bucket
    still short of tokens is kept and goes on refusing."""
    state = MemoryPolicyState()
    assert not all([(await state.bucket_take("busy", rate=1 / 60, burst=1))[0] for _ in range(2)])
    for wave in range(10):
        for n in range(300):
            assert (await state.bucket_take(f"principal-{wave}-{n}", rate=1000.0, burst=2))[0]
        await asyncio.sleep(0.01)  # 2 tokens at 1000/s: every bucket of this wave is full again
    assert state.buckets < 1000  # it held all 3,001 before
    allowed, retry = await state.bucket_take("busy", rate=1 / 60, burst=1)
    assert not allowed and retry > 50  # the bucket still refilling was kept


async def test_approval_create_dedupes_by_key_and_lists(state: PolicyState) -> None:
    first = await state.approval_create(pending())
    again = await state.approval_create(pending())
    assert again.id == first.id
    assert [r.id for r in await state.approval_list()] == [first.id]
    assert (await state.approval_find("k1")).id == first.id  # type: ignore[union-attr]
    assert await state.approval_find("nope") is None


async def test_votes_settle_required_and_denial(state: PolicyState) -> None:
    two = await state.approval_create(pending("k2", required=2))
    assert (await state.approval_decide(two.id, Vote("alice", True, time.time()))).status == "pending"  # type: ignore[union-attr]
    assert (await state.approval_decide(two.id, Vote("alice", True, time.time()))).status == "pending"  # type: ignore[union-attr]
    decided = await state.approval_decide(two.id, Vote("bob", True, time.time()))
    assert decided is not None and decided.status == "approved"
    assert await state.approval_list() == []
    assert [r.id for r in await state.approval_list(pending_only=False)] == [two.id]
    denied = await state.approval_create(pending("k3"))
    result = await state.approval_decide(denied.id, Vote("bob", False, time.time(), "no"))
    assert result is not None and (result.status, result.reason) == ("denied", "no")
    assert await state.approval_decide("ap_unknown", Vote("bob", True, time.time())) is None


async def test_wait_wakes_on_decision_and_times_out(state: PolicyState) -> None:
    request = await state.approval_create(pending("k4"))
    started = time.monotonic()
    assert (await state.approval_wait(request.id, 0.2, seen=0)).status == "pending"  # type: ignore[union-attr]
    assert time.monotonic() - started >= 0.19

    async def decide_soon() -> None:
        await asyncio.sleep(0.05)
        await state.approval_decide(request.id, Vote("alice", True, time.time()))

    task = asyncio.create_task(decide_soon())
    woke = await state.approval_wait(request.id, 30, seen=0)
    await task
    assert woke is not None and woke.status == "approved"


WAKE_BOUND = 10.0  # s: a wake by the published vote, on a loaded machine; the re-read is made 30 s (SLOW_POLL)
SLOW_POLL = 30.0  # WAIT_POLL in these tests: only the vote's wake can come within WAKE_BOUND


async def test_a_vote_that_does_not_settle_wakes_the_waiters_at_once(state: PolicyState,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a vote that settled a request woke its waiters, so a vote meeting a quorum a reload loosened
    (stored `required: 2`, served 1) reached the waiting call at its next round, up to 5 s later. Every
    recorded vote wakes them now; `seen` says how many votes the waiter has judged already.
    The Redis backend's re-read (1 s) is made 30 s here: the wake is told from it by a bound a loaded
    machine meets (it was under 0.9 s against the 1 s re-read)."""
    monkeypatch.setattr("mcprt.state.policy.WAIT_POLL", SLOW_POLL)
    request = await state.approval_create(pending("k9", required=2))

    async def vote_soon() -> None:
        await asyncio.sleep(0.05)
        await state.approval_decide(request.id, Vote("alice", True, time.time()))

    task = asyncio.create_task(vote_soon())
    started = time.monotonic()
    woke = await state.approval_wait(request.id, SLOW_POLL, seen=0)
    await task
    # well within the Redis backend's re-read: the published vote woke it
    assert time.monotonic() - started < WAKE_BOUND
    assert woke is not None and woke.status == "pending" and [v.approver for v in woke.votes] == ["alice"]
    started = time.monotonic()
    again = await state.approval_wait(request.id, SLOW_POLL, seen=0)  # a vote past `seen`: at once
    assert again is not None and again.votes
    assert time.monotonic() - started < WAKE_BOUND
    assert len((await state.approval_wait(request.id, 0.2, seen=1)).votes) == 1  # type: ignore[union-attr]


@pytest.mark.parametrize("backend", ["protocol", "memory", "redis"])
def test_a_waiter_must_say_how_many_votes_it_has_seen(backend: str) -> None:
    """`seen` defaulted to 0, so a waiter that left it out returned at once, again and again, for any
    request that already had a vote (a busy loop until it was decided). It is keyword-only with no default."""
    import inspect

    from mcprt.state.policy import RedisPolicyState

    made = {"protocol": PolicyState, "memory": MemoryPolicyState, "redis": RedisPolicyState}[backend]
    seen = inspect.signature(made.approval_wait).parameters["seen"]
    assert (seen.kind, seen.default) == (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.empty)


@asynccontextmanager
async def _two_replicas(redis_url: str) -> AsyncIterator[list[PolicyState]]:
    """Two replicas' policy states on one Redis under a prefix of their own, started, and closed after."""
    from mcprt.state.policy import RedisPolicyState
    from mcprt.state.redis_client import make_client

    prefix = f"test:{new_approval_id()}:"
    clients = [make_client(redis_url), make_client(redis_url)]
    replicas = [RedisPolicyState(client, prefix=prefix) for client in clients]
    try:
        for replica in replicas:
            await replica.start()
        yield list(replicas)
    finally:
        for replica, client in zip(replicas, clients):
            await replica.aclose()
            await client.aclose()


async def test_a_vote_through_one_replica_wakes_a_call_waiting_on_another(redis_url: str,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Replicas share Redis: the vote recorded through A wakes the waiter on B at once (pub/sub), though
    it does not settle the request."""
    monkeypatch.setattr("mcprt.state.policy.WAIT_POLL", SLOW_POLL)  # B's re-read cannot pass for the wake
    async with _two_replicas(redis_url) as replicas:
        request = await replicas[0].approval_create(pending("k10", required=2))
        waiting = asyncio.create_task(replicas[1].approval_wait(request.id, SLOW_POLL, seen=0))
        await asyncio.sleep(0.1)  # B waits (subscribed since start)
        started = time.monotonic()
        await replicas[0].approval_decide(request.id, Vote("alice", True, time.time()))
        woke = await waiting
        assert time.monotonic() - started < WAKE_BOUND  # not B's re-read
        assert woke is not None and [v.approver for v in woke.votes] == ["alice"]


async def test_a_request_no_longer_needed_is_closed_once(state: PolicyState) -> None:
    """A reload made the call's rule `allow`: its request is closed (not pending, with why), once, and
    its waiters wake; no vote is recorded on it, and the identical call's next request is a new one.
    A reload that loosened its quorum, met by the votes given, approves it (`approval_requorum`)."""
    request = await state.approval_create(pending("k11"))
    waiting = asyncio.create_task(state.approval_wait(request.id, 3, seen=0))
    await asyncio.sleep(0.05)
    closed = await state.approval_close(request.id, "not needed")
    assert closed is not None and (closed.status, closed.reason) == ("closed", "not needed")
    assert (await asyncio.wait_for(waiting, 0.9)).status == "closed"  # type: ignore[union-attr]
    assert await state.approval_close(request.id, "again") is None  # once: audited once
    assert await state.approval_list() == []
    voted = await state.approval_decide(request.id, Vote("alice", True, time.time()))
    assert voted is not None and (voted.status, voted.votes) == ("closed", [])
    assert (await state.approval_create(pending("k11"))).id != request.id
    assert await state.approval_close("ap_unknown", "x") is None
    # a quorum a reload loosened (2 → 1), met by the votes given: the request is put under it, approved
    two = await state.approval_create(pending("k12", required=2))
    await state.approval_decide(two.id, Vote("alice", True, time.time()))
    moved = await state.approval_requorum(two.id, 1, ["alice", "bob"])
    assert moved is not None and (moved.status, moved.required, moved.approvers) == ("approved", 1, ["alice", "bob"])
    assert await state.approval_requorum(two.id, 1, []) is None  # no longer pending


async def test_an_approval_is_used_once_and_says_by_which_call_and_when(state: PolicyState) -> None:
    """`approval_use` (an approval of one execution, `approvals.uses`): the first call gets it, every later one
    gets it back used — when and by which call — and nothing is used before the request is approved."""
    request = await state.approval_create(pending("k-use"))
    early, won_early = await state.approval_use(request.id, "c-early")  # still pending: nothing to use
    assert not won_early and early is not None and (early.status, early.used) == ("pending", None)
    await state.approval_decide(request.id, Vote("alice", True, time.time()))
    before = await state.now()
    taken, won = await state.approval_use(request.id, "c-first")
    assert won and taken is not None and taken.used_by == "c-first" and before <= taken.used <= await state.now()
    again, won_again = await state.approval_use(request.id, "c-second")
    assert not won_again and again is not None and (again.used_by, again.used) == ("c-first", taken.used)
    found = await state.approval_find("k-use")  # kept: the next identical call reads who used it
    assert found is not None and found.used_by == "c-first"
    assert await state.approval_use("ap_unknown", "c") == (None, False)


async def test_a_use_is_given_back_only_by_the_call_that_took_it(state: PolicyState) -> None:
    """`approval_unuse` (a call that never reached its upstream gives its use back): a compare-and-set on
    `used_by` — another call's id gives nothing back, the using call's does once, and the approval can then
    be used again (by the same call repeated)."""
    request = await state.approval_create(pending("k-unuse"))
    assert not await state.approval_unuse(request.id, "c-first")  # pending: nothing used
    await state.approval_decide(request.id, Vote("alice", True, time.time()))
    _, won = await state.approval_use(request.id, "c-first")
    assert won
    assert not await state.approval_unuse(request.id, "c-other")  # not its use: left as it is
    kept = await state.approval_get(request.id)
    assert kept is not None and kept.used_by == "c-first"
    assert await state.approval_unuse(request.id, "c-first")
    back = await state.approval_get(request.id)
    assert back is not None and (back.status, back.used, back.used_by) == ("approved", None, None)
    assert not await state.approval_unuse(request.id, "c-first")  # once
    again, won_again = await state.approval_use(request.id, "c-again")
    assert won_again and again is not None and again.used_by == "c-again"
    assert not await state.approval_unuse("ap_unknown", "c")


async def test_concurrent_uses_of_one_approval_through_two_replicas_give_it_to_one(redis_url: str) -> None:
    """Replicas share Redis: identical calls on two replicas racing for one approval — exactly one runs (the
    WATCH/MULTI transaction of the second fails, re-reads the record used, and leaves it)."""
    async with _two_replicas(redis_url) as replicas:
        for round_ in range(20):
            request = await replicas[0].approval_create(pending(f"k-race{round_}"))
            await replicas[1].approval_decide(request.id, Vote("alice", True, time.time()))
            outcomes = await asyncio.gather(*(replicas[i % 2].approval_use(request.id, f"c{i}") for i in range(6)))
            winners = [i for i, (_, won) in enumerate(outcomes) if won]
            assert len(winners) == 1, outcomes
            stored = await replicas[0].approval_get(request.id)
            assert stored is not None and stored.used_by == f"c{winners[0]}"
            assert all(taken is not None and taken.used_by == f"c{winners[0]}" for taken, _ in outcomes)


async def test_expired_requests_are_gone(state: PolicyState) -> None:
    old = await state.approval_create(pending("k5", valid_for=0.05))
    await asyncio.sleep(0.1)
    assert await state.approval_find("k5") is None
    assert await state.approval_decide(old.id, Vote("alice", True, time.time())) is None


async def test_an_undecided_expired_request_is_claimed_once(state: PolicyState) -> None:
    undecided = await state.approval_create(pending("k6", valid_for=0.05))
    decided = await state.approval_create(pending("k7", valid_for=0.05))
    await state.approval_decide(decided.id, Vote("alice", False, time.time()))
    open_still = await state.approval_create(pending("k8", valid_for=60))
    await asyncio.sleep(0.1)
    assert [r.id for r in await state.approval_claim_expired()] == [undecided.id]
    assert await state.approval_claim_expired() == []  # once only (with Redis: one replica only)
    assert open_still.id in [r.id for r in await state.approval_list()]  # still open: not claimed


async def test_pauses(state: PolicyState) -> None:
    assert await state.pause_check(("tool:x", "source:s", "all")) is None
    await state.pause_set("source:s", True, by="alice", reason="incident")
    assert await state.pause_check(("tool:x", "source:s", "all")) == "source:s"
    assert (await state.pause_list())["source:s"]["by"] == "alice"
    assert await state.pause_reason("source:s") == "incident"  # what the refused call tells the model
    await state.pause_set("all", True, by="alice")
    assert await state.pause_reason("all") is None  # paused without a reason
    await state.pause_set("all", False, by="alice")
    await state.pause_set("source:s", False, by="alice")
    assert await state.pause_reason("source:s") is None
    assert await state.pause_list() == {}


def test_records_round_trip_as_json() -> None:
    request = pending()
    request.votes.append(Vote("alice", True, 1.0, "ok"))
    assert ApprovalRequest.from_json(request.to_json()) == request
    request.used, request.used_by = 2.0, "c-1"  # used: kept, and read back
    assert ApprovalRequest.from_json(request.to_json()) == request


# The keys every version before `client_id` stored and refused to read past (their `from_json` passes each
# key to the dataclass): a request with no client must still be stored with exactly these.
KEYS_BEFORE_CLIENTS = {"id", "key", "tool", "source", "principal", "arguments", "created", "expires", "required",
                       "approvers", "rule", "status", "votes", "decided", "reason"}


async def test_a_request_keeps_its_client_and_one_without_stays_readable_by_older_replicas(state: PolicyState) -> None:
    """Approvers are shown the client a call came through (review of govleft, problem 3); the store keeps it.
    A request with no client is stored as before, so an older replica of a mixed fleet still reads it."""
    plain = pending("k-plain")
    assert set(plain.to_json()) == KEYS_BEFORE_CLIENTS
    through = pending("k-client")
    through.client_id, through.by_client = "partner[eu]", True
    await state.approval_create(plain)
    await state.approval_create(through)
    found = await state.approval_find("k-client")
    assert found is not None and (found.client_id, found.by_client, found.owner) == ("partner[eu]", True,
                                                                                      "client\x1fci-bot")
    assert (await state.approval_find("k-plain")).client_id is None  # type: ignore[union-attr]


def test_a_newer_replicas_request_is_read_leaving_out_what_this_version_does_not_know() -> None:
    """Rolling upgrades: a replica reads a record a newer one wrote (a key, a vote's key it does not know)
    instead of failing on it — the version before this one raised TypeError and its listing failed."""
    data = {**pending().to_json(), "client_id": "webapp", "from_the_future": {"x": 1},
            "votes": [{"approver": "alice", "approve": True, "time": 1.0, "reason": None, "weight": 2}]}
    request = ApprovalRequest.from_json(data)
    assert request.client_id == "webapp" and request.votes == [Vote("alice", True, 1.0)]


def test_an_approval_key_holds_the_client_and_a_call_without_one_keys_as_before() -> None:
    import hashlib
    import json

    from mcprt.identity.principal import Principal
    from mcprt.policy.approvals import request_key

    before = hashlib.sha256(json.dumps(["alice", "refund", {"amount": 5}], sort_keys=True,
                                       separators=(",", ":")).encode()).hexdigest()
    assert request_key("alice", "refund", {"amount": 5}) == before  # requests stored before stay found
    keys = {request_key("alice", "refund", {"amount": 5}, client) for client in (None, "desk", "tray")}
    assert len(keys) == 3
    user, client = Principal("short", "oauth", client_id="webapp"), Principal("short", "oauth", "short", by_client=True)
    assert request_key(user.owner, "refund", {}, user.client_id) != request_key(client.owner, "refund", {}, "webapp")


async def test_a_user_and_a_client_of_one_name_are_two_voters(state: PolicyState) -> None:
    """A vote is its voter's (`Vote.voter`, the owner key): the user alice and the OAuth client alice acting for
    itself are two voters, so each vote is recorded and counts; the same voter's second vote does not."""
    two = await state.approval_create(pending("k-voters", required=2))
    assert (await state.approval_decide(two.id, Vote("alice", True, time.time()))).status == "pending"  # type: ignore[union-attr]
    again = await state.approval_decide(two.id, Vote("alice", True, time.time()))
    assert again is not None and (again.status, len(again.votes)) == ("pending", 1)
    decided = await state.approval_decide(two.id, Vote("alice", True, time.time(), by_client=True))
    assert decided is not None and decided.status == "approved"
    assert [(v.approver, v.by_client, v.label) for v in decided.votes] == [("alice", False, "alice"),
                                                                          ("alice", True, "client:alice")]


def test_a_vote_not_by_a_client_is_stored_as_before() -> None:
    """A vote's `by_client` is stored only when true, so a request voted on by people stays readable by a
    replica of the version before it (whose `Vote` had no such field)."""
    request = pending()
    request.votes += [Vote("alice", True, 1.0), Vote("ci", True, 2.0, by_client=True)]
    stored = request.to_json()
    assert stored["votes"][0] == {"approver": "alice", "approve": True, "time": 1.0, "reason": None}
    assert stored["votes"][1]["by_client"] is True
    assert ApprovalRequest.from_json(stored) == request
