"""Helpers for the serving tests: a demo manifest with a Python source, and `mcprt up` as a real
subprocess (stdio through the SDK client, HTTP on a free loopback port read from the banner)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

TOKEN = "test-token-0123456789abcdef"
BANNER_URL = re.compile(r" at (http://\S+) \(")

DEMO_TOOLS = '''
"""Tools for the serving tests."""


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def fail(message: str) -> str:
    """Always fails with the given message."""
    raise ValueError(message)


def echo(text: str) -> str:
    """Return the text unchanged."""
    print("stray output from echo: must not reach the stdio protocol stream")
    return text
'''


def demo_manifest(
    folder: Path,
    *,
    name: str = "demo-server",
    instructions: str = "Tools for testing mcprt up.",
    http: str = "",
    auth: bool = False,
    renames: dict[str, str] | None = None,
) -> Path:
    """Write demo_tools.py and mcp.yaml into `folder`; return the manifest path.

    `http` is YAML for `server.http` (flow style, e.g. "{json_response: true}"); `auth` requires
    the bearer token from `MCPRT_TEST_TOKEN`; `renames` maps function → exposed tool name.
    """
    (folder / "demo_tools.py").write_text(DEMO_TOOLS)
    lines = ["version: 1", "server:", f"  name: {name}", f"  instructions: {instructions}"]
    if http:
        lines.append(f"  http: {http}")
    if auth:
        lines.append('  auth: {bearer_tokens: ["${MCPRT_TEST_TOKEN}"]}')
    lines += ["sources:", "  demo:", "    python: demo_tools"]
    if renames:
        lines.append("    tools:")
        lines += [f"      {fn}: {{name: {new}}}" for fn, new in renames.items()]
    path = folder / "mcp.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def child_env(**extra: str) -> dict[str, str]:
    """The test process's environment without MCPRT_* settings (they would change what is served)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCPRT_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["MCPRT_TEST_TOKEN"] = TOKEN
    env.update(extra)
    return env


def up_command(manifest: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "mcprt", "up", str(manifest), *args]


@dataclass
class UpProcess:
    """A running `mcprt up --transport http`; `stderr` collects its log lines as they arrive."""

    process: subprocess.Popen[str]
    url: str
    stderr: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.url.rsplit("/", 1)[0]

    def health(self) -> dict[str, Any]:
        return httpx.get(f"{self.base}/healthz", timeout=5).json()

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def stop(self, timeout: float = 10) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            log = "".join(self.stderr)
            raise AssertionError(f"mcprt up did not stop within {timeout}s of SIGTERM:\n{log}") from None


@contextmanager
def mcprt_http(manifest: Path, *args: str, env: dict[str, str] | None = None,
               startup_timeout: float = 20) -> Iterator[UpProcess]:
    """Start `mcprt up --transport http --port 0`, wait for the banner and /healthz; stop on exit."""
    process = subprocess.Popen(
        up_command(manifest, "--transport", "http", "--port", "0", *args),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env or child_env(), cwd=manifest.parent,
    )
    lines: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def read_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            match = BANNER_URL.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=read_stderr, daemon=True).start()
    up = UpProcess(process, "", lines)
    try:
        ready.wait(startup_timeout)
        if not found:
            process.kill()
            process.wait(5)
            raise AssertionError("mcprt up did not start:\n" + "".join(lines))
        up.url = found[0]
        wait_healthy(up)
        yield up
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def wait_healthy(up: UpProcess, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{up.base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("/healthz never answered:\n" + "".join(up.stderr))
        time.sleep(0.05)


def stdio_params(manifest: Path, *args: str, pidfile: Path | None = None) -> StdioServerParameters:
    """`mcprt up` over stdio; with `pidfile`, a shell writes the server's pid first (then `exec`s it)."""
    command = up_command(manifest, *args)
    if pidfile is None:
        return StdioServerParameters(command=command[0], args=command[1:], env=child_env(), cwd=str(manifest.parent))
    script = f'echo $$ > "{pidfile}"; exec "$@"'
    return StdioServerParameters(command="/bin/sh", args=["-c", script, "sh", *command], env=child_env(),
                                 cwd=str(manifest.parent))


@asynccontextmanager
async def http_client(url: str, *, token: str | None = TOKEN, mode: str = "legacy",
                      message_handler: Callable[[Any], Awaitable[None]] | None = None) -> AsyncIterator[Client]:
    """The SDK client on streamable HTTP, sending `Authorization: Bearer <token>` when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with create_mcp_http_client(headers=headers) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode=mode, message_handler=message_handler) as client:  # type: ignore[arg-type]
            yield client


class ListChangedCatcher:
    """A message_handler that records `notifications/tools/list_changed`."""

    def __init__(self) -> None:
        self.count = 0
        self._event = anyio.Event()

    async def __call__(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self.count += 1
            self._event.set()

    async def wait(self, timeout: float) -> bool:
        with anyio.move_on_after(timeout):
            await self._event.wait()
        received = self._event.is_set()
        self._event = anyio.Event()
        return received


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))
