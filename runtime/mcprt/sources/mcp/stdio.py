"""A stdio transport for the SDK's `Client` that we own end to end.

The SDK has one, but a proxy needs more from it: the server's stderr goes to our log line by line
(and its last lines into the error when it fails to start), we must know the moment the process
dies (to restart it), and closing must end the whole process group — stdin closed first, then
SIGTERM, then SIGKILL after a grace period — so no grandchild outlives mcprt.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.abc
import mcp_types as types
from mcp.shared.message import SessionMessage

from .lines import LineSplitter, Oversized
from .vetting import NOT_A_RESPONSE, OVERSIZED
from .process import REAPER, end_group

STDIN_CLOSE_GRACE = 1.0  # a well-behaved server exits by itself once its stdin closes
TERM_GRACE = 2.0  # then SIGTERM, and SIGKILL after this long
_TAIL_LINES = 20
_MAX_LOGGED_LINE = 2000


@dataclass(frozen=True)
class ProcessSpec:
    """What to start: resolved program and arguments, full environment, working directory."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    files: tuple[Path, ...] = ()  # local files among the arguments (a script the server runs)


@dataclass
class ServerProcess:
    """What the source knows about the running server process."""

    pid: int
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=_TAIL_LINES))
    returncode: int | None = None
    gone: anyio.Event = field(default_factory=anyio.Event)  # exited, or closed its stdout
    stopping: bool = False  # we are ending it (so its exit says nothing about why it failed)
    hung: bool = False  # the liveness check found it answering nothing: killed at once when stopped (`_stop`)

    @property
    def exited_by_itself(self) -> bool:
        return self.gone.is_set() and not self.stopping

    def describe_exit(self) -> str:
        code = self.returncode
        how = f"exited with code {code}" if code is not None and code >= 0 else (
            f"was killed by signal {-code}" if code is not None else "closed its output"
        )
        tail = " | ".join(list(self.stderr_tail)[-5:])
        return f"the server {how}" + (f"; its last stderr lines: {tail}" if tail else "")


@asynccontextmanager
async def stdio_transport(
    spec: ProcessSpec, log: logging.Logger, started: Callable[[ServerProcess], None],
    stderr_level: Callable[[], int] = lambda: logging.INFO,
) -> AsyncIterator[tuple[anyio.abc.ObjectReceiveStream, anyio.abc.ObjectSendStream]]:
    """Start the server; yield (read, write) message streams; end its process group on exit.
    Each stderr line is logged at `stderr_level()`, asked per line (it changes while the process lives)."""
    process = await anyio.open_process(
        spec.argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=spec.cwd,
        env=spec.env,
        start_new_session=True,
    )
    server = ServerProcess(pid=process.pid)
    REAPER.watch(process.pid)  # its group is ended even if mcprt is killed with SIGKILL
    started(server)
    incoming_send, incoming = anyio.create_memory_object_stream[SessionMessage | Exception](16)
    outgoing, outgoing_receive = anyio.create_memory_object_stream[SessionMessage](16)

    async def read_stdout() -> None:
        assert process.stdout is not None
        lines = LineSplitter()
        try:
            async with incoming_send:
                async for chunk in process.stdout:
                    for line in lines.feed(chunk):
                        message = _too_big(line, lines.limit, log) if isinstance(line, Oversized) else _parse(line, log)
                        if message is not None:
                            await incoming_send.send(message)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            pass
        server.gone.set()  # end of output (not set when cancelled: that is our own shutdown)

    async def write_stdin() -> None:
        assert process.stdin is not None
        try:
            async with outgoing_receive:
                async for message in outgoing_receive:
                    text = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await process.stdin.send(text.encode("utf-8") + b"\n")
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            server.gone.set()

    async def read_stderr() -> None:
        assert process.stderr is not None
        lines = LineSplitter(limit=_MAX_LOGGED_LINE * 4)  # longer stderr lines are not logged whole anyway
        try:
            async for chunk in process.stderr:
                for raw in lines.feed(chunk):
                    if isinstance(raw, Oversized):
                        log.warning("the server wrote a %d-byte line on stderr (not logged)", raw.size)
                    else:
                        _log_stderr(raw, server, log, stderr_level())
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            pass
        if lines.rest():
            _log_stderr(lines.rest(), server, log, stderr_level())

    async def watch_exit() -> None:
        while process.returncode is None:  # not process.wait(): a grandchild may hold the pipes open
            await anyio.sleep(0.05)
        server.returncode = process.returncode
        server.gone.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(read_stdout)
        tasks.start_soon(write_stdin)
        tasks.start_soon(read_stderr)
        tasks.start_soon(watch_exit)
        try:
            yield incoming, outgoing
        finally:
            with anyio.CancelScope(shield=True):
                await _stop(process, server)
                outgoing.close()
                incoming.close()
            tasks.cancel_scope.cancel()


