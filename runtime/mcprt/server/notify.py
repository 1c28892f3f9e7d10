"""Telling connected clients that the tool list changed (hot reload, upstream changes).

Two protocol eras need two routes:

- handshake-era clients (2024-11-05 … 2025-11-25) get `notifications/tools/list_changed` on their
  connection's standalone channel (stdio's one pipe; an HTTP session's GET stream). The SDK builds
  a fresh session proxy per request and keeps no list of connections, so `SessionTracker` (a
  server middleware) records each connection by `mcp-session-id` the first time it is seen and
  forgets it when the connection closes (its `exit_stack` unwinds).
- 2026-07-28 clients hold `subscriptions/listen` streams instead; they are reached by publishing
  `ToolsListChanged` on the subscription bus that the listen handler reads. The bus hands an event
  to every stream's buffer synchronously and says nothing back, so the streams that asked for
  `toolsListChanged` are counted as they open and close (`Notifier.counting_listens`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from mcp.server.connection import Connection
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    PromptsListChanged,
    ResourcesListChanged,
    SubscriptionBus,
    ToolsListChanged,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..observability.log import log_event
from ..toolset.toolset import ToolSet, ToolSetHolder
from . import connection_state

STDIO_KEY = "stdio"


@dataclass(frozen=True)
class Reached:
    """Who one `tools/list_changed` fan-out reached: handshake-era `sessions` (a connection's standalone
    channel took the notification) and 2026-07-28 `listen_streams` (open `subscriptions/listen` streams
    that asked for `toolsListChanged`, handed the event by the bus)."""

    sessions: int = 0
    listen_streams: int = 0


class Notifier:
    """Fan-out of `tools/list_changed` to every connected client, whatever its protocol era.

    `manifest_status` is what `/healthz` reports about the manifest: "ok", or a short message that
    hot reload sets when the file on disk has errors and the previous tools are still served.
    """

    def __init__(self, bus: SubscriptionBus | None = None) -> None:
        self.bus: SubscriptionBus = bus or InMemorySubscriptionBus()
        self.manifest_status = "ok"
        self._connections: dict[str, Connection] = {}
        self._awaited: dict[str, asyncio.Event] = {}  # keys someone waits on (`tracked`)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: set[asyncio.Task[Any]] = set()
        self._tools_task: asyncio.Task[Reached] | None = None  # the latest tools/list_changed fan-out
        self._tool_listeners = 0  # open 2026-07-28 listen streams that asked for toolsListChanged
        # called once for each handshake-era connection tracked, before it is served (its server→client
        # request ids are tagged with the replica's: `client_messages`)
        self.on_track: list[Callable[[Connection], None]] = []

    # --- connections ------------------------------------------------------------------------

    @property
    def sessions(self) -> list[str]:
        """Keys of the handshake-era connections currently tracked (session ids, or "stdio")."""
        return list(self._connections)

    def connection(self, key: str) -> Connection | None:
        """The tracked handshake-era connection of session `key` (None until its first request ran)."""
        return self._connections.get(key)

    def track(self, connection: Connection) -> None:
        """Remember a handshake-era connection until it closes; idempotent per connection, and a no-op
        once it closed (a lean request, answered outside the session's task, can end after its session
        did: tracking it then would keep the connection for the life of the process)."""
        if connection.protocol_version in MODERN_PROTOCOL_VERSIONS or not connection.has_standalone_channel:
            return  # 2026 clients listen on the bus; stateless HTTP has no channel to push on
        key = connection.session_id or STDIO_KEY
        if self._connections.get(key) is not connection \
                and connection_state.on_close(connection, partial(self._forget, key, connection)):
            if self._loop is None:
                self._loop = asyncio.get_running_loop()  # the loop that owns the connections
            self._connections[key] = connection
            for hook in self.on_track:
                hook(connection)
        awaited = self._awaited.pop(key, None)
        if awaited is not None:
            awaited.set()

    async def tracked(self, key: str) -> None:
        """Return once the next request of the handshake-era connection `key` has been handled (and
        its connection tracked): e.g. the `initialize` a stdio batch waits on."""
        await self._awaited.setdefault(key, asyncio.Event()).wait()

    def _forget(self, key: str, connection: Connection) -> None:
        if self._connections.get(key) is connection:
            del self._connections[key]

    # --- notifying --------------------------------------------------------------------------

    def attach(self, holder: ToolSetHolder) -> None:
        """Notify clients whenever a swap changes what tools/list returns."""
        holder.on_swap(self._on_swap)

    def bind_loop(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """The event loop that owns the connections (swaps from other threads are handed to it)."""
        self._loop = loop or asyncio.get_running_loop()

    def _on_swap(self, old: ToolSet, new: ToolSet) -> None:
        # Resources and prompts are swapped with the tools; each listing notifies only when it changed.
        if old.offers.resources_fingerprint() != new.offers.resources_fingerprint():
            self._spawn_soon(self.notify_listing_changed("resources"))
        if old.offers.prompts_fingerprint() != new.offers.prompts_fingerprint():
            self._spawn_soon(self.notify_listing_changed("prompts"))
        if old.fingerprint() == new.fingerprint():
            return
        self.schedule()

    def _spawn_soon(self, coro: Any) -> None:
        loop = self._loop
        if loop is None:
            coro.close()
            return

        def start() -> None:
            task = loop.create_task(coro)
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            start()
        else:
            loop.call_soon_threadsafe(start)

    async def notify_listing_changed(self, what: str) -> int:
        """`notifications/{resources,prompts}/list_changed` to every client (both protocol eras)."""
        sent = 0
        for key, connection in list(self._connections.items()):
            try:
                if what == "resources":
                    await connection.send_resource_list_changed()
                else:
                    await connection.send_prompt_list_changed()
                sent += 1
            except Exception as exc:
                log_event(f"{what}/list_changed not delivered", logging.DEBUG, session=key, error=type(exc).__name__)
        try:
            await self.bus.publish(ResourcesListChanged() if what == "resources" else PromptsListChanged())
        except Exception as exc:
            log_event(f"{what}/list_changed not published", logging.WARNING, error=type(exc).__name__)
        log_event(f"{what}/list_changed sent", logging.INFO, sessions=sent)
        return sent

    def schedule(self) -> None:
        """Send the notification soon, from sync code on any thread (never blocks the caller)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        loop = self._loop or running
        if loop is None:
            return  # nothing is being served: nobody to tell
        if running is loop:
            self._spawn()
        else:
            loop.call_soon_threadsafe(self._spawn)

    def _spawn(self) -> None:
        task = asyncio.get_running_loop().create_task(self.notify_tools_changed())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        self._tools_task = task

    async def tools_fanout(self) -> asyncio.Task[Reached] | None:
        """The latest scheduled `tools/list_changed` fan-out (each is handed out once; None if there
        is none). Called from the connections' loop right after a swap; await the task (shielded, with
        a timeout: a slow client's stream can hold it) for whom it reached."""
        await asyncio.sleep(0)  # a swap from another thread schedules the fan-out with call_soon_threadsafe
        task, self._tools_task = self._tools_task, None
        return task

    async def notify_tools_changed(self) -> Reached:
        """Tell every client now; returns whom it reached (`Reached`).

        A swap through `ToolSetHolder.swap` already calls this when the listing changed; call it
        directly only for changes the holder cannot see.
        """
        sent = 0
        for key, connection in list(self._connections.items()):
            try:
                await connection.send_tool_list_changed()  # best-effort; a closed stream is dropped
                sent += 1
            except Exception as exc:  # one broken connection must not stop the others
                log_event("list_changed not delivered", logging.DEBUG, session=key, error=type(exc).__name__)
        listeners = self._tool_listeners  # publish runs every stream's listener before it first yields
        try:
            await self.bus.publish(ToolsListChanged())
        except Exception as exc:
            listeners = 0
            log_event("list_changed not published", logging.WARNING, error=type(exc).__name__)
        log_event("tools/list_changed sent", logging.INFO, sessions=sent, listen_streams=listeners)
        return Reached(sent, listeners)

    def counting_listens(self, handler: Callable[[Any, Any], Awaitable[Any]]) -> Callable[[Any, Any], Awaitable[Any]]:
        """`handler` (the SDK's `ListenHandler`) with its open streams that asked for `toolsListChanged`
        counted, for `Reached.listen_streams`. Exact: the handler subscribes to the bus before its first
        suspension (the ack) and unsubscribes in its own `finally`, so no event falls between those
        steps and the count's."""

        async def listen(ctx: Any, params: Any) -> Any:
            wants = 1 if params.notifications.tools_list_changed else 0
            self._tool_listeners += wants
            try:
                return await handler(ctx, params)
            finally:
                self._tool_listeners -= wants

        return listen

    async def drain(self) -> None:
        """Wait for notifications already scheduled (used at shutdown and by tests)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)


class SessionTracker:
    """Server middleware that hands each inbound message's connection to the notifier."""

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        connection = connection_of(ctx)
        if connection is not None:
            self._notifier.track(connection)
        return result


def connection_of(ctx: ServerRequestContext[Any, Any]) -> Connection | None:
    # The SDK (2.3.0) keeps the per-client Connection on the session proxy without a public
    # accessor yet (its `Context` rework, TODO L54); the Connection itself is public API.
    connection = getattr(ctx.session, "_connection", None)
    return connection if isinstance(connection, Connection) else None


__all__ = ["Notifier", "Reached", "SessionTracker", "STDIO_KEY"]
