"""The server in-process: swaps of the live tool set, list_changed fan-out, progress, calls in flight.

The runtime is real (a Python source compiled by the pipeline); a few extra operations are built
with the real tool-set builder to play a source that reports progress, blocks, or misbehaves.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcprt.pipeline import Runtime
from mcprt.server import Notifier, build_http_app, build_server, resolve_options
from mcprt.server.notify import Reached
from mcprt.server.stdio import StdioWire, serve_stdio
from mcprt.settings import Settings
from mcprt.toolset.build import build_toolset
from mcprt.contracts import CallContext, Operation, UpstreamResult
from mcprt.toolset.toolset import ToolSet
from server_support import ListChangedCatcher, demo_runtime, http_client, text_of

from tests.support.upstream import serve_app

EMPTY_OBJECT = {"type": "object", "properties": {}, "additionalProperties": False}


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    async with demo_runtime(tmp_path) as runtime:
        yield runtime


def toolset_with(runtime: Runtime, *operations: Operation) -> ToolSet:
    """The demo source's real tools plus `operations`, through the real builder."""
    assert runtime.loaded is not None and runtime.holder is not None
    current = [tool.operation for tool in runtime.holder.current]
    build = build_toolset(runtime.loaded, {"demo": [*current, *operations]})
    assert build.ok, build.diagnostics
    return build.toolset


def operation(name: str, invoke: Callable[[dict[str, Any], CallContext], Awaitable[UpstreamResult]]) -> Operation:
    return Operation(key=name, name=name, description=f"{name} (test operation)", input_schema=EMPTY_OBJECT,
                     invoke=invoke)


def serving(runtime: Runtime) -> tuple[Any, Notifier]:
    assert runtime.holder is not None and runtime.loaded is not None
    notifier = Notifier()
    notifier.attach(runtime.holder)
    return build_server(runtime.holder, runtime.loaded.manifest.server, notifier), notifier


async def test_swap_is_visible_to_the_next_request_and_notifies_the_session(runtime: Runtime) -> None:
    server, notifier = serving(runtime)
    catcher = ListChangedCatcher()
    async with Client(server, mode="legacy", message_handler=catcher) as client:
        assert len((await client.list_tools()).tools) == 3
        assert notifier.sessions == ["stdio"]
        runtime.holder.swap(ToolSet([]))  # type: ignore[union-attr]
        assert await catcher.wait(5)
        assert (await client.list_tools()).tools == []
        gone = await client.call_tool("add", {"a": 1, "b": 2})
        assert gone.is_error and "no tools right now" in text_of(gone)
        # a client that listed before the swap is told why the name is gone (it only said "unknown tool")
        assert "(this server served 'add' until its manifest changed: list tools again" in text_of(gone)
        never = await client.call_tool("never_was", {})
        assert never.is_error and "until its manifest changed" not in text_of(never)
    assert notifier.sessions == []  # the closed connection is forgotten


async def test_an_unknown_tool_while_a_reload_runs_says_one_is_under_way(runtime: Runtime, tmp_path: Path) -> None:
    """A call to a name the new manifest brings, made while the reload is applying, got a bare "unknown
    tool": the reloader marks the holder while it runs, and the answer says a reload is under way. But it
    said so for any name, a typo too (told to call again, which never helps): it says so now only for a
    name plausibly coming — served by the set the reload compiled, or, while it compiles (names not known
    yet), served before or no near miss of a served one."""
    from mcprt.reload.reloader import Reloader
    from server_support import demo_manifest

    holder = runtime.holder
    assert holder is not None and not holder.reloading
    before = holder.current
    hint = "(this server is reloading its manifest right now: call again in a moment"
    answers: dict[str, str] = {}

    def at_swap(old: Any, new: Any) -> None:
        for name, toolset in (("plus", old), ("add", new), ("ad", old), ("plsu", old)):
            # what the server's tools/call answers for a name it does not serve (`server.app`)
            answers[name] = toolset.unknown_tool_message(name, reloading=holder.reloading, incoming=holder.incoming)

    holder.on_swap(at_swap)
    demo_manifest(tmp_path, renames={"add": "plus"})
    outcome = await Reloader(runtime).reload()
    assert outcome.ok and not holder.reloading and holder.incoming is None, outcome
    assert hint in answers["plus"], answers  # the compiled set brings it: the swap is a moment away
    assert hint not in answers["add"] and "served 'add' until its manifest changed" in answers["add"], answers
    assert hint not in answers["ad"] and "did you mean 'add'" in answers["ad"], answers  # a typo
    assert hint not in answers["plsu"], answers  # not coming either
    # while the reload compiles, the names it brings are not known yet
    assert hint in before.unknown_tool_message("brand_new", reloading=True)
    assert hint not in before.unknown_tool_message("ad", reloading=True)  # a near miss of 'add': a typo
    assert hint in holder.current.unknown_tool_message("add", reloading=True)  # served before: a revert brings it


