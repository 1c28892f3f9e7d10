"""mcprt served over stdio has one client: what proxied servers send outside any call goes to it.

A proxied server may ask its client something, or log, when no call of the client's is running —
the filesystem server asks `roots/list` right after its handshake and whenever it is told the roots
changed, and narrows what its tools may touch to those roots. Through an mcprt on stdio there is
exactly one client, so such a message has one addressee (`sources/mcp/relay.py`, `sole_client`),
and the client's roots reach the server as they would without mcprt in between:

- once a handshake-era client's `notifications/initialized` arrives, its connection is the relay's
  sole client (until the connection closes); when it declared `roots`, every proxied server is told
  `notifications/roots/list_changed` — the servers started before the client was there were refused
  their first `roots/list`, and ask again;
- the client's own `notifications/roots/list_changed` is passed on to every proxied server
  (MCP 2025-11-25 client/roots "Root List Changes").

Over HTTP nothing here is installed: the upstream connection is shared by every session, and one
client's roots must not decide what another client's calls may reach.
"""

from __future__ import annotations

import asyncio
from typing import Any

import mcp_types as types
from mcp.server import ServerRequestContext
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..observability.log import log_event
from ..sources.mcp.relay import client_roots_changed, sole_client
from .notify import connection_of
from .offers import ConnectionPeer, LogLevels

_ROOTS = types.ClientCapabilities(roots=types.RootsCapability())


class SoleClient:
    """Installs the two notification handlers above on `server` (stdio only)."""

    def __init__(self, server: Any, levels: LogLevels) -> None:
        self._levels = levels
        self._tasks: set[asyncio.Task[None]] = set()
        self._present = False
        self._forget: Any = None
        server.add_notification_handler("notifications/initialized", types.NotificationParams, self._initialized)
        server.add_notification_handler("notifications/roots/list_changed", types.NotificationParams,
                                        self._roots_changed)

    async def _initialized(self, ctx: ServerRequestContext[Any], params: types.NotificationParams) -> None:
        connection = connection_of(ctx)
        if connection is None or connection.protocol_version in MODERN_PROTOCOL_VERSIONS \
                or not connection.has_standalone_channel:
            return  # a 2026-07-28 client cannot be sent requests, nor logs outside a request
        self._forget = sole_client(ConnectionPeer(connection, self._levels))
        self._present = True
        connection.exit_stack.callback(self.close)
        if connection.check_capability(_ROOTS):
            self._tell_sources()

    async def _roots_changed(self, ctx: ServerRequestContext[Any], params: types.NotificationParams) -> None:
        if self._present:
            self._tell_sources()

    def close(self) -> None:
        """Forget the client (its connection closed, or serving ended)."""
        self._present = False
        if self._forget is not None:
            self._forget()
            self._forget = None

    def _tell_sources(self) -> None:
        # Not awaited here: the servers answer with a roots/list request that this same session must
        # read, after this handler returns.
        task = asyncio.ensure_future(client_roots_changed())
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log_event("roots change not passed on", error=type(task.exception()).__name__)
