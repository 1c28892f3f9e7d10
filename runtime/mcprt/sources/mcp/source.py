"""A proxied MCP server as a source: its tools as Operations, kept alive by a supervisor task.

Lifecycle
  Opening starts the server (or connects) and lists its tools within `startup_timeout`; failing
  that is a manifest diagnostic saying why. A supervisor task then owns the connection: when the
  server dies (process exit, or a call that finds the connection gone) it reconnects with
  exponential backoff — 1 s, 2 s, 4 s … capped at 30 s, reset after a connection that stayed up
  for 30 s. Meanwhile calls answer at once with a ToolCallError ("source 'x' is restarting
  (attempt N); try again in a few seconds") rather than waiting: a model gets a clear, retryable
  answer and no call hangs on a server that may never come back.
Tool list changes
  An upstream `notifications/tools/list_changed` (or, on a 2026-07-28 connection, a
  `subscriptions/listen` event) makes the source list again; when the listing differs it calls
  `on_tools_changed(name)` so the runtime rebuilds and tells its own clients. A reconnect lists
  again the same way. `operations` always returns the current list.
Resources and prompts of the upstream are not proxied (tools only).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.subscriptions import ListenNotSupportedError
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ...errors import McprtError, ToolCallError
from ...observability.hooks import observed_upstream
from ...toolset.operation import CallContext, Operation, UpstreamResult
from .connectors import Connector
from .convert import listing_signature, to_upstream, tool_operations

BACKOFF_CAP = 30.0
CLOSE_TIMEOUT = 15.0
_MAX_PAGES = 100
_LOST_ERRORS: tuple[type[BaseException], ...] = (
    httpx2.TransportError,
    anyio.ClosedResourceError,
    anyio.BrokenResourceError,
    anyio.EndOfStream,
)


class McpServerSource:
    """The running form of a `command:` or `url:` source. Holds no reference to the manifest."""

    def __init__(
        self,
        name: str,
        kind: str,
        connector: Connector,
        startup_timeout: float,
        on_tools_changed: Callable[[str], None] | None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.fingerprint = ""
        self.connector = connector
        self.startup_timeout = startup_timeout
        self.on_tools_changed = on_tools_changed
        self.log = logging.getLogger(f"mcprt.source.{name}")
        self.attempt = 0  # restarts since the last stable connection
        self.state = "starting"  # starting | up | restarting | closed
        self.restarts = 0  # reconnects since the source opened (`mcprt_source_restarts_total`)
        self.last_error: str | None = None  # why the connection was last lost (status page)
        self._client: Client | None = None
        self._operations: list[Operation] = []
        self._signature: str | None = None
        self._lost = anyio.Event()
        self._relist = anyio.Event()
        self._closed = anyio.Event()
        self._ready = anyio.Event()
        self._startup_error: str | None = None
        self._task: asyncio.Task[None] | None = None

    # --- RunningSource -----------------------------------------------------------------------------

    @property
    def operations(self) -> list[Operation]:
        return list(self._operations)

    def local_files(self) -> list[Path]:
        """Files named in the command line (e.g. `server.py`): editing one restarts the server on reload."""
        return list(getattr(self.connector, "files", ()))

    async def start(self) -> None:
        """Connect and list; raise McprtError (with the reason) if the first connection fails."""
        self._task = asyncio.create_task(self._supervise(), name=f"mcprt-source-{self.name}")
        await self._ready.wait()
        if self._startup_error is not None:
            await self.aclose()
            raise McprtError(self._startup_error)

    async def aclose(self) -> None:
        """Stop the supervisor; it closes the connection (and ends the process group)."""
        self.state = "closed"
        self._closed.set()
        self._lost.set()
        task = self._task
        if task is None or task.done():
            return
        if not self._ready.is_set():  # still starting: nothing to wind down gracefully
            self._startup_error = self._startup_error or "the source was closed while starting"
            self._ready.set()
            task.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(task), CLOSE_TIMEOUT)
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
        except asyncio.TimeoutError:
            task.cancel()
            self.log.warning("source %s did not close within %ss", self.name, CLOSE_TIMEOUT)

    # --- calls ---------------------------------------------------------------------------------------

    def invoker(self, upstream_name: str) -> Callable[[dict[str, Any], CallContext], Any]:
        async def invoke(arguments: dict[str, Any], context: CallContext) -> UpstreamResult:
            return await self.call(upstream_name, arguments, context)

        return invoke

    async def call(self, upstream_name: str, arguments: dict[str, Any], context: CallContext) -> UpstreamResult:
        client = self._client
        if client is None:
            raise ToolCallError(self.unavailable_message())
        watch = observed_upstream("mcp", self.name, upstream_name, lambda: self.connector.target)
        try:
            result = await self._call(client, upstream_name, arguments, context,
                                      None if watch is None else watch.carrier)
        except BaseException as exc:
            if watch is not None:
                watch.finish(None, type(exc).__name__)
            raise
        if watch is not None:
            watch.finish(None, "tool_error" if result.is_error else None)
        return to_upstream(result)

    async def _call(self, client: Client, upstream_name: str, arguments: dict[str, Any], context: CallContext,
                    carrier: dict[str, str] | None) -> types.CallToolResult:
        try:
            with anyio.fail_after(context.timeout + 1.0):
                return await client.call_tool(
                    upstream_name,
                    arguments,
                    read_timeout_seconds=context.timeout,
                    progress_callback=context.progress,  # type: ignore[arg-type]  # same signature
                    # W3C trace context in params._meta, as the MCP semantic conventions propose
                    meta=carrier or None,  # type: ignore[arg-type]
                )
        except TimeoutError:
            raise ToolCallError(f"{context.tool}: the server did not answer within {context.timeout:g}s") from None
        except MCPError as exc:
            if exc.code == types.CONNECTION_CLOSED or _session_expired(exc):
                self._connection_lost(client, f"the connection ended during a call ({exc.message})")
                raise ToolCallError(self.unavailable_message()) from None
            if exc.code == types.REQUEST_TIMEOUT:
                raise ToolCallError(f"{context.tool}: the server did not answer within {context.timeout:g}s") from None
            raise ToolCallError(f"{context.tool}: server '{self.name}' refused the call: {exc.message}") from None
        except _LOST_ERRORS as exc:
            self._connection_lost(client, f"{type(exc).__name__} during a call")
            raise ToolCallError(self.unavailable_message()) from None
        except RuntimeError as exc:  # the SDK's check of structuredContent against the tool's outputSchema
            raise ToolCallError(f"{context.tool}: server '{self.name}' returned an invalid result: {exc}") from None
        except Exception as exc:  # e.g. the server asked for input (elicitation) that a proxy cannot give
            self.log.debug("source %s: call to %s failed", self.name, upstream_name, exc_info=exc)
            raise ToolCallError(f"{context.tool}: calling server '{self.name}' failed: {type(exc).__name__}") from None

    def unavailable_message(self) -> str:
        if self.state == "closed":
            return f"source '{self.name}' is closed"
        attempt = self.attempt if self.state == "restarting" else self.attempt + 1
        return f"source '{self.name}' is restarting (attempt {attempt}); try again in a few seconds"

    def _connection_lost(self, client: Client, why: str) -> None:
        if self._client is client:
            self.log.warning("source %s: %s", self.name, why)
            self._client = None
            self._lost.set()

    # --- supervision -------------------------------------------------------------------------------

    async def _supervise(self) -> None:
        while not self._closed.is_set():
            self._lost = anyio.Event()
            self._relist = anyio.Event()
            up_since: float | None = None
            try:
                with anyio.fail_after(self.startup_timeout) as startup:
                    async with self.connector.connect(self._on_message) as client:
                        tools = await _list_all(client)
                        startup.deadline = math.inf
                        self._install(tools, notify=self._ready.is_set())
                        self._client, self.state, up_since = client, "up", time.monotonic()
                        if not self._ready.is_set():
                            self._ready.set()
                        else:
                            self.log.info("source %s: reconnected (%d tools)", self.name, len(tools))
                        await self._serve(client)
            except Exception as exc:
                reason = self.connector.explain(exc)
                if _leaf(exc).__class__ is TimeoutError:
                    reason += f" (startup_timeout: {self.startup_timeout:g}s)"
                if not self._ready.is_set():
                    self._startup_error = reason
                    self._ready.set()
                    return
                if not self._closed.is_set():  # after a lost connection, its teardown may fail too
                    self.last_error = reason
                    self.log.log(logging.INFO if up_since else logging.WARNING, "source %s: %s", self.name, reason)
            finally:
                self._client = None
            if self._closed.is_set():
                return
            if not self._ready.is_set():  # ended before becoming ready without an exception
                self._startup_error = "the server closed the connection during startup"
                self._ready.set()
                return
            if up_since is not None and time.monotonic() - up_since >= BACKOFF_CAP:
                self.attempt = 0
            self.attempt += 1
            self.restarts += 1
            self.state = "restarting"
            delay = min(BACKOFF_CAP, 2.0 ** (self.attempt - 1))
            self.log.warning("source %s: server %s is down; restarting in %gs (attempt %d)",
                             self.name, self.connector.target, delay, self.attempt)
            with anyio.move_on_after(delay):
                await self._closed.wait()

    async def _serve(self, client: Client) -> None:
        """Until the connection is lost or the source closes: follow tool-list changes."""
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._relister, client)
            if client.protocol_version in MODERN_PROTOCOL_VERSIONS:
                tasks.start_soon(self._listen_for_changes, client)

            async def gone() -> None:
                await self.connector.wait_gone()
                self._connection_lost(client, "the server process ended")

            async def closing() -> None:
                await self._closed.wait()
                self._lost.set()

            tasks.start_soon(gone)
            tasks.start_soon(closing)
            await self._lost.wait()
            tasks.cancel_scope.cancel()

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self._relist.set()
        elif isinstance(message, Exception):
            self.log.debug("source %s: transport reported %s: %s", self.name, type(message).__name__, message)

    async def _relister(self, client: Client) -> None:
        while True:
            await self._relist.wait()
            self._relist = anyio.Event()
            try:
                with anyio.fail_after(self.startup_timeout):
                    tools = await _list_all(client)
            except Exception as exc:
                self.log.warning("source %s: listing tools after a change failed: %s", self.name,
                                 self.connector.explain(exc))
                continue
            self._install(tools, notify=True)

    async def _listen_for_changes(self, client: Client) -> None:
        """2026-07-28 connections announce list changes on a `subscriptions/listen` stream."""
        delay = 1.0
        first = True
        while True:
            try:
                async with client.listen(tools_list_changed=True) as subscription:
                    if not first:
                        self._relist.set()  # events may have been missed while re-subscribing
                    first, delay = False, 1.0
                    async for _event in subscription:
                        self._relist.set()
                return  # the server ended the stream gracefully
            except ListenNotSupportedError:
                return
            except MCPError as exc:
                if exc.code == types.METHOD_NOT_FOUND:
                    return
                self.log.debug("source %s: change subscription failed: %s", self.name, exc.message)
            except Exception as exc:
                self.log.debug("source %s: change subscription lost: %s", self.name, exc)
            await anyio.sleep(delay)
            delay = min(BACKOFF_CAP, delay * 2)

    def _install(self, tools: list[types.Tool], *, notify: bool) -> None:
        signature = listing_signature(tools)
        if signature == self._signature:
            return
        self._operations = tool_operations(tools, self.invoker)
        self._signature = signature
        if notify:
            self.log.info("source %s: tool list changed (%d tools)", self.name, len(tools))
            if self.on_tools_changed is not None:
                try:
                    self.on_tools_changed(self.name)
                except Exception:
                    self.log.exception("source %s: on_tools_changed callback failed", self.name)


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _session_expired(exc: MCPError) -> bool:
    """A remote server that restarted no longer knows our session (the SDK's spelling of HTTP 404)."""
    return exc.code == types.INVALID_REQUEST and exc.message == "Session terminated"


async def _list_all(client: Client) -> list[types.Tool]:
    """Every page of tools/list (bounded, and stopping if a server repeats a cursor)."""
    tools: list[types.Tool] = []
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(_MAX_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools += page.tools
        cursor = page.next_cursor
        if not cursor or cursor in seen:
            break
        seen.add(cursor)
    return tools
