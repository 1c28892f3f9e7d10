"""Logging setup and the one structured line every call writes.

Logs go to stderr (stdout belongs to the stdio transport and to `--json` output). Text or JSON
lines per `MCPRT_LOG_FORMAT`. Call lines carry names, sizes, status and latency only, and every
formatted line (tracebacks, a proxied server's stderr, debug output) is scrubbed of configured
secrets before it is written.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from typing import Any

from logfmter import Logfmter
from logfmter.formatter import REPLACEMENTS  # its escapes of C0 controls and DEL: `\n`, `\t`, `\u001b`

from ..scrubbing import SECRETS
from ..scrubbing.streams import unscrubbed

LOGGER_NAME = "mcprt"
logger = logging.getLogger(LOGGER_NAME)
# Until a command sets logging up, mcprt used as a library (tests, `mcprt.testing`) stays silent
# instead of Python's last-resort handler printing bare messages.
logger.addHandler(logging.NullHandler())


_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_TEXT_CLOCK = "%H:%M:%S"


def rfc3339(epoch: float) -> str:
    """`epoch` (s) as an RFC 3339 UTC time with milliseconds, e.g. `2026-11-30T09:13:00.250Z`: the
    audit log's times, and times told to callers (here, so every layer may use it)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


def duration_text(seconds: float) -> str:
    """A span told to people: `42s` under 2 minutes, `17m` under 2 hours, else `3h 5m` (the status
    page's ages, and how long an approval request stays open)."""
    seconds = int(max(0, seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h {seconds % 3600 // 60}m"


def _json_line(created: float, msecs: float, levelname: str, name: str, message: str,
               fields: dict[str, Any] | None) -> str:
    """One JSON log line (`MCPRT_LOG_FORMAT=json`), scrubbed of configured secrets."""
    entry: dict[str, Any] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(msecs):03d}Z",
        "level": levelname.lower(),
        "logger": name,
        "msg": message,
    }
    if fields:
        entry.update(fields)
    return SECRETS.scrub_text(json_line(entry))


# The one rule for every log and audit line (text, JSON, the audit log): beyond the C0 controls and DEL (which
# logfmter and JSON escape themselves), the characters no line carries raw, each written `\uXXXX` — the C1
# controls (NEL U+0085 is a line break for `str.splitlines()` and Unicode readers, CSI U+009B starts a terminal
# escape), the line and paragraph separators U+2028/U+2029 (line breaks for the same readers), and the bidi
# embedding, override and isolate controls U+202A–U+202E, U+2066–U+2069 (Unicode TR9; CVE-2021-42574 "Trojan
# Source": an RLO reverses the rest of a line in a viewer, forging what a record seems to say). A client or an
# upstream chooses the text a record holds: with them raw, it could split one record into several or make it
# read as another.
LINE_UNSAFE = frozenset(chr(c) for c in [*range(0x80, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F),
                                         *range(0x2066, 0x206A)])
_BEYOND_LOGFMTER = {char: f"\\u{ord(char):04x}" for char in sorted(LINE_UNSAFE)}
_BEYOND = re.compile("[" + "".join(sorted(LINE_UNSAFE)) + "]")
# In JSON, a lone surrogate as well (`json.dumps(ensure_ascii=False)` writes it raw, which UTF-8 cannot encode):
# `\udXXX` is valid JSON that reads back as the same string
_JSON_UNSAFE = re.compile("[" + "".join(sorted(LINE_UNSAFE)) + "\ud800-\udfff]")


def json_line(value: Any, *, sort_keys: bool = False) -> str:
    """`value` as one JSON line without its newline (non-ASCII written as is, `str()` for what JSON lacks), every
    `LINE_UNSAFE` character and lone surrogate escaped `\\uXXXX`: whatever text it holds, the line stays one line
    for `str.splitlines()` and every JSON reader, and reads back (`json.loads`) as `value`; also what a terminal
    shows of text a client chose (`mcprt approvals list`: an RLO there would reverse what an approver reads).
    Raises ValueError or TypeError for a value JSON cannot hold (a circular one)."""
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=sort_keys)
    if text.isascii() or not _JSON_UNSAFE.search(text):  # the common case: nothing to rebuild
        return text
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


_ESCAPES = str.maketrans({**REPLACEMENTS, **_BEYOND_LOGFMTER})  # every character a line must not carry raw


