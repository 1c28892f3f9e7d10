"""`mcprt up` as a real subprocess for the hot-reload tests, plus the SDK client pieces they need.

The server is started with `--port 0`; its banner line (`… at http://127.0.0.1:PORT/mcp (…)`)
says where it listens. Its stderr is collected line by line so tests can assert on the log.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

BANNER_URL = re.compile(r" at (http://\S+) \(")


def child_env() -> dict[str, str]:
    """This environment minus MCPRT_* settings (they would change what is served)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCPRT_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str = ""
    stderr: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.url.rsplit("/", 1)[0]

    def health(self) -> dict[str, Any]:
        return httpx.get(f"{self.base}/healthz", timeout=5).json()

    def log(self) -> str:
        return "".join(self.stderr)


@contextmanager
def mcprt_up_http(manifest: Path, *args: str, startup_timeout: float = 30) -> Iterator[Served]:
    """`mcprt up FILE --transport http --port 0` (hot reload on); stopped with SIGTERM on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mcprt", "up", str(manifest), "--transport", "http", "--port", "0", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=child_env(), cwd=manifest.parent,
    )
    served = Served(process)
    ready = threading.Event()

    def read_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            served.stderr.append(line)
            match = BANNER_URL.search(line)
            if match and not served.url:
                served.url = match.group(1)
                ready.set()
        ready.set()

    threading.Thread(target=read_stderr, daemon=True).start()
    try:
        ready.wait(startup_timeout)
        if not served.url:
            raise AssertionError("mcprt up did not start:\n" + served.log())
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@asynccontextmanager
async def http_client(url: str, *, mode: str = "legacy", message_handler: Any = None) -> AsyncIterator[Client]:
    """The SDK client over streamable HTTP (legacy mode: list_changed arrives as a notification)."""
    async with create_mcp_http_client() as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode=mode, message_handler=message_handler) as client:  # type: ignore[arg-type]
            yield client


class ListChanged:
    """A message_handler counting `notifications/tools/list_changed`."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self.count += 1

    async def wait_beyond(self, count: int, timeout: float) -> bool:
        """True once more than `count` notifications arrived (within `timeout` seconds)."""
        with anyio.move_on_after(timeout):
            while self.count <= count:
                await anyio.sleep(0.01)
        return self.count > count


async def tool_names(client: Client) -> list[str]:
    return [tool.name for tool in (await client.list_tools()).tools]


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


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
