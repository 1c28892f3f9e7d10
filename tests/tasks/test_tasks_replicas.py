"""Tasks across replicas sharing a real Redis (`server.state`): two `mcprt up` proxying the everything
fixture, each addressed directly (raw 2026-07-28 JSON-RPC), so which replica runs a task and which
one answers each request is known.

- a task created on one replica is found at once by `tasks/get` on the other, and read there to its end;
- `tasks/update` and `tasks/cancel` sent to the other replica reach the one running the task (the round
  relay of `state/rounds.py`), and cancelling there cancels the upstream call;
- another principal gets -32602 there too;
- a task running when its replica is told to stop (SIGTERM) is drained like a call in flight: its result is
  recorded and read on the other replica; one the drain's deadline cuts reads `failed`, saying the tool may have
  run (no blind "call again": the trial's `charge` had completed its effect);
- a task whose replica died reads `failed`, saying so and that the tool may have run.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.components import Redis, redis_server
from tests.support.everything import CANCEL_FILE_ENV, command_source, write_manifest
from tests.support.served import UpProcess, child_env, mcprt_http
from tests.tasks.tasks_support import call, get, rpc, wait_for

pytestmark = pytest.mark.xdist_group("replicas")  # one cluster at a time, not one per worker

ALICE, BOB = "alice-tasks-token-0123456789", "bob-tasks-token-0123456789"
SERVER = 'server:\n  name: tasks-replicas\n  auth: {tokens: {alice: "${ALICE_TOKEN}", bob: "${BOB_TOKEN}"}}\n'
# a killed owner: the call had started, so the tool may have acted (slow_compute declares no annotations)
OWNER_STOPPED = ("the task's call to slow_compute did not finish: the replica running this task stopped (killed or "
                 "crashed) before the call ended. It had started, so it may have run in part or in full (its effect "
                 "may have happened): before calling slow_compute again, check whether it took effect")


@dataclass
class Cluster:
    redis: Redis
    replicas: list[UpProcess]
    manifest: Path
    cancel_file: Path

    def env(self) -> dict[str, str]:
        # Redis's data checked every 0.5 s (not 2 s): the data-loss test's task need not run as long.
        return child_env(MCPRT_STATE_URL=self.redis.url, ALICE_TOKEN=ALICE, BOB_TOKEN=BOB,
                         FIXTURE_CANCEL_FILE=str(self.cancel_file), MCPRT_DATA_LOSS_CHECK_INTERVAL="0.5")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("tasks-replicas")
    manifest = write_manifest(folder, command_source("fx", extra=CANCEL_FILE_ENV), server=SERVER)
    with ExitStack() as stack:
        redis = stack.enter_context(redis_server(folder))
        running = Cluster(redis, [], manifest, folder / "cancelled.txt")
        running.replicas = [stack.enter_context(mcprt_http(manifest, "--no-reload", env=running.env(),
                                                           startup_timeout=60)) for _ in range(2)]
        yield running


def test_a_task_made_on_one_replica_is_read_on_the_other(cluster: Cluster) -> None:
    a, b = (replica.url for replica in cluster.replicas)
    task = call(a, "slow_compute", {"seconds": 2, "label": "shared"}, token=ALICE).result
    assert task["resultType"] == "task"
    seen = get(b, task["taskId"], token=ALICE).result  # at once: the record is in Redis before the answer
    assert seen["taskId"] == task["taskId"] and seen["status"] == "working"
    done = wait_for(b, task["taskId"], token=ALICE)
    assert done["status"] == "completed"
    assert done["result"]["content"] == [{"type": "text", "text": "computed shared after 2s"}]


def test_another_principal_gets_the_unknown_task_error_on_any_replica(cluster: Cluster) -> None:
    a, b = (replica.url for replica in cluster.replicas)
    task = call(a, "slow_compute", {"seconds": 1, "label": "mine"}, token=ALICE).result
    unknown = get(b, "no-such-task", token=BOB).error
    assert get(b, task["taskId"], token=BOB).error == unknown
    assert rpc(b, "tasks/cancel", {"taskId": task["taskId"]}, token=BOB).error == unknown
    assert wait_for(b, task["taskId"], token=ALICE)["status"] == "completed"


def test_an_update_sent_to_the_other_replica_resumes_the_task(cluster: Cluster) -> None:
    a, b = (replica.url for replica in cluster.replicas)
    task = call(a, "confirm_delete", {"filename": "shared.txt"}, token=ALICE).result
    parked = wait_for(b, task["taskId"], ("input_required",), token=ALICE)
    [key] = parked["inputRequests"]
    ack = rpc(b, "tasks/update", {"taskId": task["taskId"], "inputResponses": {
        key: {"action": "accept", "content": {"confirm": True}}}}, token=ALICE).result
    assert ack["resultType"] == "complete"
    done = wait_for(b, task["taskId"], token=ALICE)
    assert done["status"] == "completed" and done["result"]["content"][0]["text"] == "deleted shared.txt"


def test_a_cancel_sent_to_the_other_replica_cancels_the_upstream_call(cluster: Cluster) -> None:
    a, b = (replica.url for replica in cluster.replicas)
    task = call(a, "slow_compute", {"seconds": 60, "label": "far-cancel"}, token=ALICE).result
    assert rpc(b, "tasks/cancel", {"taskId": task["taskId"]}, token=ALICE).result["resultType"] == "complete"
    assert wait_for(b, task["taskId"], token=ALICE)["status"] == "cancelled"
    deadline = time.monotonic() + 30
    while "far-cancel cancelled" not in (cluster.cancel_file.read_text() if cluster.cancel_file.exists() else ""):
        assert time.monotonic() < deadline, "the upstream call was not cancelled"
        time.sleep(0.05)


def test_a_running_task_is_still_found_everywhere_after_redis_loses_its_data(cluster: Cluster) -> None:
    """An operator trial: Redis flushed (a restart without persistence, FLUSHALL, eviction) while a
    task ran -> `tasks/get` on any other replica answered -32602 "Task not found" until the task
    happened to change, so a client polling through the balancer lost it. The replica running it
    writes its record back."""
    owner, other = cluster.replicas
    # 4 s: still running after the write-back (0.5 s checks; ~1 s at a load of 10) and the look from the other
    task = call(owner.url, "slow_compute", {"seconds": 4, "label": "flushed"}, token=ALICE).result
    wrote_back = "wrote back what this replica holds"
    seen = owner.log().count(wrote_back)
    assert cluster.redis.cli("FLUSHALL") == "OK"
    line = owner.wait_log_beyond(wrote_back, seen).rsplit(wrote_back, 1)[1].splitlines()[0]  # checked every 0.5 s
    assert int(line.split("task_records=")[1].split()[0]) >= 1, line  # earlier tests' tasks too (1 h TTL)
    assert get(other.url, task["taskId"], token=ALICE).result["status"] == "working"
    assert wait_for(other.url, task["taskId"], token=ALICE)["status"] == "completed"


def test_a_task_whose_replica_died_reads_failed(cluster: Cluster) -> None:
    survivor = cluster.replicas[0].url
    with mcprt_http(cluster.manifest, "--no-reload", env=cluster.env(), startup_timeout=60) as doomed:
        task = call(doomed.url, "slow_compute", {"seconds": 60, "label": "orphan"}, token=ALICE).result
        assert get(survivor, task["taskId"], token=ALICE).result["status"] == "working"
        doomed.process.send_signal(signal.SIGKILL)
        doomed.process.wait(30)
    failed = wait_for(survivor, task["taskId"], token=ALICE, timeout=30)
    assert failed["status"] == "failed"
    assert failed["statusMessage"] == OWNER_STOPPED
    assert failed["error"] == {"code": -32603, "message": OWNER_STOPPED}
    assert "result" not in failed


def _short_drain_manifest(cluster: Cluster) -> Path:
    """The cluster's manifest with a 1 s drain (a sibling file: the shared one stays as the others read it)."""
    folder = cluster.manifest.parent / "short-drain"
    folder.mkdir(exist_ok=True)
    return write_manifest(folder, command_source("fx", extra=CANCEL_FILE_ENV),
                          server=SERVER + "  http: {drain_timeout: 1s}\n")


