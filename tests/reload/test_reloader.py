"""Reloads driven directly (no file watcher): what changes, what is reused, what a bad edit does."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time

from reload_support import Project, wait_for

from mcprt.pipeline import Runtime
from mcprt.reload import Reloader, reload_now, reload_status
from mcprt.toolset.invoke import call_tool

DIAGNOSTIC_LINE = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")


async def call_text(runtime: Runtime, name: str, arguments: dict | None = None) -> str:
    tool = runtime.holder.current.get(name)
    assert tool is not None, f"no tool {name}"
    result = await call_tool(tool, arguments or {})
    assert not result.is_error, result.content
    return result.content[0]["text"]


async def test_prune_change_reuses_the_source_and_changes_the_output(
    project: Project, runtime: Runtime, reloader: Reloader,
) -> None:
    source_before = runtime.pool.running["notes"]
    assert "long text" in await call_text(runtime, "search", {"query": "x"})

    project.write("mcp.yaml", project.manifest_text(tools='search: {prune: "items[].title"}'))
    outcome = await reloader.reload()

    assert outcome.ok and not outcome.list_changed, outcome
    assert outcome.reused == ["notes"] and outcome.opened == []
    assert runtime.pool.running["notes"] is source_before  # not re-imported, not reopened
    assert await call_text(runtime, "search", {"query": "x"}) == '["note about x"]'


async def test_editing_the_module_reopens_its_source_and_adds_the_tool(
    project: Project, runtime: Runtime, reloader: Reloader,
) -> None:
    source_before = runtime.pool.running["notes"]
    tag = 'def tag(name: str) -> str:\n    """Tag a note."""\n    return "#" + name\n'
    module = project.module_file.read_text() + "\n\n" + tag
    project.write(project.module_file.name, module)

    outcome = await reloader.reload()

    assert outcome.ok and outcome.list_changed
    assert outcome.changes.added == ["tag"] and not outcome.changes.removed
    assert outcome.opened == ["notes"]
    assert runtime.pool.running["notes"] is not source_before
    assert await call_text(runtime, "tag", {"name": "x"}) == "#x"


async def test_rename_and_remove_are_reported_by_name(
    project: Project, runtime: Runtime, reloader: Reloader, log_lines,
) -> None:
    project.write("mcp.yaml", project.manifest_text(extra="    exclude: {operations: [count]}\n",
                                                    tools="search: {name: find_notes}"))
    outcome = await reloader.reload()

    assert outcome.ok and outcome.list_changed
    assert outcome.changes.added == ["find_notes"]
    assert outcome.changes.removed == ["count", "search"]
    assert [t["name"] for t in runtime.holder.current.list_tools()] == ["find_notes"]
    (applied,) = log_lines.fields("reload applied")
    assert applied["changes"] == "+find_notes -count -search"
    assert applied["list_changed"] is True and applied["trigger"] == "signal"
    assert applied["sessions_notified"] == 0  # no server here: nobody to notify


async def test_a_description_change_is_a_changed_tool(project: Project, runtime: Runtime, reloader: Reloader) -> None:
    project.write("mcp.yaml", project.manifest_text(tools="count: {description: Count every note.}"))
    outcome = await reloader.reload()
    assert outcome.ok and outcome.list_changed
    assert outcome.changes.changed == ["count"] and not outcome.changes.added


async def test_a_broken_manifest_keeps_the_old_tools_serving(
    project: Project, runtime: Runtime, reloader: Reloader, log_lines,
) -> None:
    serving = runtime.holder.current
    project.write("mcp.yaml", project.manifest_text() + "    tools: {search: {prune: [unclosed}\n")

    outcome = await reloader.reload()

    assert not outcome.ok
    assert runtime.holder.current is serving
    assert "note about y" in await call_text(runtime, "search", {"query": "y"})
    match = DIAGNOSTIC_LINE.match(outcome.errors[0])
    assert match and match["file"].endswith("mcp.yaml") and match["line"] == "5", outcome.errors
    assert outcome.errors[0] in log_lines.messages  # each error is its own file:line:col log line
    status = reload_status(runtime)
    assert status["ok"] is False and status["errors"] == outcome.errors and status["failures"] == 1

    project.write("mcp.yaml", project.manifest_text(tools='search: {prune: "total"}'))
    fixed = await reloader.reload()
    assert fixed.ok
    assert await call_text(runtime, "search", {"query": "y"}) == "1"
    assert reload_status(runtime)["ok"] is True and reload_status(runtime)["errors"] == []


async def test_a_schema_error_points_at_the_offending_key(
    project: Project, runtime: Runtime, reloader: Reloader,
) -> None:
    project.write("mcp.yaml", project.manifest_text(tools="search:\n  prnue: total"))
    outcome = await reloader.reload()
    assert not outcome.ok
    line = next(e for e in outcome.errors if "prnue" in e)
    match = DIAGNOSTIC_LINE.match(line)
    assert match and (match["line"], match["col"]) == ("7", "9"), line


async def test_a_broken_module_keeps_the_old_tools_serving(
    project: Project, runtime: Runtime, reloader: Reloader,
) -> None:
    project.write(project.module_file.name, "def search(query: str) -> dict:\n    return {\n")
    outcome = await reloader.reload()
    assert not outcome.ok and "cannot import" in outcome.errors[0], outcome.errors
    assert DIAGNOSTIC_LINE.match(outcome.errors[0])
    assert "note about z" in await call_text(runtime, "search", {"query": "z"})


async def test_a_file_briefly_missing_is_waited_for(project: Project, runtime: Runtime, reloader: Reloader) -> None:
    text = project.manifest_text(tools='search: {prune: "total"}')
    project.manifest.unlink()
    asyncio.get_running_loop().call_later(0.15, project.write, "mcp.yaml", text)

    outcome = await reloader.reload()

    assert outcome.ok, outcome.errors
    assert reload_status(runtime)["failures"] == 0
    assert await call_text(runtime, "search", {"query": "z"}) == "1"


async def test_a_file_that_stays_missing_is_reported_after_the_grace_period(
    project: Project, runtime: Runtime, reloader: Reloader,
) -> None:
    project.manifest.unlink()
    started = time.perf_counter()
    outcome = await reloader.reload()
    assert not outcome.ok and "file not found" in outcome.errors[0]
    assert time.perf_counter() - started >= reloader.missing_grace
    assert await call_text(runtime, "count") == "3"


async def test_an_upstream_change_rebuilds_without_rereading_the_files(
    project: Project, runtime: Runtime, reloader: Reloader,
) -> None:
    serving = asyncio.create_task(reloader.serve())
    try:
        project.write("mcp.yaml", "version: 1\nsources: {broken\n")  # on disk, but not what a rebuild reads
        runtime.pool.on_tools_changed("notes")  # what a proxied MCP source calls on its list_changed
        await wait_for(lambda: reloader.status.reloads + reloader.status.failures == 1, what="the rebuild")
        assert reloader.status.ok is True and reloader.status.trigger == "upstream"
    finally:
        serving.cancel()


async def test_requests_during_a_reload_coalesce_into_one_more(
    project: Project, runtime: Runtime, reloader: Reloader,
) -> None:
    slow = "import time\ntime.sleep(0.3)\n" + project.module_file.read_text()
    project.write(project.module_file.name, slow)  # the next reload re-imports it: 0.3 s in a thread
    serving = asyncio.create_task(reloader.serve())
    try:
        reloader.request("files")
        await asyncio.sleep(0.1)  # the first reload is importing now
        for _ in range(10):
            reloader.request("files")
            await asyncio.sleep(0.005)
        await wait_for(lambda: reloader.status.reloads >= 2, what="two reloads")
        await asyncio.sleep(0.4)
        assert reloader.status.reloads == 2 and reloader.status.failures == 0
    finally:
        serving.cancel()


async def test_a_reload_that_changed_only_the_policy_says_what_changed(project: Project, runtime: Runtime,
                                                                        reloader: Reloader, log_lines) -> None:
    """The fleet trial changed one rule's `when:` and every replica logged `changes="no tool changes"`: nothing
    confirmed the tightened policy had landed. The line names each policy change and how many loosen it."""
    policy = ("policy:\n  rules:\n    - match: {{tools: [search], when: \"{when}\"}}\n      action: deny\n")
    project.write("mcp.yaml", project.manifest_text() + policy.format(when="starts_with(query, 'a')"))
    assert (await reloader.reload()).ok
    first = log_lines.fields("reload applied")[-1]
    assert first["policy"] == "added" and first["policy_loosened"] == 0, first
    project.write("mcp.yaml", project.manifest_text() + policy.format(when="query == 'a'")
                  + "    - match: {tools: [count]}\n      action: deny\n")
    assert (await reloader.reload()).ok
    second = log_lines.fields("reload applied")[-1]
    assert second["changes"] == "no tool changes"
    assert second["policy"] == "rule added (rules[1]); rule match changed (rules[0])", second
    assert second["policy_loosened"] == 1, second  # `mcprt diff`'s judgement: the narrower `when` is flagged
    assert (await reloader.reload()).ok  # nothing changed: no policy fields
    assert "policy" not in log_lines.fields("reload applied")[-1]


async def test_server_settings_changes_are_flagged_as_needing_a_restart(project: Project, runtime: Runtime,
                                                                       reloader: Reloader, log_lines) -> None:
    project.write("mcp.yaml", project.manifest_text() + "server: {name: renamed}\n")
    outcome = await reloader.reload()
    assert outcome.ok
    assert any("restart" in m and "server" in m for m in log_lines.messages), log_lines.messages


async def test_reload_now_without_a_watcher_rereads_module_files(project: Project, runtime: Runtime) -> None:
    """SIGHUP under --no-reload: nobody saw the sources open, so their files are read again."""
    project.write(project.module_file.name, project.module_file.read_text().replace("return 3", "return 4"))
    outcome = await reload_now(runtime)
    assert outcome.ok and outcome.opened == ["notes"]
    assert await call_text(runtime, "count") == "4"
    assert reload_status(runtime)["trigger"] == "signal" and reload_status(runtime)["reloads"] == 1


async def test_the_status_turns_ok_in_the_same_step_as_the_new_tools(
    project: Project, runtime: Runtime, reloader: Reloader,
) -> None:
    """A status page read between the swap and the status update must not show the new tools beside the last
    attempt's failure (the reloader computes its diff in a thread after the swap: the loop runs meanwhile)."""
    project.write("mcp.yaml", project.manifest_text() + "    tools: {search: {prune: [unclosed}\n")
    assert not (await reloader.reload()).ok
    project.write("mcp.yaml", project.manifest_text(tools="search: {name: lookup}"))

    seen: list[bool] = []  # on each loop turn once the new tool is listed: was the status ok?

    async def observe() -> None:
        while True:
            if runtime.holder.current.get("lookup") is not None:
                seen.append(reload_status(runtime)["ok"] is True)
            await asyncio.sleep(0)

    observer = asyncio.create_task(observe())
    try:
        assert (await reloader.reload()).ok
        await asyncio.sleep(0)
    finally:
        observer.cancel()
    assert seen and all(seen), f"{seen.count(False)} of {len(seen)} loop turns showed the new tools with the old status"


