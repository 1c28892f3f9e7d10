"""Helpers for the python- and MCP-source tests: manifests in tmp_path, a Runtime around them, the
fixture MCP server over HTTP. (A uniquely named module: every test folder has a `conftest`.)"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from mcprt.pipeline import Compiled, Runtime
from mcprt.settings import Settings
from mcprt.toolset.invoke import call_tool

from tests.support.components import alive
from tests.support.zygote import child_pid, script_command  # noqa: F401 - script_command: the fixture servers' command, for the tests here

FIXTURES = Path(__file__).parent / "fixtures"
MCP_SERVER = FIXTURES / "mcp_server.py"
PYTHON = sys.executable


def write_manifest(folder: Path, body: str, name: str = "mcp.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


@asynccontextmanager
async def running(manifest: Path) -> AsyncIterator[tuple[Runtime, Compiled]]:
    """Compile a manifest with a fresh Runtime (caches next to it); close every source afterwards."""
    settings = Settings(_env_file=None, cache_dir=manifest.parent / ".mcprt-cache")  # type: ignore[call-arg]
    runtime = Runtime(manifest, settings)
    try:
        compiled = await runtime.compile()
        yield runtime, compiled
    finally:
        await runtime.aclose()


async def call(compiled: Compiled, tool: str, arguments: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Call a tool through the real pipeline; return the MCP `tools/call` result (wire format)."""
    found = compiled.toolset.get(tool)
    assert found is not None, f"no tool {tool!r}; have {[t.name for t in compiled.toolset]}"
    return (await call_tool(found, arguments or {}, **kwargs)).to_wire()


def text_of(result: dict[str, Any]) -> str:
    return "\n".join(block["text"] for block in result["content"] if block.get("type") == "text")


def json_of(result: dict[str, Any]) -> Any:
    return json.loads(result["content"][0]["text"])


async def eventually(check: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll an (async or sync) check until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


@contextmanager
def http_server(*flags: str, port: int = 0) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """The fixture MCP server over streamable HTTP on 127.0.0.1, as a subprocess; yields (process, port)."""
    process = subprocess.Popen(
        script_command(MCP_SERVER, "--http", "--port", str(port), *flags),
        stdout=subprocess.PIPE,
        text=True,
    )
    server: int | None = None
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"fixture HTTP server did not start (exit {process.poll()})")
        server = child_pid(process)  # the server itself (a zygote's fork: not the launcher)
        yield process, int(line.split()[1])
    finally:
        process.kill()
        process.wait(timeout=10)
        # A forked server is killed by the zygote once its launcher is gone, a moment later: wait for
        # that, so "stopped" means its port no longer answers (test_nothing_listening_is_a_diagnostic
        # met the dying server's ReadError instead of a refused connection)
        deadline = time.monotonic() + 10
        while server is not None and alive(server) and time.monotonic() < deadline:
            time.sleep(0.01)
