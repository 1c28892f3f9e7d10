"""What resources/subscribe attaches to a connection stays bounded however often the client cycles.

Real pieces: the runtime compiles a manifest proxying the everything fixture (a `command:` MCP server
that supports subscriptions), mcprt's `Subscriptions` serves it, and the connection is the SDK's own.
Each subscribe after an unsubscribe pushed another callback onto the connection's exit stack (run
only when the session ends), so a client cycling subscribe/unsubscribe grew it without end.
"""

from __future__ import annotations

import gc
import json
import threading
import time
import weakref
from pathlib import Path

import httpx
import pytest
from mcp.server.connection import Connection
from mcprt.pipeline import Runtime
from mcprt.server.offers import LogLevels, Subscriptions
from mcprt.settings import Settings

from tests.support.everything import command_source, write_manifest
from tests.support.served import mcprt_http

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
WATCHED = "test://watched-resource"


async def test_subscribe_cycles_keep_nothing_more_and_closing_forgets_every_uri(tmp_path: Path) -> None:
    """Behaviour, not the exit stack's private list: cycles add no object holding the connection (each
    added a callback), and once closed — even after a late subscribe — nothing holds it (a weakref dies)."""
    runtime = Runtime(write_manifest(tmp_path, command_source("fx")), Settings(_env_file=None))
    await runtime.start()
    try:
        assert runtime.holder is not None
        subscriptions = Subscriptions(runtime.holder)
        connection = Connection.from_envelope("2025-06-18", None, None)
        other = Connection.from_envelope("2025-06-18", None, None)
        await subscriptions.subscribe(connection, WATCHED)
        await subscriptions.unsubscribe(connection, WATCHED)
        holding = len(gc.get_referrers(connection))
        for _ in range(50):
            await subscriptions.subscribe(connection, WATCHED)
            await subscriptions.unsubscribe(connection, WATCHED)
        assert len(gc.get_referrers(connection)) == holding  # 50 cycles kept nothing more
        await subscriptions.subscribe(connection, WATCHED)
        await subscriptions.subscribe(connection, WATCHED)  # twice in a row: still one listener
        await subscriptions.subscribe(other, WATCHED)
        assert await subscriptions.updated("fx", WATCHED) == 2
        await connection.exit_stack.aclose()  # the session ends: every URI it held is forgotten
        assert await subscriptions.updated("fx", WATCHED) == 1
        await subscriptions.subscribe(connection, WATCHED)  # closed: nothing is kept for it any more
        assert await subscriptions.updated("fx", WATCHED) == 1
        gone = weakref.ref(connection)
        del connection
        gc.collect()
        assert gone() is None, [type(r).__name__ for r in gc.get_referrers(gone())]
        renewed = Connection.from_envelope("2025-06-18", None, None)  # a new connection starts clean
        await subscriptions.subscribe(renewed, WATCHED)
        assert await subscriptions.updated("fx", WATCHED) == 2
    finally:
        await runtime.aclose()


async def test_subscribe_without_any_source_supporting_it_is_method_not_found(tmp_path: Path) -> None:
    """#15 check 3: a server whose sources offer resources but no subscriptions advertises
    `resources.subscribe` false; its `resources/subscribe` was answered with success. Now -32601 (MCP:
    a method the server's capabilities do not include)."""
    from mcp.shared.exceptions import MCPError

    manifest = write_manifest(tmp_path, command_source("quiet", "--features", "resources,nosubscribe"))
    runtime = Runtime(manifest, Settings(_env_file=None))
    await runtime.start()
    try:
        assert runtime.holder is not None and runtime.holder.current.offers.subscribe is False
        subscriptions = Subscriptions(runtime.holder)
        connection = Connection.from_envelope("2025-06-18", None, None)
        with pytest.raises(MCPError, match="Method not found: resources/subscribe") as refused:
            await subscriptions.subscribe(connection, WATCHED)
        assert refused.value.error.code == -32601
    finally:
        await runtime.aclose()


async def test_a_closed_connection_keeps_no_log_level() -> None:
    """`logging/setLevel` answered after the session closed kept its level (its forget callback sat on the
    unwound stack): held forever, and given to the next connection that got the same id()."""
    levels, connection = LogLevels(), Connection.from_envelope("2025-06-18", None, None)
    levels.set(connection, "error")
    assert not levels.allows(connection, "debug")
    await connection.exit_stack.aclose()
    assert levels.allows(connection, "debug")
    levels.set(connection, "error")  # after the close: nothing is kept
    assert levels.allows(connection, "debug")


SLOW_TOOL = '''
import asyncio


async def slow(seconds: float, marker: str) -> str:
    """Write the file `marker`, then sleep `seconds`."""
    open(marker, "w").close()
    await asyncio.sleep(seconds)
    return "slept"
'''
ACCEPT = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def _session(url: str) -> dict[str, str]:
    """A raw 2025-03-26 session's headers (the one version whose clients may send batches)."""
    init = {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
    opened = httpx.post(url, headers=ACCEPT, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": init},
                        timeout=60)
    assert opened.status_code == 200, opened.text
    headers = {**ACCEPT, "mcp-session-id": opened.headers["mcp-session-id"]}
    httpx.post(url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, timeout=60)
    return headers


def _touch(url: str) -> str:
    """How many subscribers the upstream fixture notifies (its `touch_watched` tool), asked on a new session."""
    headers = _session(url)
    answer = httpx.post(url, headers=headers, timeout=60, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "touch_watched", "arguments": {}}})
    assert answer.status_code == 200, answer.text
    data = answer.text if answer.headers["content-type"].startswith("application/json") else \
        next(line[5:] for line in answer.text.splitlines() if line.startswith("data:"))  # an SSE answer
    return json.loads(data)["result"]["content"][0]["text"]


def test_a_subscribe_answered_after_its_session_was_deleted_leaves_no_upstream_subscription(tmp_path: Path) -> None:
    """A batch [slow call, resources/subscribe] whose session is DELETEd during the slow call: the subscribe
    runs in the POST's own task after the session's exit stack unwound. It registered a callback on that
    unwound stack (never run), so the closed connection stayed a listener and the upstream subscription was
    never released (the fixture still notified 1 subscriber); now nothing is registered for a closed one."""
    (tmp_path / "slowtools.py").write_text(SLOW_TOOL)
    path = write_manifest(tmp_path, command_source("fx"), "  t: {python: slowtools}\n")
    marker = tmp_path / "started"
    with mcprt_http(path, "--no-reload") as up:
        headers = _session(up.url)
        answers: list[httpx.Response] = []
        batch = [{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                  "params": {"name": "slow", "arguments": {"seconds": 1.5, "marker": str(marker)}}},
                 {"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe", "params": {"uri": WATCHED}}]
        worker = threading.Thread(target=lambda: answers.append(
            httpx.post(up.url, headers=headers, json=batch, timeout=60)))
        worker.start()
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert httpx.delete(up.url, headers=headers, timeout=30).status_code == 200
        worker.join(60)
        assert answers, "the batch was not answered"
        assert _touch(up.url) == "notified 0"
