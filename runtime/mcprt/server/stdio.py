"""The stdio transport: one client on stdin/stdout; logs stay on stderr.

`StdioWire` claims both descriptors for the protocol. stdout: the protocol is written to a private
duplicate of fd 1, and fd 1 itself is pointed at stderr while serving, so a stray print from a
Python tool cannot corrupt the JSON-RPC stream (the SDK's `stdio_server()` does the same when it
owns stdout; here it is handed the wire instead, because `early` writes to it first). stdin is read
by the event loop when it is a pipe or a socket (an epoll set of mcprt's own watched by the loop,
`RWF_NOWAIT` reads: no O_NONBLOCK on a descriptor a terminal or an inherited pipe shares with other
processes, which uvloop's own reader would set), else by a daemon thread (the SDK reads it in a
worker thread that a shutdown must wait for, so SIGTERM with the client's pipe still open would
hang). fd 0 is pointed at /dev/null while serving, as the SDK does, so nothing else in the
process can steal protocol bytes. Messages are written at once as far as the pipe takes them
(`RWF_NOWAIT`, Linux ≥ 4.14 for pipes' semantics here), the rest by a thread: no thread hop per
answer unless the client reads behind.

With a `Notifier`, `serve_stdio` answers `tools/call` and `tools/list` on the lean path
(`stdio_lean`), the rest through the SDK's session.

This module imports the MCP SDK only inside `serve_stdio`: `mcprt up` answers the handshake and
the first tools/list on the wire before the SDK is loaded (`early`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import stat
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..stdout_claim import claimed_stdout

if TYPE_CHECKING:
    from ..pipeline import Runtime
    from .app import McprtServer
    from .notify import Notifier

_EOF = None
READ_BYTES = 1 << 16
_RWF_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)
log = logging.getLogger("mcprt")


class StdinLines:
    """Async iterator over the lines of a file descriptor.

    A pipe or a socket (what MCP clients spawn servers with) is read by the event loop itself: an
    epoll set of our own holds the descriptor and the loop watches that set, and each read is
    `RWF_NOWAIT` — so no flag of the descriptor changes (O_NONBLOCK would be seen by every process
    sharing it), and a request costs one wake-up of the loop instead of a reader thread's wake-up
    plus a hand-over to the loop (two scheduler round trips and a GIL hand-off per request). Other
    descriptors (a terminal, a file), an old kernel or a platform without epoll are read by a
    daemon thread. `close()` ends the iteration at once (a clean EOF for the server), whatever the
    thread is blocked on; the thread dies with the process.
    """

    def __init__(self, fd: int) -> None:
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._closed = False
        self._fd = fd
        self.fd = fd  # read-only: what is read (`stdin_is_file`)
        self._parts: list[bytes] = []  # the start of a line not complete yet
        self._poller: Any = None
        self._buffer = bytearray(READ_BYTES)  # the loop's reads (`_on_ready`)
        self._view = memoryview(self._buffer)
        self._idle_wakeups = 0
        self.threaded = False  # True once a thread reads the descriptor
        self.client_closed = False  # the descriptor's own end (the client closed stdin), not `close()`
        if not self._watch():
            self._to_thread()

    # --- read by the event loop ----------------------------------------------------------------

    def _watch(self) -> bool:
        """Watch the descriptor from the loop (see the class docstring); False when it cannot be."""
        import select
        import stat

        if _RWF_NOWAIT is None or not hasattr(select, "epoll") or os.environ.get("MCPRT_STDIN_THREAD") == "1":
            return False
        try:
            mode = os.fstat(self._fd).st_mode
            if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
                return False
            poller = select.epoll()
            try:
                poller.register(self._fd, select.EPOLLIN)
                self._loop.add_reader(poller.fileno(), self._on_ready)
            except BaseException:
                poller.close()
                raise
        except (OSError, NotImplementedError, ValueError):
            return False
        self._poller = poller
        return True

    def _on_ready(self) -> None:
        """Read what the descriptor holds now, hand over its complete lines, until it would block."""
        buffer = self._buffer  # one buffer for every read (its bytes are copied out below)
        while self._poller is not None:
            try:
                got = os.preadv(self._fd, [buffer], -1, _RWF_NOWAIT)
            except BlockingIOError:
                # Nothing to read after all (another process sharing the descriptor took it): wait
                # again; if that keeps happening the readiness means nothing here, so use the thread.
                self._idle_wakeups += 1
                if self._idle_wakeups > 1000:
                    self._to_thread()
                return
            except InterruptedError:
                continue
            except OSError:  # RWF_NOWAIT refused for this descriptor (an old kernel): read by a thread
                self._to_thread()
                return
            self._idle_wakeups = 0
            if not got:
                self._unwatch()
                self._end()
                return
            self._put_all(self._lines(bytes(self._view[:got])))
            if got < READ_BYTES:
                return  # took all there was: the next wake-up brings more

    def _unwatch(self) -> None:
        poller, self._poller = self._poller, None
        if poller is not None:
            with contextlib.suppress(OSError, RuntimeError):
                self._loop.remove_reader(poller.fileno())
            poller.close()

    def _to_thread(self) -> None:
        self._unwatch()
        self.threaded = True
        threading.Thread(target=self._pump, name="mcprt-stdin", daemon=True).start()

    # --- read by a thread ----------------------------------------------------------------------

    def _pump(self) -> None:
        # Whole chunks, and every complete line of one chunk handed over at once: one wake-up of the
        # loop (and one wait for the GIL while it is busy) per read, not per line of a pipelined burst.
        try:
            while chunk := os.read(self._fd, READ_BYTES):
                if lines := self._lines(chunk):
                    self._deliver(lines)
        except (OSError, ValueError):
            pass
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._end)

    def _deliver(self, items: list[str | None]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: the process is exiting
            self._loop.call_soon_threadsafe(self._put_all, items)

    # --- either way ----------------------------------------------------------------------------

    def _lines(self, chunk: bytes) -> list[str | None]:
        """The complete lines `chunk` ends (each with its newline); the rest is kept for the next."""
        if b"\n" not in chunk:
            self._parts.append(chunk)
            return []
        *lines, rest = (b"".join(self._parts) + chunk if self._parts else chunk).split(b"\n")
        self._parts = [rest] if rest else []
        return [line.decode("utf-8", errors="replace") + "\n" for line in lines]

    def _end(self) -> None:
        """The descriptor ended: a last line without its newline, then EOF."""
        self.client_closed = not self._closed
        if self._parts:
            self._put_all([b"".join(self._parts).decode("utf-8", errors="replace")])
            self._parts = []
        self._put_all([_EOF])

    def _put_all(self, items: list[str | None]) -> None:
        for item in items:
            self._queue.put_nowait(item)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._unwatch()
            self._queue.put_nowait(_EOF)

    def __aiter__(self) -> StdinLines:
        return self

    async def __anext__(self) -> str:
        if self._closed and self._queue.empty():
            raise StopAsyncIteration
        line = await self._queue.get()
        if line is _EOF:
            self._closed = True
            raise StopAsyncIteration
        return line


PIPE_BYTES = 1 << 20  # Linux's default limit for an unprivileged process (/proc/sys/fs/pipe-max-size)


def _widen_pipe(fd: int) -> None:
    """Make a pipe on `fd` hold 1 MiB (Linux `F_SETPIPE_SZ`; the default is 64 KiB), so a 100 KB answer
    is written at once instead of waiting, in a thread, for the client to read the first part. Only
    the pipe's capacity changes; anything else (a socket, a terminal, a file) is left as it is."""
    try:
        import fcntl
        import stat

        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (ImportError, OSError):  # not Linux, or over the limit: the default size works, a little slower
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class StdioWire:
    """The protocol's two ends: `lines` (client → server) and `send()` (server → client, one whole
    message per call, newline-terminated).

    `replay` lines are read before stdin's (`early` hands over the messages it consumed), and
    the one response whose id is `drop_response_id` is not written (the SDK's answer to a replayed
    `initialize` the client already got its answer to).
    """

    def __init__(self, stdin_fd: int, stdout_fd: int) -> None:
        self.lines = StdinLines(stdin_fd)
        self._out = stdout_fd
        self.replay: list[str] = []
        self.drop_response_id: str | None = None
        # ids of requests handed to the SDK's session and not answered yet (`expect`, `answered`): at
        # stdin's end their answers are written before the session is told (`finish_at_eof`)
        self.awaiting: set[Any] = set()
        self._lock = asyncio.Lock()
        self._nowait = _RWF_NOWAIT is not None  # False once the descriptor refuses it
        _widen_pipe(stdout_fd)

    async def send(self, data: bytes) -> None:
        """Write one message (bytes ending in a newline): what the pipe takes now is written at once
        (`RWF_NOWAIT`), the rest in a thread, as a full pipe blocks."""
        async with self._lock:  # messages never interleave
            try:
                rest = self._write_now(data) if self._nowait else memoryview(data)
                if rest:
                    await asyncio.to_thread(_write_all, self._out, rest)
            except BrokenPipeError:  # the client left; its EOF ends the session
                pass

    def _write_now(self, data: bytes) -> memoryview:
        """Write what fits without blocking; the part left. `RWF_NOWAIT` (Linux) makes this one write
        non-blocking without setting O_NONBLOCK on a descriptor the client's process may share."""
        view = memoryview(data)
        try:
            while view:
                view = view[os.pwritev(self._out, [view], -1, _RWF_NOWAIT):]
        except BlockingIOError:  # the pipe is full: the client is reading behind
            pass
        except BrokenPipeError:
            raise
        except OSError:  # not supported for this kind of descriptor (a terminal, an old kernel)
            self._nowait = False
        return view

    def expect(self, request_id: Any) -> None:
        """A request with this id went to the SDK's session: its answer is awaited at stdin's end."""
        self.awaiting.add(_id_key(request_id))

    def cancelled(self, request_id: Any) -> None:
        """The client cancelled this request: no answer comes (MCP basic/utilities/cancellation)."""
        self.awaiting.discard(_id_key(request_id))

    def answered(self, text: str) -> None:
        """The SDK wrote `text` (one message, or a batch's array): the ids it answers are no longer awaited."""
        if not self.awaiting:
            return
        for line in text.splitlines():
            # the SDK serializes a response head first (`{"jsonrpc":"2.0","id":…,"result"…`): read the id
            # there, not by parsing a result of any size; anything else (a batch's array) is parsed
            head = _RESPONSE_HEAD.match(line)
            if head is not None:
                self.awaiting.discard(_id_key(json.loads(head.group(1))))
                continue
            if not line.startswith("["):
                continue
            try:
                message = json.loads(line)
            except ValueError:
                continue
            for item in message if isinstance(message, list) else [message]:
                if isinstance(item, dict) and "id" in item and ("result" in item or "error" in item):
                    self.awaiting.discard(_id_key(item["id"]))

    async def _incoming(self) -> AsyncIterator[str]:
        while self.replay:
            yield self.replay.pop(0)
        async for line in self.lines:
            yield line

    def sdk_stdin(self) -> AsyncIterator[str]:
        """The line iterator the SDK's `stdio_server(stdin=…)` reads: replayed lines, then stdin."""
        return self._incoming()

    def sdk_stdout(self) -> _SdkOut:
        """The text stream the SDK's `stdio_server(stdout=…)` writes to."""
        return _SdkOut(self)


