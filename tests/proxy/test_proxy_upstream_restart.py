"""A `url:` source whose upstream restarts quickly (same port, new process) starts a new session.

Found by a new-user trial: the restarted server answers HTTP 404 ("Session not found") to the old
`Mcp-Session-Id`, and mcprt passed that on as `server 'fx' refused the call: Session not found`, for
every call, forever, while /status.json said `up` with 0 restarts. MCP 2025-11-25 basic/transports
("Session Management"): a client that gets 404 for its session MUST start a new session with a new
initialize. Now the source does, at once, counts a restart, logs it, renews the subscriptions
clients made, and retries the request that met the 404 (the server did not run it) once."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
from aiohttp import ClientSession, web
from mcp.shared.exceptions import MCPError

from tests.support.everything import fixture_http, url_source, write_manifest
from tests.support.served import UpProcess, http_client, mcprt_http, text_of

pytestmark = [pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
              pytest.mark.xdist_group("test_proxy_upstream_restart")]  # one upstream and gateway per run

SIMPLE = "This is a simple text response for testing."


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Upstream:
    """The everything fixture over HTTP on a fixed port, restartable as a new process."""

    def __init__(self) -> None:
        self.port = _free_port()
        self._stack = ExitStack()
        self.url = self._stack.enter_context(fixture_http("--port", str(self.port)))

    def restart(self) -> None:
        self._stack.close()
        self._stack = ExitStack()
        self._stack.enter_context(fixture_http("--port", str(self.port)))

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def served(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    manifest = write_manifest(tmp_path_factory.mktemp("restart"), url_source("fx", upstream.url))
    with mcprt_http(manifest, "--no-reload") as up:
        yield up


def _source(up: UpProcess) -> dict[str, Any]:
    [source] = httpx.get(f"{up.base}/status.json", timeout=10).json()["sources"]
    return source


async def test_a_quickly_restarted_upstream_gets_a_new_session_and_the_requests_are_retried(
        upstream: Upstream, served: UpProcess) -> None:
    """A tools/call and a resources/read sent together after one restart: both meet the 404, both are retried
    on the one new session (one upstream restart for both checks: a restart costs seconds)."""
    updates: list[str] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            updates.append(str(message.params.uri))

    async with http_client(served.url, message_handler=on_message) as client:
        assert text_of(await client.call_tool("test_simple_text", {})) == SIMPLE
        await client.subscribe_resource("test://watched-resource")
        restarts, mark = _source(served)["restarts"], served.log_mark()
        upstream.restart()
        answers: dict[str, Any] = {}

        async def ask(kind: str, request: Callable[[], Awaitable[Any]]) -> None:
            answers[kind] = await request()

        async with anyio.create_task_group() as requests:
            requests.start_soon(ask, "tools/call", lambda: client.call_tool("test_simple_text", {}))
            requests.start_soon(ask, "resources/read", lambda: client.read_resource("test://static-text"))
        answer = answers["tools/call"]
        assert not answer.is_error, text_of(answer) + served.log_since(mark)
        assert text_of(answer) == SIMPLE
        read = answers["resources/read"]
        assert read.contents[0].text == "This is the content of the static text resource."  # type: ignore[union-attr]
        source = _source(served)
        assert (source["state"], source["restarts"]) == ("up", restarts + 1)
        log = served.log_since(mark)
        assert "no longer knows its session" in log
        assert "check the URL's path" not in log  # the 404 of a lost session is not a wrong endpoint
        # what the client subscribed to before the restart is subscribed to on the new session
        await client.call_tool("touch_watched", {})
        with anyio.fail_after(10):
            while not updates:
                await anyio.sleep(0.05)
        assert updates == ["test://watched-resource"]
        await client.unsubscribe_resource("test://watched-resource")


Refuse = Callable[[str, bool, bytes], Awaitable[bool]]  # (method, has a session id, body) → answer 404?


def _proxy(upstream_url: str, refuse: Refuse) -> str:
    """An HTTP proxy to `upstream_url` in a thread of its own, answering 404 where `refuse` says so: the URL."""
    port, ready = _free_port(), threading.Event()

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if await refuse(request.method, "mcp-session-id" in request.headers, body):
            return web.Response(status=404, text="Not Found")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with ClientSession() as session, session.request(
                request.method, upstream_url, headers=headers, data=body) as answer:
            response = web.StreamResponse(status=answer.status, headers={
                k: v for k, v in answer.headers.items() if k.lower() in ("content-type", "mcp-session-id")})
            await response.prepare(request)
            async for chunk in answer.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    async def main() -> None:
        app = web.Application()
        app.router.add_route("*", "/mcp", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
    assert ready.wait(10)
    return f"http://127.0.0.1:{port}/mcp"


async def test_a_server_answering_the_get_stream_404_stays_up(
        upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Found in review: any 404 to a request with our Mcp-Session-Id was read as "session gone", including
    the GET stream the SDK opens right after `initialized`, so such a server (it served fine before) was
    renewed at once, again and again, then backed off to 30 s for good. Only a POST's 404, or a GET's after
    a GET of the session was served, says the session is gone."""
    async def the_stream(method: str, has_session: bool, body: bytes) -> bool:
        return method == "GET" and has_session  # as some servers do for a stream they do not offer (405 in the spec)

    manifest = write_manifest(tmp_path_factory.mktemp("get404"), url_source("fx", _proxy(upstream.url, the_stream)))
    with mcprt_http(manifest, "--no-reload") as up:
        time.sleep(2)  # the old code renewed within a second of every connection
        source = _source(up)
        assert (source["state"], source["restarts"]) == ("up", 0), up.log_since(0)
        async with http_client(up.url) as client:
            assert text_of(await client.call_tool("test_simple_text", {})) == SIMPLE