async def test_a_swap_that_changes_nothing_sends_nothing(runtime: Runtime) -> None:
    server, notifier = serving(runtime)
    catcher = ListChangedCatcher()
    async with Client(server, mode="legacy", message_handler=catcher) as client:
        await client.list_tools()
        runtime.holder.swap(toolset_with(runtime))  # type: ignore[union-attr]  # same listing, new object
        assert not await catcher.wait(0.3)
        # the explicit entry point always sends
        assert await notifier.notify_tools_changed() == Reached(sessions=1, listen_streams=0)
        assert await catcher.wait(5)


async def test_a_listing_keeps_no_replaced_tool_set_alive(runtime: Runtime) -> None:
    """Hot reload closes a replaced source once the set that used it is unreferenced (reload/drain.py).
    The tools/list cache held the last listed set strongly until the next tools/list, so after any reload
    that followed a listing, a replaced proxied server lingered for its tools' longest timeout (31 s by
    default), with no call in flight. The cache must not keep a replaced set alive (gc.collect: no cycle
    is to blame either)."""
    server, _ = serving(runtime)
    async with Client(server, mode="legacy") as client:
        for _ in range(2):  # the second is answered from the cache
            assert len((await client.list_tools()).tools) == 3
        replaced = weakref.ref(runtime.holder.current)  # type: ignore[union-attr]
        runtime.holder.swap(toolset_with(runtime))  # type: ignore[union-attr]
        # The server side of the last listing may still be finishing (its handler's frame holds the set for a
        # moment on a loaded machine): wait for that, never for a next tools/list, which the old cache needed.
        with anyio.move_on_after(5):
            while gc.collect() is not None and replaced() is not None:
                await anyio.sleep(0.05)
        assert replaced() is None, [type(r).__name__ for r in gc.get_referrers(replaced())]
        assert len((await client.list_tools()).tools) == 3  # the new set's listing, cached afresh


async def test_modern_listen_stream_hears_a_swap(runtime: Runtime) -> None:
    server, _ = serving(runtime)
    async with Client(server) as client:
        assert client.protocol_version == "2026-07-28"
        async with client.listen(tools_list_changed=True) as subscription:
            runtime.holder.swap(ToolSet([]))  # type: ignore[union-attr]
            with anyio.fail_after(5):
                event = await subscription.__anext__()
            assert type(event).__name__ == "ToolsListChanged"


async def test_a_call_keeps_the_tool_set_it_started_with(runtime: Runtime) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def blocking(arguments: dict[str, Any], ctx: CallContext) -> UpstreamResult:
        started.set()
        await release.wait()
        return UpstreamResult(kind="text", body="finished on the old tool set")

    runtime.holder.swap(toolset_with(runtime, operation("wait", blocking)))  # type: ignore[union-attr]
    server, _ = serving(runtime)
    async with Client(server, mode="legacy") as client:
        call = asyncio.create_task(client.call_tool("wait", {}))
        await asyncio.wait_for(started.wait(), 5)
        runtime.holder.swap(ToolSet([]))  # type: ignore[union-attr]  # reload removes the tool mid-call
        release.set()
        result = await asyncio.wait_for(call, 5)
        assert not result.is_error and text_of(result) == "finished on the old tool set"
        assert (await client.call_tool("wait", {})).is_error


async def test_progress_reaches_a_client_that_asked_for_it(runtime: Runtime) -> None:
    seen_progress: list[Any] = []

    async def reporting(arguments: dict[str, Any], ctx: CallContext) -> UpstreamResult:
        seen_progress.append(ctx.progress is not None)
        if ctx.progress is not None:
            await ctx.progress(1, 2, "half way")
            await ctx.progress(2, 2, "done")
        return UpstreamResult(kind="text", body="ok")

    runtime.holder.swap(toolset_with(runtime, operation("work", reporting)))  # type: ignore[union-attr]
    server, _ = serving(runtime)
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    async with Client(server, mode="legacy") as client:
        result = await client.call_tool("work", {}, progress_callback=on_progress)
        assert text_of(result) == "ok"
        plain = await client.call_tool("work", {})
        assert text_of(plain) == "ok"
    assert updates == [(1, 2, "half way"), (2, 2, "done")]
    assert seen_progress == [True, False]  # no progressToken, no progress callable


