"""What mcprt keeps on an SDK `Connection` of the handshake era, and whether it has closed.

The SDK unwinds a connection's `exit_stack` once, when its session ends (SDK 2.3,
`runner.aclose_shielded`), and says nothing after that: a callback pushed onto the unwound stack is
never run. Work that runs outside the session's task (the lean paths, `lean.py` and `stdio_lean.py`,
answer requests in the HTTP request's own task) can end after the session did, so anything it would
attach to the connection from then on would be held forever. `watch` registers, once per connection,
a callback that marks the connection closed and drops the runner cached on it; `closed` reads the
mark, and `runner` caches a connection's `ServerRunner` only while the connection is open.
`on_close` is the one way mcprt attaches anything else to a connection: it refuses a closed one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from mcp.server.connection import Connection
from mcp.server.runner import ServerRunner

_WATCHED = "mcprt.watched"
_CLOSED = "mcprt.closed"
_RUNNER = "mcprt.runner"  # the connection's ServerRunner (it holds the connection: a cycle, broken at close)


def watch(connection: Connection) -> None:
    """Mark `connection` closed when its exit stack unwinds (idempotent: one callback per connection)."""
    if connection.state.get(_WATCHED):
        return
    connection.state[_WATCHED] = True
    connection.exit_stack.callback(_close, connection)


def closed(connection: Connection) -> bool:
    """Whether a watched connection's exit stack has unwound (False for one never watched)."""
    return bool(connection.state.get(_CLOSED))


def _close(connection: Connection) -> None:
    connection.state[_CLOSED] = True
    connection.state.pop(_RUNNER, None)  # runner → connection → state → runner: freed without the cyclic GC


def on_close(connection: Connection, callback: Callable[[], Any]) -> bool:
    """Have `callback()` (sync, or async: its awaitable is awaited) run when `connection` closes, unless it already has: then nothing
    is registered and the answer is False, and the caller must keep nothing for the connection (its exit
    stack is unwound and would never run the callback). True when registered.

    The connection is watched from here on, so `closed` knows when it ends; the watch is registered
    before the first callback, and an exit stack unwinds last-in first-out, so the connection is marked
    closed only after every callback ran (one registered while they run still runs)."""
    if closed(connection):
        return False
    watch(connection)

    async def run() -> None:
        outcome = callback()
        if inspect.isawaitable(outcome):
            await outcome

    connection.exit_stack.push_async_callback(run)
    return True


def runner(connection: Connection, app: Any, lifespan_state: Any) -> ServerRunner[Any]:
    """The connection's own `ServerRunner` (the SDK's request kernel for it), built once and kept in its
    scratch `state` until it closes; a closed connection gets a fresh one that nothing keeps.

    (Kept in a WeakKeyDictionary by connection, the runner, holding its key, kept every session ever
    opened in memory with its dispatcher and streams: bench/soak.py measured +0.62 MB of RSS per 1,000
    calls against +0.12 without it, README "Benchmarks".)"""
    cached = connection.state.get(_RUNNER)
    if cached is not None:
        return cached
    made: ServerRunner[Any] = ServerRunner(app, connection, lifespan_state)
    if not closed(connection):
        watch(connection)
        connection.state[_RUNNER] = made
    return made