class _SdkOut:
    """Adapter for the SDK's writer (`await write(text)`, then `await flush()`)."""

    def __init__(self, wire: StdioWire) -> None:
        self._wire = wire
        self._pending: list[str] = []

    async def write(self, text: str) -> None:
        self._pending.append(text)

    async def flush(self) -> None:
        text, self._pending = "".join(self._pending), []
        if not text:
            return
        drop = self._wire.drop_response_id
        self._wire.answered(text)
        if drop is not None and text.startswith(f'{{"jsonrpc":"2.0","id":"{drop}"'):
            self._wire.drop_response_id = None
            if '"error":' in text[:200 + len(drop)]:
                log.warning("the SDK refused the replayed initialize request: %s", text[:500])
            return
        await self._wire.send(text.encode("utf-8"))


_RESPONSE_HEAD = re.compile(r'\{"jsonrpc":\s*"2\.0",\s*"id":\s*("(?:[^"\\]|\\.)*"|-?\d+)\s*,\s*"(?:result|error)"')


def _id_key(request_id: Any) -> Any:
    # JSON-RPC ids are strings or numbers; a number and its string answer the same request (as the SDK
    # correlates a stringified cancel)
    return str(request_id)


EOF_ANSWER_GRACE = 1.5  # s: at stdin's end, for the calls and their answers in all (the SDK client's SIGTERM comes at 2 s)
EOF_RUN_GRACE = 1.0  # s of `EOF_ANSWER_GRACE` the calls get to finish on their own before they are ended
# s the calls get to finish on their own when stdin is a regular file (`mcprt up < requests.jsonl`): no host
# waits to kill the process, and the file's end comes with its requests, before any call could finish
EOF_FILE_GRACE = 30.0


