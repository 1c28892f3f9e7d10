"""Logging setup and the one structured line every call writes.

Logs go to stderr (stdout belongs to the stdio transport and to `--json` output). Text or JSON
lines per `MCPRT_LOG_FORMAT`. Call lines carry names, sizes, status and latency only, and every
formatted line (tracebacks, a proxied server's stderr, debug output) is scrubbed of configured
secrets before it is written.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from ..scrubbing import SECRETS

LOGGER_NAME = "mcprt"
logger = logging.getLogger(LOGGER_NAME)
# Until a command sets logging up, mcprt used as a library (tests, `mcprt.testing`) stays silent
# instead of Python's last-resort handler printing bare messages.
logger.addHandler(logging.NullHandler())


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        return SECRETS.scrub_text(json.dumps(entry, ensure_ascii=False, default=str))


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        fields = getattr(record, "fields", None)
        if fields:
            base += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return SECRETS.scrub_text(base)  # tracebacks and upstream stderr included


_libraries: logging.Handler | None = None  # the handler `setup_logging` put on the root logger


def setup_logging(level: str = "info", fmt: str = "text") -> None:
    """Configure the `mcprt` logger once (idempotent), on stderr.

    Other libraries' warnings and errors (the OpenTelemetry exporter that cannot reach its collector,
    uvicorn, asyncio) go through the same formatter, so they are scrubbed and, with `json`, JSON
    lines too, instead of bare text from Python's last-resort handler. Added beside any handler the
    root logger has (a host application's, pytest's), never replacing it."""
    global _libraries
    handler = _handler(fmt)
    root = logging.getLogger(LOGGER_NAME)
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    top = logging.getLogger()
    if _libraries is not None:
        top.removeHandler(_libraries)
    _libraries = _handler(fmt)
    _libraries.setLevel(logging.WARNING)
    top.addHandler(_libraries)


def _handler(fmt: str) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    return handler


def log_event(message: str, level: int = logging.INFO, **fields: Any) -> None:
    """One structured log line: a message plus key=value fields."""
    logger.log(level, message, extra={"fields": fields})


def log_call(*, tool: str, source: str, status: Any, latency_ms: float, raw_bytes: int, sent_bytes: int,
             is_error: bool) -> None:
    """The line every tool call writes: tool, status, latency, bytes raw → sent."""
    log_event(
        "call",
        logging.WARNING if is_error else logging.INFO,
        tool=tool,
        source=source,
        status=status,
        latency_ms=round(latency_ms, 1),
        raw_bytes=raw_bytes,
        sent_bytes=sent_bytes,
        error=is_error,
    )
