"""A call the client cancels still writes its log line, its audit record and its metric, with outcome
`cancelled` (a new-user trial saw a cancelled call leave no trace at all: the CancelledError passed
by the log line and the CallEvent). Real `mcprt up` over HTTP, the SDK client cancelling a slow
Python tool; the function really stops (its marker file says so)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import anyio
import httpx
import pytest
from tests.support.served import http_client, mcprt_http

TOOLS = '''
import asyncio
from pathlib import Path


async def slow(marker: str) -> str:
    """Wait long; note a cancellation in the marker file."""
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        Path(marker).write_text("cancelled")
        raise
    return "finished"


def quick() -> str:
    """Answer at once."""
    return "quick"
'''


def wait_until(check, timeout: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_a_cancelled_call_is_logged_audited_and_counted(tmp_path: Path) -> None:
    (tmp_path / "cancel_tools.py").write_text(TOOLS, encoding="utf-8")
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nserver: {observability: {audit: audit.jsonl}}\n"
                        "sources:\n  t: {python: cancel_tools}\n", encoding="utf-8")
    marker = tmp_path / "cancelled.txt"
    with mcprt_http(manifest, "--no-reload") as up:
        async with http_client(up.url) as client:  # its close waits for the cancelled call's answer
            with anyio.move_on_after(1.0):  # the SDK client sends notifications/cancelled on leaving the scope
                await client.call_tool("slow", {"marker": str(marker)})
            assert (await client.call_tool("quick", {})).content[0].text == "quick"  # type: ignore[union-attr]
        wait_until(marker.exists)
        line = wait_until(lambda: next((l for l in up.stderr if "call tool=slow" in l), None))
        assert "status=cancelled" in line and "sent_bytes=0" in line and "error=false" in line

        def records() -> list[dict]:
            audit = tmp_path / "audit.jsonl"
            return [json.loads(l) for l in audit.read_text().splitlines()] if audit.exists() else []

        slow = wait_until(lambda: [r for r in records() if r.get("tool") == "slow"])
        assert [(r["outcome"], r["bytes_sent"]) for r in slow] == [("cancelled", 0)]
        metrics = httpx.get(f"{up.base}/metrics", timeout=10).text
        assert 'mcprt_tool_calls_total{outcome="cancelled",source="t",tool="slow"} 1.0' in metrics, metrics
        status = httpx.get(f"{up.base}/status.json", timeout=10).json()
        [figures] = [tool for tool in status["tools"] if tool["name"] == "slow"]
        assert (figures["calls"], figures["errors"]) == (1, 0)  # counted, but a client changing its mind is no error


async def test_a_client_closing_right_after_cancelling_its_call_closes_cleanly(tmp_path: Path) -> None:
    """The CI saw `BrokenResourceError` from an SDK client's close (tests/policy/test_policy_served.py): mcprt
    answers a cancelled call's POST (`-32800`) just after the cancel, and the SDK client raised when that answer
    came after its own read stream had closed (a third of the closes right after a cancel, tried). The suite's
    `http_client` waits for such answers before closing (tests/support/served.py, `OpenPosts`): fifteen closes at
    once after a cancel, none raises, and each call is recorded as cancelled."""
    (tmp_path / "nap_tools.py").write_text(NAP, encoding="utf-8")
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  t: {python: nap_tools}\n", encoding="utf-8")
    with mcprt_http(manifest, "--no-reload") as up:
        for _ in range(15):
            async with http_client(up.url) as client:
                with anyio.move_on_after(0.3):
                    await client.call_tool("nap", {"seconds": 3})
        wait_until(lambda: len([l for l in up.stderr if "call tool=nap" in l and "status=cancelled" in l]) == 15)


NAP = '''
import asyncio


async def nap(seconds: float) -> str:
    """Sleep `seconds`."""
    await asyncio.sleep(seconds)
    return "done"
'''


pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