def test_a_task_running_at_sigterm_is_drained_and_its_result_read_on_another_replica(cluster: Cluster) -> None:
    """The fleet trial: SIGTERM 0.5 s into a 4 s task logged `drained … drain_s=0.0` and the task read `failed`
    "the server running this task stopped" on another replica, although the function ran to its end. A task gets
    `drain_timeout` (20 s here) as a call in flight does, and its result is recorded in Redis."""
    survivor = cluster.replicas[0].url
    with mcprt_http(cluster.manifest, "--no-reload", env=cluster.env(), startup_timeout=60) as stopping:
        task = call(stopping.url, "slow_compute", {"seconds": 2, "label": "drained"}, token=ALICE).result
        assert task["resultType"] == "task"
        stopping.process.send_signal(signal.SIGTERM)
        stopping.process.wait(30)
        log = stopping.log()
    assert "draining in_flight=0 tasks=1" in log, log
    assert "tasks=1 drain_s=" in log.split("drained", 1)[1], log
    done = get(survivor, task["taskId"], token=ALICE).result  # ended before the replica exited: no polling
    assert done["status"] == "completed", done
    assert done["result"]["content"] == [{"type": "text", "text": "computed drained after 2s"}]


def test_a_task_the_drain_deadline_cuts_reads_failed_saying_the_tool_may_have_run(cluster: Cluster) -> None:
    survivor = cluster.replicas[0].url
    manifest = _short_drain_manifest(cluster)
    with mcprt_http(manifest, "--no-reload", env=cluster.env(), startup_timeout=60) as stopping:
        task = call(stopping.url, "slow_compute", {"seconds": 60, "label": "cut"}, token=ALICE).result
        started = time.monotonic()
        stopping.process.send_signal(signal.SIGTERM)
        stopping.process.wait(30)
        took = time.monotonic() - started
        log = stopping.log()
    assert took < 15, (took, log)  # 1 s of drain, the answer's grace, the stop: not the task's 60 s
    assert "drain timed out" in log and "tasks=1" in log, log
    failed = get(survivor, task["taskId"], token=ALICE).result
    assert failed["status"] == "failed", failed
    message = failed["statusMessage"]
    assert message.startswith("the task's call to slow_compute did not finish: its replica stopped and the call "
                              "outlasted the drain (server.http.drain_timeout)"), message
    assert "may have run" in message and "check whether it took effect" in message, message
    assert "call the tool again" not in message and "is safe" not in message, message
    assert failed["error"] == {"code": -32603, "message": message}
