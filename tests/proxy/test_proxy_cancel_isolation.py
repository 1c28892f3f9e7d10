"""A log message that cannot be proven to belong to a session's call never reaches it from another principal's
call (soak trial F1 and its review).

Over stdio a log message names no request, and a server's session-level log (a background job's) names none over
HTTP either (it comes on the GET stream). The relay used to give such a message to the source's only call in
flight: bob cancelled `proc_work` after 5–50 ms and alice's next call received bob's `step 1 of 20` (7 of 287
messages in 40 rounds); bob's answered `fire` left a job whose `bob late i` reached alice's running call (45 of 105
in the review's 10 rounds, over stdio and url:). Now such a guess is made only when every call in flight and every
call that ended within its window is the receiver's principal's (relay.py); what a call's own response stream
carries (url:) is proven and always reaches its caller, and progress goes by the request's own token.

A real `mcprt up --transport http` proxies `tests/proxy/chatty_server.py` (a real subprocess MCP server) as a
`command:` source (stdio) and as a `url:` source (the same server over streamable HTTP); alice and bob are two
principals with SDK clients over streamable HTTP (handshake era: logs on their sessions, at the level each set).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import anyio
import httpx
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.support.components import free_port, wait_port
from tests.support.everything import write_manifest
from tests.support.served import OpenPosts, UpProcess, child_env, mcprt_http, text_of
from tests.support.zygote import script_command, script_command_yaml

pytestmark = [pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
              pytest.mark.xdist_group("test_proxy_cancel_isolation")]  # one started server per run

SERVER = Path(__file__).resolve().parent / "chatty_server.py"
TOKENS = {"alice": "alice-token-0123456789", "bob": "bob-token-0123456789ab"}
TIMEOUT = 2.0  # s: the source's call timeout, so how long a cancelled call's tail is waited out
RACE_ROUNDS = 12


@pytest.fixture(scope="module", params=["command", "url"])
def up(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    """mcprt proxying chatty_server.py over stdio (`command:`) or over streamable HTTP (`url:`)."""
    folder = tmp_path_factory.mktemp("chatty")
    upstream = None
    if request.param == "command":
        source = f"  chatty:\n    command: {script_command_yaml(SERVER)}\n"
    else:
        port = free_port()
        upstream = subprocess.Popen(script_command(SERVER, "--http", str(port)),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port)
        source = f"  chatty:\n    url: http://127.0.0.1:{port}/mcp\n"
    manifest = write_manifest(folder, source,
                              server='server:\n  auth: {tokens: {alice: "${A}", bob: "${B}"}}\n'
                                     f"defaults:\n  timeout: {TIMEOUT:g}s\n")
    try:
        with mcprt_http(manifest, "--no-reload", env=child_env(A=TOKENS["alice"], B=TOKENS["bob"]),
                        startup_timeout=60) as served:
            served.kind = request.param  # type: ignore[attr-defined]
            yield served
    finally:
        if upstream is not None:
            upstream.terminate()
            upstream.wait(10)


def proven(up: UpProcess) -> bool:
    """Whether a call's own log messages are proven its caller's: over url: they come on its response stream."""
    return getattr(up, "kind") == "url"


class Heard:
    """What one client received: log data and progress messages."""

    def __init__(self) -> None:
        self.logs: list[str] = []
        self.progress: list[str] = []

    async def on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        self.logs.append(str(params.data))

    async def on_progress(self, done: float, total: float | None, message: str | None) -> None:
        self.progress.append(str(message))


@asynccontextmanager
async def clients(up: UpProcess) -> AsyncIterator[tuple[Client, Heard, Client, Heard]]:
    """alice and bob connected, each with logging at debug."""
    async with AsyncExitStack() as stack:
        made = []
        for who in ("alice", "bob"):
            heard = Heard()
            http = await stack.enter_async_context(
                httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKENS[who]}"}, timeout=30))
            posts = OpenPosts.around(http)  # a close waits for the answers of calls cancelled just before
            client = await stack.enter_async_context(
                Client(streamable_http_client(up.url, http_client=http), mode="legacy", logging_callback=heard.on_log))
            stack.push_async_callback(posts.closed)  # runs before the client closes (a stack unwinds in reverse)
            await client.set_logging_level("debug")
            made += [client, heard]
        yield made[0], made[1], made[2], made[3]


def unrouted(up: UpProcess) -> float:
    text = httpx.get(f"{up.base}/metrics", headers={"Authorization": f"Bearer {TOKENS['alice']}"}, timeout=10).text
    match = re.search(r'^mcprt_unrouted_log_messages_total\{source="chatty"\} (\S+)$', text, re.M)
    assert match, text
    return float(match.group(1))


async def windows_over() -> None:
    """Wait out the windows of calls an earlier test ended (each is its call's timeout)."""
    await anyio.sleep(TIMEOUT + 0.3)


async def test_a_cancelled_call_that_runs_on_logs_to_no_other_session(up: UpProcess) -> None:
    """bob's server finishes his call after he cancelled it (shielded), logging 7 more steps while alice's
    call is the only one in flight: none of them reaches alice, nor does his progress; alice's own progress
    does, and her own logs too where they are proven hers (url:, her call's response stream). Once bob's
    window is over (his call's timeout), alice's logs reach her again over stdio too."""
    before = unrouted(up)
    async with clients(up) as (alice, alice_heard, bob, bob_heard):
        with anyio.fail_after(60):
            with anyio.CancelScope() as bobs_call:
                async def call_and_cancel() -> None:
                    while not bob_heard.logs:  # bob's call is running upstream (its first step reached bob)
                        await anyio.sleep(0.01)
                    bobs_call.cancel()
                async with anyio.create_task_group() as group:
                    group.start_soon(call_and_cancel)
                    await bob.call_tool("work", {"who": "bob", "steps": 8, "shielded": True})
            assert bobs_call.cancelled_caught
            result = await alice.call_tool("work", {"who": "alice", "steps": 4},
                                           progress_callback=alice_heard.on_progress)
            assert text_of(result) == "alice did 4 steps"
            await anyio.sleep(0.3)  # bob's last late steps (0.1 s apart) have come
            assert [line for line in alice_heard.logs if "bob" in line] == []
            assert alice_heard.progress == ["alice step 1", "alice step 2", "alice step 3", "alice step 4"]
            assert alice_heard.logs == ([f"alice step {i} of 4" for i in range(1, 5)] if proven(up) else [])
            assert bob_heard.logs == ["bob step 1 of 8"]  # the rest came after his call was gone: to no one
            if not proven(up):  # over url: the server sends them on bob's closed response stream: they never come
                assert unrouted(up) - before >= 7  # bob's late steps were there, and withheld
            await windows_over()  # bob's call's window is over
            await alice.call_tool("work", {"who": "alice", "steps": 2})
            assert alice_heard.logs[-2:] == ["alice step 1 of 2", "alice step 2 of 2"]


async def test_the_soak_cancel_race_leaks_nothing_across_sessions(up: UpProcess) -> None:
    """The trial's race, repeated: bob cancels `work` 5–50 ms after calling it (before or just after his
    server started it), then alice calls; alice hears only her own logs and progress — every one of her
    progress notifications, and every one of her logs where they are proven hers (url:)."""
    await windows_over()
    async with clients(up) as (alice, alice_heard, bob, bob_heard):
        with anyio.fail_after(120):
            for round_ in range(RACE_ROUNDS):
                with anyio.move_on_after(0.005 * (1 + round_ % 10)):
                    await bob.call_tool("work", {"who": "bob", "steps": 20})
                await alice.call_tool("work", {"who": "alice", "steps": 3}, progress_callback=alice_heard.on_progress)
    assert [line for line in alice_heard.logs if not line.startswith("alice ")] == []
    assert [line for line in alice_heard.progress if not line.startswith("alice ")] == []
    assert len(alice_heard.progress) == 3 * RACE_ROUNDS  # progress goes by token: every one of hers arrived
    if proven(up):
        assert len(alice_heard.logs) == 3 * RACE_ROUNDS


async def test_an_answered_calls_background_job_logs_to_no_other_session(up: UpProcess) -> None:
    """The review's sibling: bob's `fire` is answered at once and its server's background job then logs
    `bob late i` on the session (no request named, over HTTP on the GET stream) while alice's `work` is the
    only call in flight; none of bob's lines reaches alice, and hers reach her where proven (url:)."""
    await windows_over()
    before = unrouted(up)
    async with clients(up) as (alice, alice_heard, bob, _bob_heard):
        with anyio.fail_after(120):
            for _ in range(4):
                assert text_of(await bob.call_tool("fire", {"who": "bob"})) == "fired"
                await alice.call_tool("work", {"who": "alice", "steps": 6, "pause": 0.05})
    assert [line for line in alice_heard.logs if not line.startswith("alice ")] == []
    assert unrouted(up) - before >= 4 * 5 - 2  # bob's lines came (but perhaps the last round's last), withheld
    up.wait_log("log message for no one client")
    if proven(up):
        assert len(alice_heard.logs) == 4 * 6


async def test_a_principals_own_cancel_keeps_its_next_calls_logs(up: UpProcess) -> None:
    """A window withholds a guess only from other principals: alice cancels her own call, and her next call
    still hears every one of its logs (over stdio by the guess, which cannot cross principals here; the
    cancelled call's late lines, hers too, may come with them)."""
    await windows_over()
    async with clients(up) as (alice, alice_heard, _bob, _bob_heard):
        with anyio.fail_after(60):
            with anyio.move_on_after(0.15):
                await alice.call_tool("work", {"who": "alice-cancelled", "steps": 3})
            await alice.call_tool("work", {"who": "alice", "steps": 3})
    assert [line for line in alice_heard.logs if line.startswith("alice step")] == [
        "alice step 1 of 3", "alice step 2 of 3", "alice step 3 of 3"]
