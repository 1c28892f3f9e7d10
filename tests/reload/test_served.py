"""Hot reload through a real `mcprt up` subprocess and the SDK client: saves, notifications, no lost calls."""

from __future__ import annotations

import re
import signal
import sys

import anyio
from reload_support import Project
from mcp import Client, StdioServerParameters
from reload_served import ListChanged, child_env, eventually, http_client, mcprt_up_http, text_of, tool_names

DIAGNOSTIC_IN_LOG = re.compile(r"mcp\.yaml:\d+:\d+: ")
TAG = 'def tag(name: str) -> str:\n    """Tag a note."""\n    return "#" + name\n'


async def prime(project: Project, client: Client, catcher: ListChanged) -> str:
    """Rename `search` until a notification arrives: the client opens its GET stream in the background
    after initialize, so the first change can come before anyone listens. Returns the new name."""
    for attempt in range(20):
        name = f"find_{attempt}"
        project.write("mcp.yaml", project.manifest_text(tools=f"search: {{name: {name}}}"))
        if await catcher.wait_beyond(0, timeout=1.0):
            await eventually(lambda: _listed(client, name), what=f"{name} listed")
            return name
    raise AssertionError("no notifications/tools/list_changed after 20 renames")


async def _listed(client: Client, name: str) -> bool:
    return name in await tool_names(client)


async def test_add_remove_rename_notify_and_prune_does_not(project: Project) -> None:
    catcher = ListChanged()
    with mcprt_up_http(project.manifest) as up:
        async with http_client(up.url, message_handler=catcher) as client:
            assert sorted(await tool_names(client)) == ["count", "search"]
            name = await prime(project, client, catcher)  # rename
            assert sorted(await tool_names(client)) == ["count", name]

            seen = catcher.count
            project.write("mcp.yaml", project.manifest_text(tools=f"search: {{name: {name}}}",
                                                            extra="    exclude: {operations: [count]}\n"))
            assert await catcher.wait_beyond(seen, timeout=10), "no list_changed after a removal"
            assert await tool_names(client) == [name]

            seen = catcher.count
            project.save_atomically(project.module_file.name, project.module_file.read_text() + "\n\n" + TAG)
            project.write("mcp.yaml", project.manifest_text(tools=f"search: {{name: {name}}}"))
            assert await catcher.wait_beyond(seen, timeout=10), "no list_changed after an addition"
            await eventually(lambda: _listed(client, "tag"), what="tag listed")
            assert sorted(await tool_names(client)) == ["count", name, "tag"]

            seen = catcher.count
            before = text_of(await client.call_tool(name, {"query": "q"}))
            assert "long text" in before
            project.write("mcp.yaml", project.manifest_text(tools=f'search: {{name: {name}, prune: "total"}}'))

            async def pruned() -> bool:
                return text_of(await client.call_tool(name, {"query": "q"})) == "1"

            await eventually(pruned, what="the pruned output")
            await anyio.sleep(0.5)  # a notification would have arrived by now
            assert catcher.count == seen, "a prune-only change must not send list_changed"
    log = up.log()
    # the one client's GET stream got each list_changed; the log line says so, as the notifier's does
    assert re.search(r'reload applied .*changes="\+count \+tag" .*sessions_notified=1 ', log), log
    assert re.search(r'reload applied .*changes="no tool changes" .*sessions_notified=0 ', log), log


async def test_a_reload_with_no_session_connected_says_none_was_notified(project: Project) -> None:
    """The reload line said `clients_notified=True` beside `tools/list_changed sent sessions=0`: both
    now give the count of sessions that received it."""
    with mcprt_up_http(project.manifest) as up:
        project.write("mcp.yaml", project.manifest_text(tools="search: {name: find}"))
        up.wait_log("reload applied")
        log = up.wait_log("tools/list_changed sent")
    assert re.search(r"tools/list_changed sent .*sessions=0", log), log
    (line,) = [line for line in log.splitlines() if "reload applied" in line]
    assert "sessions_notified=0 listen_streams_notified=0 " in line and "clients_notified" not in line, line


async def test_a_reload_counts_the_2026_listen_streams_it_notified(project: Project) -> None:
    """`sessions_notified` left the 2026-07-28 clients out (they hold `subscriptions/listen` streams, no
    session): the line now gives them as `listen_streams_notified`, beside the handshake-era sessions,
    as the notifier's own line does. A stream that asked only for prompts is not counted."""
    catcher = ListChanged()
    with mcprt_up_http(project.manifest) as up:
        async with http_client(up.url, message_handler=catcher) as legacy, \
                http_client(up.url, mode="auto") as modern, http_client(up.url, mode="auto") as other:
            assert modern.protocol_version == "2026-07-28"
            async with modern.listen(tools_list_changed=True) as subscription, \
                    other.listen(prompts_list_changed=True):
                name = await prime(project, legacy, catcher)  # the legacy GET stream is open now
                with anyio.fail_after(30):  # each rename reached the stream: take them all
                    while await subscription.__anext__() and not await _listed(modern, name):
                        pass
                seen = catcher.count
                project.write("mcp.yaml", project.manifest_text(tools="search: {name: counted}"))
                assert await catcher.wait_beyond(seen, timeout=30), "no list_changed for the legacy session"
                with anyio.fail_after(30):
                    while type(await subscription.__anext__()).__name__ != "ToolsListChanged":
                        pass
                up.wait_log('files=mcp.yaml changes="+counted')
    (line,) = [line for line in up.log().splitlines() if "reload applied" in line and "+counted" in line]
    assert "sessions_notified=1 listen_streams_notified=1 " in line, line
    assert re.search(r"tools/list_changed sent .*sessions=1 listen_streams=1", up.log()), up.log()


