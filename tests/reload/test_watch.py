"""The file watcher end to end in one process: real files, real inotify, real reloads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from reload_support import MODULE_V1, Project, wait_for

from mcprt.pipeline import Runtime
from mcprt.reload import Reloader, reload_status, reloader_for, watch
from mcprt.settings import Settings
from tests.support.kubelet import kubelet_swap


@pytest.fixture
async def watching(runtime: Runtime, reloader: Reloader) -> AsyncIterator[Reloader]:
    task = asyncio.create_task(watch(runtime))
    await asyncio.sleep(0.15)  # the folder watchers are up
    try:
        yield reloader
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def listed(runtime: Runtime) -> list[str]:
    return [tool["name"] for tool in runtime.holder.current.list_tools()]


async def test_an_in_place_save_is_applied(project: Project, runtime: Runtime, watching: Reloader) -> None:
    project.write("mcp.yaml", project.manifest_text(tools="search: {name: find}"))
    await wait_for(lambda: "find" in listed(runtime), what="the renamed tool")
    assert watching.status.failures == 0


async def test_an_atomic_rename_save_is_applied(project: Project, runtime: Runtime, watching: Reloader) -> None:
    project.save_atomically("mcp.yaml", project.manifest_text(tools="count: {name: how_many}"))
    await wait_for(lambda: "how_many" in listed(runtime), what="the renamed tool")
    project.save_atomically("mcp.yaml", project.manifest_text(tools="count: {name: total}"))
    await wait_for(lambda: "total" in listed(runtime), what="the second rename (same file, new inode)")
    assert watching.status.failures == 0


async def test_delete_then_recreate_is_not_a_failure(project: Project, runtime: Runtime, watching: Reloader) -> None:
    project.manifest.unlink()
    await asyncio.sleep(0.12)  # longer than the quiet period: the deletion alone triggers a reload
    project.write("mcp.yaml", project.manifest_text(tools="search: {name: lookup}"))
    await wait_for(lambda: "lookup" in listed(runtime), what="the recreated manifest")
    assert watching.status.failures == 0 and reload_status(runtime)["ok"] is True


async def test_a_burst_of_saves_is_one_reload(project: Project, runtime: Runtime, watching: Reloader) -> None:
    for n in range(10):
        project.write("mcp.yaml", project.manifest_text(tools=f"search: {{name: s{n}}}"))
    await wait_for(lambda: "s9" in listed(runtime), what="the last save")
    await asyncio.sleep(0.2)
    assert watching.status.reloads == 1


async def test_other_files_in_the_folder_are_ignored(project: Project, runtime: Runtime,
                                                     watching: Reloader) -> None:
    for n in range(3):
        project.write(f"notes-{n}.txt", "unrelated")
    await asyncio.sleep(0.3)
    assert watching.status.reloads == 0


async def test_editing_the_python_module_reloads_it(project: Project, runtime: Runtime, watching: Reloader) -> None:
    pin = 'def pin(n: int) -> int:\n    """Pin."""\n    return n\n'
    project.save_atomically(project.module_file.name, project.module_file.read_text() + "\n\n" + pin)
    await wait_for(lambda: "pin" in listed(runtime), what="the new function")


async def test_a_new_include_is_watched_after_it_is_applied(project: Project, runtime: Runtime,
                                                            watching: Reloader, log_lines) -> None:
    (project.root / "more").mkdir()
    project.write("more/extra.yaml", f"sources:\n  extra:\n    python: {project.module}:count\n    prefix: x_\n")
    project.write("mcp.yaml", project.manifest_text(extra="include: [more/extra.yaml]\n"))
    await wait_for(lambda: "x_count" in listed(runtime), what="the included source")

    project.write("more/extra.yaml", f"sources:\n  extra:\n    python: {project.module}:count\n    prefix: y_\n")
    await wait_for(lambda: "y_count" in listed(runtime), what="the edit of the included file")
    # the log names the file that changed, from the root's folder (it said `extra.yaml`; a trial's included
    # `inc/mcp.toml` read as `files=mcp.toml`, the root)
    # (awaited: the line is written by a task of its own once the swap's notification is counted, and the tool
    # list can be read before it)
    await wait_for(lambda: log_lines.fields("reload applied")[-1]["files"] == "more/extra.yaml",
                   what="the reload applied line naming the include")


async def test_an_include_created_after_the_manifest_is_picked_up(project: Project, runtime: Runtime,
                                                                  watching: Reloader) -> None:
    (project.root / "parts").mkdir()  # a folder the manifest never used before: the include names it
    project.write("mcp.yaml", project.manifest_text(extra="include: [parts/later.yaml]\n"))
    await wait_for(lambda: watching.status.failures >= 1, what="the failed reload")
    assert "later.yaml" in watching.status.errors[0] and "count" in listed(runtime)

    project.write("parts/later.yaml", f"sources:\n  later:\n    python: {project.module}:count\n    prefix: l_\n")
    await wait_for(lambda: "l_count" in listed(runtime), what="the include, once it exists")
    assert watching.status.ok is True


async def test_a_dotenv_change_is_applied(project: Project, runtime: Runtime, watching: Reloader) -> None:
    project.write(".env", "NOTES_TOOL=first_name\n")
    project.write("mcp.yaml", project.manifest_text(tools="search: {name: '${NOTES_TOOL}'}"))
    await wait_for(lambda: "first_name" in listed(runtime), what="the variable from .env")

    project.write(".env", "NOTES_TOOL=second_name\n")
    await wait_for(lambda: "second_name" in listed(runtime), what="the edited .env")


async def test_a_dotenv_created_after_start_up_is_applied_and_then_watched(tmp_path: Path) -> None:
    """A desktop client launched mcprt with no `.env` beside the manifest; the user then writes one with
    the missing credential. Creating it reloads (it did nothing until a SIGHUP), so does each edit after,
    and so does deleting it."""
    project = Project(tmp_path / "late")
    project.root.mkdir()
    project.write(project.module_file.name, MODULE_V1)
    project.write("mcp.yaml", project.manifest_text(tools="search: {name: '${NOTES_TOOL:-default_name}'}"))
    runtime = Runtime(project.manifest, Settings(cache_dir=tmp_path / "cache"))
    await runtime.start()
    reloader_for(runtime)
    task = asyncio.create_task(watch(runtime))
    try:
        await asyncio.sleep(0.15)  # the folder watchers are up
        assert "default_name" in listed(runtime)
        project.write(".env", "NOTES_TOOL=from_new_env\n")
        await wait_for(lambda: "from_new_env" in listed(runtime), what="the variable from the new .env")
        project.write(".env", "NOTES_TOOL=edited_env\n")
        await wait_for(lambda: "edited_env" in listed(runtime), what="the edited .env")
        (project.root / ".env").unlink()
        await wait_for(lambda: "default_name" in listed(runtime), what="the default once .env is gone")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await runtime.aclose()


async def test_a_broken_save_then_a_fix(project: Project, runtime: Runtime, watching: Reloader) -> None:
    project.write("mcp.yaml", "version: 1\nsources:\n  notes: {python: [\n")
    await wait_for(lambda: watching.status.failures == 1, what="the failed reload")
    assert "search" in listed(runtime)
    assert reload_status(runtime)["errors"][0].split(":")[1:3] == ["4", "1"], reload_status(runtime)["errors"]

    project.write("mcp.yaml", project.manifest_text(tools="search: {name: fixed}"))
    await wait_for(lambda: "fixed" in listed(runtime), what="the fix")


async def test_a_module_created_after_the_manifest_names_it_is_picked_up(project: Project, runtime: Runtime,
                                                                        watching: Reloader) -> None:
    module = f"{project.module}_more"
    project.write("mcp.yaml", project.manifest_text() + f"  more:\n    python: {module}\n")
    await wait_for(lambda: watching.status.failures >= 1, what="the failed reload")

    project.write(f"{module}.py", 'def ping() -> str:\n    """Ping."""\n    return "pong"\n')
    await wait_for(lambda: "ping" in listed(runtime), what="the module, once it exists")
    assert watching.status.ok is True


async def test_a_configmap_update_reloads_once_and_an_unchanged_one_not_at_all(project: Project) -> None:
    """The `..data` swap, then the old folder's deletion (whose paths were never seen): that deletion
    was a second reload (`no tool changes`, counted in `reloads`), naming files that had not changed."""
    config = project.root / "config"
    module = {f"{project.module}.py": project.module_file.read_text()}
    kubelet_swap(config, {"mcp.yaml": project.manifest_text(), **module})
    runtime = Runtime(config / "mcp.yaml", Settings(cache_dir=project.root / "cache"))
    await runtime.start()
    try:
        reloader = reloader_for(runtime)
        task = asyncio.create_task(watch(runtime))
        await asyncio.sleep(0.15)
        kubelet_swap(config, {"mcp.yaml": project.manifest_text(tools="search: {name: find}"), **module})
        await wait_for(lambda: "find" in listed(runtime), what="the updated ConfigMap")
        await asyncio.sleep(0.6)  # the deletion's events, and any reload they would start, are over
        assert reloader.status.reloads == 1, reloader.status
        kubelet_swap(config, {"mcp.yaml": project.manifest_text(tools="search: {name: find}"), **module})
        await asyncio.sleep(0.6)  # an update of nothing (a Secret re-projected, a sync) reloads nothing
        assert reloader.status.reloads == 1 and reloader.status.failures == 0, reloader.status
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await runtime.aclose()


async def test_comparing_saved_files_leaves_the_event_loop_running(project: Project, reloader: Reloader) -> None:
    """Whether a save changed anything was decided by hashing every watched file on the event loop, on
    every event: a 13 MB spec just written held every call and stream 20–40 ms each time. The hashing
    now runs in a worker thread, so other tasks run meanwhile."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    project.write(project.module_file.name, project.module_file.read_text() + "#" * 4_000_000 + "\n")
    running = asyncio.create_task(ticker())
    try:
        await asyncio.sleep(0)
        before = ticks
        assert await reloader._contents_changed({project.module_file})
        assert ticks > before  # the loop served the ticker while the 4 MB file was hashed
        assert not await reloader._contents_changed({project.module_file})  # remembered
    finally:
        running.cancel()
