"""JSON-RPC batches of 2025-03-26 sessions (server/batches.py), beyond the basics of
test_http_invalid_bodies / test_stdio_invalid_lines: the order elements take effect in, the bound on
the answers' bytes, malformed responses, the HTTP kernel switch, stdin's end, session ownership.

Each over a real `mcprt up` and raw JSON-RPC (the SDK clients send no batches)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcprt.server.batches import MAX_ANSWER_BYTES
from tests.support.served import UpProcess, child_env, launch_command, mcprt_http

TOOLS = '''
import asyncio
import os


async def slow(seconds: float, marker: str = "", cancelled: str = "") -> str:
    """Sleep `seconds` (having written the file `marker`, when named), then answer; write the file
    `cancelled` when cancelled."""
    if marker:
        open(marker, "w").close()
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        if cancelled:
            open(cancelled, "w").close()
        raise
    return "slept"


async def seen(path: str, seconds: float) -> str:
    """Whether the file `path` exists within `seconds`."""
    for _ in range(int(seconds * 20)):
        if os.path.exists(path):
            return "seen"
        await asyncio.sleep(0.05)
    return "not seen"


def big(megabytes: int) -> str:
    """A text of `megabytes` MB."""
    return "x" * (megabytes * 1_000_000)
'''
ACCEPT = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
INIT = {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
ALICE_TOKEN = "alice-token-0123456789abcdef"
BOB_TOKEN = "bob-token-fedcba9876543210"


def manifest(folder: Path, *, auth: bool = False) -> Path:
    (folder / "tools.py").write_text(TOOLS)
    lines = ["version: 1"]
    if auth:
        lines += ["server:", "  auth:", '    tokens: {alice: "${ALICE_TOKEN}", bob: "${BOB_TOKEN}"}']
    # big answers must not be shortened: the bound under test is the batch's, not a result's
    lines += ["defaults: {max_result_bytes: 20000000}", "sources:", "  t: {python: tools}"]
    path = folder / "mcp.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


pytestmark = pytest.mark.xdist_group("test_batches")  # one started server per run, not one per worker


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    with mcprt_http(manifest(tmp_path_factory.mktemp("batches")), "--no-reload") as served:
        yield served


def call(request_id: Any, name: str, **arguments: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {"name": name, "arguments": arguments}}


def session(url: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    headers = {**ACCEPT, **(headers or {})}
    opened = httpx.post(url, headers=headers, timeout=60, json={"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                                               "params": INIT})
    assert opened.status_code == 200, opened.text
    headers["mcp-session-id"] = opened.headers["mcp-session-id"]
    httpx.post(url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, timeout=60)
    return headers


def started(marker: Path) -> None:
    """Wait (30 s at most) for the `slow` call that writes `marker` to be running."""
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_cancel_in_a_batch_takes_effect_before_the_batchs_requests(up: UpProcess, tmp_path: Path) -> None:
    """[a call that waits to see call 1 cancelled, the cancel of call 1]: the cancel is delivered first
    (JSON-RPC 2.0 §6 lets a batch's elements be processed in any order), so the batch's call sees it —
    it waited behind every earlier request of the batch, so the batch's call saw nothing in its 10 s."""
    headers = session(up.url)
    ended: list[Any] = []
    marker, cancelled = tmp_path / "started", tmp_path / "cancelled"

    def in_flight() -> None:
        ended.append(httpx.post(up.url, headers=headers, timeout=60, json=call(
            1, "slow", seconds=30, marker=str(marker), cancelled=str(cancelled))).json())

    worker = threading.Thread(target=in_flight)
    worker.start()
    started(marker)  # call 1 is running (a 30 s sleep)
    batch = [call(2, "seen", path=str(cancelled), seconds=10),
             {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1, "reason": "test"}}]
    answers = httpx.post(up.url, headers=headers, json=batch, timeout=60).json()
    worker.join(60)
    assert [(answer["id"], answer["result"]["content"][0]["text"]) for answer in answers] == [(2, "seen")], answers
    assert ended[0]["error"]["code"] == -32800, ended  # call 1: cancelled (this era answers it so)


def test_a_batchs_answers_are_bounded_in_bytes(up: UpProcess) -> None:
    """The answers of a batch are held until its last request is answered: past MAX_ANSWER_BYTES, the
    rest are refused by id, saying to send them alone — and alone, the same request is answered."""
    headers = session(up.url)
    each = MAX_ANSWER_BYTES // 1_000_000 // 2 + 1  # MB: two answers reach the bound
    batch = [call(n, "big", megabytes=each) for n in range(4)]
    answers = httpx.post(up.url, headers=headers, json=batch, timeout=120).json()
    assert [answer["id"] for answer in answers] == [0, 1, 2, 3]
    assert [len(answer["result"]["content"][0]["text"]) for answer in answers[:2]] == [each * 1_000_000] * 2
    for answer in answers[2:]:
        assert answer["error"]["code"] == -32600 and "send it alone" in answer["error"]["message"], answer
    alone = httpx.post(up.url, headers=headers, json=call(3, "big", megabytes=each), timeout=120).json()
    assert len(alone["result"]["content"][0]["text"]) == each * 1_000_000


