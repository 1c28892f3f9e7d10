"""`mcprt up` as a real subprocess, and the SDK client pieces the serving and reload tests share.

The server is started with `--port 0`; its banner line (`… at http://127.0.0.1:PORT/mcp (…)`) says
where it listens. Its stderr is collected line by line so tests can assert on the log.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.support import zygote
from tests.support.cli import cli_env

BANNER_URL = re.compile(r" at (http://\S+) \(")


def child_env(**extra: str) -> dict[str, str]:
    """This environment minus MCPRT_* settings (they would change what is served), plus `extra`."""
    return cli_env({"PYTHONUNBUFFERED": "1", **extra})


def up_command(manifest: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "mcprt", "up", str(manifest), *args]


def launch_command(manifest: Path, *args: str) -> list[str]:
    """`up_command`, started as a fork of the suite's warm zygote when it can be (tests/support/zygote.py:
    the same code path without ~1.5 s of imports); `up_command` itself always starts a fresh interpreter
    (for tests about imports or wrapping the command)."""
    return zygote.launcher_command(["-m", "mcprt", "up", str(manifest), *args]) or up_command(manifest, *args)


def stdio_up(manifest: Path, *args: str, env: dict[str, str] | None = None) -> StdioServerParameters:
    """The SDK client's parameters for `mcprt up MANIFEST --no-reload ARGS` over stdio, run in the manifest's folder."""
    command = launch_command(manifest, "--no-reload", *args)
    return StdioServerParameters(command=command[0], args=command[1:], env=env if env is not None else child_env(),
                                 cwd=str(manifest.parent))


@dataclass
class UpProcess:
    """A running `mcprt up --transport http`; `stderr` collects its log lines as they arrive."""

    process: subprocess.Popen[str]
    url: str = ""
    stderr: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def pid(self) -> int:
        """The serving process's pid (with the zygote, not the launcher's: tests/support/zygote.py)."""
        return zygote.child_pid(self.process)

    @property
    def base(self) -> str:
        """The server's origin (`http://127.0.0.1:PORT`): mcprt serves its pages at the root, whatever
        `server.http.path` its endpoint has (`/v1/tools/rpc` too)."""
        return "/".join(self.url.split("/", 3)[:3])

    def health(self) -> dict[str, Any]:
        return httpx.get(f"{self.base}/healthz", timeout=5).json()

    def log(self) -> str:
        """Its log lines collected so far; once the process has exited, every line it wrote (the reader
        thread is joined: the last lines lag the exit). A line a running server writes before answering
        may not be collected when the answer arrives: assert such a line with `wait_log`."""
        if self.reader is not None and self.process.poll() is not None:
            self.reader.join(10)
        return "".join(self.stderr)

    def log_mark(self) -> int:
        """Where the log ends now: `log_since(mark)` is what came after (a shared server's log holds
        every earlier test's lines; a count over the whole log depends on which tests ran first)."""
        return len(self.stderr)

    def log_since(self, mark: int) -> str:
        return "".join(self.stderr[mark:])

    def wait_log(self, text: str, timeout: float = 30) -> str:
        """The log once it holds `text` (its stderr is read by a thread: a line the server wrote
        before answering may not be collected yet when the answer arrives); AssertionError after
        `timeout` seconds, with the log."""
        deadline = time.monotonic() + timeout
        while text not in self.log():
            assert time.monotonic() < deadline and self.process.poll() is None, f"no {text!r} in:\n{self.log()}"
            time.sleep(0.02)
        return self.log()

    def wait_log_beyond(self, text: str, count: int, timeout: float = 10) -> str:
        """The log once it holds `text` more than `count` times (an event that already happened before
        is seen again); AssertionError after `timeout` seconds, with the log."""
        deadline = time.monotonic() + timeout
        while self.log().count(text) <= count:
            assert time.monotonic() < deadline and self.process.poll() is None, f"no new {text!r} in:\n{self.log()}"
            time.sleep(0.05)
        return self.log()

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def stop(self, timeout: float = 10) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"mcprt up did not stop within {timeout}s of SIGTERM:\n{self.log()}") from None


