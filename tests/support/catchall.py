"""A catch-all HTTP upstream on 127.0.0.1 that records every request and answers `{"ok": true}`.

For tests that assert on what crossed the wire (bodies, queries, headers) whatever path and method
a compiled tool uses, and for the sweep that calls one operation of every tool of a document.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.upstream import serve_app

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]


@dataclass(frozen=True)
class Seen:
    method: str
    path: str  # raw (still percent-encoded) path
    query: str  # raw query string
    headers: dict[str, str]
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


def _app(recorder: CatchAll) -> Starlette:
    async def anything(request: Request) -> JSONResponse:
        body = await request.body()
        seen = Seen(request.method, request.scope.get("raw_path", b"").decode("latin-1").split("?")[0],
                    request.url.query, {k.lower(): v for k, v in request.headers.items()}, body)
        with recorder.lock:
            recorder.seen.append(seen)
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/{rest:path}", anything, methods=_METHODS)])


@contextmanager
def catch_all() -> Iterator[CatchAll]:
    """Serve a recording catch-all upstream; yields it with `.base` set."""
    recorder = CatchAll()
    with serve_app(_app(recorder)) as base:
        recorder.base = base
        yield recorder
