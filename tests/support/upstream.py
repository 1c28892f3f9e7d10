"""Serve a real upstream on 127.0.0.1 for a test, in a background thread.

Thread-based so the same helper works from sync tests and from async tests (whose event loop must
stay free to run the client). Two kinds:

- `serve_app(app)`: any ASGI app (starlette, the MCP SDK's streamable HTTP app) under uvicorn;
  yields the base URL, e.g. ``http://127.0.0.1:54321``.
- `serve_tcp(handler)`: a raw TCP server whose `handler(conn)` gets each accepted socket, for faults
  that a well-behaved ASGI server cannot produce (abrupt resets, garbage, half responses).

Both pick a free port by binding port 0 themselves (no race between "find a port" and "listen"),
wait until the server accepts connections, and shut down cleanly on leaving the `with` block.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

LOOPBACK = "127.0.0.1"


def _listening_socket(port: int = 0) -> socket.socket:
    # proto=IPPROTO_TCP: asyncio turns Nagle off (TCP_NODELAY) only for sockets that say they are
    # TCP; with proto 0 every keep-alive response waited ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    sock.listen(128)
    return sock


def free_port() -> int:
    """A port that was free a moment ago (prefer `serve_app`, which cannot race)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_app(app: Any, *, startup_timeout: float = 10.0, lifespan: str = "auto", port: int = 0) -> Iterator[str]:
    """Run `app` with uvicorn on 127.0.0.1 in a thread; yield its base URL (no trailing slash).
    `port`: the port of an upstream served before and stopped (one that comes back); 0 picks a free one."""
    sock = _listening_socket(port)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan=lifespan,  # type: ignore[arg-type]
        timeout_graceful_shutdown=2,
        timeout_keep_alive=5,
    )
    server = uvicorn.Server(config)
    # uvicorn installs signal handlers only in the main thread; in ours it must not try.
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # surfaced to the test below, not swallowed
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn:{port}", daemon=True)
    thread.start()
    try:
        _wait_until(lambda: server.started or bool(failure) or not thread.is_alive(), startup_timeout)
        if not server.started:
            raise RuntimeError(f"test upstream did not start on port {port}: {failure[0] if failure else 'exited'}")
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


Handler = Callable[[socket.socket], None]


@contextlib.contextmanager
def serve_tcp(handler: Handler) -> Iterator[tuple[str, int]]:
    """Run a raw TCP server on 127.0.0.1; each connection is passed to `handler` in its own thread.

    The handler owns the socket (close it, or reset it with SO_LINGER 0 — see `reset`). Yields
    ``(host, port)``.
    """
    sock = _listening_socket()
    sock.settimeout(0.1)
    host, port = sock.getsockname()[:2]
    stop = threading.Event()
    workers: list[threading.Thread] = []

    def serve_one(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            handler(conn)
        with contextlib.suppress(OSError):
            conn.close()

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            worker = threading.Thread(target=serve_one, args=(conn,), daemon=True)
            worker.start()
            workers.append(worker)

    acceptor = threading.Thread(target=accept_loop, name=f"tcp:{port}", daemon=True)
    acceptor.start()
    try:
        yield host, port
    finally:
        stop.set()
        acceptor.join(timeout=5)
        sock.close()
        for worker in workers:
            worker.join(timeout=5)


def forward(conn: socket.socket, port: int) -> None:
    """Relay bytes both ways between `conn` (a `serve_tcp` connection, maybe TLS-wrapped) and a new
    connection to 127.0.0.1:`port` until either side closes: a front that can be made to misbehave."""
    with socket.create_connection(("127.0.0.1", port)) as back:
        conn.settimeout(None)

        def backward() -> None:
            with contextlib.suppress(OSError):
                while data := back.recv(65536):
                    conn.sendall(data)
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=backward, daemon=True).start()
        with contextlib.suppress(OSError):
            while data := conn.recv(65536):
                back.sendall(data)


def reset(conn: socket.socket) -> None:
    """Close `conn` with a TCP RST (not a FIN): what a crashed or killed upstream looks like."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def read_request_head(conn: socket.socket, limit: int = 65536) -> bytes:
    """Read an HTTP request's head (up to the blank line) from a raw connection."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _wait_until(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)


def held_until_disconnected(started: threading.Event, ended: threading.Event) -> Callable[[Any], Any]:
    """A Starlette endpoint that sets `started`, answers only once its caller goes away (checked every
    0.1 s, at most 60 s: that bounds a hang and is never reached when a test passes), then sets `ended` —
    what a cancelled call must do to its upstream request."""
    from starlette.responses import JSONResponse

    async def endpoint(request: Any) -> JSONResponse:
        started.set()
        try:
            for _ in range(600):
                if await request.is_disconnected():
                    break
                await asyncio.sleep(0.1)
        finally:
            ended.set()
        return JSONResponse({"done": True})

    return endpoint