async def test_misbehaving_sources_become_error_results_not_protocol_errors(runtime: Runtime) -> None:
    async def raising(arguments: dict[str, Any], ctx: CallContext) -> UpstreamResult:
        raise RuntimeError("source bug")

    async def malformed(arguments: dict[str, Any], ctx: CallContext) -> UpstreamResult:
        return UpstreamResult(kind="content", content=[{"type": "no-such-block"}])

    runtime.holder.swap(  # type: ignore[union-attr]
        toolset_with(runtime, operation("crash", raising), operation("garbled", malformed))
    )
    server, _ = serving(runtime)
    async with Client(server, mode="legacy") as client:
        crashed = await client.call_tool("crash", {})
        assert crashed.is_error and "internal error" in text_of(crashed) and "crash" in text_of(crashed)
        garbled = await client.call_tool("garbled", {})
        assert garbled.is_error and "could not be encoded" in text_of(garbled)
        assert text_of(await client.call_tool("add", {"a": 1, "b": 1})) == "2"  # still serving


async def test_http_session_hears_a_swap_made_on_another_thread(runtime: Runtime) -> None:
    """The HTTP app runs on uvicorn's loop in a thread; the swap happens on the test's loop."""
    server, notifier = serving(runtime)
    assert runtime.loaded is not None and runtime.holder is not None
    options = resolve_options(runtime.loaded.manifest, Settings(_env_file=None), transport="http", port=0)
    app = build_http_app(server, runtime.holder, runtime.loaded.manifest.server, notifier, options)
    catcher = ListChangedCatcher()
    with serve_app(app) as base:
        async with http_client(f"{base}/mcp", token=None, message_handler=catcher) as client:
            await client.list_tools()
            received = False
            for _ in range(10):  # the client opens its GET stream in the background after initialize
                runtime.holder.swap(ToolSet([]) if runtime.holder.current.tools else toolset_with(runtime))
                if await catcher.wait(1):
                    received = True
                    break
            assert received
            assert len(notifier.sessions) == 1


def test_tools_list_is_one_shared_listing(runtime: Runtime) -> None:
    """The listing handed to the SDK is the tool set's cached one (built once per set)."""
    assert runtime.holder is not None
    first = runtime.holder.current.list_tools()
    assert first is runtime.holder.current.list_tools()
    assert [tool["name"] for tool in first] == ["add", "fail", "echo"]
    assert all(isinstance(types.Tool.model_validate(t, by_name=False), types.Tool) for t in first)


async def test_serving_over_stdio_ends_with_its_client_forgotten_and_the_handlers_it_installed_removed(
        runtime: Runtime) -> None:
    """The one stdio client is the runtime's (`runtime.sole_client`, read by every proxied source): once
    serving ends, nothing proxied servers send outside a call may still go to it, and the server
    keeps no notification handler of that session."""
    server, _ = serving(runtime)
    methods = ("notifications/initialized", "notifications/roots/list_changed")
    before = [server.get_notification_handler(method) for method in methods]
    client_r, client_w = os.pipe()
    server_r, server_w = os.pipe()
    stop = asyncio.Event()
    serving_task = asyncio.create_task(serve_stdio(server, stop, StdioWire(client_r, server_w), runtime=runtime))
    try:
        os.write(client_w, json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {"roots": {}},
            "clientInfo": {"name": "t", "version": "1"}}}).encode() + b"\n")
        os.write(client_w, b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
        with anyio.fail_after(10):
            while runtime.sole_client.peer is None:
                await asyncio.sleep(0.02)
        assert runtime.sole_client.roots_changes == 1  # it declared roots: the sources were told
        assert all(server.get_notification_handler(method) is not None for method in methods)
    finally:
        os.close(client_w)  # EOF: serving ends
        await asyncio.wait_for(serving_task, 10)
        for fd in (client_r, server_r, server_w):
            os.close(fd)
    assert runtime.sole_client.peer is None
    assert [server.get_notification_handler(method) for method in methods] == before