def _logfmt_string(text: str) -> str:
    """`text` as a logfmt value: logfmter's rules (`Logfmter.format_string`: quoted when it has a
    space, `=`, `"` or a control character, with `\"`, `\\`, `\n`, `\u001b` escapes), and a `LINE_UNSAFE`
    character escaped too, which also forces the quotes (a bare value's backslash is literal)."""
    written = Logfmter.format_string(text)
    if text.isascii() or not _BEYOND.search(text):
        return written
    if not written.startswith('"'):  # logfmter saw nothing to quote: quote as it would, doubling backslashes
        written = '"' + written.replace("\\", "\\\\") + '"'
    return written.translate(_ESCAPES)


def _message(message: str) -> str:
    """A text line's message, scrubbed of configured secrets (before escaping: an escaped secret, a PEM
    key's line breaks, is a form the scrubber need not know). Written as it is, unless a logfmt reader
    could take part of it for a field or it has a character a line must not carry raw: with `=` or `"`
    (`upstream said status=ok`), a control character, or U+2028/U+2029, it is the quoted field
    `msg="…"` (`_logfmt_string`), so text a client or upstream chose neither starts a line nor forges
    a key."""
    message = SECRETS.scrub_text(message)
    if "=" in message or '"' in message or not message.isprintable():
        return "msg=" + _logfmt_string(message)
    return message


def _logfmt_value(value: Any) -> str:
    """One field's value as logfmt writes it, a text one scrubbed before it is quoted (see `_message`)."""
    if value is None or isinstance(value, (bool, int, float)):
        return Logfmter.format_value(value)
    return _logfmt_string(SECRETS.scrub_text(str(value)))


def _with_fields(base: str, fields: dict[str, Any] | None) -> str:
    """A text line's `key=value` tail in logfmt (a value with a space, `=`, `"` or a control character is
    double-quoted with `\\"`, `\\\\`, `\\n` escapes; `true`/`false`; None is empty: the `logfmter`
    library's rules, which logfmt parsers such as Go's `kr/logfmt` and Grafana Loki's read), scrubbed of
    configured secrets (tracebacks included). `base` is the head and message, already escaped; the
    whole line is scrubbed again, as before, for what spans the head and the fields."""
    if fields:
        base += " " + " ".join(f"{k}={_logfmt_value(v)}" for k, v in fields.items())
    return SECRETS.scrub_text(base)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return _json_line(record.created, record.msecs, record.levelname, record.name, record.getMessage(),
                          getattr(record, "fields", None))


