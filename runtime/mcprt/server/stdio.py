"""The stdio transport: one client on stdin/stdout; logs stay on stderr.

stdout is claimed by the SDK's `stdio_server()` (fd 1 is diverted to stderr while serving, so a
stray print from a Python tool cannot corrupt the JSON-RPC stream). stdin is read here instead, by
a daemon thread: the SDK reads it in a worker thread that a shutdown must wait for, so SIGTERM
with the client's pipe still open would hang. fd 0 is pointed at /dev/null while serving, as the
SDK does, so nothing else in the process can steal protocol bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Iterator

from mcp.server.stdio import stdio_server

from .app import McprtServer

_EOF = None


class StdinLines:
    """Async iterator over the lines of a file descriptor, read by a daemon thread.

    `close()` ends the iteration at once (a clean EOF for the server), whatever the thread is
    blocked on; the thread dies with the process.
    """

    def __init__(self, fd: int) -> None:
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._closed = False
        threading.Thread(target=self._pump, args=(fd,), name="mcprt-stdin", daemon=True).start()

    def _pump(self, fd: int) -> None:
        try:
            with open(fd, "rb", closefd=False) as lines:
                for line in lines:
                    self._deliver(line.decode("utf-8", errors="replace"))
        except (OSError, ValueError):
            pass
        self._deliver(_EOF)

    def _deliver(self, item: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: the process is exiting
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
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


async def serve_stdio(server: McprtServer, stop: asyncio.Event) -> None:
    """Serve one client until it closes stdin or `stop` is set."""
    with _claim_stdin() as fd:
        stdin = StdinLines(fd)
        async with stdio_server(stdin=stdin) as (read_stream, write_stream):  # type: ignore[arg-type]
            session = asyncio.create_task(
                server.run(read_stream, write_stream, server.create_initialization_options())
            )
            stopper = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait({session, stopper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopper.cancel()
                stdin.close()  # EOF: the session winds down by itself and closes the write side
                try:
                    await asyncio.wait_for(asyncio.shield(session), timeout=2)
                except (TimeoutError, asyncio.CancelledError):
                    session.cancel()
                    await asyncio.gather(session, return_exceptions=True)
            if not session.cancelled() and session.exception() is not None:
                raise session.exception()  # type: ignore[misc]
