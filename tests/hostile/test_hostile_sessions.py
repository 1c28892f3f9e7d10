"""Finding 10 of #13 (second pass): one client cannot fill the session table, idle sessions end sooner.

Real `mcprt up` subprocesses on loopback, spoken to over streamable HTTP: raw HTTP where the test
must see statuses and headers (the SDK client hides them), the SDK client for "another client
still works". Handshake-era sessions (`Mcp-Session-Id`) are capped per client (principal, or peer
IP with auth off): past the cap the client's least recently used *idle* session is ended (404 from
then on); when all its sessions are busy (an open GET stream each), 429 with `Retry-After` and a
JSON-RPC error body. 2026-07-28 requests open no session, so a client at its cap still calls in
that era; what a 2026-07-28 client holds open, `subscriptions/listen` streams, is capped per client
by the same setting. An idle session ends after `session_idle_timeout` and its id answers 404, with and
without shared state (`server.state: redis://`, whose record expires with it).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from tests.support.components import redis_server
from tests.support.served import child_env, http_client, mcprt_http, text_of

ALICE, BOB = "alice-token-0123456789", "bob-token-0123456789ab"
HANDSHAKE_VERSION = "2025-11-25"
TOOLS = '''
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b
'''


def _manifest(folder: Path, http: str = "{}", auth: bool = True, state: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "session_tools.py").write_text(TOOLS)
    lines = ["version: 1", "server:", "  name: sessions-test", f"  http: {http}"]
    if auth:
        lines.append('  auth: {tokens: {alice: "${ALICE_TOKEN}", bob: "${BOB_TOKEN}"}}')
    if state:
        lines.append(f"  state: {state}")
    lines += ["sources:", "  demo:", "    python: session_tools"]
    path = folder / "mcp.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _env(**extra: str) -> dict[str, str]:
    return child_env(ALICE_TOKEN=ALICE, BOB_TOKEN=BOB, **extra)


class RawSession:
    """One handshake-era session opened with plain HTTP, so statuses and headers stay visible."""

    def __init__(self, http: httpx.AsyncClient, url: str, token: str | None) -> None:
        self.http, self.url = http, url
        self.headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
                        "MCP-Protocol-Version": HANDSHAKE_VERSION}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.id: str | None = None

    async def open(self) -> httpx.Response:
        """Send `initialize` (+ `notifications/initialized` when it succeeds); the response is returned."""
        response = await self.post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": HANDSHAKE_VERSION, "capabilities": {},
            "clientInfo": {"name": "hostile-sessions", "version": "1"}}})
        if response.status_code == 200:
            self.id = response.headers["mcp-session-id"]
            ack = await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
            assert ack.status_code == 202, ack.text
        return response

    async def post(self, message: dict[str, Any]) -> httpx.Response:
        headers = dict(self.headers)
        if self.id is not None:
            headers["Mcp-Session-Id"] = self.id
        return await self.http.post(self.url, content=json.dumps(message), headers=headers, timeout=30)

    async def call_add(self, a: int, b: int) -> httpx.Response:
        return await self.post({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                "params": {"name": "add", "arguments": {"a": a, "b": b}}})

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        """Hold the session's GET stream open (the session is busy meanwhile, never idle)."""
        headers = {**self.headers, "Accept": "text/event-stream", "Mcp-Session-Id": str(self.id)}
        async with self.http.stream("GET", self.url, headers=headers, timeout=60) as response:
            assert response.status_code == 200, await response.aread()
            yield


def _result_text(response: httpx.Response) -> str:
    """The JSON-RPC message of a POST answer, plain JSON or one SSE event."""
    body = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        body = next(line[5:].strip() for line in body.splitlines() if line.startswith("data:"))
    return body


async def _open_when_room(session: RawSession, timeout: float = 30) -> None:
    """Open `session`, retrying while the server still counts a just-closed stream as busy (429)."""
    deadline = time.monotonic() + timeout
    while True:
        response = await session.open()
        if response.status_code == 200:
            return
        assert response.status_code == 429 and time.monotonic() < deadline, response.text
        await asyncio.sleep(0.2)


