"""An abandoned reload in-process (the reloader, the pool and the compile, no server): it returns an
outcome that says why, the pool and the served tool set are exactly as before, and a compile whose
token is set stops promptly in its worker thread."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from reload_support import Project

from mcprt.cancellation import Abandoned, CancelToken, abandonable
from mcprt.pipeline import Runtime
from mcprt.reload import Reloader
from mcprt.settings import Settings

FOREVER = "{% for i in range(100000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}Slow."


async def test_a_reload_over_its_budget_leaves_the_pool_and_tools_as_they_were(
    project: Project, runtime: Runtime, reloader: Reloader, monkeypatch: pytest.MonkeyPatch, log_lines,
) -> None:
    monkeypatch.setenv("MCPRT_TEMPLATE_TIMEOUT", "600")
    monkeypatch.setenv("MCPRT_RELOAD_TIMEOUT", "0.5")
    served, running = runtime.holder.current, dict(runtime.pool.running)  # type: ignore[union-attr]
    # a second source (opened by this reload) whose one tool has a description that never ends
    project.write("mcp.yaml", project.manifest_text(extra=(
        f"  more:\n    python: {project.module}:count\n    prefix: m_\n"
        f"    tools:\n      count: {{description: '{FOREVER}'}}\n")))
    outcome = await reloader.reload("files")
    assert not outcome.ok and outcome.abandoned == "it ran longer than 0.5s (MCPRT_RELOAD_TIMEOUT)", outcome
    assert outcome.errors == [] and outcome.opened == []
    assert runtime.holder.current is served  # type: ignore[union-attr]
    assert dict(runtime.pool.running) == running and set(running) == {"notes"}
    status = reloader.status.to_dict()
    assert (status["outcome"], status["abandoned"], status["failures"], status["reloads"]) == ("abandoned", 1, 0, 0)
    assert any("reload abandoned" in m for m in log_lines.messages), log_lines.messages

    project.write("mcp.yaml", project.manifest_text(tools="search: {description: Fast.}"))
    outcome = await reloader.reload("files")  # the next good save applies as usual
    assert outcome.ok and outcome.abandoned is None
    assert runtime.holder.current.tools["search"].description == "Fast."  # type: ignore[union-attr]
    assert reloader.status.to_dict()["outcome"] == "applied"


def _big_spec(folder: Path, operations: int) -> Path:
    """An OpenAPI document with `operations` GET operations (each with parameters and a response)."""
    item = {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}
    paths = {
        f"/items{i}/{{id}}": {"get": {
            "operationId": f"get_item_{i}", "summary": f"Get item {i}",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "q", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": item}}}},
        }}
        for i in range(operations)
    }
    (folder / "api.json").write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "big", "version": "1"},
                                                 "servers": [{"url": "http://127.0.0.1:9"}], "paths": paths}))
    manifest = folder / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  api:\n    openapi: api.json\n")
    return manifest


async def test_an_abandoned_compile_of_a_big_spec_stops_promptly(tmp_path: Path) -> None:
    """The compile runs in a worker thread; once its token is set it stops at the next operation
    (a thread cannot be killed: without the checks it would compile on for seconds)."""
    # 20,000 operations: several seconds of compile even on a quiet machine with the faster compile
    runtime = Runtime(_big_spec(tmp_path, 20_000), Settings(cache_dir=tmp_path / "cache"))
    token = CancelToken()

    async def compile_abandonably() -> object:
        with abandonable(token):
            return await runtime.compile()

    task = asyncio.create_task(compile_abandonably())
    try:
        await asyncio.sleep(0.5)
        assert not task.done(), "the compile finished within 0.5 s: make the document bigger"
        cancelled_at = time.monotonic()
        token.cancel("a newer save")
        with pytest.raises(Abandoned, match="a newer save"):
            await asyncio.wait_for(task, 60)
        stopped_after = time.monotonic() - cancelled_at
        assert dict(runtime.pool.running) == {}  # nothing of the abandoned compile is left
    finally:
        await runtime.aclose()
    assert stopped_after < 3, stopped_after  # bound on a hang; the target is the next operation (~ms)


HELD = '''
import time
from pathlib import Path

here = Path(__file__).parent
(here / "held.started").write_text("imported")  # the compile of the edited manifest has begun
while (here / "hold").exists():  # and stays in progress until the test lets it go
    time.sleep(0.02)


def pong() -> str:
    """Answer ping."""
    return "ping"
'''


async def test_a_save_that_supersedes_a_reload_which_already_read_it_still_applies(
    project: Project, runtime: Runtime, reloader: Reloader, log_lines,
) -> None:
    """A reload (here SIGHUP's; an upstream's tools/list_changed alike) hashed the files just after a save
    and before the save's event arrived; the event then superseded it — and the next round dropped the
    save as "saved without an edit", since its content was what the abandoned attempt had read. Neither the
    edit nor the abandoned request ever applied (found when an upstream's list_changed met a manifest save)."""
    held = f"held_{project.module}"
    project.write(f"{held}.py", HELD)
    project.write("hold", "")
    project.write("mcp.yaml", project.manifest_text(extra=f"  more:\n    python: {held}:pong\n"))
    worker = asyncio.create_task(reloader.serve())
    try:
        reloader.request("signal")  # reads the edited manifest; its import waits on `hold`
        deadline = time.monotonic() + 60
        while not (project.root / "held.started").exists():
            assert time.monotonic() < deadline, "the edited manifest's compile never began"
            await asyncio.sleep(0.02)
        reloader.request("files", {project.manifest})  # the save's own event, arriving late
        while not any("reload abandoned" in m for m in log_lines.messages):
            assert time.monotonic() < deadline, log_lines.messages
            await asyncio.sleep(0.02)
        (project.root / "hold").unlink()
        while "pong" not in runtime.holder.current.tools:  # type: ignore[union-attr]
            assert time.monotonic() < deadline, f"the edit never applied: {log_lines.messages}"
            await asyncio.sleep(0.02)
    finally:
        (project.root / "hold").unlink(missing_ok=True)
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    assert reloader.status.to_dict()["outcome"] == "applied"