def test_a_malformed_response_in_a_batch_is_not_answered(up: UpProcess) -> None:
    """A response with both `result` and `error` is never answered alone (its id is in mcprt's request
    namespace); in a batch it got -32600 with id null. Now neither: only the batch's request is answered."""
    headers = session(up.url)
    broken = {"jsonrpc": "2.0", "id": 5, "result": {}, "error": {"code": 1, "message": "x"}}
    answers = httpx.post(up.url, headers=headers, json=[{"jsonrpc": "2.0", "id": 1, "method": "ping"}, broken],
                         timeout=60).json()
    assert answers == [{"jsonrpc": "2.0", "id": 1, "result": {}}]
    assert httpx.post(up.url, headers=headers, json=[broken], timeout=60).status_code == 202


def test_batches_without_the_lean_path(tmp_path: Path) -> None:
    """MCPRT_HTTP_LEAN=0 (every request through the SDK's session task) holds for batched requests too."""
    with mcprt_http(manifest(tmp_path), "--no-reload", env=child_env(MCPRT_HTTP_LEAN="0")) as served:
        headers = session(served.url)
        answers = httpx.post(served.url, headers=headers, timeout=60,
                             json=[call(1, "slow", seconds=0), {"jsonrpc": "2.0", "id": 2, "method": "ping"}]).json()
    assert answers == [{"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "slept"}],
                                                              "isError": False}},
                       {"jsonrpc": "2.0", "id": 2, "result": {}}]


def test_a_batch_on_another_principals_session_is_refused(tmp_path: Path) -> None:
    """Sessions answer only to the principal that opened them: bob's batch on alice's session is 404, as
    his single request is, and nothing of it runs."""
    env = child_env(ALICE_TOKEN=ALICE_TOKEN, BOB_TOKEN=BOB_TOKEN)
    with mcprt_http(manifest(tmp_path, auth=True), "--no-reload", env=env) as served:
        alice = session(served.url, {"authorization": f"Bearer {ALICE_TOKEN}"})
        bob = {**alice, "authorization": f"Bearer {BOB_TOKEN}"}
        single = httpx.post(served.url, headers=bob, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, timeout=60)
        batch = httpx.post(served.url, headers=bob, json=[{"jsonrpc": "2.0", "id": 1, "method": "ping"}], timeout=60)
        assert (single.status_code, batch.status_code) == (404, 404), batch.text
        mine = httpx.post(served.url, headers=alice, json=[{"jsonrpc": "2.0", "id": 1, "method": "ping"}], timeout=60)
        assert mine.json() == [{"jsonrpc": "2.0", "id": 1, "result": {}}]


def test_a_batched_call_in_flight_at_stdins_end_is_answered_connection_closed(tmp_path: Path) -> None:
    """A batched request is in flight like a single one: when stdin ends it is cancelled and answered
    -32000 Connection closed, as a single call is — it was cancelled after 5 s without an answer."""
    path = manifest(tmp_path)
    process = subprocess.Popen(launch_command(path, "--no-reload"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env=child_env(), cwd=str(path.parent))
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": INIT}) + "\n")
        process.stdin.flush()
        assert json.loads(process.stdout.readline())["id"] == 0
        process.stdin.write('{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
        marker = tmp_path / "started"
        process.stdin.write(json.dumps([call(1, "slow", seconds=60, marker=str(marker)),
                                        {"jsonrpc": "2.0", "id": 2, "method": "ping"}]) + "\n")
        process.stdin.flush()
        started(marker)  # the batch's call is running
        process.stdin.close()
        lines = [json.loads(line) for line in process.stdout]
    finally:
        process.wait(timeout=30)
    (answers,) = [line for line in lines if isinstance(line, list)]
    # -32000 saying the call may have acted (the client closed stdin while it ran: stdio.finish_at_eof)
    assert answers[0]["error"]["code"] == -32000, lines
    assert answers[0]["error"]["message"].startswith("Connection closed: the client closed stdin while the call to "
                                                     "slow was running"), lines
    assert "may or may not have acted" in answers[0]["error"]["message"], lines
    assert [answer["id"] for answer in answers] == [1, 2], lines  # the ping after it: answered or closed too
