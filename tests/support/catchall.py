"""A catch-all HTTP upstream on 127.0.0.1 that records every request and answers `{"ok": true}`.

For tests that assert on what crossed the wire (bodies, queries, headers) whatever path and method
a compiled tool uses, and for the sweep that calls one operation of every tool of a document.
Built on the standard library's threading HTTP server with Nagle's algorithm off: about 1 ms a
request here, where a keep-alive connection otherwise waits ~40 ms per response for a delayed ACK
(measured on this machine), which matters for a sweep of thousands of calls.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Seen:
    method: str
    path: str  # raw (still percent-encoded) path
    query: str  # raw query string
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class CatchAll:
    base: str = ""
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def last(self) -> Seen:
        with self.lock:
            return self.seen[-1]

    def clear(self) -> None:
        with self.lock:
            self.seen.clear()


def _handler(recorder: CatchAll) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real APIs
        disable_nagle_algorithm = True  # headers and body are two writes: without this, 40 ms of delayed ACK each

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            seen = Seen(self.command, path, query, {k.lower(): v for k, v in self.headers.items()}, body)
            with recorder.lock:
                recorder.seen.append(seen)
            payload = b'{"ok":true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_TRACE = _any

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    return Handler


@contextmanager
def catch_all() -> Iterator[CatchAll]:
    """Serve a recording catch-all upstream; yields it with `.base` set (no trailing slash)."""
    recorder = CatchAll()
    server = ThreadingHTTPServer((LOOPBACK, 0), _handler(recorder))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="catch-all", daemon=True)
    thread.start()
    recorder.base = f"http://{LOOPBACK}:{server.server_address[1]}"
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
