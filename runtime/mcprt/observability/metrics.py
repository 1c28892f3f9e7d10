"""Prometheus metrics (`GET /metrics`): names and labels are public, dashboards depend on them.

| metric | type | labels |
| --- | --- | --- |
| `mcprt_tool_calls_total` | counter | tool, source, outcome (`events.Outcome`) |
| `mcp_server_operation_duration_seconds` | histogram | mcp_method_name, tool (OpenTelemetry MCP semconv) |
| `mcprt_upstream_request_duration_seconds` | histogram | source, status_class (`2xx`…`5xx`, `error`) |
| `mcprt_tool_result_bytes_total` | counter | tool, stage (`raw`: upstream body, `sent`: to the model) |
| `mcprt_policy_decisions_total` | counter | action, rule |
| `mcprt_reloads_total` | counter | result (`ok`, `error`) |
| `mcprt_tools` | gauge | exposure (`tools`, `discovery`) |
| `mcprt_source_up` | gauge | source |
| `mcprt_source_restarts_total` | counter | source |
| `mcprt_sessions` | gauge | — |

Label values are bounded: tool and source names come from the compiled tool set, never from
arguments. Per call the sink does a few dictionary look-ups and lock-free-ish increments; gauges and
the reload/source figures are read from the server's state only when scraped.
"""

from __future__ import annotations

from collections.abc import Iterator
from time import perf_counter
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from .events import CallEvent, DecisionEvent, Event
from .hooks import UpstreamKind
from .state import StateFn

# The OpenTelemetry MCP semantic conventions' advice for mcp.server.operation.duration (seconds).
DURATION_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST

disable_created_metrics()  # `_created` series double every counter and help no dashboard


class Metrics:
    """One registry per server: the call sink, the upstream observer and the scrape-time collector."""

    def __init__(self, state: StateFn) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        self.calls = Counter("mcprt_tool_calls", "Tool calls by how they ended.",
                             ("tool", "source", "outcome"), registry=r)
        self.operation = Histogram("mcp_server_operation_duration_seconds",
                                   "Duration of MCP requests handled by the server.",
                                   ("mcp_method_name", "tool"), buckets=DURATION_BUCKETS, registry=r)
        self.upstream = Histogram("mcprt_upstream_request_duration_seconds",
                                  "Duration of upstream HTTP exchanges (all attempts of one call).",
                                  ("source", "status_class"), buckets=DURATION_BUCKETS, registry=r)
        self.result_bytes = Counter("mcprt_tool_result_bytes", "Result bytes: raw from upstream, sent to the model.",
                                    ("tool", "stage"), registry=r)
        self.decisions = Counter("mcprt_policy_decisions", "Policy decisions by action and rule.",
                                 ("action", "rule"), registry=r)
        r.register(_StateCollector(state))
        # label children by key: `.labels()` validates and locks; a dict hit is cheaper per call
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    # --- sinks -------------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """The event bus subscriber."""
        if isinstance(event, CallEvent):
            self._child(self.calls, event.tool, event.source, event.outcome).inc()
            self._child(self.operation, "tools/call", event.tool).observe(event.latency)
            self._child(self.result_bytes, event.tool, "raw").inc(event.raw_bytes)
            self._child(self.result_bytes, event.tool, "sent").inc(event.sent_bytes)
        elif isinstance(event, DecisionEvent):
            self._child(self.decisions, event.action, event.rule or "").inc()

    def observe_operation(self, method: str, seconds: float) -> None:
        """An MCP request other than tools/call (tools/list, initialize, …); `tool` stays empty."""
        self._child(self.operation, method, "").observe(seconds)

    def upstream_observer(self, kind: UpstreamKind, source: str, name: str, target: str) -> _Timed | None:
        """`hooks.ObserverFactory`: time HTTP exchanges only (proxied MCP calls are whole tool calls)."""
        if kind != "http":
            return None
        return _Timed(self, source)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Timed:
    __slots__ = ("metrics", "source", "started", "carrier")

    def __init__(self, metrics: Metrics, source: str) -> None:
        self.metrics, self.source, self.started, self.carrier = metrics, source, perf_counter(), {}

    def finish(self, status: int | None, error: str | None) -> None:
        status_class = f"{status // 100}xx" if status is not None else "error"
        self.metrics._child(self.metrics.upstream, self.source, status_class).observe(perf_counter() - self.started)


class _StateCollector(Collector):
    """Gauges and counters read from the server's state at scrape time."""

    def __init__(self, state: StateFn) -> None:
        self._state = state

    def collect(self) -> Iterator[Any]:
        state = self._state()
        tools = GaugeMetricFamily("mcprt_tools", "Tools served, by how they are exposed.", labels=["exposure"])
        by_exposure: dict[str, int] = {"tools": 0, "discovery": 0}
        for tool in state.tools:
            by_exposure[tool.exposure] = by_exposure.get(tool.exposure, 0) + 1
        for exposure, count in sorted(by_exposure.items()):
            tools.add_metric([exposure], count)
        yield tools
        up = GaugeMetricFamily("mcprt_source_up", "1 when the source can serve calls.", labels=["source"])
        restarts = CounterMetricFamily("mcprt_source_restarts", "Restarts of a proxied MCP server (since it opened).",
                                       labels=["source"])
        for source in state.sources:
            up.add_metric([source.name], 1.0 if source.state == "up" else 0.0)
            restarts.add_metric([source.name], source.restarts)
        yield up
        yield restarts
        sessions = GaugeMetricFamily("mcprt_sessions", "Open MCP sessions (streamable HTTP; 1 for stdio).")
        sessions.add_metric([], state.sessions)
        yield sessions
        reloads = CounterMetricFamily("mcprt_reloads", "Reload attempts by result.", labels=["result"])
        reloads.add_metric(["ok"], state.reload.get("reloads", 0))
        reloads.add_metric(["error"], state.reload.get("failures", 0))
        yield reloads