class _TextFormatter(logging.Formatter):
    """`%(asctime)s LEVEL logger: message key=value…`, one line per record always: the message's line
    breaks escaped, and a traceback (`logging` appends it after a line break) or stack given as the
    logfmt fields `exc_info` / `stack_info`, its line breaks escaped like any value's, so that no
    text an exception carries can start a line that reads as a record."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = _message(record.getMessage())
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        fields: dict[str, Any] | None = getattr(record, "fields", None)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)  # cached as logging.Formatter does
        if record.exc_text or record.stack_info:
            fields = dict(fields or {})
            if record.exc_text:
                fields["exc_info"] = record.exc_text
            if record.stack_info:
                fields["stack_info"] = self.formatStack(record.stack_info)
        return _with_fields(line, fields)


class _CallLines:
    """The per-call line written without `logging`'s per-record machinery (a `LogRecord`, the
    caller's frame looked up, the formatter chain: ~7 % of a stdio call's CPU), when the result is
    certainly the same: the `mcprt` logger has exactly the handler `setup_logging` installed, no
    filters, and the level is enabled. Otherwise `log_event` takes the ordinary way."""

    def __init__(self, handler: logging.StreamHandler[Any], fmt: str) -> None:
        self.handler = handler
        self.json = fmt == "json"
        self._second = -1
        self._clock = ""

    def usable(self, level: int) -> bool:
        handlers = logger.handlers
        return (len(handlers) == 1 and handlers[0] is self.handler and not logger.filters
                and not self.handler.filters and not logger.disabled and logger.isEnabledFor(level)
                and self.handler.level <= level)

    def write(self, level: int, message: str, fields: dict[str, Any]) -> None:
        created = time.time()
        levelname = logging.getLevelName(level)
        if self.json:
            line = _json_line(created, (created - int(created)) * 1000, levelname, LOGGER_NAME, message, fields)
        else:
            second = int(created)
            if second != self._second:  # the clock has whole seconds: one strftime per second
                self._second, self._clock = second, time.strftime(_TEXT_CLOCK, time.localtime(created))
            line = _with_fields(f"{self._clock} {levelname:<7} {LOGGER_NAME}: {_message(message)}", fields)
        handler = self.handler
        with handler.lock:  # type: ignore[union-attr]  # as Handler.handle: lines never interleave
            try:
                handler.stream.write(line + handler.terminator)
                handler.flush()
            except Exception:  # as StreamHandler.emit: a broken stderr never breaks a call
                handler.handleError(logging.makeLogRecord({"msg": message, "levelno": level}))


_CALL_LINES: _CallLines | None = None


_libraries: logging.Handler | None = None  # the handler `setup_logging` put on the root logger
_LEVEL = logging.INFO  # mcprt's level, as `setup_logging` was last told (MCPRT_LOG_LEVEL)
# logger name → `python:` source: the loggers of a source's modules (`adopt_source_logger`)
_SOURCE_LOGGERS: dict[str, str] = {}
_LEVEL_SET: set[str] = set()  # of those, the loggers whose level mcprt set (it follows MCPRT_LOG_LEVEL)


# the `python:` source whose code runs in this context (a tool call, the module's import): records logged
# there on loggers no source's module names (the root logger's `logging.info`, `getLogger("myapp.worker")`)
# are that source's (`in_python_source`); anyio's worker threads run in a copy of the caller's context
_RUNNING_SOURCE: contextvars.ContextVar[str | None] = contextvars.ContextVar("mcprt_python_source", default=None)
_TOP_CLAIMS: dict[str, set[str]] = {}  # top-level package → the sources whose entries are under it
_ROOT_LOWERED = False  # the root logger's level follows mcprt's (INFO at the lowest) since a source was adopted


def adopt_source_logger(module: str, source: str) -> None:
    """Route the `logging` of a `python:` source's module (`module`: the entry's full module name, so
    `getLogger(__name__)` of it and of modules under it; its top-level package too while no other source
    has an entry under it — two sources `pkg.a` and `pkg.b` each keep their own, where keying by `pkg`
    labelled one's lines with the other's name) into mcprt's log: on stderr, through mcprt's formatter
    (scrubbed, JSON with `MCPRT_LOG_FORMAT=json`), with `source=` naming the source, at mcprt's level
    (`MCPRT_LOG_LEVEL`: `log.info` shows at info and debug). A trial's tool lost even its warnings after
    `logging.basicConfig(stream=sys.stdout, level=INFO)`, and without it `log.info` never showed, even at
    debug. A level the module set on its logger itself is left as it set it; a handler it adds writes
    where it writes (fd 1 is stderr while mcprt serves stdio: `stdout_claim`). Records on other loggers
    are the source's when logged in its code (`in_python_source`); the root logger's own level (WARNING
    unless the module sets it) still decides whether `logging.info(...)` makes a record at all."""
    global _ROOT_LOWERED
    root = logging.getLogger()
    if root.level == logging.WARNING and not _ROOT_LOWERED:  # Python's default, not a level someone chose
        # `logging.info(...)` and unnamed loggers' info lines make a record only below WARNING; other
        # libraries' info records are then made and dropped (`_LibraryRecords`), never DEBUG's (httpcore's)
        _ROOT_LOWERED = True
        root.setLevel(max(_LEVEL, logging.INFO))
    top = module.partition(".")[0]
    claims = _TOP_CLAIMS.setdefault(top, set())
    claims.add(source)
    names = [module]
    if claims == {source}:
        names.append(top)
    elif _SOURCE_LOGGERS.get(top) is not None and top != module:
        del _SOURCE_LOGGERS[top]  # shared by two sources: each module's own name says which
    for name in names:
        _SOURCE_LOGGERS[name] = source
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or name in _LEVEL_SET:
            logger.setLevel(_LEVEL)
            _LEVEL_SET.add(name)


@contextlib.contextmanager
def in_python_source(source: str) -> Iterator[None]:
    """Within: the code running is `python:` source `source`'s (a tool call, its module's import), so what
    it logs on any logger is routed and labelled as its own (`adopt_source_logger`)."""
    token = _RUNNING_SOURCE.set(source)
    try:
        yield
    finally:
        _RUNNING_SOURCE.reset(token)


def _source_of(name: str) -> str | None:
    """The `python:` source whose module logs as `name`, else the one whose code is running, else None
    (another library's logger, outside any source's code)."""
    while name:
        source = _SOURCE_LOGGERS.get(name)
        if source is not None:
            return source
        name = name.rpartition(".")[0]
    return _RUNNING_SOURCE.get()


class _LibraryRecords(logging.Filter):
    """What the root logger's handler writes: other libraries' warnings and errors, and a `python:`
    source's records at mcprt's level, each with `source=` (`adopt_source_logger`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        source = _source_of(record.name) if _SOURCE_LOGGERS else None
        if source is None:
            return record.levelno >= logging.WARNING
        if record.levelno < _LEVEL:
            return False
        if getattr(record, "fields", None) is None:
            record.fields = {"source": source}
        return True
_FORMAT: str | None = None  # as `setup_logging` was last told (None: not yet): how `announce` writes its lines


def setup_logging(level: str = "info", fmt: str = "text") -> None:
    """Configure the `mcprt` logger once (idempotent), on stderr.

    Other libraries' warnings and errors (the OpenTelemetry exporter that cannot reach its collector,
    uvicorn, asyncio) and Python warnings (`logging.captureWarnings`) go through the same formatter, so they are scrubbed and, with `json`, JSON
    lines too, instead of bare text from Python's last-resort handler. Added beside any handler the
    root logger has (a host application's, pytest's), never replacing it."""
    global _libraries, _CALL_LINES, _FORMAT, _LEVEL
    _FORMAT = fmt
    _LEVEL = logging.getLevelName(level.upper()) if isinstance(logging.getLevelName(level.upper()), int) \
        else logging.INFO
    for name in _LEVEL_SET:
        logging.getLogger(name).setLevel(_LEVEL)
    if _ROOT_LOWERED:
        logging.getLogger().setLevel(max(_LEVEL, logging.INFO))
    handler = _handler(fmt)
    root = logging.getLogger(LOGGER_NAME)
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False  # so the root logger's handler below never sees mcprt's own lines
    _CALL_LINES = _CallLines(handler, fmt)
    top = logging.getLogger()
    if _libraries is not None:
        top.removeHandler(_libraries)
    _libraries = _handler(fmt)
    _libraries.setLevel(min(logging.WARNING, _LEVEL))  # a python source's info lines too (`_LibraryRecords`)
    _libraries.addFilter(_LibraryRecords())
    top.addHandler(_libraries)
    # Python warnings (`warnings.warn`: a library's deprecation, a `python:` source's own) become records of
    # the `py.warnings` logger at WARNING, written by the handler above in the log's format and scrubbed:
    # printed raw, a warning's two lines (file:line, source text) broke MCPRT_LOG_FORMAT=json (soak trial F3).
    logging.captureWarnings(True)
    from ..envcheck import warn_once
    from ..envfile import flush_pending

    flush_pending()  # `.env` problems the settings met before logging existed
    warn_once()  # MCPRT_* names that are no setting, limits that are no number


def _handler(fmt: str) -> logging.StreamHandler[Any]:
    # The stream beneath the process's scrubbing stderr: every line the formatters write is scrubbed
    # whole already, and a second search (inside that stream's lock) cost ~10 % of a call's log line.
    handler = logging.StreamHandler(unscrubbed(sys.stderr))
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter(_TEXT_FORMAT, _TEXT_CLOCK))
    return handler