def stdin_is_file(fd: int) -> bool:
    """Whether descriptor `fd` is a regular file (a shell's `< file`), not a host's pipe or a terminal."""
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        return False


async def finish_at_eof(wire: StdioWire, pending: Callable[[], int] = lambda: 0) -> None:
    """The client closed stdin (MCP basic/lifecycle "Shutdown", stdio): before the session learns it
    (which cancels what still runs, answered a bare `-32000 Connection closed`, and drops an answer
    being written — a trial's finished `add` got no answer at all), the calls running get
    `EOF_RUN_GRACE` (`EOF_FILE_GRACE` when stdin is a regular file) to finish and have their results
    written; each call still running then is ended with `-32000 Connection closed` saying the upstream
    may have acted (`toolset.stopping.STDIN_CLOSED`; other requests: the `shutting_down` error), and
    those answers are written within what is left of `EOF_ANSWER_GRACE` (at least 0.5 s). Why wait
    first: a piped file's EOF arrives with its requests, so ending calls at once cut every one of them,
    a quick `add` included. `pending`: answers of the lean path still being computed or written."""
    from ..toolset.stopping import RUNNING, STDIN_CLOSED

    loop = asyncio.get_running_loop()
    started = loop.time()
    from_file = stdin_is_file(wire.lines.fd)
    run_deadline = started + (EOF_FILE_GRACE if from_file else EOF_RUN_GRACE)

    def unanswered() -> bool:
        return bool(len(RUNNING) or wire.awaiting or pending())

    while unanswered() and loop.time() < run_deadline:  # the calls finish on their own, answered as usual
        await asyncio.sleep(0.01)
    deadline = max(started + EOF_ANSWER_GRACE, loop.time() + EOF_ANSWER_GRACE - EOF_RUN_GRACE)
    ended = 0
    while True:
        ended += RUNNING.end_all(STDIN_CLOSED)  # again each turn: a request the session started meanwhile
        if not unanswered() or loop.time() >= deadline:
            break
        await asyncio.sleep(0.01)
    from ..observability.log import log_event

    if ended:
        log_event("stdin closed: the requests in flight are answered '-32000 Connection closed' (the upstream may "
                  "have acted)", logging.INFO, requests_ended=ended, waited_s=round(deadline - started, 1))
    if wire.awaiting or len(RUNNING):
        log_event("stdin closed: requests still unanswered at the bound", logging.WARNING,
                  unanswered=max(len(wire.awaiting), len(RUNNING)), within_s=round(deadline - started, 1))


