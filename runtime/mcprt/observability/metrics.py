"""Prometheus metrics (`GET /metrics`): names and labels are public, dashboards depend on them.

| metric | type | labels |
| --- | --- | --- |
| `mcprt_tool_calls_total` | counter | tool, source, outcome (`events.Outcome`) |
| `mcp_server_operation_duration_seconds` | histogram | mcp_method_name, gen_ai_tool_name, error_type (OpenTelemetry MCP semconv) |
| `mcprt_upstream_request_duration_seconds` | histogram | source, status_class (`2xx`…`5xx`, `error`): one per request sent (each retry too) |
| `mcprt_tool_result_bytes_total` | counter | tool, stage (`raw`: upstream body, `sent`: what the model reads, `shaping.sent`), outcome |
| `mcprt_policy_decisions_total` | counter | action, rule |
| `mcprt_reloads_total` | counter | result (`ok`, `error`, `abandoned`, `refused`) |
| `mcprt_tools` | gauge | exposure (`tools`, `discovery`) |
| `mcprt_source_up` | gauge | source |
| `mcprt_source_restarts_total` | counter | source |
| `mcprt_elicitation_completions_total` | counter | source, result (`delivered`, `unmatched`, `ambiguous`, `undelivered`) |
| `mcprt_unrouted_log_messages_total` | counter | source |
| `mcprt_sessions` | gauge | — |
| `mcprt_event_loop_tasks` | gauge | — |
| `mcprt_rejected_connections_total` | counter | — (OpenTelemetry `kestrel.rejected_connections`) |
| `mcprt_audit_up`, `mcprt_audit_records_pending` | gauge | — (with an audit log) |
| `mcprt_audit_records_dropped_total`, `mcprt_audit_write_failures_total` | counter | — (with an audit log) |
| `mcprt_approval_requests_pending` | gauge | — (with approval endpoints and a fresh snapshot: the fleet's figure with Redis, so aggregate with `max`) |

Label values are bounded: tool and source names come from the compiled tool set, never from
arguments; `error_type` is an `events.Outcome` or an exception's class name.

Each call counts once in `mcprt_tool_calls_total`, so a sum over every series is the calls made: an
operation reached through discovery's `call_tool` counts on its own series (what was called, bounded by
the manifest, as OpenTelemetry's `gen_ai.tool.name` names the tool executed; no label per target on the
`call_tool` series, which would repeat every operation's series), and the `call_tool` series counts only
its calls that reached no operation (an unknown or hidden name, bad arguments). The duration histogram
counts MCP requests: a `call_tool` request once (`gen_ai_tool_name="call_tool"`), never the operation it
reached, so discovery's share of the traffic is read there.

`mcp_server_operation_duration_seconds` follows the OpenTelemetry MCP semantic conventions
(`mcp.server.operation.duration`: `mcp.method.name` required, `gen_ai.tool.name` when the operation is
a tool's, `error.type` if and only if it failed), its attribute names turned into label names as the
OpenTelemetry → Prometheus mapping does (every character not valid in a label name becomes `_`).
`mcprt_tool_result_bytes_total` carries the call's `outcome`: only an `ok` call's answer is shaped
(an error's text replaces the upstream body, and a denied call has no raw byte), so raw and sent of
`outcome="ok"` are the same calls, the ones the status page's "saved" counts. Counting is plain arithmetic on dictionaries (a bisect for histograms) in the event loop's
thread, where calls finish and where scrapes are answered, so it needs no lock; prometheus-client
turns the figures into its metric families and the text format only when scraped. Gauges and the
reload/source figures are read from the server's state at scrape time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from time import perf_counter
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from .events import CallEvent, DecisionEvent, Event, UnknownToolEvent
from .hooks import Route, UpstreamKind
from .state import StateFn
from .tool_rows import META

# The OpenTelemetry MCP semantic conventions' advice for mcp.server.operation.duration (seconds).
DURATION_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class _Counter:
    __slots__ = ("name", "doc", "labels", "values")

    def __init__(self, name: str, doc: str, labels: tuple[str, ...]) -> None:
        self.name, self.doc, self.labels = name, doc, labels
        self.values: dict[tuple[str, ...], float] = {}

    def inc(self, key: tuple[str, ...], amount: float = 1.0) -> None:
        self.values[key] = self.values.get(key, 0.0) + amount

    def family(self) -> CounterMetricFamily:
        family = CounterMetricFamily(self.name, self.doc, labels=list(self.labels))
        for key, value in sorted(self.values.items()):
            family.add_metric(list(key), value)
        return family


class _Histogram:
    """Per label set: one count per bucket (not cumulative; the last is +Inf), then the sum."""

    __slots__ = ("name", "doc", "labels", "bounds", "series")

    def __init__(self, name: str, doc: str, labels: tuple[str, ...], bounds: tuple[float, ...]) -> None:
        self.name, self.doc, self.labels, self.bounds = name, doc, labels, bounds
        self.series: dict[tuple[str, ...], list[float]] = {}

    def observe(self, key: tuple[str, ...], value: float) -> None:
        counts = self.series.get(key)
        if counts is None:
            counts = self.series[key] = [0.0] * (len(self.bounds) + 2)
        counts[bisect_left(self.bounds, value)] += 1  # first bound >= value: Prometheus' `le`
        counts[-1] += value

    def family(self) -> HistogramMetricFamily:
        family = HistogramMetricFamily(self.name, self.doc, labels=list(self.labels))
        for key, counts in sorted(self.series.items()):
            running, buckets = 0.0, []
            for bound, count in zip((*map(str, self.bounds), "+Inf"), counts[:-1], strict=True):
                running += count
                buckets.append((bound, running))
            family.add_metric(list(key), buckets, counts[-1])
        return family


class Metrics:
    """One registry per server: the call sink, the upstream observer and the scrape-time collectors."""

    def __init__(self, state: StateFn) -> None:
        self.calls = _Counter("mcprt_tool_calls", "Tool calls by how they ended; an operation called through "
                              "discovery's call_tool counts once, as the operation's call.",
                              ("tool", "source", "outcome"))
        self.operation = _Histogram("mcp_server_operation_duration_seconds",
                                    "Duration of MCP requests handled by the server.",
                                    ("mcp_method_name", "gen_ai_tool_name", "error_type"), DURATION_BUCKETS)
        self.upstream = _Histogram("mcprt_upstream_request_duration_seconds",
                                   "Duration of upstream HTTP requests, one observation per attempt (each retry "
                                   "counts); status_class error: no whole answer came (connection failure, timeout).",
                                   ("source", "status_class"), DURATION_BUCKETS)
        self.result_bytes = _Counter("mcprt_tool_result_bytes", "Result bytes: raw = upstream body (a proxied server's result: "
                                     "measured as sent); sent = what the model reads (content blocks' text/data; "
                                     "structuredContent unless a text block repeats it).",
                                     ("tool", "stage", "outcome"))
        self.decisions = _Counter("mcprt_policy_decisions", "Policy decisions by action and rule.", ("action", "rule"))
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Families((self.calls, self.operation, self.upstream, self.result_bytes,
                                          self.decisions)))
        self.registry.register(_StateCollector(state))

    # --- sinks -------------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """The event bus subscriber."""
        if type(event) is CallEvent:
            tool, outcome = event.tool, event.outcome
            if event.via is None:  # the MCP request: a relay's (`call_tool`), never the operation it reached
                self.operation.observe(("tools/call", tool, "" if outcome == "ok" else outcome), event.latency)
            if not event.relayed:  # a relayed call is counted once, by the operation it reached (`via`)
                self.calls.inc((tool, event.source, outcome))
                self.result_bytes.inc((tool, "raw", outcome), event.raw_bytes)
                self.result_bytes.inc((tool, "sent", outcome), event.sent_bytes)
        elif isinstance(event, DecisionEvent):
            self.decisions.inc((event.action, event.rule or ""))
        elif isinstance(event, UnknownToolEvent):  # a request all the same; the made-up name labels nothing
            self.operation.observe(("tools/call", "", "rejected"), event.latency)

    def observe_operation(self, method: str, seconds: float, error_type: str | None = None) -> None:
        """An MCP request other than tools/call (tools/list, initialize, …): `gen_ai_tool_name` stays
        empty; `error_type` when it failed (semconv `error.type`: the exception's class name)."""
        self.operation.observe((method, "", error_type or ""), seconds)

    def upstream_observer(self, kind: UpstreamKind, source: str, name: str, target: str,
                          route: Route | None = None, *, resend_count: int = 0) -> _Timed | None:
        """`hooks.ObserverFactory`: time HTTP requests only, each attempt on its own (proxied MCP calls are
        whole tool calls)."""
        if kind != "http":
            return None
        return _Timed(self.upstream, source)

    def render(self) -> bytes:
        """The exposition text, as written: label values are names (tools, sources, policy rules, an
        `events.Outcome` or exception class), never message text, so there is no secret to scrub, and
        scrubbing the text would rewrite numbers (`14242.0` for a secret `4242`) and break the scrape."""
        return generate_latest(self.registry)


class _Timed:
    __slots__ = ("histogram", "source", "started", "carrier")

    def __init__(self, histogram: _Histogram, source: str) -> None:
        self.histogram, self.source, self.started, self.carrier = histogram, source, perf_counter(), {}

    def finish(self, status: int | None, error: str | None) -> None:
        # an answer cut off before its body ended (`timeout` with the head's status) is no answer: `error`
        answered = status is not None and (error is None or error == str(status))
        status_class = f"{status // 100}xx" if answered else "error"
        self.histogram.observe((self.source, status_class), perf_counter() - self.started)


class _Families(Collector):
    def __init__(self, metrics: tuple[_Counter | _Histogram, ...]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Any]:
        for metric in self._metrics:
            yield metric.family()


class _StateCollector(Collector):
    """Gauges and counters read from the server's state at scrape time."""

    def __init__(self, state: StateFn) -> None:
        self._state = state

    def collect(self) -> Iterator[Any]:
        state = self._state()
        tools = GaugeMetricFamily("mcprt_tools", "Tools served, by how they are exposed.", labels=["exposure"])
        by_exposure: dict[str, int] = {"tools": 0, "discovery": 0}
        for tool in state.tools:
            if tool.exposure != META:  # operations served; the meta-tools are how some are reached
                by_exposure[tool.exposure] = by_exposure.get(tool.exposure, 0) + 1
        for exposure, count in sorted(by_exposure.items()):
            tools.add_metric([exposure], count)
        yield tools
        up = GaugeMetricFamily("mcprt_source_up", "1 when the source is up on the status page: a proxied MCP server "
                               "connected and answering, and its calls not judged failing (0: down, degraded, "
                               "unknown or restarting; one 5xx among good answers does not flip it).",
                               labels=["source"])
        restarts = CounterMetricFamily("mcprt_source_restarts", "Restarts of a proxied MCP server, by source name, "
                                       "since the server started (reloads that reopen the source included).",
                                       labels=["source"])
        completions = CounterMetricFamily(
            "mcprt_elicitation_completions", "A proxied MCP server's notifications/elicitation/complete since the "
            "server started, by source and result: delivered to the one session sent that elicitationId, or dropped "
            "(unmatched: no live ask; ambiguous: asked of two sessions at once; undelivered: the session's stream "
            "failed).", labels=["source", "result"])
        unrouted = CounterMetricFamily(
            "mcprt_unrouted_log_messages", "A proxied MCP server's log messages (notifications/message) since the "
            "server started that went to no client, as no one call could be told as theirs (they go to mcprt's log, "
            "at debug after the first).", labels=["source"])
        for source in state.sources:
            up.add_metric([source.name], 1.0 if source.state == "up" else 0.0)
            if source.kind in ("command", "url"):
                unrouted.add_metric([source.name], source.unrouted_logs)
            restarts.add_metric([source.name], source.restarts)
            for result, count in source.elicitation_completions:
                completions.add_metric([source.name, result], count)
        yield up
        yield restarts
        yield completions
        yield unrouted
        yield GaugeMetricFamily("mcprt_sessions",
                                "Open MCP sessions (streamable HTTP; 1 for stdio).",
                                value=state.sessions)
        if state.loop_tasks is not None:
            yield GaugeMetricFamily("mcprt_event_loop_tasks",
                                    "asyncio tasks alive in the serving event loop (a figure that only grows is a "
                                    "leak).",
                                    value=state.loop_tasks)
        if state.rejected_connections is not None:
            yield CounterMetricFamily("mcprt_rejected_connections",
                                      "HTTP connections refused on arrival at the MCPRT_MAX_CONNECTIONS cap (none "
                                      "idle to close) since the server started.",
                                      value=state.rejected_connections)
        reloads = CounterMetricFamily("mcprt_reloads", "Reload attempts by result.", labels=["result"])
        reloads.add_metric(["ok"], state.reload.get("reloads", 0))
        reloads.add_metric(["error"], state.reload.get("failures", 0))
        reloads.add_metric(["abandoned"], state.reload.get("abandoned", 0))
        reloads.add_metric(["refused"], state.reload.get("refused", 0))
        yield reloads
        if state.audit is not None:
            audit = state.audit
            yield GaugeMetricFamily("mcprt_audit_up",
                                    "1 while the audit log takes its records; 0 while records wait unwritten (a full "
                                    "disk, a read-only file system).",
                                    value=1.0 if audit.state == "ok" else 0.0)
            yield GaugeMetricFamily("mcprt_audit_records_pending",
                                    "Audit records waiting in memory for the file to take them (kept up to 10,000, "
                                    "written in order once it does).",
                                    value=audit.pending)
            yield CounterMetricFamily("mcprt_audit_records_dropped",
                                      "Audit records lost for good since the server started: the buffer of unwritten "
                                      "records was full, or the server stopped before the file took them.",
                                      value=audit.dropped)
            yield CounterMetricFamily("mcprt_audit_write_failures",
                                      "Writes of the audit log that failed since the server started (each is retried; "
                                      "records are lost only when mcprt_audit_records_dropped_total says so).",
                                      value=audit.failed_writes)
        if state.state_up is not None:
            yield GaugeMetricFamily("mcprt_state_up",
                                    "1 when the shared state backend (Redis) answers a PING; 0 during an outage "
                                    "(/readyz then reports degraded). A Redis that answers but refuses writes stays "
                                    "1: see mcprt_state_writable.",
                                    value=1.0 if state.state_up else 0.0)
        if state.state_writable is not None:
            yield GaugeMetricFamily("mcprt_state_writable",
                                    "1 while the shared state backend (Redis) takes this replica's writes; 0 while it "
                                    "refuses them (full: maxmemory with noeviction; a read-only replica): sessions, "
                                    "approvals, rate limits and tasks are then not shared (/readyz reports degraded).",
                                    value=1.0 if state.state_writable else 0.0)
        if state.approvals_pending is not None:
            yield GaugeMetricFamily("mcprt_approval_requests_pending",
                                    "Approval requests awaiting a decision (pending, not expired). With a shared state "
                                    "(Redis) the fleet's figure, which every replica reports alike: aggregate replicas "
                                    "with max, not sum; without one, this process's. Absent while the state cannot "
                                    "be read (no figure rather than a stale one).",
                                    value=state.approvals_pending)
        if state.requests_in_flight is not None:
            yield GaugeMetricFamily("mcprt_requests_in_flight",
                                    "MCP requests being answered now (tool calls among them): what a SIGTERM's drain "
                                    "waits for.",
                                    value=state.requests_in_flight)
        if state.tasks_running is not None:
            yield GaugeMetricFamily("mcprt_tasks_running",
                                    "Tasks (calls answered CreateTaskResult) running in this process now: a SIGTERM's "
                                    "drain waits for them too.",
                                    value=state.tasks_running)

