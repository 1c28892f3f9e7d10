"""Helpers for the serving tests: a demo manifest with a Python source, and `mcprt up` as a real
subprocess (stdio through the SDK client, HTTP on a free loopback port read from the banner). The
process and client plumbing is shared with the reload tests (tests/support/served.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcprt.pipeline import Runtime
from mcprt.settings import Settings

from tests.support.served import BANNER_URL, ListChanged, UpProcess, launch_command, text_of, up_command, wait_healthy  # noqa: F401
from tests.support.served import child_env as shared_child_env
from tests.support.served import http_client as shared_http_client
from tests.support.served import mcprt_http as shared_mcprt_http

TOKEN = "test-token-0123456789abcdef"

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
    """The child environment of the shared helper, with the token the demo manifest reads."""
    return shared_child_env(MCPRT_TEST_TOKEN=TOKEN, **extra)


def mcprt_http(manifest: Path, *args: str, env: dict[str, str] | None = None,
               startup_timeout: float = 20) -> AbstractContextManager[UpProcess]:
    return shared_mcprt_http(manifest, *args, env=env or child_env(), startup_timeout=startup_timeout)


def stdio_params(manifest: Path, *args: str, pidfile: Path | None = None) -> StdioServerParameters:
    """`mcprt up` over stdio; with `pidfile`, a shell writes the server's pid first (then `exec`s it)."""
    if pidfile is None:
        command = launch_command(manifest, *args)
        return StdioServerParameters(command=command[0], args=command[1:], env=child_env(), cwd=str(manifest.parent))
    command = up_command(manifest, *args)  # the pid the shell writes must be the server's
    script = f'echo $$ > "{pidfile}"; exec "$@"'
    return StdioServerParameters(command="/bin/sh", args=["-c", script, "sh", *command], env=child_env(),
                                 cwd=str(manifest.parent))


def http_client(url: str, *, token: str | None = TOKEN, mode: str = "legacy",
                message_handler: Callable[[Any], Awaitable[None]] | None = None) -> AbstractAsyncContextManager[Client]:
    """The shared SDK HTTP client, sending the demo token unless told otherwise."""
    return shared_http_client(url, token=token, mode=mode, message_handler=message_handler)


ListChangedCatcher = ListChanged


@asynccontextmanager
async def demo_runtime(folder: Path) -> AsyncIterator[Runtime]:
    """The demo manifest (`demo_manifest`) compiled by a real, started runtime; closed on exit."""
    runtime = Runtime(demo_manifest(folder), Settings(_env_file=None))
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.aclose()
