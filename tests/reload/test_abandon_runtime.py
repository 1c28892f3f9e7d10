"""An abandoned reload in-process (the reloader and the pool, no server): it returns an outcome that
says why, the pool and the served tool set are exactly as before, and what it opened is closed."""

from __future__ import annotations

import pytest
from reload_support import Project

from mcprt.pipeline import Runtime
from mcprt.reload import Reloader

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
