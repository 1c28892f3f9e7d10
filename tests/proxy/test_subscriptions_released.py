"""What resources/subscribe attaches to a connection stays bounded however often the client cycles.

Real pieces: the runtime compiles a manifest proxying the everything fixture (a `command:` MCP server
that supports subscriptions), mcprt's `Subscriptions` serves it, and the connection is the SDK's own.
Each subscribe after an unsubscribe pushed another callback onto the connection's exit stack (run
only when the session ends), so a client cycling subscribe/unsubscribe grew it without end.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.server.connection import Connection
from mcprt.pipeline import Runtime
from mcprt.server.offers import Subscriptions
from mcprt.settings import Settings

from tests.support.everything import command_source, write_manifest

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
WATCHED = "test://watched-resource"


async def test_subscribe_cycles_keep_one_exit_callback_and_closing_forgets_every_uri(tmp_path: Path) -> None:
    runtime = Runtime(write_manifest(tmp_path, command_source("fx")), Settings(_env_file=None))
    await runtime.start()
    try:
        assert runtime.holder is not None
        subscriptions = Subscriptions(runtime.holder)
        connection = Connection.from_envelope("2025-06-18", None, None)
        other = Connection.from_envelope("2025-06-18", None, None)
        for _ in range(50):
            await subscriptions.subscribe(connection, WATCHED)
            await subscriptions.unsubscribe(connection, WATCHED)
        await subscriptions.subscribe(connection, WATCHED)
        await subscriptions.subscribe(connection, WATCHED)  # twice in a row: still one listener
        await subscriptions.subscribe(other, WATCHED)
        assert len(connection.exit_stack._exit_callbacks) == 1  # type: ignore[attr-defined]
        assert await subscriptions.updated("fx", WATCHED) == 2
        await connection.exit_stack.aclose()  # the session ends: every URI it held is forgotten
        assert await subscriptions.updated("fx", WATCHED) == 1
        await subscriptions.subscribe(connection, WATCHED)  # (an id reused by a new connection starts clean)
        assert len(connection.exit_stack._exit_callbacks) == 1  # type: ignore[attr-defined]
    finally:
        await runtime.aclose()
