"""The replay upstream: a starlette app on 127.0.0.1 that answers with a case's recorded response.

Cases are replayed one at a time, so the server holds one "current" response and keeps every
request it received since the last `expect()`. It serves on a socket it bound itself (port 0, no
race) inside the caller's event loop, and nothing but loopback is ever listened on.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .cases import RecordedResponse

LOOPBACK = "127.0.0.1"
# What a server adds by itself, or what no longer describes the stored (decoded) body.
_DROPPED_RESPONSE_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection"})
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    method: str
    raw_path: str  # as sent, percent-encoded
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes


class ReplayUpstream:
    """Answers every request with the expected response and keeps what it received."""

    def __init__(self) -> None:
        self._response: RecordedResponse | None = None
        self.received: list[ReceivedRequest] = []
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None
        self.origin = ""
        self.app = Starlette(routes=[Route("/{path:path}", self._answer, methods=_METHODS)])

    def expect(self, response: RecordedResponse | None) -> None:
        """Answer the next requests with `response`; forget what was received before."""
        self._response = response
        self.received = []

    async def _answer(self, request: Request) -> Response:
        body = await request.body()
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        self.received.append(
            ReceivedRequest(
                method=request.method,
                raw_path=raw_path.decode("latin-1"),
                raw_query=request.scope.get("query_string", b"").decode("latin-1"),
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]],
                body=body,
            )
        )
        response = self._response
        if response is None:
            return Response(
                "mcprt replay: this case recorded no response for this request",
                status_code=599,
                media_type="text/plain",
            )
        headers = [(n, v) for n, v in response.headers if n.lower() not in _DROPPED_RESPONSE_HEADERS]
        if response.body is not None and not any(n.lower() == "content-type" for n, _ in headers):
            content_type = response.content_type()
            if content_type:
                headers.append(("content-type", content_type))
        data = response.body.to_bytes() if response.body is not None else b""
        out = Response(data, status_code=response.status)
        for name, value in headers:
            out.headers.append(name, value)
        return out

    async def start(self) -> str:
        """Serve on a free loopback port; return the origin, e.g. ``http://127.0.0.1:54321``."""
        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP; without
        # it each keep-alive response waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, 0))
        sock.listen(64)
        self._socket = sock
        config = uvicorn.Config(self.app, log_level="error", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise RuntimeError("the replay upstream stopped while starting")
            await asyncio.sleep(0.005)
        self.origin = f"http://{LOOPBACK}:{sock.getsockname()[1]}"
        return self.origin

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            try:
                await asyncio.wait_for(self._task, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
        if self._socket is not None:
            self._socket.close()
        self._server = self._task = self._socket = None
