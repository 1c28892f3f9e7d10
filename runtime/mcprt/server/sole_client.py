"""mcprt served over stdio has one client: what proxied servers send outside any call goes to it.

A proxied server may ask its client something, or log, when no call of the client's is running —
the filesystem server asks `roots/list` right after its handshake and whenever it is told the roots
changed, and narrows what its tools may touch to those roots. Through an mcprt on stdio there is
exactly one client, so such a message has one addressee (the runtime's `SoleClientSlot`, which
every source's relay reads: sources/mcp/relay.py), and the client's roots reach the server as they
would without mcprt in between:

- once a handshake-era client's `notifications/initialized` arrives, its connection is the sole
  client (until the connection closes or serving ends); when it declared `roots`, every proxied
  server is told `notifications/roots/list_changed` — the servers started before the client was
  there were refused their first `roots/list`, and ask again;
- the client's own `notifications/roots/list_changed` is passed on to every proxied server
  (MCP 2025-11-25 client/roots "Root List Changes"), to all at once, each within its source's
  `startup_timeout` (a server not reading its stdin holds no other up). A server (re)starting at
  that moment is told once connected (`McpServerSource.client_roots_changed`), and one a reload
  opened, once the reload is applied;
- a client that did not declare `roots` gets no `roots/list`: the server's request is answered
  with an error at once.

Over HTTP nothing here is installed: the upstream connection is shared by every session, and one
client's roots must not decide what another client's calls may reach.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.server import ServerRequestContext
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..observability.log import log_event
from . import connection_state
from .notify import connection_of
from .offers import ConnectionPeer, LogLevels

if TYPE_CHECKING:
    from ..pipeline import Runtime

_ROOTS = types.ClientCapabilities(roots=types.RootsCapability())


class SoleClient:
    """Installs the two notification handlers above on `server` (stdio only) until `close()`, and keeps
    the client in `runtime.sole_client`."""

    def __init__(self, server: Any, levels: LogLevels, runtime: Runtime) -> None:
        self._server = server
        self._levels = levels
        self._runtime = runtime
        self._tasks: set[asyncio.Task[None]] = set()
        self._peer: ConnectionPeer | None = None
        self._restore: list[Callable[[], None]] = []
        for method, handler in (("notifications/initialized", self._initialized),
                                ("notifications/roots/list_changed", self._roots_changed)):
            self._restore.append(self._install(method, handler))
        # a source a reload opened is in the pool only once the reload is applied: told then
        self._restore.append(runtime.holder.on_swap(lambda old, new: self._tell_sources())
                             if runtime.holder is not None else lambda: None)

    def _install(self, method: str, handler: Any) -> Callable[[], None]:
        """Register `handler` for `method`; returns the function that puts back what was there."""
        server = self._server
        before = server.get_notification_handler(method)
        server.add_notification_handler(method, types.NotificationParams, handler)

        def restore() -> None:
            if before is not None:
                server.add_notification_handler(method, before.params_type, before.handler)
            else:  # the SDK (2.3) has no public way to remove a handler
                server._notification_handlers.pop(method, None)

        return restore

    async def _initialized(self, ctx: ServerRequestContext[Any], params: types.NotificationParams) -> None:
        connection = connection_of(ctx)
        if connection is None or connection.protocol_version in MODERN_PROTOCOL_VERSIONS \
                or not connection.has_standalone_channel:
            return  # a 2026-07-28 client cannot be sent requests, nor logs outside a request
        if not connection_state.on_close(connection, self._forget):
            return  # closed already: a peer kept now would never be forgotten
        self._peer = ConnectionPeer(connection, self._levels)
        self._runtime.sole_client.peer = self._peer
        if connection.check_capability(_ROOTS):
            self._roots_change()

    async def _roots_changed(self, ctx: ServerRequestContext[Any], params: types.NotificationParams) -> None:
        if self._peer is not None:
            self._roots_change()

    def _forget(self) -> None:
        """The client's connection closed: nothing goes to it any more."""
        if self._peer is not None and self._runtime.sole_client.peer is self._peer:
            self._runtime.sole_client.peer = None
        self._peer = None

    def close(self) -> None:
        """Serving ended: forget the client and remove what `__init__` installed."""
        self._forget()
        while self._restore:
            self._restore.pop()()

    def _roots_change(self) -> None:
        self._runtime.sole_client.roots_changes += 1
        self._tell_sources()

    def _tell_sources(self) -> None:
        # Not awaited here: the servers answer with a roots/list request that this same session must
        # read, after this handler returns.
        told = [tell() for source in list(self._runtime.pool.running.values())
                if (tell := getattr(source, "client_roots_changed", None)) is not None]
        if not told:
            return
        task = asyncio.ensure_future(asyncio.gather(*told))  # each bounds itself (startup_timeout)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)  # type: ignore[arg-type]
        if not task.cancelled() and task.exception() is not None:
            log_event("roots change not passed on", error=type(task.exception()).__name__)