def log_format() -> str:
    """The format of the lines mcprt writes on stderr, `"text"` or `"json"` (`MCPRT_LOG_FORMAT`): as
    `setup_logging` was told; before logging is set up (a setting was refused, the manifest is
    missing) what the settings say, each refused value counting as unset, so `invalid setting
    MCPRT_PORT: …` is still a JSON line when MCPRT_LOG_FORMAT=json asks (a refused MCPRT_LOG_FORMAT
    itself gives `text`). The one place that knows it: `announce` and the start-up error writer ask here."""
    if _FORMAT is not None:
        return _FORMAT
    from pydantic import ValidationError

    from ..settings import load_settings, log_format_despite

    try:
        return load_settings().log_format
    except ValidationError as exc:
        return log_format_despite(exc)


def announce(message: str, *, level: str = "info", text: str | None = None, **fields: Any) -> None:
    """A line `mcprt up` writes on stderr whatever the log level: the serving banner, where the stdio
    metrics listener is, a forced exit, compile progress, a start-up error or diagnostic. Under text
    logs the plain `text` (default: `message`); under `MCPRT_LOG_FORMAT=json` (`log_format`) a JSON line
    like every other (`level` as given, `msg` the message, `fields` beside it), so a log pipeline that
    parses JSON lines (the Docker image sets json) never meets bare text. Scrubbed. A text line's message
    follows the one rule of every text record (`_message`): bare when a logfmt reader takes it as
    words, the quoted field `msg="…"` when it has `=`, `"` or a character to escape (a diagnostic
    quoting a client's key or an upstream's stderr escaped its line breaks but was written bare, so
    its `=` and quotes read as forged fields)."""
    if log_format() == "json":
        created = time.time()
        line = _json_line(created, (created - int(created)) * 1000, level, LOGGER_NAME, message, fields)
    else:
        line = _message(message if text is None else text)
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed stderr never stops the server
        pass


