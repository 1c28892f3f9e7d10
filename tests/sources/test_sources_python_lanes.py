"""The worker threads of sync Python tools (`sources/python/lanes.py`): each tool's lane, the process-wide
bound on them all, and what a call that never got a thread is told."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcprt.sources.python import lanes
from mcprt.sources.python.calling import DeadlinePassed, run_function
from mcprt.sources.python.lanes import Lane


def test_the_lanes_of_all_tools_share_a_process_wide_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each lane bounded its own tool only: 100 tools × `concurrency` 64 could start 6,400 threads. The
    process-wide bound (here lowered to 3, for a new event loop) holds for all lanes together."""
    monkeypatch.setattr(lanes, "MAX_SYNC_THREADS", 3)
    running, most = 0, 0
    counting = threading.Lock()
    release = threading.Event()

    def hold() -> str:
        nonlocal running, most
        with counting:
            running += 1
            most = max(most, running)
        release.wait(5)
        with counting:
            running -= 1
        return "held"

    async def main() -> list[str]:
        tools = [Lane(2) for _ in range(3)]  # 6 places in lanes, 3 threads in all
        answers: list[str] = []

        async def call(lane: Lane) -> None:
            ticket = lane.ticket()
            try:
                answers.append((await run_function("hold", hold, [], {}, timeout=0.5, max_bytes=10**6,
                                                   ticket=ticket)).value)
            except DeadlinePassed:
                answers.append(ticket.message("hold", 0.5))

        async with anyio.create_task_group() as group:
            for lane in tools:
                for _ in range(2):
                    group.start_soon(call, lane)
            await anyio.sleep(0.3)
            release.set()
        return answers

    answers = anyio.run(main)
    assert most == 3, most
    assert answers.count("held") == 6  # the others waited for a thread of the process and then ran


def test_a_call_behind_calls_past_their_timeout_is_told_so() -> None:
    """A call queued behind calls its timeout abandoned (their functions still run, holding the lane) was told
    "it is safe to try again later", though no retry could start until those functions return."""
    finished = threading.Event()

    def slow(seconds: float) -> str:
        time.sleep(seconds)
        finished.set()
        return "done"

    async def main() -> str:
        lane = Lane(1)
        with pytest.raises(DeadlinePassed):
            await run_function("slow", slow, [1.5], {}, timeout=0.1, max_bytes=10**6, ticket=lane.ticket())
        queued = lane.ticket()
        with pytest.raises(DeadlinePassed):
            await run_function("slow", slow, [0.0], {}, timeout=0.2, max_bytes=10**6, ticket=queued)
        return queued.message("slow", 0.2)

    message = anyio.run(main)
    finished.wait(5)
    assert message == ("slow did not start within 0.2s: 1 calls of this tool ran past their timeout and still hold "
                       "its threads (at most 1 run at once: the source's `concurrency`); it did not run, but it "
                       "cannot start until those functions return"), message
    assert "safe to try again" not in message


def test_a_resource_or_prompt_read_that_timed_out_in_line_names_what_it_waited_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sync resource read or prompt get that ran out of its time in its lane was told it queued behind
    "running calls of this tool" (the message was written for tools only). It names what it is."""
    from mcprt.offerings.model import OfferError
    from mcprt.sources.python import offers
    from mcprt.sources.python.importing import ModuleImports

    (tmp_path / "lane_named.py").write_text(
        "import time\n\n\ndef held() -> str:\n    time.sleep(0.6)\n    return 'held'\n\n\n"
        "def held_prompt() -> str:\n    time.sleep(0.6)\n    return 'held'\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))  # as the server makes the manifest's folder importable
    monkeypatch.setenv("MCPRT_PYTHON_RESOURCE_PROMPT_TIMEOUT", "0.2")  # the 30 s a read may take, shortened
    loaded = offers.load_offers({"lane://held": "lane_named:held"}, ["lane_named:held_prompt"],
                                ModuleImports(tmp_path), 10**6, 1)
    assert loaded is not None
    provider = loaded.provider

    async def twice(ask: Any) -> list[str]:
        said: list[str] = []

        async def one() -> None:
            with pytest.raises(OfferError) as raised:
                await ask()
            said.append(str(raised.value))

        async with anyio.create_task_group() as group:  # `concurrency` 1: the second waits behind the first
            group.start_soon(one)
            group.start_soon(one)
        return said

    read = anyio.run(twice, lambda: provider.read_resource("lane://held"))
    got = anyio.run(twice, lambda: provider.get_prompt("held_prompt", {}))
    for said, noun in ((read, "resource"), (got, "prompt")):
        queued = [m for m in said if "did not start" in m]
        assert len(queued) == 1, said
        assert f"calls of this {noun}" in queued[0] and "tool" not in queued[0], queued
