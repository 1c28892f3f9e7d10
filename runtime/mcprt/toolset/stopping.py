"""Calls still running when a stop's drain runs out end with an answer, not with the connection.

On SIGTERM the HTTP server drains: calls in flight get `server.http.drain_timeout` to finish. A
call that outlives it (a slow upstream) used to be cut by the server's shutdown, and the client got
uvicorn's bare HTTP 500, which no MCP client can act on. So every call registers the task it runs
in (`RUNNING.enter`/`leave`, a dict update), and the stop sequence calls `RUNNING.end_all()` when
the drain runs out: each such task is cancelled, `call_tool` sees that the cancellation is the
stop's (`take_stop`), un-cancels its task and answers an ordinary tool error saying the server is
restarting and to call again (`STOPPED`), which the transport sends as usual (JSON or SSE, either
protocol era) before the server closes. A client's own cancellation is not affected.

The upstream may have acted on such a call: the message says so, as the `cancelled` outcome does.
Every other MCP request is registered here too, by the server's `StopAnswers` middleware, and
answered with a JSON-RPC error when the stop ends it (`server.stop_answers`). Over stdio there is
no drain: the stop ends what runs at once (`why` = `TOLD_TO_STOP`). When the stdio client closes stdin,
the calls still running end the same way (`why` = `STDIN_CLOSED`), answered with the JSON-RPC error
`-32000 Connection closed` (`CLOSED`, which says the upstream may have acted), so the answers of the
calls that finished are written first and the audit records the call as cut, not as never made.
"""

from __future__ import annotations

import asyncio

from mcprt.errors import CHECK_FIRST, MAY_HAVE_ACTED

STOPPED = ("mcprt is restarting: the call to {tool} was stopped after {seconds:.0f} s, before its answer arrived "
           f"({{why}}). {MAY_HAVE_ACTED}. Call again in a few seconds; {CHECK_FIRST}.")
# A call the stop ended while it waited in mcprt's own queue (`CallContext.never_started`): it did nothing.
NOT_STARTED = ("mcprt is restarting: the call to {tool} was stopped after {seconds:.0f} s, before it started ({why}); "
               "it did not run. Call again in a few seconds.")
OUTLASTED_DRAIN = "it outlasted the server's drain"  # HTTP: `server.http.drain_timeout` ran out
TOLD_TO_STOP = "the server was told to stop"  # stdio: no drain (see server.serve)
STDIN_CLOSED = "the client closed stdin"  # stdio: the client left (server.stdio's end of input)
CONNECTION_CLOSED = -32000  # the SDK's `CONNECTION_CLOSED`, the code its stdio path answers at EOF
CLOSED = ("Connection closed: the client closed stdin while the call to {tool} was running ({seconds:.1f} s), before "
          f"its answer arrived. {MAY_HAVE_ACTED}; {CHECK_FIRST}.")


class RunningCalls:
    """The asyncio tasks running a tool call or another MCP request in this process (a task running
    nested calls, as a discovery-mode `call_tool` does or a request and the call it runs, counts
    once per registration)."""

    __slots__ = ("_depth", "_ended", "why")

    def __init__(self) -> None:
        self._depth: dict[asyncio.Task[object], int] = {}
        self._ended: set[asyncio.Task[object]] = set()
        self.why = OUTLASTED_DRAIN  # why the stop ended them, for the answers (set by `end_all`)

    def enter(self) -> asyncio.Task[object] | None:
        task = asyncio.current_task()
        if task is not None:
            self._depth[task] = self._depth.get(task, 0) + 1
        return task

    def leave(self, task: asyncio.Task[object] | None) -> None:
        if task is None:
            return
        depth = self._depth.get(task, 0) - 1
        if depth > 0:
            self._depth[task] = depth
        else:
            self._depth.pop(task, None)
            self._ended.discard(task)

    def __len__(self) -> int:
        return len(self._depth)

    def end_all(self, why: str = OUTLASTED_DRAIN) -> int:
        """Cancel every running call's task once (the stop's drain ran out, or stdio's stop: `why`,
        which the answers quote); how many were ended."""
        self.why = why
        ended = 0
        for task in list(self._depth):
            if task not in self._ended and not task.done():
                self._ended.add(task)
                task.cancel()
                ended += 1
        return ended

    def take_stop(self, task: asyncio.Task[object] | None) -> bool:
        """True (once) when `task`'s cancellation came from `end_all`: answer it, do not propagate it."""
        if task is None or task not in self._ended:
            return False
        self._ended.discard(task)
        return True


RUNNING = RunningCalls()