@contextmanager
def mcprt_http(manifest: Path, *args: str, env: dict[str, str] | None = None,
               startup_timeout: float = 30, stdout: Path | None = None) -> Iterator[UpProcess]:
    """Start `mcprt up FILE --transport http --port 0`, wait for the banner and /healthz; SIGTERM on exit.
    Its stdout (what its Python sources print) is written to the file `stdout`, else discarded."""
    with open(stdout, "w", encoding="utf-8") if stdout is not None else contextlib.nullcontext() as out:
        process = subprocess.Popen(
            launch_command(manifest, "--transport", "http", "--port", "0", *args),
            stdin=subprocess.DEVNULL, stdout=out or subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env=env or child_env(), cwd=manifest.parent,
        )
    up = UpProcess(process)
    ready = threading.Event()

    def read_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            up.stderr.append(line)
            match = BANNER_URL.search(line)
            if match and not up.url:
                up.url = match.group(1)
                ready.set()
        ready.set()

    up.reader = threading.Thread(target=read_stderr, daemon=True)
    up.reader.start()
    try:
        ready.wait(startup_timeout)
        if not up.url:
            raise AssertionError("mcprt up did not start:\n" + up.log())
        wait_healthy(up)
        yield up
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
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
            raise AssertionError("/healthz never answered:\n" + up.log())
        time.sleep(0.05)


def is_ready(up: UpProcess) -> bool:
    """Whether `up`'s `GET /readyz` says "ready" (200, `status` "ready"). False for a process that does
    not answer, a draining one, and a "degraded" one - 200 too, so that a balancer keeps it, while its
    shared state does not answer PING (server/lifecycle.py): a status code alone cannot tell that a
    replica reconnected to Redis."""
    try:
        answer = httpx.get(f"{up.base}/readyz", timeout=5)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and answer.json().get("status") == "ready"


async def until_ready(replicas: Sequence[UpProcess], timeout: float, failure: str) -> None:
    """Poll (every 0.1 s) until each of `replicas` `is_ready`; AssertionError(`failure`) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not all(is_ready(up) for up in replicas):
        assert time.monotonic() < deadline, failure
        await anyio.sleep(0.1)


@asynccontextmanager
async def http_client(url: str, *, token: str | None = None, mode: str = "legacy",
                      message_handler: Callable[[Any], Awaitable[None]] | None = None,
                      **callbacks: Any) -> AsyncIterator[Client]:
    """The SDK client on streamable HTTP (legacy mode: list_changed arrives as a notification),
    sending `Authorization: Bearer <token>` when given; `callbacks`: the Client's
    `sampling_callback`, `elicitation_callback`, `list_roots_callback`."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with create_mcp_http_client(headers=headers) as http:
        posts = OpenPosts.around(http)
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode=mode, message_handler=message_handler,  # type: ignore[arg-type]
                          **callbacks) as client:
            yield client
            await posts.closed()