async def _wait_sessions(up_base: str, wanted: int, timeout: float = 30) -> None:
    """Wait until /healthz counts `wanted` open sessions (it never touches a session itself)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while True:
            sessions = (await http.get(f"{up_base}/healthz", timeout=5)).json()["sessions"]
            if sessions == wanted:
                return
            assert time.monotonic() < deadline, f"/healthz kept saying {sessions} sessions, not {wanted}"
            await asyncio.sleep(0.1)


def test_a_client_past_its_session_cap_loses_its_oldest_idle_session_or_gets_429(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "p", http="{max_sessions_per_client: 3}")
    with mcprt_http(manifest, env=_env()) as up:
        async def scenario() -> None:
            async with httpx.AsyncClient() as http, AsyncExitStack() as cleanup:
                alice = [RawSession(http, up.url, ALICE) for _ in range(3)]
                for session in alice:
                    assert (await session.open()).status_code == 200
                streams = [AsyncExitStack() for _ in alice]

                async def close_streams() -> None:  # in opening order: alice[0]'s first
                    for stack in streams:
                        await stack.aclose()

                cleanup.push_async_callback(close_streams)
                for stack, session in zip(streams, alice):  # every one busy: an open GET stream each
                    await stack.enter_async_context(session.listening())

                started = time.monotonic()
                refused = await RawSession(http, up.url, ALICE).open()
                assert time.monotonic() - started < 10
                assert refused.status_code == 429, refused.text
                assert 1 <= int(refused.headers["retry-after"]) <= 60
                error = refused.json()
                assert error["jsonrpc"] == "2.0" and error["id"] is None
                # the endpoint's one refusal shape (trial docs #3), its own data kept
                assert error["error"]["code"] == -32600 and error["error"]["data"] == {
                    "reason": "too_many_requests", "limit": 3, "retryAfter": int(refused.headers["retry-after"])}
                assert "Too many open sessions for this client (limit 3" in error["error"]["message"]
                for session in alice:  # refusing the fourth cost the first three nothing
                    assert "\"text\":\"3\"" in _result_text(await session.call_add(1, 2))

                # Another client (another principal) still opens sessions and calls, in both eras.
                async with http_client(up.url, token=BOB) as bob:
                    assert text_of(await asyncio.wait_for(bob.call_tool("add", {"a": 2, "b": 3}), 30)) == "5"
                bobs = [RawSession(http, up.url, BOB) for _ in range(3)]
                for session in bobs:
                    assert (await session.open()).status_code == 200
                # 2026-07-28 requests open no session: alice at her cap still calls in that era.
                async with http_client(up.url, token=ALICE, mode="auto") as modern:
                    assert modern.protocol_version == "2026-07-28"
                    assert text_of(await asyncio.wait_for(modern.call_tool("add", {"a": 4, "b": 4}), 30)) == "8"

                # alice[0]'s stream ends first, and the others were called after it: once the server
                # sees it idle, it is the least recently used idle session, ended for the fourth.
                await close_streams()
                fourth = RawSession(http, up.url, ALICE)
                await _open_when_room(fourth)
                gone = await alice[0].call_add(1, 1)
                assert gone.status_code == 404, gone.text
                # the SDK's own 404, led by its status's phrase as mcprt's refusals are (review of docsfix, 6)
                assert gone.json()["error"]["message"] == "Not Found: Session not found"
                for session in (alice[1], alice[2], fourth):
                    assert "\"text\":\"2\"" in _result_text(await session.call_add(1, 1))

        asyncio.run(scenario())
        up.wait_log("session refused: the client holds its maximum of busy sessions")


def test_anonymous_clients_are_capped_by_address_and_the_environment_overrides_the_manifest(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "p", http="{max_sessions_per_client: 50}", auth=False)
    with mcprt_http(manifest, env=_env(MCPRT_MAX_SESSIONS_PER_CLIENT="2")) as up:
        async def scenario() -> None:
            async with httpx.AsyncClient() as http, AsyncExitStack() as streams:
                mine = [RawSession(http, up.url, None) for _ in range(2)]
                for session in mine:
                    assert (await session.open()).status_code == 200
                    await streams.enter_async_context(session.listening())
                refused = await RawSession(http, up.url, None).open()
                assert refused.status_code == 429 and "limit 2" in refused.json()["error"]["message"]
            # A normal call right after (the streams ended: a new session replaces an idle one).
            async with httpx.AsyncClient() as http:
                again = RawSession(http, up.url, None)
                await _open_when_room(again)
                assert "\"text\":\"2\"" in _result_text(await again.call_add(1, 1))

        asyncio.run(scenario())


def test_2026_listen_streams_are_capped_per_client_by_the_same_setting(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "p", http="{max_sessions_per_client: 2}")
    with mcprt_http(manifest, env=_env()) as up:
        async def scenario() -> None:
            async with http_client(up.url, token=ALICE, mode="auto") as alice, AsyncExitStack() as streams:
                assert alice.protocol_version == "2026-07-28"
                for _ in range(2):
                    await streams.enter_async_context(alice.listen(tools_list_changed=True))
                with pytest.raises(MCPError) as refused:
                    async with alice.listen(tools_list_changed=True):
                        pass
                # the per-client session cap's refusal shape (a 429's), as every refusal on the endpoint: review
                # of docsfix, problem 5 (it was -32000 with no data.reason)
                assert refused.value.error.code == -32600
                assert refused.value.error.message == ("Too Many Requests: Too many open subscription streams for "
                                                       "this client (limit 2): close one first")
                assert refused.value.error.data == {"reason": "too_many_requests", "limit": 2}
                assert text_of(await asyncio.wait_for(alice.call_tool("add", {"a": 1, "b": 2}), 30)) == "3"
                async with http_client(up.url, token=BOB, mode="auto") as bob:
                    async with bob.listen(tools_list_changed=True):
                        assert text_of(await asyncio.wait_for(bob.call_tool("add", {"a": 2, "b": 2}), 30)) == "4"
            # Alice's streams ended with her client: she may listen again (once the server saw them end).
            async with http_client(up.url, token=ALICE, mode="auto") as alice:
                deadline = time.monotonic() + 30
                async with AsyncExitStack() as again:
                    while True:
                        try:
                            await again.enter_async_context(alice.listen(tools_list_changed=True))
                            break
                        except MCPError as error:
                            assert "limit 2" in error.error.message and time.monotonic() < deadline
                            await asyncio.sleep(0.2)
                    assert text_of(await asyncio.wait_for(alice.call_tool("add", {"a": 0, "b": 1}), 30)) == "1"

        asyncio.run(scenario())


def test_the_total_session_cap_answers_503_with_retry_after(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "p", http="{max_sessions: 2}")
    with mcprt_http(manifest, env=_env()) as up:
        async def scenario() -> None:
            async with httpx.AsyncClient() as http:
                assert (await RawSession(http, up.url, ALICE).open()).status_code == 200
                assert (await RawSession(http, up.url, BOB).open()).status_code == 200
                refused = await RawSession(http, up.url, BOB).open()
                assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
                # Trial (docs #3): this 503 was -32000 with no `data.reason`, unlike every documented refusal
                body = refused.json()
                assert body["id"] is None and body["error"]["code"] == -32603, body
                assert body["error"]["data"] == {"reason": "service_unavailable", "limit": 2,
                                                 "retryAfter": int(refused.headers["retry-after"])}, body
                assert body["error"]["message"] == ("Service Unavailable: Too many open sessions on this server "
                                                    "(limit 2): retry later")

        asyncio.run(scenario())


async def _expires(url: str, base: str) -> None:
    async with httpx.AsyncClient() as http:
        session = RawSession(http, url, ALICE)
        assert (await session.open()).status_code == 200
        assert "\"text\":\"3\"" in _result_text(await session.call_add(1, 2))
        await _wait_sessions(base, 0)  # the idle timeout ended it (no request touched it meanwhile)
        expired = await session.call_add(1, 2)
        assert expired.status_code == 404, expired.text
        assert expired.json()["error"] == {"code": -32600, "message": "Not Found: Session not found",  # the SDK's
                                           "data": {"reason": "not_found"}}
        # the SDK's 400 already starts with its phrase: it is not written twice (review of docsfix, 6)
        missing = await RawSession(http, url, ALICE).call_add(1, 1)
        assert missing.status_code == 400 and missing.json()["error"] == {
            "code": -32600, "message": "Bad Request: Missing session ID", "data": {"reason": "bad_request"}}, missing.text
        again = RawSession(http, url, ALICE)  # the client's remedy: initialize again
        assert (await again.open()).status_code == 200
        assert "\"text\":\"5\"" in _result_text(await again.call_add(2, 3))


def test_an_idle_session_expires_after_the_configured_timeout_and_answers_404(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "p", http="{session_idle_timeout: 1s}")
    with mcprt_http(manifest, env=_env()) as up:
        started = time.monotonic()
        asyncio.run(_expires(up.url, up.base))
        assert time.monotonic() - started < 30


def test_with_shared_state_the_idle_timeout_also_expires_the_session_record(tmp_path: Path) -> None:
    with redis_server(tmp_path) as redis:
        manifest = _manifest(tmp_path / "p", http="{}", state=redis.url)
        with mcprt_http(manifest, env=_env(MCPRT_SESSION_IDLE_TIMEOUT="2")) as up:
            async def scenario() -> None:
                async with httpx.AsyncClient() as http:
                    session = RawSession(http, up.url, ALICE)
                    assert (await session.open()).status_code == 200
                    key = f"mcprt:sessions-test:session:{session.id}"
                    ttl_ms = int(redis.cli("PTTL", key))
                    assert 0 < ttl_ms <= 2000, ttl_ms  # one setting: the record lives as long as the session
                await _expires(up.url, up.base)

            asyncio.run(scenario())


def test_a_request_that_cannot_open_a_session_costs_the_client_none(tmp_path: Path) -> None:
    """Found by trial9: a POST without `Mcp-Session-Id` that is not `initialize` (a stray ping, a
    2026-07-28 request without its header, a batch) only ever gets 400 — yet it went through the
    per-client admission, so a client at its cap lost its least recently used idle session to it
    (and, with auth off, any client behind the same address could end another's sessions this way).
    Only an `initialize` can open a session, so only it may make room; a GET or DELETE without a
    session id neither."""
    manifest = _manifest(tmp_path / "p", http="{max_sessions_per_client: 2}")
    with mcprt_http(manifest, env=_env()) as up:
        async def scenario() -> None:
            async with httpx.AsyncClient() as http:
                alice = [RawSession(http, up.url, ALICE) for _ in range(2)]
                for session in alice:
                    assert (await session.open()).status_code == 200
                stray = RawSession(http, up.url, ALICE)  # never initialized: no session id
                for message in ({"jsonrpc": "2.0", "id": 5, "method": "ping"},
                                {"jsonrpc": "2.0", "id": 6, "method": "tools/list"},
                                [{"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": {}}]):
                    refused = await stray.post(message)  # type: ignore[arg-type]
                    assert refused.status_code == 400, refused.text
                for method in ("GET", "DELETE"):
                    refused = await http.request(method, up.url, headers={**stray.headers, "Accept": "text/event-stream"})
                    assert refused.status_code == 400, refused.text
                for session in alice:  # both still there
                    assert "\"text\":\"3\"" in _result_text(await session.call_add(1, 2))
                third = RawSession(http, up.url, ALICE)  # a real initialize still makes room
                assert (await third.open()).status_code == 200
                assert (await alice[0].call_add(1, 1)).status_code == 404
                assert "\"text\":\"2\"" in _result_text(await third.call_add(1, 1))

        asyncio.run(scenario())