async def test_a_note_in_a_reload_is_logged_at_info_and_a_warning_at_warning(
    project: Project, runtime: Runtime, reloader: Reloader, log_lines,
) -> None:
    """Notes joined `Compiled.warnings` (left-out operations' problems, the pinned copy served offline), and the
    reload logged every entry of it at WARNING: a note read as a warning. Now a note is INFO, a warning WARNING,
    each with its `severity` field (a JSON log keeps the difference)."""
    nope = {"$ref": "#/components/parameters/Nope"}
    ok = {"200": {"description": "ok"}}
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "http://127.0.0.1:9"}],
            "paths": {"/a": {"get": {"operationId": "served", "parameters": [nope], "responses": ok}},
                      "/b": {"get": {"operationId": "leftOut", "parameters": [nope], "responses": ok}}}}
    project.write("api.json", json.dumps(spec))
    extra = "  api:\n    openapi: api.json\n    include: {operations: [served]}\n"
    project.write("mcp.yaml", project.manifest_text(extra=extra))
    outcome = await reloader.reload()
    assert outcome.ok, outcome
    said = {r.getMessage(): (r.levelno, getattr(r, "fields", {}).get("severity")) for r in log_lines.records
            if "source 'api'" in r.getMessage()}
    notes = [level for message, level in said.items() if "note: " in message and "leave out" in message]
    warnings = [level for message, level in said.items() if "warning: " in message and "~1a/get" in message]
    assert notes == [(logging.INFO, "note")], said
    assert warnings == [(logging.WARNING, "warning")], said
