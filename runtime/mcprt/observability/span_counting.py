"""Counting spans on their way to the collector, so a shutdown that drops some can say how many
(imported only when tracing is on: it imports the OpenTelemetry SDK)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


class EndedSpans(SpanProcessor):
    """Counts the sampled spans that ended: what the exporter should have delivered."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self.count = 0

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None and span.context.trace_flags.sampled:
            self.count = next(self._counter)  # itertools.count is atomic under concurrent threads


class CountingExporter(SpanExporter):
    """Wraps a `SpanExporter`; `exported` is the number of spans it delivered."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.exported = 0
        self._lock = threading.Lock()
        self._shut = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        if result is SpanExportResult.SUCCESS:
            with self._lock:
                self.exported += len(spans)
        return result

    def shutdown(self) -> None:
        """Idempotent (the tracer may shut it down early, then the batch processor again)."""
        with self._lock:
            if self._shut:
                return
            self._shut = True
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
