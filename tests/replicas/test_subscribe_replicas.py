"""Behind replicas a resource subscription is delivered, or refused — never acknowledged and then silent (soak F2).

The soak trial's session opened its GET stream on replica 1 and sent `resources/subscribe` to replica 2: `{}`, then
0 `resources/updated` for 8 bumps. Subscriptions live on the replica that took them and updates go out only on a
GET stream that replica holds, so a subscribe on a replica without the session's GET stream is now refused with an
error saying why and what to do (README, "Running several replicas"); on the replica holding the stream it works.

Two real `mcprt up` replicas share a real Redis and proxy the everything fixture over stdio (`touch_watched`
makes it send `notifications/resources/updated`); the session is driven with raw HTTP so each request goes to
the replica the test names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import anyio
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


async def test_a_subscribe_is_served_where_the_stream_is_and_refused_elsewhere(replicas: list[UpProcess]) -> None:
    first, second = replicas
    async with httpx.AsyncClient(timeout=30) as http:
        opened = await http.post(first.url, headers=HEADERS, json=_rpc(0, "initialize", {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "sub", "version": "1"}}))
        session = {**HEADERS, "Mcp-Session-Id": opened.headers["mcp-session-id"]}
        await http.post(first.url, headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        updates: list[str] = []
        streaming = anyio.Event()

        async def listen() -> None:
            async with http.stream("GET", first.url, headers={**session, "Accept": "text/event-stream"}) as stream:
                streaming.set()
                async for line in stream.aiter_lines():
                    if line.startswith("data:"):
                        message = json.loads(line[5:])
                        if message.get("method") == "notifications/resources/updated":
                            updates.append(message["params"]["uri"])

        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                group.start_soon(listen)
                await streaming.wait()
                elsewhere = _answer(await http.post(second.url, headers=session,
                                                    json=_rpc(1, "resources/subscribe", {"uri": WATCHED})))
                assert elsewhere["error"]["code"] == -32000, elsewhere
                assert "holds no GET stream of this session" in elsewhere["error"]["message"], elsewhere
                assert "Mcp-Session-Id" in elsewhere["error"]["message"], elsewhere
                here = _answer(await http.post(first.url, headers=session,
                                               json=_rpc(2, "resources/subscribe", {"uri": WATCHED})))
                assert here == {"jsonrpc": "2.0", "id": 2, "result": {}}, here
                touched = _answer(await http.post(first.url, headers=session, json=_rpc(
                    3, "tools/call", {"name": "touch_watched", "arguments": {}})))
                assert touched["result"]["content"][0]["text"] == "notified 1", touched
                while not updates:
                    await anyio.sleep(0.05)
                group.cancel_scope.cancel()
        assert updates == [WATCHED]
        await http.delete(first.url, headers=session)


def test_the_sdk_transport_keeps_its_open_streams_where_the_refusal_reads_them() -> None:
    """subscribe_refusal reads the SDK transport's `_request_streams` (GET's key while the stream is open) and
    refuses when it is missing (fails closed): an SDK that renames it makes this test fail, not subscribes silent."""
    from collections.abc import Mapping

    from mcp.server.streamable_http import StreamableHTTPServerTransport

    assert isinstance(StreamableHTTPServerTransport(mcp_session_id="s")._request_streams, Mapping)
