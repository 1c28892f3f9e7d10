"""The hot-reload tests' view of `mcprt up` as a subprocess (shared with the serving tests in
tests/support/served.py), plus small polling helpers."""

from __future__ import annotations

import time
from typing import Any

import anyio
from mcp import Client

from tests.support.served import ListChanged, UpProcess, child_env, http_client, mcprt_http, text_of  # noqa: F401

Served = UpProcess
mcprt_up_http = mcprt_http


async def tool_names(client: Client) -> list[str]:
    return [tool.name for tool in (await client.list_tools()).tools]


async def eventually(check: Any, timeout: float = 10.0, what: str = "condition") -> Any:
    """Await `check()` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await anyio.sleep(0.02)
