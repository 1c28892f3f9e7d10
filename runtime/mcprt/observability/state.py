"""A snapshot of the serving process for the metrics collector, the status page and `mcprt status`.

The server builds it on demand (at scrape or page load), so nothing is counted on the call path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .audit import AuditHealth

SourceState = Literal["starting", "up", "restarting", "down", "degraded", "unknown", "error", "closed"]
"""`down`: its upstream could not be reached (a proxied server: not reached since `mcprt up`
started, retried); `degraded`: it answers HTTP 5xx; `unknown`: such a
verdict no call has confirmed lately (`source_health`); `restarting`: a proxied server reconnecting;
the rest as the source says."""


@dataclass(frozen=True, slots=True)
class SourceHealth:
    name: str
    kind: str  # openapi | python | command | url
    state: SourceState
    restarts: int = 0  # reconnects of the source under this name since the server started (across reloads)
    error: str | None = None  # why it is down (never a secret: sources scrub their messages)
    since: float | None = None  # epoch seconds: when the failure began (None: unknown, or up)
    # a proxied MCP server's notifications/elicitation/complete since the server started, (result, count)
    elicitation_completions: tuple[tuple[str, int], ...] = ()
    unrouted_logs: int = 0  # a proxied MCP server's log messages that reached no client since the server started


@dataclass(frozen=True, slots=True)
class ToolInfo:
    name: str
    source: str
    # "tools" (listed), "discovery" (reached through the meta-tools) or "meta" (a discovery meta-tool
    # itself: `search_tools`, `describe_tools`, `call_tool`, whose calls the status page counts too)
    exposure: str


@dataclass(frozen=True, slots=True)
class ServerState:
    name: str
    version: str
    transport: str
    endpoint: str | None  # the MCP URL, for HTTP
    started: float  # epoch seconds
    tools: list[ToolInfo]
    sources: list[SourceHealth]
    sessions: int
    reload: dict[str, Any] = field(default_factory=dict)  # `ReloadStatus.to_dict()`
    state_up: bool | None = None  # the shared state backend answers (None: no backend configured)
    loop_tasks: int | None = None  # asyncio tasks alive in the serving event loop (None: read off the loop)
    rejected_connections: int | None = None  # refused at the connection cap since start (None: no HTTP listener)
    audit: AuditHealth | None = None  # the audit log's state (None: no audit log configured)
    # which process answered: `hostname`, `pid` and, with shared state, `replica` (its id among the replicas)
    instance: dict[str, Any] = field(default_factory=dict)
    # what it holds now, for an operator about to stop it (None: not known, e.g. stdio's requests)
    requests_in_flight: int | None = None  # MCP requests being answered (what the drain waits for)
    tasks_running: int | None = None  # tasks (calls answered CreateTaskResult) still running here
    draining: bool = False  # told to stop (SIGTERM): refusing new work, finishing what it holds
    state_writable: bool | None = None  # the shared state takes writes (False: full, read-only; None: no backend)
    state_detail: str | None = None  # "ok", "unreachable since …", "writes refused since …: …" (None: no backend)
    # approval requests awaiting a decision: with a shared state (Redis) the fleet's, as every replica reads it; else
    # this process's (None: no approval endpoint served, so no request can be open here: stdio, a one-shot call)
    approvals_pending: int | None = None


StateFn = Callable[[], ServerState]
