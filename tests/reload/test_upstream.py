"""A proxied MCP server (`command:` source) under hot reload: its own list changes trigger a rebuild,
a shaping edit keeps the same subprocess, an edit of its script restarts it."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from reload_support import wait_for

from mcprt.pipeline import Runtime
from mcprt.reload import Reloader, reloader_for, watch
from mcprt.server.serve import manifest_health
from mcprt.settings import Settings
from mcprt.toolset.invoke import call_tool

from tests.support.zygote import script_command

FIXTURE = Path(__file__).parent / "fixtures" / "changing_server.py"


def manifest_text(script: Path, tools: dict | None = None) -> str:
    source: dict = {"command": script_command(script)}
    if tools:
        source["tools"] = tools
    return json.dumps({"version": 1, "sources": {"up": source}}, indent=2)  # JSON is YAML too


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Path, Path, Runtime, Reloader]]:
    script = tmp_path / "changing_server.py"
    shutil.copy(FIXTURE, script)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(manifest_text(script))
    runtime = Runtime(manifest, Settings(cache_dir=tmp_path / "cache"))
    await runtime.start()
    reloader = reloader_for(runtime)
    task = asyncio.create_task(watch(runtime))
    await asyncio.sleep(0.15)
    try:
        yield manifest, script, runtime, reloader
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await runtime.aclose()


def clash_sources(tmp_path: Path, *, operations: tuple[str, ...] = ("taken",)) -> dict:
    """A proxied server `up` (changing_server), an OpenAPI source `api` serving a tool per name in
    `operations` and a Python source `local` serving the tool and prompt `greet`."""
    script = tmp_path / "changing_server.py"
    shutil.copy(FIXTURE, script)
    spec = {"openapi": "3.0.3", "info": {"title": "api", "version": "1"}, "paths": {f"/{name}": {"get": {
        "operationId": name, "responses": {"200": {"description": "ok"}}}} for name in operations}}
    (tmp_path / "api.json").write_text(json.dumps(spec))
    (tmp_path / "local.py").write_text("def greet() -> str:\n    'A greeting.'\n    return 'hello'\n")
    return {"up": {"command": script_command(script)},
            "api": {"openapi": "api.json", "base_url": "http://127.0.0.1:9"},
            "local": {"python": "local:greet", "prompts": ["local:greet"]}}


async def clash_runtime(tmp_path: Path, sources: dict) -> tuple[Path, Runtime, Reloader]:
    """A started runtime serving `sources`, and its reloader."""
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(json.dumps({"version": 1, "sources": sources}))
    runtime = Runtime(manifest, Settings(cache_dir=tmp_path / "cache"))
    await runtime.start()
    return manifest, runtime, reloader_for(runtime)


async def listed(runtime: Runtime, source: str, name: str) -> None:
    """Wait until the proxied `source` has re-listed and offers the tool `name`."""
    await wait_for(lambda: any(op.key == name for op in runtime.pool.running[source].operations),
                   what=f"source {source} listing {name}")


async def call_text(runtime: Runtime, name: str, arguments: dict | None = None) -> str:
    tool = runtime.holder.current.get(name)
    assert tool is not None, f"no tool {name}: {[t.name for t in runtime.holder.current]}"
    result = await call_tool(tool, arguments or {})
    assert not result.is_error, result.content
    return result.content[0]["text"]


async def test_an_upstream_list_change_rebuilds_the_tool_set(served) -> None:
    _, _, runtime, reloader = served
    source = runtime.pool.running["up"]
    assert await call_text(runtime, "grow", {"name": "late"}) == "grown"

    await wait_for(lambda: runtime.holder.current.get("late") is not None, what="the upstream's new tool")
    assert reloader.status.trigger == "upstream" and reloader.status.ok
    assert runtime.pool.running["up"] is source  # rebuilt, not reconnected
    assert await call_text(runtime, "late") == "I am late"


async def test_a_shaping_edit_keeps_the_subprocess_and_a_script_edit_restarts_it(served) -> None:
    manifest, script, runtime, reloader = served
    pid = await call_text(runtime, "whoami")

    manifest.write_text(manifest_text(script, tools={"whoami": {"name": "pid_of_server"}}))
    await wait_for(lambda: runtime.holder.current.get("pid_of_server") is not None, what="the rename")
    assert await call_text(runtime, "pid_of_server") == pid  # same subprocess

    script.write_text(script.read_text().replace('"""This server\'s process id."""', '"""The pid."""'))
    await wait_for(lambda: runtime.holder.current.get("pid_of_server").description == "The pid.",
                   timeout=15, what="the restarted server's new description")
    assert await call_text(runtime, "pid_of_server") != pid
    assert reloader.status.failures == 0


