"""OpenTelemetry traces, following the OpenTelemetry MCP semantic conventions.

One SERVER span per MCP request, named `{mcp.method.name} {target}` (`tools/call get_pet`), with
`mcp.method.name`, `mcp.session.id`, `mcp.protocol.version`, `jsonrpc.request.id`, and for tool
calls `gen_ai.tool.name` and `gen_ai.operation.name = execute_tool`; `error.type` when the call did
not end `ok` (its outcome). Shaping is a span event (`mcprt.shaping`: `mcprt.bytes.raw`,
`mcprt.bytes.sent`). Upstream HTTP requests are CLIENT child spans (`GET`, HTTP semconv) whose W3C
`traceparent` header goes upstream; a proxied MCP call is a CLIENT child span `tools/call {tool}`
whose trace context travels in `params._meta` (`traceparent`, `tracestate`). An incoming
`traceparent` in the request's `params._meta`, else in the HTTP request headers, makes the server
span a child of the caller's.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set or the
manifest says `server.observability.traces: true`; then the SDK's OTLP/HTTP exporter reads the
standard `OTEL_*` variables (endpoint, headers, service name via `OTEL_SERVICE_NAME` /
`OTEL_RESOURCE_ATTRIBUTES`, sampler). The OpenTelemetry packages are imported only when on.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..settings import env_limit
from .hooks import Route, UpstreamKind
from .log import log_event
from ..wording import noun

ACTIVE: Tracer | None = None
"""The serving process's tracer while tracing is on (the server sets it; None costs one check)."""

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_CONTEXT_FIELDS = ("traceparent", "tracestate")
FLUSH_TIMEOUT_VARIABLE = "MCPRT_TRACES_FLUSH_TIMEOUT"
DEFAULT_FLUSH_TIMEOUT = 2.0
"""Seconds the final export at shutdown may take (`MCPRT_TRACES_FLUSH_TIMEOUT`), so a stop stays short
when the collector is down; spans not exported by then are dropped with a warning."""