class OpenPosts:
    """Counts an SDK client's POSTs of JSON-RPC requests whose answer was not read yet: a transport around its
    HTTP client's own (httpx2's, or httpx's where a test passes one).

    A call the client gave up on (a cancel scope around `call_tool`) is answered by mcprt shortly after the
    client's `notifications/cancelled` (`-32800 Request cancelled`, MCP 2025-06-18 cancellation), which the SDK
    sends in the background as the block ends. The SDK client (2.3) passes a JSON answer into its read stream
    without catching a closed one: a client that closed before that answer came raised `BrokenResourceError`
    from its close (a third of such closes when tried; under CI load also after the test had waited for the
    server's own record of the cancel). `http_client` waits for its open POSTs before closing, bounded."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.open = 0

    @classmethod
    def around(cls, http: Any) -> OpenPosts:
        """Put a counting transport around `http`'s own (it has no mounts: a 127.0.0.1 URL, no proxy)."""
        posts = cls(http._transport)  # noqa: SLF001 - the client takes a transport only when it is built
        http._transport = posts  # noqa: SLF001
        return posts

    async def handle_async_request(self, request: Any) -> Any:
        if request.method != "POST" or not _is_request(request):
            return await self.inner.handle_async_request(request)
        self.open += 1
        try:
            response = await self.inner.handle_async_request(request)
        except BaseException:
            self.open -= 1
            raise
        stream, counted = response.stream, [True]
        close = stream.aclose

        async def aclose() -> None:  # the SDK closes the answer's stream once it has read it
            try:
                await close()
            finally:
                if counted:
                    counted.clear()
                    self.open -= 1

        stream.aclose = aclose
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def __aenter__(self) -> OpenPosts:
        await self.inner.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.inner.__aexit__(*exc_info)

    async def closed(self, timeout: float = 10) -> None:
        """Return once every request POST's answer was read and passed on, or after `timeout` seconds."""
        with anyio.move_on_after(timeout):
            while self.open:
                await anyio.sleep(0.01)
        # The SDK reads an answer's body (closing its stream) before it passes the answer on, through a
        # checkpoint and a hand-off to the session's reader: let the tasks ready to run do that first (each
        # checkpoint puts this task behind them; loop turns, not wall time, so load does not matter).
        for _ in range(20):
            await anyio.lowlevel.checkpoint()


def _is_request(request: Any) -> bool:
    """Whether a POST's body is one JSON-RPC request (a method and an id: an answer is due). A body not read
    yet (a redirect's request streams the one it follows) is not looked at: such a POST is not counted."""
    try:
        message = json.loads(request.content or b"null")
    except Exception:  # noqa: BLE001 - not JSON (ValueError), or not read yet (httpx's or httpx2's RequestNotRead)
        return False
    return isinstance(message, dict) and "method" in message and "id" in message


@asynccontextmanager
async def client_over(transport: str, manifest: Path, url: str, **options: Any) -> AsyncIterator[Client]:
    """The SDK client of one served manifest over `transport`: "http" → `url` (`http_client`, legacy mode unless
    `options` say otherwise), "stdio" → a `mcprt up` of `manifest` of its own (the Client's default mode unless
    `options` give `mode`); `options`: the Client's keyword arguments (callbacks, `mode`)."""
    if transport == "http":
        async with http_client(url, **options) as client:
            yield client
    else:
        async with Client(stdio_client(stdio_up(manifest, env=child_env())), **options) as client:  # type: ignore[arg-type]
            yield client


class Unanswered:
    """An elicitation callback of a user who never answers: `asked` is set when the question arrives, `voided`
    when the SDK client cancels the callback (it does when the server cancels its request: the question voided)."""

    def __init__(self) -> None:
        self.asked = anyio.Event()
        self.voided = anyio.Event()

    async def __call__(self, context: Any, params: Any) -> types.ElicitResult:
        self.asked.set()
        try:
            await anyio.sleep(60)
        except anyio.get_cancelled_exc_class():
            self.voided.set()
            raise
        return types.ElicitResult(action="decline")


class ListChanged:
    """A message_handler counting `notifications/tools/list_changed`."""

    def __init__(self) -> None:
        self.count = 0
        self._event = anyio.Event()

    async def __call__(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self.count += 1
            self._event.set()

    async def wait(self, timeout: float) -> bool:
        """True when a notification arrived since the last wait (within `timeout` seconds)."""
        with anyio.move_on_after(timeout):
            await self._event.wait()
        received = self._event.is_set()
        self._event = anyio.Event()
        return received

    async def wait_beyond(self, count: int, timeout: float) -> bool:
        """True once more than `count` notifications arrived (within `timeout` seconds)."""
        with anyio.move_on_after(timeout):
            while self.count <= count:
                await anyio.sleep(0.01)
        return self.count > count


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))
