"""`mcprt up` over stdio, driven by the official SDK client as a real subprocess."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
import pytest
import pytest_asyncio
from mcp import Client
from server_support import ListChangedCatcher, demo_manifest, stdio_params, text_of

from tests.support.held_client import held

# The tests that only initialize, list and call share one `mcprt up` over stdio per client mode (its
# start is most of each test's cost); the demo tools keep no state and these tests set nothing on the
# session (no log level, no subscription), so what one test does cannot change what another sees.
pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.xdist_group("test_server_stdio")]

OpenClient = Callable[[str], Awaitable[Client]]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client_in(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[OpenClient]:
    """`await client_in(mode)`: the module's SDK client in `mode` ("legacy", "auto") of the demo
    manifest's `mcprt up` over stdio, started on first use."""
    manifest = demo_manifest(tmp_path_factory.mktemp("stdio"))
    opened: dict[str, Client] = {}
    async with AsyncExitStack() as stack:
        async def client(mode: str) -> Client:
            if mode not in opened:
                opened[mode] = await stack.enter_async_context(held(Client(stdio_params(manifest), mode=mode)))
            return opened[mode]
        yield client


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_initialize_reports_name_instructions_and_list_changed(client_in: OpenClient, mode: str) -> None:
    client = await client_in(mode)
    assert client.server_info is not None
    assert client.server_info.name == "demo-server"
    assert client.server_info.version  # mcprt's version, never empty
    assert client.instructions == "Tools for testing mcprt up."
    assert client.server_capabilities.tools is not None
    assert client.server_capabilities.tools.list_changed is True
    if mode == "auto":
        assert client.protocol_version == "2026-07-28"
    else:
        assert client.protocol_version.startswith("2025-")


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_list_and_call_tools(client_in: OpenClient, mode: str) -> None:
    client = await client_in(mode)
    listed = await client.list_tools()
    assert sorted(tool.name for tool in listed.tools) == ["add", "echo", "fail"]
    add = next(tool for tool in listed.tools if tool.name == "add")
    assert add.description == "Add two integers."
    assert add.input_schema["required"] == ["a", "b"]

    ok = await client.call_tool("add", {"a": 2, "b": 40})
    assert not ok.is_error
    assert text_of(ok) == "42"

    echoed = await client.call_tool("echo", {"text": "hello"})  # the tool prints to stdout
    assert text_of(echoed) == "hello"

    failed = await client.call_tool("fail", {"message": "upstream exploded"})
    assert failed.is_error
    assert "upstream exploded" in text_of(failed)


async def test_bad_arguments_are_an_error_result_listing_every_problem(client_in: OpenClient) -> None:
    client = await client_in("legacy")
    result = await client.call_tool("add", {"a": "two", "c": 1})
    assert result.is_error
    text = text_of(result)
    assert "unknown argument 'c'" in text
    assert "'b' is required" in text
    assert "'two' is not of type 'integer'" in text


async def test_unknown_tool_names_close_matches(client_in: OpenClient) -> None:
    client = await client_in("legacy")
    result = await client.call_tool("ad", {"a": 1, "b": 2})
    assert result.is_error
    assert "unknown tool 'ad'" in text_of(result)
    assert "'add'" in text_of(result)


async def test_list_changed_reaches_a_stdio_session_after_reload(tmp_path: Path) -> None:
    """Edit the manifest (rename a tool) and send SIGHUP: the client hears list_changed."""
    manifest = demo_manifest(tmp_path)
    pidfile = tmp_path / "server.pid"
    catcher = ListChangedCatcher()
    async with Client(stdio_params(manifest, "--no-reload", pidfile=pidfile), mode="legacy",
                      message_handler=catcher) as client:
        assert sorted(t.name for t in (await client.list_tools()).tools) == ["add", "echo", "fail"]
        pid = int(pidfile.read_text().strip())
        demo_manifest(tmp_path, renames={"add": "plus"})
        os.kill(pid, signal.SIGHUP)
        assert await catcher.wait(10), "no notifications/tools/list_changed after SIGHUP"
        assert sorted(t.name for t in (await client.list_tools()).tools) == ["echo", "fail", "plus"]
        assert text_of(await client.call_tool("plus", {"a": 1, "b": 1})) == "2"


async def test_modern_client_hears_list_changed_on_its_listen_stream(tmp_path: Path) -> None:
    manifest = demo_manifest(tmp_path)
    pidfile = tmp_path / "server.pid"
    async with Client(stdio_params(manifest, "--no-reload", pidfile=pidfile)) as client:
        assert client.protocol_version == "2026-07-28"
        async with client.listen(tools_list_changed=True) as subscription:
            demo_manifest(tmp_path, renames={"echo": "say"})
            os.kill(int(pidfile.read_text().strip()), signal.SIGHUP)
            with anyio.fail_after(10):
                event = await subscription.__anext__()
            assert type(event).__name__ == "ToolsListChanged"
        assert "say" in [t.name for t in (await client.list_tools()).tools]
