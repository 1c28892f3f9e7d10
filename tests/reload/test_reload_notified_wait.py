"""A reload's "reload applied" line waits (up to `NOTIFIED_WAIT_SECONDS`) for its `tools/list_changed`
fan-out to say whom it reached. That wait was inside the reload lock: a second reload (a save, SIGHUP)
waited on the first one's logging. Now the next reload swaps while the first line still waits.

The fan-out is held by a subscription bus whose `publish` waits for the test (a bus is the SDK's
pluggable seam for replicas, e.g. over Redis: its publish is network I/O and can be slow)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mcp.server.subscriptions import InMemorySubscriptionBus
from reload_support import LogLines, Project, wait_for

from mcprt.pipeline import Runtime
from mcprt.reload import reloader as reloader_module
from mcprt.reload.reloader import Reloader
from mcprt.server.notify import Notifier

LONG_WAIT = 120.0  # the count's wait: far longer than the test's own bounds, so waiting on it fails


class HeldBus(InMemorySubscriptionBus):
    """Publishes once `opened` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = asyncio.Event()
        self.waiting = 0

    async def publish(self, event: Any) -> None:
        self.waiting += 1
        await self.opened.wait()
        await super().publish(event)


@pytest.fixture
async def held(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> tuple[Reloader, HeldBus]:
    monkeypatch.setattr(reloader_module, "NOTIFIED_WAIT_SECONDS", LONG_WAIT)
    bus = HeldBus()
    notifier = Notifier(bus)
    notifier.bind_loop()
    notifier.attach(runtime.holder)  # type: ignore[arg-type]
    return Reloader(runtime, notifier), bus


def _names(runtime: Runtime) -> list[str]:
    return sorted(t["name"] for t in runtime.holder.current.list_tools())  # type: ignore[union-attr]


async def test_a_second_reload_swaps_while_the_first_line_waits(
    project: Project, runtime: Runtime, held: tuple[Reloader, HeldBus], log_lines: LogLines,
) -> None:
    """Two `reload()` calls (as two SIGHUPs): the second applies while the first still waits for its count."""
    reloader, bus = held
    project.write("mcp.yaml", project.manifest_text(tools="search: {name: first}"))
    first = asyncio.create_task(reloader.reload())
    await wait_for(lambda: "first" in _names(runtime), timeout=30, what="the first swap")
    project.write("mcp.yaml", project.manifest_text(tools="search: {name: second}"))
    second = asyncio.create_task(reloader.reload())
    await wait_for(lambda: "second" in _names(runtime), timeout=30, what="the second swap, during the first wait")
    assert not first.done() and log_lines.fields("reload applied") == []
    bus.opened.set()
    outcomes = await asyncio.wait_for(asyncio.gather(first, second), 30)
    assert [o.changes.added for o in outcomes] == [["first"], ["second"]]
    lines = log_lines.fields("reload applied")
    assert [line["changes"] for line in lines] == ["+first -search", "+second -first"], lines
    # each line took its own swap's fan-out (nobody connected: 0 reached, not "pending")
    assert all(line["sessions_notified"] == 0 and line["listen_streams_notified"] == 0 for line in lines), lines


async def test_the_worker_reloads_on_while_a_line_waits(
    project: Project, runtime: Runtime, held: tuple[Reloader, HeldBus], log_lines: LogLines,
) -> None:
    """The same through the worker hot reload runs (`serve`: saved files request reloads)."""
    reloader, bus = held
    worker = asyncio.create_task(reloader.serve())
    try:
        project.write("mcp.yaml", project.manifest_text(tools="search: {name: first}"))
        reloader.request("files", {project.manifest})
        await wait_for(lambda: "first" in _names(runtime), timeout=30, what="the first swap")
        await wait_for(lambda: bus.waiting == 1, timeout=30, what="the first fan-out held")
        project.write("mcp.yaml", project.manifest_text(tools="search: {name: second}"))
        reloader.request("files", {project.manifest})
        await wait_for(lambda: "second" in _names(runtime), timeout=30, what="the second swap, during the first wait")
        assert log_lines.fields("reload applied") == []
        bus.opened.set()
        await wait_for(lambda: len(log_lines.fields("reload applied")) == 2, timeout=30, what="both lines")
        lines = log_lines.fields("reload applied")
        assert [line["changes"] for line in lines] == ["+first -search", "+second -first"], lines
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