async def test_a_broken_save_keeps_serving_and_a_fix_applies(project: Project) -> None:
    with mcprt_up_http(project.manifest) as up:
        async with http_client(up.url) as client:
            project.write("mcp.yaml", project.manifest_text(tools="search: {prune: [unclosed}"))

            async def reported() -> bool:
                return up.health()["manifest"]["status"] == "error"

            await eventually(reported, what="/healthz to report the failed reload")
            result = await client.call_tool("search", {"query": "still"})
            assert not result.is_error and "note about still" in text_of(result)
            assert DIAGNOSTIC_IN_LOG.search(up.log()), up.log()

            project.write("mcp.yaml", project.manifest_text(tools="search: {name: repaired}"))
            await eventually(lambda: _listed(client, "repaired"), what="the fixed manifest")
            health = up.health()["manifest"]
            assert health["status"] == "ok" and health["failures"] == 1
            # `reloads` counts the applied ones (the trial read "counts of reloads" as attempts), `attempts` all
            assert health["reloads"] >= 1 and health["attempts"] == health["reloads"] + health["failures"]


async def test_atomic_saves_and_a_delete_then_recreate(project: Project) -> None:
    with mcprt_up_http(project.manifest) as up:
        async with http_client(up.url) as client:
            project.save_atomically("mcp.yaml", project.manifest_text(tools="count: {name: how_many}"))
            await eventually(lambda: _listed(client, "how_many"), what="the atomically saved manifest")

            project.manifest.unlink()
            await anyio.sleep(0.15)  # the deletion alone is seen and waited out
            project.write("mcp.yaml", project.manifest_text(tools="count: {name: tally}"))
            await eventually(lambda: _listed(client, "tally"), what="the recreated manifest")
            assert up.health()["manifest"]["failures"] == 0, up.log()


async def test_twenty_reloads_under_continuous_calls_lose_nothing(project: Project) -> None:
    """Three clients call without pause while the manifest (and every 4th time the module) changes."""
    calls = failures = 0
    problems: list[str] = []
    done = anyio.Event()

    async def caller(url: str, tool: str, arguments: dict) -> None:
        nonlocal calls, failures
        async with http_client(url) as client:
            while not done.is_set():
                try:
                    result = await client.call_tool(tool, arguments)
                    if result.is_error:
                        failures += 1
                        problems.append(text_of(result))
                except Exception as exc:  # a transport or protocol error is a lost call too
                    failures += 1
                    problems.append(repr(exc))
                calls += 1

    with mcprt_up_http(project.manifest) as up:
        async with anyio.create_task_group() as group:
            group.start_soon(caller, up.url, "search", {"query": "a"})
            group.start_soon(caller, up.url, "search", {"query": "b"})
            group.start_soon(caller, up.url, "count", {})
            async with http_client(up.url) as watcher:
                for n in range(20):
                    if n % 4 == 3:
                        extra = f'\n\ndef extra_{n}() -> int:\n    """Extra {n}."""\n    return {n}\n'
                        project.save_atomically(project.module_file.name, project.module_file.read_text() + extra)
                    project.write("mcp.yaml", project.manifest_text(tools=f"search: {{description: Version {n}.}}"))

                    async def visible(n: int = n) -> bool:
                        tools = (await watcher.list_tools()).tools
                        return any(t.name == "search" and t.description == f"Version {n}." for t in tools)

                    await eventually(visible, what=f"version {n}")
            done.set()
    assert failures == 0, problems[:5]
    assert calls >= 100, f"only {calls} calls: the test did not exercise anything"
    assert up.log().count("reload applied") >= 20


async def test_stdio_client_hears_list_changed_on_save(project: Project) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcprt", "up", str(project.manifest)],
                                   env=child_env(), cwd=str(project.root))
    catcher = ListChanged()
    async with Client(params, mode="legacy", message_handler=catcher) as client:  # type: ignore[arg-type]
        assert "search" in await tool_names(client)
        project.save_atomically("mcp.yaml", project.manifest_text(tools="search: {name: lookup}"))
        assert await catcher.wait_beyond(0, timeout=10), "no list_changed over stdio"
        assert "lookup" in await tool_names(client)


async def test_sighup_without_the_watcher_rereads_an_edited_module(project: Project) -> None:
    """`--no-reload` turns the watcher off; SIGHUP still reloads everything from disk."""
    with mcprt_up_http(project.manifest, "--no-reload") as up:
        async with http_client(up.url) as client:
            project.write(project.module_file.name, project.module_file.read_text() + "\n\n" + TAG)
            await anyio.sleep(0.3)
            assert "tag" not in await tool_names(client)  # nobody watches
            up.process.send_signal(signal.SIGHUP)
            await eventually(lambda: _listed(client, "tag"), what="the module edit after SIGHUP")
            assert up.health()["manifest"]["reloads"] == 1
