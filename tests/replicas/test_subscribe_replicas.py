"""Behind replicas a resource subscription's updates reach the session wherever its GET stream is (soak F2 and its
review).

The soak trial's session opened its GET stream on replica 1 and sent `resources/subscribe` to replica 2: `{}`, then
0 `resources/updated` for 8 bumps. soakfix refused such a subscribe, but the review's stream that reconnected to
replica 2 after a subscribe on replica 1 got 0 updates for 8 bumps, silently. Subscriptions live on the replica that
took them; an update for a session whose GET stream another replica holds now goes on the shared events channel to
that replica, which sends it (shared_sessions.py `relay_updated`).

Two real `mcprt up` replicas share a real Redis and each proxies the everything fixture over stdio (`touch_watched`
makes its server send `notifications/resources/updated`); the session is driven with raw HTTP so each request goes
to the replica the test names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack

import anyio
import anyio.abc
import httpx
import pytest

from tests.support.components import redis_server
from tests.support.everything import command_source, write_manifest
from tests.support.served import UpProcess, child_env, mcprt_http

pytestmark = pytest.mark.xdist_group("subscribe_replicas")  # one pair of replicas per run

HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
           "MCP-Protocol-Version": "2025-06-18"}
WATCHED = "test://watched-resource"


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[UpProcess]]:
    folder = tmp_path_factory.mktemp("subscribe")
    manifest = write_manifest(folder, command_source("every"))
    with ExitStack() as stack:
        redis = stack.enter_context(redis_server(folder))
        env = child_env(MCPRT_STATE_URL=redis.url)
        yield [stack.enter_context(mcprt_http(manifest, "--no-reload", env=env, startup_timeout=60))
               for _ in range(2)]


def _rpc(id_: int, method: str, params: dict) -> dict:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}


def _answer(response: httpx.Response) -> dict:
    """The JSON-RPC answer of a POST, as JSON or as the data of its SSE event."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
        return json.loads(data[-1])
    return response.json()


class Stream:
    """A session's GET stream on one replica, collecting the URIs of its `notifications/resources/updated`."""

    def __init__(self, http: httpx.AsyncClient, url: str, session: dict[str, str]) -> None:
        self.http, self.url, self.session = http, url, session
        self.updates: list[str] = []
        self.open = anyio.Event()

    async def listen(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        async with self.http.stream("GET", self.url, headers={**self.session, "Accept": "text/event-stream"}) as got:
            assert got.status_code == 200, got.status_code
            task_status.started()
            async for line in got.aiter_lines():
                if line.startswith("data:"):
                    message = json.loads(line[5:])
                    if message.get("method") == "notifications/resources/updated":
                        self.updates.append(message["params"]["uri"])


async def _session(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    opened = await http.post(url, headers=HEADERS, json=_rpc(0, "initialize", {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "sub", "version": "1"}}))
    session = {**HEADERS, "Mcp-Session-Id": opened.headers["mcp-session-id"]}
    await http.post(url, headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    return session


async def _subscribe(http: httpx.AsyncClient, url: str, session: dict[str, str]) -> None:
    answer = _answer(await http.post(url, headers=session, json=_rpc(1, "resources/subscribe", {"uri": WATCHED})))
    assert answer == {"jsonrpc": "2.0", "id": 1, "result": {}}, answer


async def _bump(http: httpx.AsyncClient, url: str, session: dict[str, str], stream: Stream, count: int) -> None:
    """`touch_watched` on the replica at `url` (whose server sends the update), then wait for `count` updates."""
    touched = _answer(await http.post(url, headers=session, json=_rpc(
        3, "tools/call", {"name": "touch_watched", "arguments": {}})))
    assert touched["result"]["content"][0]["text"] == "notified 1", touched
    while len(stream.updates) < count:
        await anyio.sleep(0.05)


async def test_a_subscribe_on_the_replica_without_the_stream_is_delivered(replicas: list[UpProcess]) -> None:
    """The trial's case: GET stream on replica 1, subscribe (and the update) on replica 2."""
    first, second = replicas
    async with httpx.AsyncClient(timeout=30) as http:
        session = await _session(http, first.url)
        stream = Stream(http, first.url, session)
        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                await group.start(stream.listen)
                await _subscribe(http, second.url, session)
                for count in (1, 2, 3):
                    await _bump(http, second.url, session, stream, count)
                group.cancel_scope.cancel()
        assert stream.updates == [WATCHED] * 3
        await http.delete(first.url, headers=session)


async def test_updates_follow_a_stream_that_reconnects_to_another_replica(replicas: list[UpProcess]) -> None:
    """The review's case: subscribe with the stream on replica 1, then the stream reconnects to replica 2 (an SSE
    reconnect behind round robin): the updates come on the new stream."""
    first, second = replicas
    async with httpx.AsyncClient(timeout=30) as http:
        session = await _session(http, first.url)
        before = Stream(http, first.url, session)
        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                await group.start(before.listen)
                await _subscribe(http, first.url, session)
                await _bump(http, first.url, session, before, 1)
                group.cancel_scope.cancel()
            after = Stream(http, second.url, session)
            async with anyio.create_task_group() as group:
                await group.start(after.listen)
                for count in (1, 2, 3):
                    await _bump(http, first.url, session, after, count)
                group.cancel_scope.cancel()
        assert before.updates == [WATCHED]
        assert after.updates == [WATCHED] * 3
        await http.delete(first.url, headers=session)


def test_the_sdk_transport_keeps_its_open_streams_where_the_refusal_reads_them() -> None:
    """`_holds_stream` reads the SDK transport's `_request_streams` (GET's key while the stream is open); without
    it every update is relayed and the holder cannot tell either: an SDK that renames it makes this test fail."""
    from collections.abc import Mapping

    from mcp.server.streamable_http import StreamableHTTPServerTransport

    assert isinstance(StreamableHTTPServerTransport(mcp_session_id="s")._request_streams, Mapping)