async def _answered_before_eof(wire: StdioWire, lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The SDK's input on its own path (`MCPRT_STDIO_LEAN=0`): each request's id noted, and at the
    client's EOF the answers written before the session is told (`finish_at_eof`)."""
    from .lean import plain_jsonrpc

    async for line in lines:
        message = plain_jsonrpc(line)
        if message is not None and "id" in message:
            wire.expect(message["id"])
        elif message is not None and message.get("method") == "notifications/cancelled":
            params = message.get("params")
            if isinstance(params, dict) and "requestId" in params:
                wire.cancelled(params["requestId"])
        yield line
    if wire.lines.client_closed:
        await finish_at_eof(wire)


@contextlib.contextmanager
def _claim_stdin() -> Iterator[int]:
    """A private duplicate of fd 0 to read from; fd 0 itself reads /dev/null until restored."""
    try:
        if sys.stdin is None or sys.stdin.fileno() != 0:
            raise OSError
        private = os.dup(0)
    except (OSError, ValueError, AttributeError):
        yield 0
        return
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:
        yield private
    finally:
        with contextlib.suppress(OSError):
            os.dup2(private, 0)
        # `private` stays open: the reader thread may still be blocked on it.


@contextlib.contextmanager
def claim_stdio() -> Iterator[StdioWire]:
    """Claim stdin and stdout for the protocol (see the module docstring); restored on exit."""
    with _claim_stdin() as stdin_fd, claimed_stdout() as stdout_fd:
        wire = StdioWire(stdin_fd, stdout_fd)
        try:
            yield wire
        finally:
            wire.lines.close()


async def serve_stdio(server: McprtServer, stop: asyncio.Event, wire: StdioWire | None = None, *,
                      notifier: Notifier | None = None, runtime: Runtime | None = None) -> None:
    """Serve one client until it closes stdin or `stop` is set (on `wire`, else on a claim of
    the process's stdin/stdout made here).

    With `notifier` (whose session tracking finds the handshake-era connection), `tools/call` and
    `tools/list` are answered beside the SDK's session (`stdio_lean`) unless `MCPRT_STDIO_LEAN=0`.
    With `runtime` (whose sources serve), the client is its sole client (sole_client.py): proxied
    servers' roots requests and log messages outside any call reach it.
    """
    if wire is None:
        with claim_stdio() as own:
            await serve_stdio(server, stop, own, notifier=notifier, runtime=runtime)
        return
    log.debug("stdio: stdin read by %s", "a thread" if wire.lines.threaded else "the event loop")
    from .sole_client import SoleClient

    # the one client gets what proxied servers send outside calls
    sole = SoleClient(server, server.levels, runtime) if runtime is not None else None
    try:
        with _asyncio_declared():
            await _serve_wire(server, stop, wire, notifier)
    finally:
        if sole is not None:
            sole.close()


@contextlib.contextmanager
def _asyncio_declared() -> Iterator[None]:
    """Tell sniffio that this thread runs asyncio while it serves (what its `thread_local.name` is
    for). anyio asks sniffio on every `Event`, `CancelScope` and deadline (the SDK's request kernel
    makes several per request), and sniffio otherwise finds out by looking up the current task,
    whose loop look-up makes a getpid system call each time: a few per cent of a stdio call."""
    import sniffio

    previous = sniffio.thread_local.name
    sniffio.thread_local.name = "asyncio"
    try:
        yield
    finally:
        sniffio.thread_local.name = previous


async def _serve_wire(server: McprtServer, stop: asyncio.Event, wire: StdioWire, notifier: Notifier | None) -> None:
    if notifier is None or os.environ.get("MCPRT_STDIO_LEAN", "1") == "0":
        await _serve_session(stop, wire, _answered_before_eof(wire, wire.sdk_stdin()),
                             lambda read, write: server.run(read, write, server.create_initialization_options()))
        return
    from mcp.server.runner import serve_dual_era_loop

    from .stdio_lean import StdioLean

    # What `Server.run` does (its lifespan, then the dual-era loop), keeping the lifespan state the
    # lean answers need.
    async with server.lifespan(server) as state:
        lean = StdioLean(server, notifier, wire, state)
        pump = asyncio.create_task(lean.pump())
        try:
            await _serve_session(stop, wire, lean.sdk_lines(), lambda read, write: serve_dual_era_loop(
                server, read, write, lifespan_state=state, init_options=server.create_initialization_options()))
        finally:
            wire.lines.close()
            try:
                await asyncio.wait_for(asyncio.shield(pump), timeout=10)  # it bounds its own shutdown (5 s)
            except (TimeoutError, asyncio.CancelledError):
                pump.cancel()
                await asyncio.gather(pump, return_exceptions=True)
            log.debug("stdio: %d requests answered on the lean path", lean.answered)


async def _serve_session(stop: asyncio.Event, wire: StdioWire, lines: AsyncIterator[str],
                         run: Callable[[Any, Any], Awaitable[None]]) -> None:
    """Run the SDK's session (`run(read_stream, write_stream)`) over `lines` and the wire until it
    ends or `stop` is set; then EOF, two seconds to wind down, and cancellation."""
    from mcp.server.stdio import stdio_server

    async with stdio_server(stdin=lines, stdout=wire.sdk_stdout()) as (  # type: ignore[arg-type]
            read_stream, write_stream):
        session = asyncio.create_task(run(read_stream, write_stream))
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({session, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            wire.lines.close()  # EOF: the session winds down by itself and closes the write side
            try:
                await asyncio.wait_for(asyncio.shield(session), timeout=2)
            except (TimeoutError, asyncio.CancelledError):
                session.cancel()
                await asyncio.gather(session, return_exceptions=True)
        if not session.cancelled() and session.exception() is not None:
            raise session.exception()  # type: ignore[misc]