def log_event(message: str, level: int = logging.INFO, **fields: Any) -> None:
    """One structured log line: a message plus key=value fields."""
    lines = _CALL_LINES
    if lines is not None and lines.usable(level):
        lines.write(level, message, fields)
    else:
        logger.log(level, message, extra={"fields": fields})


ERROR_TEXT_LIMIT = 1000
"""Characters of a failed call's error text on its log line, as in its audit record (`error`)."""


def log_call(*, tool: str, source: str, status: Any, latency_ms: float, raw_bytes: int, sent_bytes: int,
             is_error: bool, task: str | None = None, reason: str | None = None, call: str | None = None,
             session: str | None = None, error_text: str | None = None, upstream_status: int | None = None,
             attempts: int | None = None, trace: tuple[str, str] | None = None) -> None:
    """The line every tool call writes: tool, status, latency, bytes raw → sent (and the task it ran as;
    `reason`: why a refused call is the operator's to fix, `ToolCallError.reason`).

    So that a line joins the call's audit record and trace, it also carries, when known: `call` (mcprt's call
    id, the audit record's `call`), `session` (the MCP session id), `error_message` (a failed call's error
    text as the model read it, at most `ERROR_TEXT_LIMIT` characters; scrubbed of configured secrets like
    every line, and by the caller of the call's argument values, `scrubbing.given.without_argument_values`), `upstream_status` (the HTTP status the upstream last answered) and `attempts` (requests sent
    upstream, retries included, when more than one), and `trace_id`/`span_id` (`trace`: the call's span, hex,
    the OpenTelemetry log correlation field names). `error` stays the boolean it always was."""
    fields: dict[str, Any] = {
        "tool": tool, "source": source, "status": status, "latency_ms": round(latency_ms, 1),
        "raw_bytes": raw_bytes, "sent_bytes": sent_bytes, "error": is_error,
    }
    if task is not None:
        fields["task"] = task
    if reason is not None:
        fields["reason"] = reason
    if call is not None:
        fields["call"] = call
    if session is not None:
        fields["session"] = session
    if upstream_status is not None:
        fields["upstream_status"] = upstream_status
    if attempts is not None and attempts > 1:
        fields["attempts"] = attempts
    if error_text is not None:
        fields["error_message"] = error_text[:ERROR_TEXT_LIMIT]
    if trace is not None:
        fields["trace_id"], fields["span_id"] = trace
    log_event("call", logging.WARNING if is_error else logging.INFO, **fields)


class Outage:
    """Logs a failing dependency once each way: `lost` at the first failure of a run of failures,
    `restored` at the first success after it — not a line per failed request, which during an outage
    under traffic floods the log (one per new session, per lookup) and hides when it ended."""

    def __init__(self, lost: str, restored: str) -> None:
        self._lost = lost
        self._restored = restored
        self.failing = False

    def failed(self, **fields: Any) -> None:
        """Record a failure; logs `lost` (WARNING, with `fields`) only when the last attempt worked."""
        if not self.failing:
            self.failing = True
            log_event(self._lost, logging.WARNING, **fields)

    def worked(self) -> None:
        """Record a success; logs `restored` (WARNING, as the loss was) only after a failure."""
        if self.failing:
            self.failing = False
            log_event(self._restored, logging.WARNING)