async def test_a_genuine_error_while_another_request_meets_the_404_is_not_sent_again(
        upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Found in review: once any request of a connection met the 404 for its session, every JSON-RPC error on
    it was taken for "not run" and the request sent again on the new session: a request that had run (and
    failed for its own reason) ran twice. Only an error in a 404's form is taken so now."""
    lost = threading.Event()
    missing_reads = []

    async def first_static_read(method: str, has_session: bool, body: bytes) -> bool:
        if b"test://static-text" in body and not lost.is_set():
            lost.set()
            return True  # this request's session is "gone"
        if b"test://missing" in body:
            missing_reads.append(body)
            while not lost.is_set():
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)  # answered after the 404 to the other request
        return False

    manifest = write_manifest(tmp_path_factory.mktemp("genuine"), url_source("fx", _proxy(upstream.url, first_static_read)))
    with mcprt_http(manifest, "--no-reload") as up:
        async with http_client(up.url) as client:
            async def read_missing() -> None:
                with pytest.raises(MCPError, match="Resource not found"):
                    await client.read_resource("test://missing")

            async with anyio.create_task_group() as reads:
                reads.start_soon(read_missing)
                await anyio.sleep(0.2)
                reads.start_soon(client.read_resource, "test://static-text")
        assert len(missing_reads) == 1, up.log()


def _slow_renewal(target: bytes, renewal: float, retry: float) -> tuple[Refuse, list[str]]:
    """A `refuse` for `_proxy`: the first request naming `target` meets the 404 of a lost session; the new
    session's initialize then waits `renewal` seconds, and the request sent again waits `retry` seconds.
    The list tells what happened, in order."""
    seen: list[str] = []

    async def refuse(method: str, has_session: bool, body: bytes) -> bool:
        if target in body:
            if not seen:
                seen.append("404")
                return True
            seen.append("sent again")
            await asyncio.sleep(retry)
        elif seen == ["404"] and not has_session and b'"initialize"' in body:
            seen.append("renewal")
            await asyncio.sleep(renewal)
        return False

    return refuse, seen


async def test_a_request_sent_again_on_a_renewed_session_gets_its_whole_startup_timeout(
        upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Found in review: when one helper came to send both kinds of request again, a resources/read (prompts/get,
    completion, subscribe) sent again after its session was renewed got only what the renewal had left of
    `startup_timeout`: a renewal of 2.5 s of 4 s and a read of 2 s failed with "did not answer resources/read
    within 1.494541s", where it had been answered. Each sending of such a request gets `startup_timeout`."""
    refuse, seen = _slow_renewal(b"test://static-text", renewal=2.5, retry=2.0)
    source = url_source("fx", _proxy(upstream.url, refuse), "startup_timeout: 4s\n")
    with mcprt_http(write_manifest(tmp_path_factory.mktemp("slowrenew"), source), "--no-reload") as up:
        async with http_client(up.url) as client:
            await anyio.sleep(1.2)  # up for over RENEW_AT_ONCE_AFTER: the session is renewed at once
            read = await client.read_resource("test://static-text")
        assert read.contents[0].text == "This is the content of the static text resource.", up.log()  # type: ignore[union-attr]
        assert seen == ["404", "renewal", "sent again"]


async def test_a_call_sent_again_on_a_renewed_session_that_times_out_says_the_time_it_had_left(
        upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Found in review: a tools/call sent again on a renewed session has what the renewal left of its timeout,
    and when that ran out its error said "the server did not answer within 0.494541s", blaming the server
    for time mcprt spent renewing. It now says the seconds left (to a tenth), of how many, and why."""
    refuse, seen = _slow_renewal(b"test_simple_text", renewal=1.5, retry=4.0)
    source = url_source("fx", _proxy(upstream.url, refuse), "timeout: 3s\n")
    with mcprt_http(write_manifest(tmp_path_factory.mktemp("callrenew"), source), "--no-reload") as up:
        async with http_client(up.url) as client:
            await anyio.sleep(1.2)  # up for over RENEW_AT_ONCE_AFTER: the session is renewed at once
            answer = await client.call_tool("test_simple_text", {})
        assert answer.is_error, text_of(answer)
        worded = re.fullmatch(r"test_simple_text: the server did not answer within the (\d\.\d)s left of its 3s "
                              r"once the server's session was renewed", text_of(answer))
        assert worded and 0 < float(worded[1]) <= 1.5, text_of(answer)  # 3 s less the renewal's 1.5 s and more
        assert seen == ["404", "renewal", "sent again"]
