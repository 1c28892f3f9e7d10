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

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.server import Server

from tests.support.everything import write_manifest
from tests.support.served import http_client, mcprt_http, stdio_up, text_of
from tests.support.upstream import serve_app
from tests.support.zygote import script_command_yaml

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

SERVER = Path(__file__).resolve().parents[1] / "support" / "roots_server.py"
WITHIN = 20.0  # s: only bounds a hang (the roots never arrive); never reached when it works


def _manifest(folder: Path, more: str = "") -> Path:
    return write_manifest(folder, f'  files:\n    command: {script_command_yaml(SERVER)}\n    prefix: fs_\n{more}')


def _roots(holder: list[str]) -> Callable[[Any], Any]:
    async def list_roots(context: Any) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=uri) for uri in holder])  # type: ignore[arg-type]
    return list_roots


async def _kept_roots(client: Client, expected: str, prefix: str = "fs") -> str:
    """The server's kept roots once they read `expected` (else what they read after WITHIN s)."""
    text = ""
    with anyio.move_on_after(WITHIN):
        while (text := text_of(await client.call_tool(f"{prefix}_roots", {}))) != expected:
            await anyio.sleep(0.05)
    return text


async def test_the_stdio_clients_roots_and_their_change_reach_the_proxied_server(tmp_path: Path) -> None:
    roots = ["file:///work/project"]
    asked_outside_a_call: list[bool] = []  # fs_roots asks nothing: every roots/list comes between calls
    base = _roots(roots)

    async def list_roots(context: Any) -> types.ListRootsResult:
        asked_outside_a_call.append(True)
        return await base(context)

    async with Client(stdio_up(_manifest(tmp_path)), mode="legacy", list_roots_callback=list_roots) as client:
        assert await _kept_roots(client, "file:///work/project") == "file:///work/project"
        roots[:] = ["file:///work/other", "file:///work/third"]
        await client.send_roots_list_changed()
        assert await _kept_roots(client, "file:///work/other\nfile:///work/third") == \
            "file:///work/other\nfile:///work/third"
    assert asked_outside_a_call  # the server asked mcprt's one client, outside any call


async def _refusal(client: Client, expected: str) -> str:
    """The server's last roots/list refusal once it contains `expected` (else what it read after WITHIN s)."""
    text = ""
    with anyio.move_on_after(WITHIN):
        while expected not in (text := text_of(await client.call_tool("fs_roots_refusal", {}))):
            await anyio.sleep(0.05)
    return text


async def test_a_restarted_server_gets_the_roots_again_and_a_change_while_it_starts(tmp_path: Path) -> None:
    """The server asks roots/list right after its handshake, while mcprt still lists its tools (slowed
    here to 1 s, over 3× the time a roots change takes to reach mcprt on a loaded machine); a roots change then was dropped (the source had no connection yet), so the restarted
    server kept the old roots for good."""
    roots = ["file:///work/one"]
    asked = [anyio.Event()]
    base = _roots(roots)

    async def list_roots(context: Any) -> types.ListRootsResult:
        asked[0].set()
        return await base(context)

    manifest = _manifest(tmp_path, "    env:\n      ROOTS_FIXTURE_LIST_DELAY: \"1\"\n")
    async with Client(stdio_up(manifest), mode="legacy", list_roots_callback=list_roots) as client:
        assert await _kept_roots(client, "file:///work/one") == "file:///work/one"
        asked[0] = anyio.Event()
        assert text_of(await client.call_tool("fs_exit_later", {})) == "will exit"
        with anyio.fail_after(WITHIN):
            await asked[0].wait()  # the new process asked after its handshake
        assert await _kept_roots(client, "file:///work/one") == "file:///work/one"

        asked[0] = anyio.Event()
        assert text_of(await client.call_tool("fs_exit_later", {})) == "will exit"
        with anyio.fail_after(WITHIN):
            await asked[0].wait()  # asked: mcprt is listing its tools now (1 s)
        roots[:] = ["file:///work/two"]
        await client.send_roots_list_changed()
        assert await _kept_roots(client, "file:///work/two") == "file:///work/two"


