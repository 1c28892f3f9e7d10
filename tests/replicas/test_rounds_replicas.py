"""2026-07-28 input rounds behind a real HAProxy (round robin, no stickiness) over replicas sharing a
real Redis: a proxied server's question comes back as an InputRequiredResult from the replica that
runs the call (the owner), and the client's retry reaches whichever replica the balancer picks.

The client here is a 2026-07-28 client speaking raw JSON-RPC over httpx, so every request's replica
is known (HAProxy's `X-Served-By` header, see tests/support/components.py): the tests check that the
retries did land on replicas that do not hold the call.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.support.components import HAProxy, Redis, haproxy, redis_server, stop_process
from tests.support.everything import command_source, write_manifest
from tests.support.modern_client import META, Answer, answering, post_call, responses_to
from tests.support.served import UpProcess, child_env, http_client, mcprt_http, until_ready

pytestmark = pytest.mark.xdist_group("replicas")  # one cluster at a time, not one per worker

ALICE, BOT = "alice-rounds-token", "bot-rounds-token"
SERVER = 'server:\n  name: rounds-test\n  auth: {tokens: {alice: "${ALICE_TOKEN}", bot: "${BOT_TOKEN}"}}\n'
OWNER_STOPPED = ("the replica holding this call stopped; the call had started and may have acted in part: if it "
                 "changes something, check first whether it took effect before calling the tool again")
UNKNOWN = "Invalid or expired requestState; send the request again without it"
INVALID_PARAMS, SERVER_ERROR = -32602, -32000  # JSON-RPC error codes (the retry's state / the server)


def refused(answer: Answer, code: int) -> str:
    """The message of the JSON-RPC error `answer` carries, which must have `code`."""
    assert answer.error is not None and answer.error["code"] == code, answer
    return str(answer.error["message"])


@dataclass
class Cluster:
    redis: Redis
    replicas: list[UpProcess]
    balancer: HAProxy
    folder: Path
    manifest: Path
    env: dict[str, str]
    stack: ExitStack

    def replica(self, served_by: str) -> UpProcess:
        return self.replicas[int(served_by.removeprefix("r"))]  # HAProxy's names follow the backends' order

    async def repaired(self) -> Cluster:
        """This cluster as `started` left it, after a test killed or stopped parts of it: a stopped Redis
        started again on its port (empty, as a new one), each replica that exited started again on its
        port (a new process: nothing of the old one's calls), then waited for until every replica says
        ready and the balancer sends requests to each. Costs nothing when all still run."""
        if self.redis.process.poll() is not None:
            self.redis = self.stack.enter_context(redis_server(self.folder, port=self.redis.port))
        for index, replica in enumerate(self.replicas):
            if replica.process.poll() is None and _draining(replica):
                # an earlier test stopped it and failed before waiting for its exit: it drains, then exits (taken
                # as running, it was never ready again and the next test failed at its start)
                replica.process.wait(60)
            if replica.process.poll() is not None:
                port = replica.base.rsplit(":", 1)[1]
                self.replicas[index] = self.stack.enter_context(mcprt_http(
                    self.manifest, "--no-reload", "--port", port, env=self.env, startup_timeout=60))
        deadline = time.monotonic() + 30
        await until_ready(self.replicas, 30, "a replica did not come back ready")
        seen: set[str] = set()
        async with httpx.AsyncClient(timeout=30) as http:
            while len(seen) < len(self.replicas):  # HAProxy's health check (300 ms, rise 1) took each back
                assert time.monotonic() < deadline, f"the balancer reaches only {sorted(seen)}"
                response = await discover(http, self.balancer.url())
                if response.status_code == 200:
                    seen.add(response.headers["x-served-by"])
                else:
                    await asyncio.sleep(0.1)
        return self


def _draining(replica: UpProcess) -> bool:
    """Whether `replica` answers /readyz as draining (a SIGTERM reached it)."""
    try:
        return httpx.get(f"{replica.base}/readyz", timeout=10).json().get("status") == "draining"
    except (httpx.HTTPError, ValueError):
        return False


@contextmanager
def started(folder: Path, count: int, features: str = "tools,rounds") -> Iterator[Cluster]:
    """Redis, `count` replicas proxying the everything fixture (stdio, with `features`), HAProxy in front."""
    manifest = write_manifest(folder, command_source("fx", "--features", features), server=SERVER)
    with ExitStack() as stack:
        redis = stack.enter_context(redis_server(folder))
        # Redis's data checked every 0.5 s (not 2 s): a test waits for the write-back after FLUSHALL.
        env = child_env(MCPRT_STATE_URL=redis.url, ALICE_TOKEN=ALICE, BOT_TOKEN=BOT,
                        MCPRT_DATA_LOSS_CHECK_INTERVAL="0.5")
        replicas = [stack.enter_context(mcprt_http(manifest, "--no-reload", env=env, startup_timeout=60))
                    for _ in range(count)]
        ports = [int(r.url.split(":")[2].split("/")[0]) for r in replicas]
        yield Cluster(redis, replicas, stack.enter_context(haproxy(folder, ports)), folder, manifest, env, stack)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    # prompts too: the prompt-rounds test shares these replicas (the tool tests never list prompts)
    with started(tmp_path_factory.mktemp("rounds"), 3, features="tools,prompts,rounds") as running:
        yield running


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two replicas for the tests that kill a replica or stop Redis; see `two`."""
    with started(tmp_path_factory.mktemp("rounds-pair"), 2) as running:
        yield running


@pytest.fixture
async def two(pair: Cluster) -> Cluster:
    """The two-replica cluster, whole again before each test: what an earlier test killed (a replica,
    Redis) is started again on its port, so each test begins with two fresh-enough replicas behind the
    balancer - cheaper than a new cluster per test (Redis, HAProxy, two `mcprt up`, two proxied servers).
    The tests use calls of their own; records earlier tests left in Redis belong to other calls."""
    return await pair.repaired()


@dataclass
class Call:
    """One tool call done in rounds: the replica of every request, in order."""

    result: dict[str, Any]
    served_by: list[str] = field(default_factory=list)

    @property
    def owner(self) -> str:
        return self.served_by[0]  # the replica the call started on holds it for all its rounds

    @property
    def retries_elsewhere(self) -> int:
        return sum(1 for replica in self.served_by[1:] if replica != self.owner)


async def post(http: httpx.AsyncClient, url: str, token: str, name: str, params: dict[str, Any]) -> Answer:
    answer = await post_call(http, url, name, params, token)
    assert answer.served_by is not None, "HAProxy names the replica that answered"
    return answer


async def discover(http: httpx.AsyncClient, url: str) -> httpx.Response:
    """One cheap request (2026-07-28 `server/discover`, as alice) to `url`."""
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "MCP-Protocol-Version": "2026-07-28", "MCP-Method": "server/discover",
               "Authorization": f"Bearer {ALICE}"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": META}}
    return await http.post(url, json=body, headers=headers)


async def until_next_is_not(http: httpx.AsyncClient, url: str, replica: str) -> None:
    """Send cheap requests until one lands on `replica`: round robin sends the next one elsewhere."""
    for _ in range(10):
        response = await discover(http, url)
        assert response.status_code == 200, response.text
        if response.headers["x-served-by"] == replica:
            return
    raise AssertionError(f"round robin never reached {replica}")


async def call_in_rounds(http: httpx.AsyncClient, url: str, name: str, arguments: dict[str, Any], *,
                         token: str = ALICE, answer: Callable[[dict[str, Any]], dict[str, Any]] = answering,
                         via_balancer: bool = True) -> Call:
    send = post if via_balancer else lambda http, url, token, name, params: post_call(http, url, name, params, token)
    first = await send(http, url, token, name, {"arguments": arguments})
    call = Call(first.result, [first.served_by or url])
    for _ in range(10):  # a bound on rounds, far above what the fixture asks
        if call.result.get("resultType") != "input_required":
            return call
        responses = {key: answer(request) for key, request in call.result["inputRequests"].items()}
        retry = await send(http, url, token, name, {"arguments": arguments, "inputResponses": responses,
                                                    "requestState": call.result["requestState"]})
        call.result = retry.result
        call.served_by.append(retry.served_by or url)
    raise AssertionError(f"no final result after 10 rounds: {call}")


def text(result: dict[str, Any]) -> str:
    return "".join(block["text"] for block in result["content"] if block["type"] == "text")


EXPECTED = {
    ("test_elicitation", "Who are you?"): 'User response: action=accept, content={"username": "ada", "email": '
                                          '"ada@example.com"}',
    ("test_sampling", "2+2?"): "LLM response: answer to 2+2?",
    ("test_roots", None): '["file:///work/project"]',
}


async def test_every_round_succeeds_when_retries_land_on_replicas_that_do_not_hold_the_call(cluster: Cluster) -> None:
    crossed: dict[str, int] = {}
    async with httpx.AsyncClient(timeout=60) as http:
        for _ in range(3):  # until every tool had a retry served by a replica other than its owner
            for (name, value), expected in EXPECTED.items():
                arguments = {} if value is None else {"message" if name == "test_elicitation" else "prompt": value}
                call = await call_in_rounds(http, cluster.balancer.url(), name, arguments)
                assert not call.result.get("isError"), call
                assert text(call.result) == expected
                assert len(call.served_by) >= 2, "the fixture's tools ask the client once"
                crossed[name] = crossed.get(name, 0) + call.retries_elsewhere
            if all(crossed.get(name, 0) for name, _ in EXPECTED):
                break
    assert all(crossed.get(name, 0) for name, _ in EXPECTED), crossed


async def test_the_sdk_client_in_2026_mode_gets_every_answer_through_round_robin(cluster: Cluster) -> None:
    """The SDK's own 2026-07-28 client answers InputRequiredResult rounds by itself; behind round robin
    its retries reach the other replicas (one client: consecutive requests go to the next replica)."""
    from tests.proxy.test_proxy_relay import CALLBACKS, exercise

    async with http_client(cluster.balancer.url(), mode="auto", token=BOT, **CALLBACKS) as client:
        assert client.protocol_version == "2026-07-28"
        for _ in range(2):
            await exercise(client)


async def test_a_call_asking_twice_goes_on_over_three_replicas_and_runs_on_its_owner_only(cluster: Cluster) -> None:
    """The second question comes back through the replica the first retry reached; the call itself
    (and its log line, its shaping, its metrics) stays on the replica it started on."""
    # the module's replicas are shared and other tests call this tool too: only this call's lines count
    line, mention = "call tool=test_two_questions", "tool=test_two_questions"
    calls, mentions = ([r.log().count(needle) for r in cluster.replicas] for needle in (line, mention))
    async with httpx.AsyncClient(timeout=60) as http:
        call = await call_in_rounds(http, cluster.balancer.url(), "test_two_questions", {})
    assert not call.result.get("isError"), call
    assert text(call.result) == "ada works in file:///work/project"
    assert len(call.served_by) == 3 and call.retries_elsewhere == 2, call.served_by
    owner = cluster.replica(call.owner)
    owner.wait_log_beyond(line, calls[cluster.replicas.index(owner)], timeout=30)
    others = [index for index, r in enumerate(cluster.replicas) if r is not owner]
    assert all(cluster.replicas[index].log().count(mention) == mentions[index] for index in others)


async def test_a_state_is_refused_to_another_principal_and_to_a_tampered_copy(cluster: Cluster) -> None:
    url = cluster.balancer.url()
    arguments = {"message": "Who are you?"}
    async with httpx.AsyncClient(timeout=60) as http:
        first = await post(http, url, ALICE, "test_elicitation", {"arguments": arguments})
        assert first.result["resultType"] == "input_required", first
        state = first.result["requestState"]
        responses = responses_to(first.result)
        retry = {"arguments": arguments, "inputResponses": responses}

        stolen = await post(http, url, BOT, "test_elicitation", {**retry, "requestState": state})
        assert stolen.served_by != first.served_by, "round robin: another replica than the owner"
        assert refused(stolen, INVALID_PARAMS) == UNKNOWN, stolen

        tampered = state[:-1] + ("A" if state[-1] != "A" else "B")
        forged = await post(http, url, ALICE, "test_elicitation", {**retry, "requestState": tampered})
        assert refused(forged, INVALID_PARAMS) == UNKNOWN, forged

        # Neither touched alice's call: her own retry, on another replica than the owner, completes it.
        await until_next_is_not(http, url, first.served_by)
        done = await post(http, url, ALICE, "test_elicitation", {**retry, "requestState": state})
        assert done.served_by != first.served_by
        assert not done.result.get("isError"), done
        assert text(done.result) == EXPECTED[("test_elicitation", "Who are you?")]


def record_of(state: str) -> str:
    """The Redis key saying which replica holds `state` (state/rounds.py; the prefix names the server)."""
    return f"mcprt:rounds-test:round:{hashlib.sha256(state.encode()).hexdigest()}"


async def until_gone(redis: Redis, key: str, timeout: float = 30) -> None:
    """Wait for `key` to leave Redis (it is deleted off the request's path); AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while await asyncio.to_thread(redis.cli, "EXISTS", key) != "0":
        assert time.monotonic() < deadline, f"{key} is still in Redis after {timeout}s"
        await asyncio.sleep(0.05)


async def test_a_used_state_s_record_is_deleted_and_a_retry_of_it_is_refused_as_before(cluster: Cluster) -> None:
    """Before 2026-11-30 a used state's record stayed in Redis until its TTL (600 s): one key per round."""
    url = cluster.balancer.url()
    async with httpx.AsyncClient(timeout=60) as http:
        first = await post(http, url, ALICE, "test_two_questions", {"arguments": {}})
        assert first.result["resultType"] == "input_required", first
        state = first.result["requestState"]
        assert cluster.redis.cli("EXISTS", record_of(state)) == "1"  # claimed while it can be resumed
        retry = {"arguments": {}, "inputResponses": responses_to(first.result)}

        # Resumed on the owner for another replica: the owner deletes the used state's record.
        await until_next_is_not(http, url, first.served_by)
        second = await post(http, url, ALICE, "test_two_questions", {**retry, "requestState": state})
        assert second.served_by != first.served_by and second.result["resultType"] == "input_required", second
        await until_gone(cluster.redis, record_of(state))
        following = second.result["requestState"]
        assert cluster.redis.cli("EXISTS", record_of(following)) == "1"
        # A retry of the used state is refused as today, wherever it lands (the owner included).
        for _ in range(len(cluster.replicas)):
            again = await post(http, url, ALICE, "test_two_questions", {**retry, "requestState": state})
            assert refused(again, INVALID_PARAMS) == UNKNOWN, again

        # Resumed on the owner directly, and the call finishes: that record goes too.
        owner = cluster.replica(first.served_by)
        done = await post_call(http, owner.url, "test_two_questions", {
            "arguments": {}, "inputResponses": responses_to(second.result), "requestState": following}, ALICE)
        assert not done.result.get("isError") and text(done.result) == "ada works in file:///work/project", done
        await until_gone(cluster.redis, record_of(following))
        again = await post_call(http, owner.url, "test_two_questions", {
            "arguments": {}, "inputResponses": responses_to(second.result), "requestState": following}, ALICE)
        assert refused(again, INVALID_PARAMS) == UNKNOWN, again


async def test_a_call_waiting_for_input_survives_redis_losing_its_data(cluster: Cluster) -> None:
    """An operator trial: Redis flushed (a restart without persistence, FLUSHALL, eviction) while a
    call waited for the client's answer -> a retry reaching another replica was refused as an
    unknown requestState (-32602), though the call still waited on its owner. The owner writes the
    records of the states it holds back."""
    holder, other = cluster.replicas[0], cluster.replicas[1]
    async with httpx.AsyncClient(timeout=60) as http:
        first = await post_call(http, holder.url, "test_elicitation", {"arguments": {"message": "Who are you?"}}, ALICE)
        assert first.result["resultType"] == "input_required", first
        wrote_back = "wrote back what this replica holds"
        seen = holder.log().count(wrote_back)
        assert cluster.redis.cli("FLUSHALL") == "OK"
        holder.wait_log_beyond(wrote_back, seen)  # replicas check every 0.5 s here
        retry = {"arguments": {"message": "Who are you?"}, "inputResponses": responses_to(first.result),
                 "requestState": first.result["requestState"]}
        done = await post_call(http, other.url, "test_elicitation", retry, ALICE)
        assert done.error is None, done
        assert text(done.result) == EXPECTED[("test_elicitation", "Who are you?")], done


async def test_a_retry_for_a_replica_that_died_between_rounds_is_a_clear_error(two: Cluster) -> None:
    running = two
    url = running.balancer.url()
    async with httpx.AsyncClient(timeout=60) as http:
        first = await post(http, url, ALICE, "test_roots", {"arguments": {}})
        assert first.result["resultType"] == "input_required", first
        owner = running.replica(first.served_by)
        owner.process.send_signal(signal.SIGKILL)  # no drain, no goodbye: a crash
        owner.process.wait(10)
        responses = responses_to(first.result)
        retry = await post(http, url, ALICE, "test_roots", {
            "arguments": {}, "inputResponses": responses, "requestState": first.result["requestState"]})
        assert retry.served_by != first.served_by
        assert refused(retry, SERVER_ERROR) == OWNER_STOPPED, retry
        # Calling again, as told, works on the replica left.
        again = await call_in_rounds(http, url, "test_roots", {})
        assert text(again.result) == '["file:///work/project"]'


async def test_an_owner_that_dies_while_a_forwarded_retry_runs_ends_the_wait_with_a_clear_error(
        two: Cluster, tmp_path: Path) -> None:
    marker = tmp_path / "answered"
    arguments = {"seconds": 30, "marker": str(marker)}
    running = two
    url = running.balancer.url()
    async with httpx.AsyncClient(timeout=60) as http:
        first = await post(http, url, ALICE, "test_ask_then_wait", {"arguments": arguments})
        assert first.result["resultType"] == "input_required", first
        owner = running.replica(first.served_by)
        responses = responses_to(first.result)
        # to the other replica itself: through the balancer it landed on the owner when a loaded machine's slow
        # /readyz had the other marked down (fall 2 at 300 ms)
        other = next(replica for replica in running.replicas if replica is not owner)
        retry = asyncio.ensure_future(post_call(http, other.url, "test_ask_then_wait", {
            "arguments": arguments, "inputResponses": responses, "requestState": first.result["requestState"]}, ALICE))
        deadline = time.monotonic() + 30
        while not marker.exists():  # the owner resumed the call: the upstream has the answer
            assert time.monotonic() < deadline and not retry.done(), retry
            await asyncio.sleep(0.05)
        assert json.loads(marker.read_text()) == {"username": "ada", "email": "ada@example.com"}
        owner.process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        answer = await asyncio.wait_for(retry, 30)
        assert refused(answer, SERVER_ERROR) == OWNER_STOPPED, answer
        assert time.monotonic() - killed < 15, "the waiting replica notices a dead owner within seconds"


async def test_an_owner_told_to_stop_finishes_the_call_it_resumes_for_another_replica_first(
        two: Cluster, tmp_path: Path) -> None:
    """SIGTERM drains: the calls a replica resumed for another replica's retry count as in flight, so
    the answer still reaches the client (was: the process exited under it)."""
    marker = tmp_path / "answered"
    arguments = {"seconds": 3, "marker": str(marker)}
    running = two
    url = running.balancer.url()
    async with httpx.AsyncClient(timeout=60) as http:
        first = await post(http, url, ALICE, "test_ask_then_wait", {"arguments": arguments})
        owner = running.replica(first.served_by)
        other = next(replica for replica in running.replicas if replica is not owner)  # not left to the balancer
        retry = asyncio.ensure_future(post_call(http, other.url, "test_ask_then_wait", {
            "arguments": arguments, "inputResponses": responses_to(first.result),
            "requestState": first.result["requestState"]}, ALICE))
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert time.monotonic() < deadline and not retry.done(), retry
            await asyncio.sleep(0.05)
        owner.signal(signal.SIGTERM)
        answer = await asyncio.wait_for(retry, 30)
        assert not answer.result.get("isError") and text(answer.result) == "waited", answer
        assert owner.process.wait(30) == 0


async def test_with_redis_down_a_retry_elsewhere_says_so_and_the_holder_still_serves_its_calls(
        two: Cluster) -> None:
    running = two
    holder, other = running.replicas
    mark = holder.log_mark()  # the cluster is shared: count this test's lines
    async with httpx.AsyncClient(timeout=60) as http:
        first = await post_call(http, holder.url, "test_elicitation", {"arguments": {"message": "Who are you?"}},
                                ALICE)
        assert first.result["resultType"] == "input_required", first
        session = await legacy_session(http, holder)  # a handshake-era session both replicas serve
        listed = await http.post(other.url, headers=session, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert listed.status_code == 200, listed.text
        stop_process(running.redis.process)
        # its answer to another replica's request cannot be carried there: 503, not a 202 that loses it
        carried = await http.post(other.url, headers=session, json=ANSWER_TO_A_GONE_REPLICA)
        assert carried.status_code == 503, carried.text
        assert "shared state (Redis)" in carried.json()["error"]["message"], carried.text
        retry = {"arguments": {"message": "Who are you?"}, "inputResponses": responses_to(first.result),
                 "requestState": first.result["requestState"]}
        elsewhere = await post_call(http, other.url, "test_elicitation", retry, ALICE)
        assert refused(elsewhere, SERVER_ERROR).startswith("shared state (Redis) is unavailable: "), elsewhere
        # Nothing was lost: the retry that reaches the holder completes the call ...
        done = await post_call(http, holder.url, "test_elicitation", retry, ALICE)
        assert text(done.result) == EXPECTED[("test_elicitation", "Who are you?")], done
        # ... and a new call's rounds work there too (the state is not shared, and says nothing of it).
        again = await call_in_rounds(http, holder.url, "test_roots", {}, via_balancer=False)
        assert text(again.result) == '["file:///work/project"]'
    # Once per outage, not per round (a line per call under traffic was a log flood).
    holder.wait_log("rounds not shared")
    assert holder.log_since(mark).count("rounds not shared") == 1


async def test_a_prompt_asking_in_rounds_is_resumed_on_its_owner_from_another_replica(cluster: Cluster) -> None:
    """`prompts/get` rounds cross replicas as tool calls do: the owner's result (a prompt, not a tool
    result) comes back through the relay unchanged."""
    name = "test_input_required_result_prompt"
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "MCP-Protocol-Version": "2026-07-28", "MCP-Method": "prompts/get", "MCP-Name": name,
               "Authorization": f"Bearer {ALICE}"}

    async def get_prompt(http: httpx.AsyncClient, url: str, extra: dict[str, Any]) -> tuple[dict[str, Any], str]:
        body = {"jsonrpc": "2.0", "id": 7, "method": "prompts/get", "params": {"name": name, **extra, "_meta": META}}
        response = await http.post(url, json=body, headers=headers)
        assert response.status_code == 200, response.text
        text = response.text
        message = json.loads(text[text.index("{"):])
        assert "result" in message, message
        return message["result"], response.headers["x-served-by"]

    url = cluster.balancer.url()
    async with httpx.AsyncClient(timeout=60) as http:
        asked, owner = await get_prompt(http, url, {})
        assert asked["resultType"] == "input_required", asked
        key = next(iter(asked["inputRequests"]))
        await until_next_is_not(http, url, owner)
        done, served_by = await get_prompt(http, url, {
            "inputResponses": {key: {"action": "accept", "content": {"context": "release notes"}}},
            "requestState": asked["requestState"]})
    assert served_by != owner
    assert done["messages"][0]["content"]["text"] == "Use this context: release notes", done


# --- handshake-era clients: their answers and cancellations reach the replica holding the call ---------


class Rotating(httpx.AsyncHTTPTransport):
    """Sends each request of one client to the next replica in turn (the worst a round-robin balancer
    can do to one client), and notes where each POST went: (port, its JSON-RPC body)."""

    def __init__(self, ports: list[int]) -> None:
        super().__init__()
        self._ports = ports
        self._next = 0
        self.posts: list[tuple[int, dict[str, Any]]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        port = self._ports[self._next % len(self._ports)]
        self._next += 1
        request.url = request.url.copy_with(port=port)
        if request.method == "POST":
            self.posts.append((port, json.loads(request.content)))
        return await super().handle_async_request(request)

    def replica_of(self, predicate: Callable[[dict[str, Any]], bool]) -> list[int]:
        return [port for port, body in self.posts if isinstance(body, dict) and predicate(body)]


async def test_a_legacy_client_whose_requests_alternate_replicas_answers_every_server_request(
        cluster: Cluster) -> None:
    """elicitation/create, sampling/createMessage and roots/list reach a handshake-era client from the
    replica running the call; its answer, POSTed to another replica, is carried back to that one."""
    import anyio
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from tests.proxy.test_proxy_relay import CALLBACKS, exercise

    ports = [int(r.base.rsplit(":", 1)[1]) for r in cluster.replicas]
    rotating = Rotating(ports)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {BOT}"}, timeout=30, transport=rotating) as http:
        async with Client(streamable_http_client(cluster.replicas[0].url, http_client=http), mode="legacy",
                          **CALLBACKS) as client:  # type: ignore[arg-type]
            assert client.protocol_version != "2026-07-28"
            with anyio.fail_after(20):  # each answer takes well under a second once carried
                await exercise(client)
    calls = rotating.replica_of(lambda body: body.get("method") == "tools/call")
    answers = rotating.replica_of(lambda body: "method" not in body and "result" in body)
    assert len(calls) == len(answers) == 3, rotating.posts
    assert all(call != answer for call, answer in zip(calls, answers, strict=True)), (calls, answers)
    # each replica's requests carry its own ids (a replica id, then a number): no two replicas send the same
    ids = [body["id"] for _, body in rotating.posts if "method" not in body and "result" in body]
    assert all(isinstance(i, str) and len(i.rpartition("-")[0]) == 16 for i in ids), ids


async def test_a_legacy_sdk_client_gets_every_answer_through_the_round_robin_balancer(cluster: Cluster) -> None:
    """The same through HAProxy (the shipped round-robin config, no affinity): the trial's setup."""
    import anyio

    from tests.proxy.test_proxy_relay import CALLBACKS, exercise

    async with http_client(cluster.balancer.url(), mode="legacy", token=BOT, **CALLBACKS) as client:
        assert client.protocol_version != "2026-07-28"
        with anyio.fail_after(20):
            for _ in range(2):
                await exercise(client)


async def test_a_legacy_client_s_cancellation_sent_to_another_replica_cancels_the_call(cluster: Cluster) -> None:
    """`notifications/cancelled` reaching a replica that does not run the call is carried to the one
    that does: the call ends there at once (its log says so), not when the question times out."""
    import anyio
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    asked = anyio.Event()

    async def never_answered(context: Any, params: Any) -> Any:
        asked.set()
        await anyio.sleep_forever()

    ports = [int(r.base.rsplit(":", 1)[1]) for r in cluster.replicas]
    rotating = Rotating(ports)
    marks = [r.log_mark() for r in cluster.replicas]
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {BOT}"}, timeout=30, transport=rotating) as http:
        async with Client(streamable_http_client(cluster.replicas[0].url, http_client=http), mode="legacy",
                          elicitation_callback=never_answered) as client:  # type: ignore[arg-type]
            with anyio.move_on_after(20):
                async with anyio.create_task_group() as group:
                    group.start_soon(client.call_tool, "test_elicitation", {"message": "Who are you?"})
                    await asked.wait()
                    group.cancel_scope.cancel()  # the SDK client sends notifications/cancelled
            [call] = rotating.replica_of(lambda body: body.get("method") == "tools/call")
            cancels = rotating.replica_of(lambda body: body.get("method") == "notifications/cancelled")
            assert cancels and cancels[0] != call, rotating.posts
            holder = ports.index(call)
            started = time.monotonic()
            while "status=cancelled" not in cluster.replicas[holder].log_since(marks[holder]):
                assert time.monotonic() - started < 5, "the call went on after its cancellation"
                await anyio.sleep(0.1)


async def legacy_session(http: httpx.AsyncClient, replica: UpProcess) -> dict[str, str]:
    """A handshake-era session (as alice) opened on `replica`: the headers naming it."""
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "Authorization": f"Bearer {ALICE}"}
    opened = await http.post(replica.url, headers=headers, json={
        "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "relay", "version": "1"}}})
    assert opened.status_code == 200, opened.text
    session = {**headers, "Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18"}
    notified = await http.post(replica.url, headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert notified.status_code == 202, notified.text
    return session


ANSWER_TO_A_GONE_REPLICA = {"jsonrpc": "2.0", "id": f"{'0' * 16}-1", "result": {"action": "decline"}}


async def test_a_legacy_answer_for_a_replica_that_is_gone_is_refused_clearly(cluster: Cluster) -> None:
    """A response whose request was sent by a replica no longer listening (stopped, restarted) cannot
    be delivered: 410 with a JSON-RPC error saying so, not a 202 that loses it; a response naming no
    replica (an id mcprt did not mint) is taken as before."""
    async with httpx.AsyncClient(timeout=30) as http:
        session = await legacy_session(http, cluster.replicas[0])
        gone = await http.post(cluster.replicas[1].url, headers=session, json=ANSWER_TO_A_GONE_REPLICA)
        assert gone.status_code == 410, gone.text
        assert gone.json()["error"]["message"] == ("Gone: the replica holding the request this message concerns "
                                                   "stopped; that request is gone with it")
        assert gone.json()["error"]["data"]["reason"] == "gone"
        assert gone.json()["id"] is None
        plain = await http.post(cluster.replicas[1].url, headers=session,
                                json={"jsonrpc": "2.0", "id": 5, "result": {}})
        assert plain.status_code == 202, plain.text


async def test_a_lone_replica_with_redis_down_takes_a_late_cancellation(two: Cluster) -> None:
    """A cancellation for a request that already finished (a common race), on a replica that was alone
    when it last looked, is taken (202) with Redis down, as before 2026-11-30 - not refused (503)."""
    holder, other = two.replicas
    stop_process(other.process)
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 4242}}
    async with httpx.AsyncClient(timeout=60) as http:
        session = await legacy_session(http, holder)
        while (await http.post(holder.url, headers=session, json=cancel)).status_code != 202:
            await asyncio.sleep(0.2)  # until the stopped replica no longer listens
        stop_process(two.redis.process)
        late = await http.post(holder.url, headers=session, json=cancel)
        assert late.status_code == 202, late.text


def _local_ports(pid: int) -> set[int]:
    """The local TCP ports of process `pid`'s sockets (its fds' inodes looked up in /proc/net/tcp)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[9] in inodes:
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def test_a_cancellation_sent_to_every_replica_that_reached_none_for_a_transient_reason_is_refused(
        two: Cluster) -> None:
    """The fan-out of a cancellation (its request runs on no known replica: sent to every other one)
    ignored every `RoundLost`, so a transient one - here "the link to Redis is being restored": this
    replica's own subscription is down and cannot come back (Redis takes no new client; "…broke while
    another replica resumed it" when it broke during the exchange) - answered 202
    while the cancellation reached nobody. Only `OwnerStopped` (that replica held nothing) is ignored
    now: this is refused with 503, to be sent again."""
    holder = two.replicas[0]
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 4343}}
    admin = redis.Redis(port=two.redis.port, single_connection_client=True)
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            session = await legacy_session(http, holder)
            assert (await http.post(holder.url, headers=session, json=cancel)).status_code == 202  # reached all
            ports = _local_ports(holder.pid)
            listeners = [c for c in admin.client_list(_type="pubsub") if int(c["addr"].rsplit(":", 1)[1]) in ports]
            assert listeners, admin.client_list(_type="pubsub")  # the relay's (and the policy state's)
            admin.config_set("maxclients", len(admin.client_list()) - len(listeners))  # none new once they are gone
            for listener in listeners:
                admin.client_kill_filter(_id=listener["id"])
            refused = await http.post(holder.url, headers=session, json=cancel)
        assert refused.status_code == 503, refused.text
        # a transient RoundLost (which one depends on when the subscription broke), not Redis down
        error = refused.json()["error"]  # the endpoint's one refusal shape (trial docs #3)
        assert error["code"] == -32603 and error["data"]["reason"] == "service_unavailable", refused.text
        assert error["message"].startswith(
            "Service Unavailable: this message could not reach the replica holding the call it concerns: the link to the shared state "
            "(Redis) "), refused.text
    finally:
        admin.config_set("maxclients", 10000)
        deadline = time.monotonic() + 30  # the replica listens again before the next test uses the pair
        while not any(int(c["addr"].rsplit(":", 1)[1]) in _local_ports(holder.pid)
                      for c in admin.client_list(_type="pubsub")) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        admin.close()


def test_a_forwarded_principal_is_still_a_client_acting_for_itself() -> None:
    """The retry forwarded to the owner carries its sender's principal as JSON, and the owner resumes the call only
    for the principal that started it (`Principal` equality). `by_client` was not carried: an OAuth client acting
    for itself (a client-credentials token) came back as a user of its id — another caller — so its own retry
    through another replica was refused."""
    from mcprt.identity.principal import Principal
    from mcprt.state.rounds import _principal_from, _principal_wire

    client = Principal("svc", "oauth", "svc", frozenset({"mcp:tools"}), by_client=True)
    user = Principal("svc", "oauth", "webapp", frozenset({"mcp:tools"}))
    for principal in (client, user):
        back = _principal_from(json.loads(json.dumps(_principal_wire(principal))))
        assert back == principal and back is not None and back.owner == principal.owner
    assert _principal_from(json.loads(json.dumps(_principal_wire(client)))) != user