async def test_an_upstream_item_taking_a_served_name_is_left_out_and_the_rest_of_its_changes_apply(
        tmp_path: Path) -> None:
    """A proxied server that lists a tool whose name another source serves: before, the rebuild failed
    on the collision, and so did every later one of that server's changes until an operator acted.
    Now the newcomer is left out with a warning (log and reload status), the other source keeps its
    name, and the server's other changes apply."""
    manifest, runtime, reloader = await clash_runtime(tmp_path, clash_sources(tmp_path))
    task = asyncio.create_task(watch(runtime))
    try:
        assert runtime.holder.current.get("taken").source == "api"
        assert await call_text(runtime, "grow", {"name": "taken"}) == "grown"
        await wait_for(lambda: reloader.status.trigger == "upstream", what="the rebuild after the upstream's change")
        assert reloader.status.ok, reloader.status.errors
        assert runtime.holder.current.get("taken").source == "api"
        [warning] = reloader.status.warnings
        assert warning.startswith(f"{manifest}:") and warning.endswith(
            "tool name 'taken' newly listed by source 'up' is left out: source 'api' serves that name (the rest "
            "of the change applies; give one of them a `prefix` to serve both)"), warning
        assert await call_text(runtime, "grow", {"name": "later"}) == "grown"
        await wait_for(lambda: runtime.holder.current.get("later") is not None, what="the upstream's next change")
        assert runtime.holder.current.get("taken").source == "api"
        assert reloader.status.ok and reloader.status.failures == 0
        # a prompt alike (what a `notifications/prompts/list_changed` brings): the later change still applies
        assert runtime.holder.current.offers.prompts["greet"].source == "local"
        assert await call_text(runtime, "grow_prompt", {"name": "greet"}) == "grown"
        await wait_for(lambda: reloader.status.reloads == 3, what="the rebuild after the prompt change")
        assert reloader.status.ok and runtime.holder.current.offers.prompts["greet"].source == "local"
        assert any("prompt name 'greet' newly listed by source 'up' is left out: source 'local' serves that name"
                   in w for w in reloader.status.warnings), reloader.status.warnings  # and still the tool's
        assert await call_text(runtime, "grow_prompt", {"name": "fresh"}) == "grown"
        await wait_for(lambda: "fresh" in runtime.holder.current.offers.prompts, what="the next prompt change")
        assert runtime.holder.current.offers.prompts["greet"].source == "local" and reloader.status.failures == 0
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await runtime.aclose()


async def test_after_an_item_is_left_out_later_reloads_apply_and_a_clash_the_manifest_makes_is_an_error(
        tmp_path: Path) -> None:
    """Before, only the rebuild after the upstream's own change knew the served set: the next SIGHUP or
    manifest edit failed on the left-out item's collision (status and /healthz: error) and refused the
    operator's unrelated edit. Every rebuild now leaves such an item out; a clash the manifest edit
    makes (a new `prefix`, two static sources) is still an error."""
    sources = clash_sources(tmp_path, operations=("taken", "up_whoami"))
    sources["api"]["path_slashes"] = ["nope"]  # a warning from the start: /healthz counted it only after a reload
    manifest, runtime, reloader = await clash_runtime(tmp_path, sources)
    try:
        assert manifest_health(runtime, None)["warnings"] == 1
        assert await call_text(runtime, "grow", {"name": "taken"}) == "grown"
        await listed(runtime, "up", "taken")
        outcome = await reloader.reload("signal")
        assert outcome.ok, outcome.errors
        assert manifest_health(runtime, None)["warnings"] == len(reloader.status.warnings) == 2
        assert runtime.holder.current.get("taken").source == "api"
        assert any("tool name 'taken' newly listed by source 'up' is left out" in w for w in reloader.status.warnings)
        sources["api"]["tools"] = {"taken": {"description": "An unrelated operator edit."}}
        manifest.write_text(json.dumps({"version": 1, "sources": sources}))
        outcome = await reloader.reload("files")
        assert outcome.ok, outcome.errors
        assert runtime.holder.current.get("taken").description == "An unrelated operator edit."
        # a new prefix makes up's served `whoami` into api's `up_whoami`: the manifest's clash, an error
        manifest.write_text(json.dumps({"version": 1, "sources": {**sources, "up": {**sources["up"], "prefix": "up_"}}}))
        outcome = await reloader.reload("files")
        assert not outcome.ok and any("tool name 'up_whoami'" in e and "collides" in e for e in outcome.errors), \
            outcome.errors
        # two static sources with one tool name: an error, as at start
        manifest.write_text(json.dumps({"version": 1, "sources": {**sources, "again": {"python": "local:greet"}}}))
        outcome = await reloader.reload("signal")
        assert not outcome.ok and any("'greet'" in e and "collides" in e for e in outcome.errors), outcome.errors
        assert runtime.holder.current.get("taken").source == "api"
    finally:
        await runtime.aclose()


async def test_two_servers_newly_listing_one_name_in_one_rebuild_keep_it_for_the_first_in_manifest_order(
        tmp_path: Path) -> None:
    """Before, two proxied servers newly listing one name in one rebuild (merged notifications, a server
    down at start coming up) were both kept: the rebuild failed, and so did every later one. Now the
    first in manifest order keeps the name, the other's tool is left out with a warning."""
    up = clash_sources(tmp_path)["up"]
    _, runtime, reloader = await clash_runtime(tmp_path, {"up": up, "up2": {**up, "prefix": "b_"}})
    try:
        # the later source first: the manifest's order decides, not the timing; no watcher runs, so
        # the one rebuild below is the first to see both (as merged notifications are)
        assert await call_text(runtime, "b_grow", {"name": "x"}) == "grown"
        assert await call_text(runtime, "grow", {"name": "b_x"}) == "grown"
        await listed(runtime, "up2", "x")
        await listed(runtime, "up", "b_x")
        outcome = await reloader.reload("upstream")
        assert outcome.ok, outcome.errors
        assert runtime.holder.current.get("b_x").source == "up"
        [warning] = reloader.status.warnings
        assert "tool name 'b_x' newly listed by source 'up2' is left out: source 'up' serves that name" in warning
        assert (await reloader.reload("signal")).ok and runtime.holder.current.get("b_x").source == "up"
    finally:
        await runtime.aclose()