async def test_a_client_that_never_answers_roots_list_gets_the_server_an_error_in_time(tmp_path: Path) -> None:
    """No call's timeout bounds a roots/list asked between calls: it waited for ever, one more per roots
    change or restart. It is bounded by the source's startup_timeout, and the server told why."""
    asked = anyio.Event()

    async def never(context: Any) -> types.ListRootsResult:
        asked.set()
        await anyio.sleep_forever()
        raise AssertionError

    # A second source (Python, in mcprt's process): on a loaded machine the server's first start may take
    # over the 4 s; with a source still serving, mcprt starts with it down and retries (1 s, 2 s…) instead
    # of refusing to start, and the restarted server asks roots/list after its handshake as the first did.
    (tmp_path / "spare.py").write_text('def spare() -> str:\n    """Answer spare."""\n    return "spare"\n')
    manifest = write_manifest(tmp_path, f"  files:\n    command: {script_command_yaml(SERVER)}\n    prefix: fs_\n"
                              "    startup_timeout: 4\n", "  spare:\n    python: spare\n")
    async with Client(stdio_up(manifest), mode="legacy", list_roots_callback=never) as client:
        with anyio.fail_after(WITHIN):  # no call meanwhile: the question is the sole client's, not a call's
            await asked.wait()
        refusal = await _refusal(client, "within 4s")
        assert "mcprt's client did not answer roots/list within 4s" in refusal
        assert text_of(await client.call_tool("fs_roots", {})) == "(none)"  # and mcprt keeps serving


async def test_a_client_without_roots_gets_the_server_an_error_at_once(tmp_path: Path) -> None:
    async with Client(stdio_up(_manifest(tmp_path)), mode="legacy") as client:
        assert text_of(await client.call_tool("fs_ask_roots_later", {})) == "will ask"
        await anyio.sleep(0.5)  # asked 0.2 s after the call, with no call in flight
        refusal = await _refusal(client, "roots")
        assert "the client does not support roots" in refusal
        took = re.search(r"after ([0-9.]+)s", refusal)
        assert took is not None and float(took.group(1)) < 2.0, refusal


def _stalling_server() -> Any:
    """A streamable HTTP MCP server (the SDK's) that never answers the POST carrying a
    `notifications/roots/list_changed`: an upstream that stopped reading."""
    async def list_tools(ctx: Any, params: Any) -> dict[str, Any]:
        return {"tools": [{"name": "ping", "inputSchema": {"type": "object"}}]}

    async def call_tool(ctx: Any, params: Any) -> dict[str, Any]:
        return {"content": [{"type": "text", "text": "pong"}]}

    app = Server("stalling", on_list_tools=list_tools, on_call_tool=call_tool).streamable_http_app()

    async def stalling(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        if b"notifications/roots/list_changed" in body:
            await anyio.sleep_forever()
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app(scope, replay, send)

    stalling.router = app.router  # type: ignore[attr-defined]  # (its lifespan runs the session manager)
    return stalling


async def test_a_server_that_stops_reading_holds_up_no_other_servers_roots_change(tmp_path: Path) -> None:
    """Roots changes were told to one server after another, each without a time limit: with a server
    that never took the notification, the servers told after it heard of no change again. (Which
    came after it depended on a set's order: each of three others here.)"""
    roots = ["file:///work/0"]
    fixture = script_command_yaml(SERVER)
    with serve_app(_stalling_server(), lifespan="on") as base:
        manifest = write_manifest(tmp_path, f"  stalling:\n    url: {base}/mcp\n    prefix: st_\n",
                                  *(f"  files{n}:\n    command: {fixture}\n    prefix: fs{n}_\n" for n in range(3)))
        async with Client(stdio_up(manifest), mode="legacy", list_roots_callback=_roots(roots)) as client:
            for n in range(3):
                assert await _kept_roots(client, "file:///work/0", f"fs{n}") == "file:///work/0"
            for change in range(1, 4):
                roots[:] = [f"file:///work/{change}"]
                await client.send_roots_list_changed()
                for n in range(3):
                    assert await _kept_roots(client, f"file:///work/{change}", f"fs{n}") == f"file:///work/{change}"


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


async def test_log_messages_outside_a_call_follow_the_clients_log_level(tmp_path: Path) -> None:
    logged = anyio.Event()
    messages: list[Any] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        messages.append(params.data)
        if params.data == "error":
            logged.set()

    async with Client(stdio_up(_manifest(tmp_path)), mode="legacy", logging_callback=on_log) as client:
        await client.set_logging_level("warning")
        assert text_of(await client.call_tool("fs_log_levels_later", {})) == "will log"
        with anyio.move_on_after(WITHIN):
            await logged.wait()
    assert messages == ["error"]  # debug and info are below the client's level


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