async def _stop(process: anyio.abc.Process, server: ServerProcess) -> None:
    """stdin closed → wait → SIGTERM the group → wait → SIGKILL; then the group's stragglers.

    A server found hung (`ServerProcess.hung`) gets no grace: it answered no ping, so it reads no EOF
    and handles no SIGTERM (a SIGSTOPped process cannot), and waiting STDIN_CLOSE_GRACE + TERM_GRACE
    (3 s) only kept its restart, and every call waiting for it, that much longer."""
    server.stopping = not server.gone.is_set()
    if process.stdin is not None:
        try:
            await process.stdin.aclose()
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass
    with anyio.move_on_after(0 if server.hung else STDIN_CLOSE_GRACE):
        while process.returncode is None:
            await anyio.sleep(0.02)
    await end_group(server.pid, 0 if server.hung else TERM_GRACE)  # the leader's pid is the group id
    with anyio.move_on_after(2.0):
        while process.returncode is None:
            await anyio.sleep(0.02)
    server.returncode = process.returncode
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            try:
                await stream.aclose()
            except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass


def _too_big(line: Oversized, limit: int, log: logging.Logger) -> SessionMessage | None:
    """An oversized message fails the request it answers (when its id could be read), not the server."""
    log.warning("the server sent a %d-byte message, over the limit of %d bytes (MCPRT_MAX_MESSAGE_BYTES); "
                "dropped", line.size, limit)
    if line.request_id is None:
        return None
    error = {"jsonrpc": "2.0", "id": line.request_id, "error": {
        "code": -32603, "message": f"the server's answer was {line.size:,} bytes, over mcprt's limit of {limit:,} "
                                   f"{OVERSIZED}"}}
    return SessionMessage(types.jsonrpc_message_adapter.validate_python(error, by_name=False))


def _parse(line: bytes, log: logging.Logger) -> SessionMessage | None:
    text = line.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(text, by_name=False))
    except ValueError:
        pass
    answered = _answered_id(text)
    if answered is not None:  # an answer to one of our requests, in a malformed envelope: that request fails
        log.warning("the server answered request %s with a malformed JSON-RPC response (its `result` must be an "
                    "object): %s", answered, text[:200])
        error = {"jsonrpc": "2.0", "id": answered, "error": {
            "code": types.INTERNAL_ERROR, "message": NOT_A_RESPONSE}}
        return SessionMessage(types.jsonrpc_message_adapter.validate_python(error, by_name=False))
    log.warning("ignored a line on the server's stdout that is not a JSON-RPC message: %s", text[:200])
    return None


def _answered_id(text: str) -> int | str | None:
    """The id of a line that is a response in every way but a valid envelope (e.g. `"result": 42`)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not ("result" in data or "error" in data):
        return None
    found = data.get("id")
    return found if isinstance(found, (int, str)) and not isinstance(found, bool) else None


def _log_stderr(raw: bytes, server: ServerProcess, log: logging.Logger, level: int) -> None:
    line = raw.decode("utf-8", errors="replace").rstrip()
    if not line:
        return
    server.stderr_tail.append(line[:300])
    log.log(level, "%s", line[:_MAX_LOGGED_LINE])