def tracing_wanted(configured: bool) -> bool:
    """On when the manifest asks, or an OTLP endpoint is configured in the environment."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return configured or any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


class Tracer:
    """The OpenTelemetry tracer of one server, with a batch OTLP/HTTP exporter."""

    def __init__(self, service_name: str, version: str, *, record_values: bool = False) -> None:
        """`record_values`: argument values may appear in `url.full` (`server.observability.audit_arguments`,
        the same setting as the audit log's); otherwise the path is the route template and query values
        are `REDACTED`."""
        self.record_values = record_values
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.propagate import get_global_textmap
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.trace import SpanKind, Status, StatusCode, get_current_span, set_span_in_context

        # OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES override these defaults (Resource.create merges them)
        resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or service_name,
                                    "service.version": version})
        self.provider = TracerProvider(resource=resource)
        from .span_counting import CountingExporter, EndedSpans

        self._ended = EndedSpans()
        self._exporter = CountingExporter(OTLPSpanExporter())
        self._batch = BatchSpanProcessor(self._exporter)
        self.provider.add_span_processor(self._ended)
        self.provider.add_span_processor(self._batch)
        self.tracer = self.provider.get_tracer("mcprt", version)
        self._propagator = get_global_textmap()
        self._kind, self._status, self._code = SpanKind, Status, StatusCode
        self._current, self._in_context = get_current_span, set_span_in_context
        from opentelemetry.context import attach, detach

        self._attach, self._detach = attach, detach

    def request_span(self, method: str, params: Mapping[str, Any] | None, *, session_id: str | None,
                     protocol_version: str | None, request_id: Any, headers: Mapping[str, str] | None,
                     tool: str | None, method_original: str | None = None) -> AbstractContextManager[Any]:
        """The SERVER span of one MCP request (a context manager making it current).

        `method` names the span and is `mcp.method.name`: the server's label for the request's method,
        never a string only the client chose (the caller maps a method MCP does not define to `_OTHER`
        and passes the client's string as `method_original`, recorded as `rpc.method_original`,
        OpenTelemetry semconv, JSON-RPC spans). `tool`, a tool the server offers (None otherwise), makes
        the span `{method} {tool}` with `gen_ai.tool.name` (semconv MCP spans: the target must be low
        cardinality, else the name is the method alone)."""
        carrier: dict[str, str] = {}
        if headers is not None:
            carrier.update({k: headers[k] for k in _CONTEXT_FIELDS if headers.get(k)})
        meta = (params or {}).get("_meta") if params else None
        if isinstance(meta, Mapping) and isinstance(meta.get("traceparent"), str):  # _meta beats the header
            carrier = {k: str(meta[k]) for k in _CONTEXT_FIELDS if isinstance(meta.get(k), str)}
        parent = self._propagator.extract(carrier) if carrier else None
        attributes: dict[str, Any] = {"mcp.method.name": method}
        if session_id:
            attributes["mcp.session.id"] = session_id
        if protocol_version:
            attributes["mcp.protocol.version"] = protocol_version
        if request_id is not None:
            attributes["jsonrpc.request.id"] = str(request_id)
        if method_original is not None and method_original != method:
            attributes["rpc.method_original"] = method_original
        name = method
        if tool is not None:
            name = f"{method} {tool}"
            attributes["gen_ai.tool.name"] = tool
            attributes["gen_ai.operation.name"] = "execute_tool"
        return self.tracer.start_as_current_span(name, context=parent, kind=self._kind.SERVER,
                                                 attributes=attributes)

    def mark_call(self, call_id: str) -> tuple[str, str] | None:
        """Put mcprt's call id on the current (tools/call) span as `mcprt.call.id` (the audit record's
        `call`), and give the span's ids for the call's log line and audit record: (`trace_id`, `span_id`)
        as 32 and 16 lowercase hex digits (W3C Trace Context §3.2.2; the OpenTelemetry log data model's
        `TraceId`/`SpanId`), or None when no span is recording (sampled out, or no request span)."""
        span = self._current()
        if not span.is_recording():
            return None
        span.set_attribute("mcprt.call.id", call_id)
        context = span.get_span_context()
        return f"{context.trace_id:032x}", f"{context.span_id:016x}"

    def annotate_call(self, raw_bytes: int, sent_bytes: int, outcome: str) -> None:
        """Shaping as an event on the current (tools/call) span; `error.type` unless the call was ok."""
        span = self._current()
        if not span.is_recording():
            return
        span.add_event("mcprt.shaping", {"mcprt.bytes.raw": raw_bytes, "mcprt.bytes.sent": sent_bytes})
        if outcome != "ok":
            span.set_attribute("error.type", outcome)
            span.set_status(self._status(self._code.ERROR))

    def upstream_observer(self, kind: UpstreamKind, source: str, name: str, target: str,
                          route: Route | None = None, *, resend_count: int = 0) -> _ClientSpan:
        """`hooks.ObserverFactory`: a CLIENT child span whose context travels with the request.

        HTTP (OpenTelemetry HTTP client semconv): `server.address` and `server.port` (required),
        `url.full`, `url.template` (the route), `http.request.method`; one span per attempt, a retry's
        with `http.request.resend_count` (1 for the first retry; absent on the first request, as the
        semconv asks). A proxied MCP server reached
        by URL has `server.address`/`server.port` and `network.transport = tcp`; one on stdio has
        `network.transport = pipe` and no address (a command name is not a network address)."""
        if kind == "http":
            attributes = {"http.request.method": name, "mcprt.source": source,
                          **http_target(target, route, record_values=self.record_values)}
            if resend_count > 0:
                attributes["http.request.resend_count"] = resend_count
            span = self.tracer.start_span(name, kind=self._kind.CLIENT, attributes=attributes)
        else:
            attributes = {"mcp.method.name": "tools/call", "gen_ai.tool.name": name,
                          "gen_ai.operation.name": "execute_tool", "mcprt.source": source, **mcp_target(target)}
            span = self.tracer.start_span(f"tools/call {name}", kind=self._kind.CLIENT, attributes=attributes)
        context = self._in_context(span)
        carrier: dict[str, str] = {}
        self._propagator.inject(carrier, context=context)
        # Current until finished, so a library injecting the ambient context itself (the MCP SDK's
        # client writes `_meta.traceparent` on every request) names this span, not its parent.
        token = self._attach(context)
        return _ClientSpan(self, span, carrier, token)

    def shutdown(self) -> None:
        """Export what is buffered, then stop (at server shutdown), waiting at most
        `MCPRT_TRACES_FLUSH_TIMEOUT` seconds (default 2): with the collector unreachable the exporter
        would otherwise retry the final batch for its whole timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`, 10 s)
        and hold up the stop. Spans not exported by then are dropped, with one warning saying how many."""
        timeout = env_limit(FLUSH_TIMEOUT_VARIABLE, DEFAULT_FLUSH_TIMEOUT)
        # The SDK's shutdown takes no timeout (its batch processor waits up to 30 s for the last export):
        # run it in a daemon thread, and past the timeout shut the exporter down, which ends its retry
        # back-off; a request still in flight then ends with the process.
        flush = threading.Thread(target=self.provider.shutdown, name="mcprt-traces-flush", daemon=True)
        flush.start()
        flush.join(timeout)
        if flush.is_alive():
            self._exporter.shutdown()
            flush.join(0.5)
        dropped = self._ended.count - self._exporter.exported
        if dropped > 0:
            log_event(f"traces: {dropped} {noun(dropped, 'span')} not exported at shutdown: the OTLP "
                      f"collector did not take them within {timeout:g} s ({FLUSH_TIMEOUT_VARIABLE})",
                      logging.WARNING, dropped=dropped)


class _ClientSpan:
    __slots__ = ("tracer", "span", "carrier", "token")

    def __init__(self, tracer: Tracer, span: Any, carrier: dict[str, str], token: Any) -> None:
        self.tracer, self.span, self.carrier, self.token = tracer, span, carrier, token

    def finish(self, status: int | None, error: str | None) -> None:
        try:
            self.tracer._detach(self.token)
        except Exception:  # finished in another context (cannot happen on the call path): keep going
            pass
        if status is not None:
            self.span.set_attribute("http.response.status_code", status)
        if error is not None:
            self.span.set_attribute("error.type", error)
            self.span.set_status(self.tracer._status(self.tracer._code.ERROR))
        self.span.end()


REDACTED = "REDACTED"  # OpenTelemetry's placeholder for a query value kept out of `url.full`


def http_target(url: str, route: Route | None, *, record_values: bool) -> dict[str, Any]:
    """The HTTP client span's address attributes for `url` (already free of credentials).

    Without `record_values`, argument values stay out as they do of the audit log: the path is the
    route template (`/notes/{id}`, after the base URL's own path), each query value is `REDACTED`
    (OpenTelemetry HTTP semconv, `url.full`), and so is every query key the operation does not
    declare (a deepObject's `filter[ssn-…]`, an exploded object's property names: argument data),
    all of them as one `REDACTED=REDACTED`. Raises nothing: a URL it cannot read is passed as is."""
    parts = urlsplit(url)
    attributes: dict[str, Any] = {}
    if parts.hostname:
        attributes["server.address"] = parts.hostname
        attributes["server.port"] = _port(parts.scheme, parts.port)
    path, query = parts.path, parts.query
    if route is not None:
        segments = path.split("/")
        template = route.template  # the filled template has as many segments
        base = "/".join(segments[:len(segments) - template.count("/")])
        attributes["url.template"] = base + template
        if not record_values:
            path = base + template
    if query and not record_values:
        declared = route.query if route is not None else frozenset()
        keys = [key for key, _ in parse_qsl(query, keep_blank_values=True)]
        kept = [(key, REDACTED) for key in keys if key in declared]
        if len(kept) < len(keys):
            kept.append((REDACTED, REDACTED))
        query = urlencode(kept, safe="{}")
    attributes["url.full"] = urlunsplit((parts.scheme, parts.netloc, path, query, ""))
    return attributes


def mcp_target(target: str) -> dict[str, Any]:
    """A proxied MCP server's address attributes: a URL's host and port over TCP, else stdio (`pipe`)."""
    parts = urlsplit(target)
    if parts.scheme in ("http", "https") and parts.hostname:
        return {"server.address": parts.hostname, "server.port": _port(parts.scheme, parts.port),
                "network.transport": "tcp"}
    return {"network.transport": "pipe"}


def _port(scheme: str, port: int | None) -> int:
    """A URL's port: the given one, else its scheme's default (RFC 9110 §4.2: 80 for http, 443 for https)."""
    return port or (443 if scheme == "https" else 80)


def no_span() -> AbstractContextManager[None]:
    return nullcontext()
