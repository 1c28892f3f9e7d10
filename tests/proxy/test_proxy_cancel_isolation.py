"""A cancelled call's late messages never reach another principal's session (soak trial F1).

Over stdio a log message names no request, so the relay gives one to the source's only call in flight. A
call cancelled by its client left that table at once while its server went on (it reads the cancel only
after it started the request, or finishes what it started): bob cancelled `proc_work` after 5–50 ms and
alice's next call received bob's `step 1 of 20` (7 of 287 messages in 40 rounds). Now a call that ended
unanswered keeps the "only call" rule suspended for its `timeout` (relay.py), so those messages go to
mcprt's log, counted; progress goes by the request's own token, so a cancelled call's is dropped.

A real `mcprt up --transport http` proxies `tests/proxy/chatty_server.py` (a real subprocess MCP server);
alice and bob are two principals with SDK clients over streamable HTTP (handshake era: logs on their
sessions, at the level each set).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.support.everything import write_manifest
from tests.support.served import UpProcess, child_env, mcprt_http, text_of
from tests.support.zygote import script_command_yaml

pytestmark = [pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
              pytest.mark.xdist_group("test_proxy_cancel_isolation")]  # one started server per run

SERVER = Path(__file__).resolve().parent / "chatty_server.py"
TOKENS = {"alice": "alice-token-0123456789", "bob": "bob-token-0123456789ab"}
TIMEOUT = 2.0  # s: the source's call timeout, so how long a cancelled call's tail is waited out
RACE_ROUNDS = 12


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    folder = tmp_path_factory.mktemp("chatty")
    manifest = write_manifest(folder, f"  chatty:\n    command: {script_command_yaml(SERVER)}\n",
                              server='server:\n  auth: {tokens: {alice: "${A}", bob: "${B}"}}\n'
                                     f"defaults:\n  timeout: {TIMEOUT:g}s\n")
    with mcprt_http(manifest, "--no-reload", env=child_env(A=TOKENS["alice"], B=TOKENS["bob"]),
                    startup_timeout=60) as served:
        yield served


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
            client = await stack.enter_async_context(
                Client(streamable_http_client(up.url, http_client=http), mode="legacy", logging_callback=heard.on_log))
            await client.set_logging_level("debug")
            made += [client, heard]
        yield made[0], made[1], made[2], made[3]


def unrouted(up: UpProcess) -> float:
    text = httpx.get(f"{up.base}/metrics", headers={"Authorization": f"Bearer {TOKENS['alice']}"}, timeout=10).text
    match = re.search(r'^mcprt_unrouted_log_messages_total\{source="chatty"\} (\S+)$', text, re.M)
    assert match, text
    return float(match.group(1))


async def test_a_cancelled_call_that_runs_on_logs_to_no_other_session(up: UpProcess) -> None:
    """bob's server finishes his call after he cancelled it (shielded), logging 7 more steps while alice's
    call is the only one in flight: none of them reaches alice, nor does his progress; alice's own progress
    does. Once bob's tail is waited out (his call's timeout), alice's logs reach her again."""
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
            assert [line for line in alice_heard.logs if "bob" in line] == []
            assert alice_heard.progress == ["alice step 1", "alice step 2", "alice step 3", "alice step 4"]
            assert bob_heard.logs == ["bob step 1 of 8"]  # the rest came after his call was gone: to no one
            assert unrouted(up) - before >= 7  # bob's late steps were there, and withheld
            await anyio.sleep(TIMEOUT + 0.2)  # bob's call's tail is over
            await alice.call_tool("work", {"who": "alice", "steps": 2})
            assert alice_heard.logs[-2:] == ["alice step 1 of 2", "alice step 2 of 2"]
    assert "log message for no one client" in up.log()


async def test_the_soak_cancel_race_leaks_nothing_across_sessions(up: UpProcess) -> None:
    """The trial's race, repeated: bob cancels `work` 5–50 ms after calling it (before or just after his
    server started it), then alice calls; alice hears only her own logs and progress."""
    async with clients(up) as (alice, alice_heard, bob, bob_heard):
        with anyio.fail_after(120):
            for round_ in range(RACE_ROUNDS):
                with anyio.move_on_after(0.005 * (1 + round_ % 10)):
                    await bob.call_tool("work", {"who": "bob", "steps": 20})
                await alice.call_tool("work", {"who": "alice", "steps": 3}, progress_callback=alice_heard.on_progress)
    assert [line for line in alice_heard.logs if not line.startswith("alice ")] == []
    assert [line for line in alice_heard.progress if not line.startswith("alice ")] == []
    assert len(alice_heard.progress) == 3 * RACE_ROUNDS  # progress goes by token: every one of hers arrived
