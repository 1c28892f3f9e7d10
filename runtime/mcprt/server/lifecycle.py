"""Readiness and graceful shutdown for replicas behind a load balancer.

- `/healthz` (liveness) answers as long as the process serves.
- `/readyz` (readiness) answers 200 only while the tool set is compiled, the shared state backend
  (if any) answers a PING, and the server is not draining; else 503 with the reason.
- On SIGTERM the server drains: readiness turns false at once (the balancer stops sending), new
  MCP requests get 503 with `Connection: close` (a balancer retries them on another replica),
  requests in flight get up to `server.http.drain_timeout` to finish, then the server stops.
  Long-lived GET streams (server→client notifications) are not waited for: clients reopen them
  through the balancer, on another replica.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Receive, Scope, Send

STATE_CHECK_EVERY = 1.0  # seconds a state PING result is reused by /readyz


class Readiness:
    """What `/readyz` reports; `draining` is set by the stop sequence."""

    def __init__(self, state_ping: Callable[[], Awaitable[object]] | None = None) -> None:
        self.draining = False
        self._state_ping = state_ping
        self._checked_at = 0.0
        self._state_ok = True

    async def check(self) -> tuple[bool, str]:
        """(ready, reason)."""
        if self.draining:
            return False, "draining"
        if self._state_ping is not None:
            now = time.monotonic()
            if now - self._checked_at >= STATE_CHECK_EVERY:
                self._checked_at = now
                try:
                    await asyncio.wait_for(self._state_ping(), 1.0)
                    self._state_ok = True
                except Exception:
                    self._state_ok = False
            if not self._state_ok:
                return False, "shared state unavailable"
        return True, "ready"


class InFlight:
    """ASGI middleware counting MCP requests in progress and refusing new ones while draining.

    GET requests (standalone SSE streams) are not counted: they last as long as the client wants.
    """

    def __init__(self, app: ASGIApp, readiness: Readiness, mcp_path: str) -> None:
        self.app = app
        self.readiness = readiness
        self.mcp_path = mcp_path.rstrip("/") or "/"
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").rstrip("/") != self.mcp_path:
            await self.app(scope, receive, send)
            return
        if self.readiness.draining and scope.get("method") != "DELETE":
            await _send_unavailable(send)
            return
        if scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        self.count += 1
        self._idle.clear()
        try:
            await self.app(scope, receive, send)
        finally:
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no counted request is in progress; False when `timeout` (s) ran out first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False


async def _send_unavailable(send: Send) -> None:
    body = json.dumps({"error": "this replica is shutting down; retry on another"}).encode()
    await send({
        "type": "http.response.start",
        "status": 503,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"retry-after", b"1"), (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": body})
