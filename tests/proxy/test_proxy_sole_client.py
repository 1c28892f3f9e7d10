"""What a proxied server sends outside any call reaches mcprt's one client over stdio, and no client
over HTTP.

Shown by `@modelcontextprotocol/server-filesystem` 2026.8.31 behind `mcprt up` over stdio: it asks
`roots/list` after its handshake and on `notifications/roots/list_changed`, and narrows its tools to
those roots. mcprt refused that request ("no client call in progress"), and did not pass the client's
roots change on, so the client's roots never reached it: a client whose only root was `data/sub`
could read `data/a.txt` through mcprt (directly, the server answered "Access denied"). Reproduced
here with `tests/support/roots_server.py`, a real subprocess SDK server that reads roots the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client

from tests.support.everything import write_manifest
from tests.support.served import http_client, mcprt_http, stdio_up, text_of

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

SERVER = Path(__file__).resolve().parents[1] / "support" / "roots_server.py"
WITHIN = 20.0  # s: only bounds a hang (the roots never arrive); never reached when it works


def _manifest(folder: Path) -> Path:
    return write_manifest(folder, f'  files:\n    command: ["{sys.executable}", "{SERVER}"]\n    prefix: fs_\n')


def _roots(holder: list[str]) -> Callable[[Any], Any]:
    async def list_roots(context: Any) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=uri) for uri in holder])  # type: ignore[arg-type]
    return list_roots


async def _kept_roots(client: Client, expected: str) -> str:
    """The server's kept roots once they read `expected` (else what they read after WITHIN s)."""
    text = ""
    with anyio.move_on_after(WITHIN):
        while (text := text_of(await client.call_tool("fs_roots", {}))) != expected:
            await anyio.sleep(0.05)
    return text


async def test_the_stdio_clients_roots_and_their_change_reach_the_proxied_server(tmp_path: Path) -> None:
    roots = ["file:///work/project"]
    asked_in_a_call: list[bool] = []
    base = _roots(roots)

    async def list_roots(context: Any) -> types.ListRootsResult:
        asked_in_a_call.append(True)
        return await base(context)

    async with Client(stdio_up(_manifest(tmp_path)), mode="legacy", list_roots_callback=list_roots) as client:
        assert await _kept_roots(client, "file:///work/project") == "file:///work/project"
        roots[:] = ["file:///work/other", "file:///work/third"]
        await client.send_roots_list_changed()
        assert await _kept_roots(client, "file:///work/other\nfile:///work/third") == \
            "file:///work/other\nfile:///work/third"
    assert asked_in_a_call  # the server asked mcprt's one client, outside any call


async def test_a_log_message_after_the_call_reaches_the_stdio_client(tmp_path: Path) -> None:
    logged = anyio.Event()
    messages: list[Any] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        messages.append(params.data)
        logged.set()

    async with Client(stdio_up(_manifest(tmp_path)), mode="legacy", logging_callback=on_log) as client:
        assert text_of(await client.call_tool("fs_log_later", {})) == "will log"
        with anyio.move_on_after(WITHIN):
            await logged.wait()
    assert messages == ["later"]


async def test_over_http_no_clients_roots_reach_the_shared_server(tmp_path: Path) -> None:
    """The upstream is shared by every HTTP session: neither client's roots may narrow or widen what
    the other's calls reach, so the server keeps its own (none here) and no client is asked."""
    asked: list[str] = []

    async def list_roots(context: Any) -> types.ListRootsResult:
        asked.append("asked")
        return types.ListRootsResult(roots=[types.Root(uri="file:///work/ada")])  # type: ignore[arg-type]

    with mcprt_http(_manifest(tmp_path), "--no-reload", startup_timeout=60) as up:
        async with http_client(up.url, list_roots_callback=list_roots) as client:
            await client.send_roots_list_changed()
            await anyio.sleep(0.5)
            assert text_of(await client.call_tool("fs_roots", {})) == "(none)"
    assert asked == []
