"""The audit log (`server.observability.audit`): one JSON line per call and per policy decision.

Record fields (absent when unknown):
  call:     {"time", "type": "call", "principal", "principal_kind", "client_id", "session", "tool", "source", "outcome",
             "latency_ms", "bytes_raw", "bytes_sent", "call", "arguments", "upstream_status",
             "upstream_attempts", "error", "via", "task", "trace_id", "span_id", "entry_point"}
          (`task`: the task id when the call ran as a task, the tasks extension; `via`: the meta-tool
          an operation was called through, discovery's `call_tool`, whose record has the same `call`;
          `upstream_status`: the HTTP status the upstream last answered, also when the call then timed out;
          `upstream_attempts`: requests sent upstream when more than one (retries);
          `trace_id`/`span_id`: the call's tools/call span, hex, when traced, as on its log line)
`entry_point` (on every record type): the command that made the call when it was not a served one,
`mcprt call`, `mcprt record`, `mcprt test` or `pytest` (the mcprt pytest plugin); absent for `mcprt up`.
  decision: {"time", "type": "decision", "action", "tool", "source", "principal", "principal_kind",
             "client_id", "session", "rule", "reason", "approval_id", "call", "approvers", "voter",
             "voter_kind", "voter_client_id", "vote"}
          (`call`: the call it decided, as that call's record names it; absent for an operator's
          pause/resume, an approver's vote and an expiry, which decide no call of their own;
          `principal` of an approval's records is its caller, whose kind and client are known only
          on the call's own records; `approvers`: the list of who settled it; `voter`…`vote`: an
          `approval_vote`, one per recorded vote, `vote` `approve` or `deny`, `reason` the voter's,
          or an `approval_vote_refused`, one per vote not recorded, `reason` why — no `tool`,
          `source`, `principal` or `rule` when its `approval_id` names no request)
  unknown_tool: {"time", "type": "unknown_tool", "tool", "principal", "principal_kind", "client_id",
                 "session", "request"}
          (a `tools/call` naming no tool this server offers; `tool` cut to 100 characters, "…")
`principal_kind` is how the principal authenticated (`token`, `oauth`, `stdio`, `anonymous`);
`client_id` the OAuth client it acted through (RFC 9068 §2.2 `client_id`, else OIDC `azp`);
`principal_by_client` (`voter_by_client`), present and true only when that client acted for itself
(`Principal.by_client`: a token with no `sub`, or its own id as `sub`), so it is not a user of that name — also
on an approval's records written away from its call (`principal` is then the request's caller); `approvers`
names such a client `client:<id>`, as policies write it.
`time` is RFC 3339 UTC with milliseconds. `arguments` lists the argument *names*; with
`audit_arguments: true` it is an object of their values, secret-looking names and the manifest's
secrets redacted, each value longer than `VALUE_LIMIT` characters (a string, or another value's
JSON) shortened to that many and marked `… [shortened: N characters]`, so one call's argument
cannot write a 100 KB line. Nothing else from the request or the upstream is written.

Writing never blocks a call: the bus subscriber only enqueues; a daemon thread formats and
writes. `reopen()` (on SIGHUP) makes the writer close and reopen the path, so `logrotate` can
move the file away and the next record starts a new one.

A record that cannot be written (a full disk: ENOSPC, a read-only file system, an I/O error) is
not lost quietly: it stays in a bounded buffer (`MAX_PENDING` records, `MAX_PENDING_BYTES`) and is
written, in order, once the file takes it again (retried every `RETRY_EVERY` seconds); only a record
that finds the buffer full is dropped, and counted (`AuditHealth.dropped`, `mcprt_audit_records_dropped_total`).
Each write is whole lines: a write the disk cut short is truncated back to its last whole line
(its torn record stays buffered), so no half record is left to run into the next. The failure
is logged at ERROR when it starts (then at most once a minute while it lasts, with the counts) and
when it ends, and shows on `/healthz`, `/readyz`, `/status` and `/metrics`. With
`audit_on_failure: refuse` (the default) no tool call runs while records wait unwritten: a
gateway that must answer for every call refuses the calls it could not record (`AuditLog.refusal`).
"""

from __future__ import annotations

import collections
import errno
import json
import logging
import os
import queue
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..identity.principal import Principal
from ..scrubbing.given import without_argument_values
from .events import CallEvent, DecisionEvent, Event, UnknownToolEvent
from .log import json_line, log_event, rfc3339
from .redact import redact_value

VALUE_LIMIT = 1024
"""Characters of one recorded argument value (a string's, or another value's compact JSON)."""

OnFailure = Literal["refuse", "serve"]
"""What a server does while its audit log cannot be written (`server.observability.audit_on_failure`)."""

MAX_PENDING = 10_000
"""Records kept in memory while the file cannot take them; one more is dropped (and counted)."""
MAX_PENDING_BYTES = 16 * 1024 * 1024
"""Bytes of those records kept at most (a record's arguments may make it up to a few KB)."""
RETRY_EVERY = 1.0
"""Seconds between attempts to write waiting records while the file refuses them."""
LOG_EVERY = 60.0
"""Seconds between ERROR lines while a failure lasts (the first and the recovery are always logged)."""
_CHUNK = 256 * 1024  # bytes handed to one write(2): whole records, at least one

_REOPEN = object()
_STOP = object()


@dataclass(frozen=True, slots=True)
class AuditHealth:
    """The audit log's state for probes, metrics and the status page.

    `state`: `ok`, or `failing` while records wait unwritten (since `since`, epoch seconds, with the
    last `error`, an OS error's text such as "No space left on device"); `pending`: records waiting;
    `dropped`: records lost for good since start (the buffer was full, or the server stopped before
    the file took them); `failed_writes`: write attempts that failed since start; `refusing`: tool
    calls are refused meanwhile (`on_failure: refuse`)."""

    state: Literal["ok", "failing"]
    pending: int = 0
    dropped: int = 0
    failed_writes: int = 0
    since: float | None = None
    error: str | None = None
    refusing: bool = False


def audit_record(event: Event, *, with_values: bool = False, secrets: Iterable[str] = ()) -> dict[str, Any]:
    """The JSON object written for one event (see the module docstring)."""
    who = who_fields(event.principal)
    if isinstance(event, CallEvent):
        record: dict[str, Any] = {
            "time": rfc3339(event.time), "type": "call", **who, "session": event.session_id,
            "tool": event.tool, "source": event.source, "outcome": event.outcome,
            "latency_ms": round(event.latency * 1000, 3),
            "bytes_raw": event.raw_bytes, "bytes_sent": event.sent_bytes, "call": event.call_id,
        }
        arguments = dict(event.arguments or {})
        if with_values:
            record["arguments"] = {name: _shortened(value) for name, value in redact_value(arguments, secrets).items()}
        else:
            record["arguments"] = sorted(arguments)
        if event.upstream_status is not None:
            record["upstream_status"] = event.upstream_status
        if event.upstream_attempts is not None and event.upstream_attempts > 1:
            record["upstream_attempts"] = event.upstream_attempts
        if event.error is not None:
            # without `audit_arguments`, no argument value either: a tool's error may quote what it was sent
            error = event.error if with_values else without_argument_values(event.error, event.arguments)
            record["error"] = redact_value(error[:1000], secrets)
        if event.via is not None:  # the operation's call through discovery's call tool (same `call`)
            record["via"] = event.via
        if event.task_id is not None:  # only its creator can read it (tasks.store), so it names, not grants
            record["task"] = event.task_id
        if event.trace_id is not None:  # joins the call's trace and log line
            record["trace_id"], record["span_id"] = event.trace_id, event.span_id
    elif isinstance(event, UnknownToolEvent):
        record = {"time": rfc3339(event.time), "type": "unknown_tool", "tool": event.tool, **who,
                  "session": event.session_id, "request": event.request_id}
    else:
        record = {
            "time": rfc3339(event.time), "type": "decision", "action": event.action, "tool": event.tool,
            "source": event.source, **(who if event.principal is not None else {
                "principal": event.caller, "principal_by_client": event.caller_by_client or None}),
            "session": event.session_id, "rule": event.rule, "reason": event.reason,
            "approval_id": event.approval_id, "call": event.call_id,
            "approvers": list(event.approvers) if event.approvers is not None else None,
            **who_fields(event.voter, "voter"), "vote": event.vote,
        }
    return {k: v for k, v in record.items() if v is not None}


def who_fields(principal: Principal | None, prefix: str = "principal") -> dict[str, Any]:
    """A principal as record fields: `principal` (its name), `principal_kind` (`token`, `oauth`,
    `stdio`, `anonymous`) and `client_id` (the OAuth client it acted through, RFC 9068 §2.2's
    `client_id` or OIDC's `azp`; absent for the other kinds); `prefix` names them for another role
    (`voter`, `voter_kind`, `voter_client_id`); `principal_by_client: true` for a client acting for
    itself (`Principal.by_client`), absent otherwise. No principal: no fields."""
    if principal is None:
        return {}
    client = "client_id" if prefix == "principal" else f"{prefix}_client_id"
    fields: dict[str, Any] = {prefix: principal.name, f"{prefix}_kind": principal.kind, client: principal.client_id}
    if principal.by_client:  # added, only when true: a client acting for itself, not a user of that name
        fields[f"{prefix}_by_client"] = True
    return fields


def _shortened(value: Any) -> Any:
    """`value`, or when longer than `VALUE_LIMIT` characters (a string; else its compact JSON) its
    first `VALUE_LIMIT` characters marked with the full length."""
    text = value if isinstance(value, str) else None
    if text is None and isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    if text is None or len(text) <= VALUE_LIMIT:
        return value
    return f"{text[:VALUE_LIMIT]}… [shortened: {len(text):,} characters]"


def open_audit(target: str | None, base_dir: Path, *, with_values: bool = False,
               secrets: Iterable[str] = (), entry_point: str | None = None,
               on_failure: OnFailure | Callable[[], OnFailure] = "refuse") -> AuditLog | None:
    """The audit log `server.observability.audit` names (`target`: a path, relative to the manifest's
    folder `base_dir`, or `stderr`), opened; None when not configured. Every process that makes calls
    opens it here (`mcprt up`, and the one-shot `mcprt call` and `mcprt record`: `mcprt.oneshot`), so each
    writes the same records to the same file; `entry_point`: the one-shot command, written on each record;
    `on_failure`: `server.observability.audit_on_failure`.
    Raises McprtError when the file cannot be opened."""
    from ..errors import McprtError

    if not target:
        return None
    if target != "stderr":
        target = str((base_dir / Path(target)).resolve())
    try:
        return AuditLog(target, with_values=with_values, secrets=secrets, entry_point=entry_point,
                        on_failure=on_failure)
    except OSError as exc:
        raise McprtError(f"cannot open the audit log {target}: {exc.strerror or exc}") from None


class AuditLog:
    """A bus subscriber writing audit records to a file (or stderr) from a background thread."""

    def __init__(self, target: str | Path, *, with_values: bool = False, secrets: Iterable[str] = (),
                 entry_point: str | None = None,
                 on_failure: OnFailure | Callable[[], OnFailure] = "refuse") -> None:
        self.target = target
        # a one-shot command's log stamps each record with it: a reader tells a test run from a served call
        self.entry_point = entry_point
        self.with_values = with_values
        self.secrets = tuple(secrets)
        # a value, or where to read it now: `mcprt up` reads the manifest a reload may have changed
        self._on_failure = on_failure
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._fd: int | None = None
        self._text: Any = None  # stderr when it has no descriptor: written as text
        # Records formatted but not yet in the file, oldest first (the writer thread's alone; the
        # counters below are read from the event loop, plain ints and floats, so no lock is needed).
        self._pending: collections.deque[bytes] = collections.deque()
        self._pending_bytes = 0
        self.pending = 0
        self.dropped = 0
        self.failed_writes = 0
        self.failing_since: float | None = None
        self.last_error: str | None = None
        self._torn = False  # a cut-short write could not be truncated: the next write starts a new line
        self._last_attempt = 0.0
        self._last_logged = 0.0
        self._dropped_logged = 0
        self._open()  # fail at start (exit 2 with the reason), not on the first call
        self._thread = threading.Thread(target=self._run, name="mcprt-audit", daemon=True)
        self._thread.start()

    @property
    def on_failure(self) -> OnFailure:
        """`server.observability.audit_on_failure` now (a reload may change it: no restart, which would
        lose the records waiting in memory)."""
        return self._on_failure() if callable(self._on_failure) else self._on_failure

    def on_event(self, event: Event) -> None:
        if isinstance(event, CallEvent | DecisionEvent | UnknownToolEvent):
            self._queue.put(event)

    def reopen(self) -> None:
        """Close and reopen the file before the next record (log rotation, SIGHUP)."""
        self._queue.put(_REOPEN)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop the writer."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def health(self) -> AuditHealth:
        """The log's state now (`AuditHealth`)."""
        since = self.failing_since
        if since is None:
            return AuditHealth("ok", self.pending, self.dropped, self.failed_writes)
        return AuditHealth("failing", self.pending, self.dropped, self.failed_writes, since, self.last_error,
                           self.on_failure == "refuse")

    def no_room(self) -> str | None:
        """Why a record cannot be written now, seen before any call (a one-shot command, which runs one
        call, cannot wait for a failed write to refuse the next): the file's file system has no block free
        ("No space left on device") or is mounted read-only. None for stderr, a device, or room."""
        if self._fd is None or not stat.S_ISREG(os.fstat(self._fd).st_mode):
            return None
        try:
            fs = os.fstatvfs(self._fd)
        except OSError:
            return None
        if fs.f_flag & os.ST_RDONLY:
            return os.strerror(errno.EROFS)
        if fs.f_bavail == 0:
            return os.strerror(errno.ENOSPC)
        return None

    def refusal(self) -> tuple[str, str] | None:
        """The call gate (`EventBus.add_gate`): with `on_failure: refuse`, while records wait unwritten, a
        tool call is refused with a message the model can act on (the operator's reason: `audit_failing`)."""
        if self.on_failure != "refuse" or self.failing_since is None:
            return None
        return ("audit_failing", "this server cannot record calls in its audit log right now, so it runs none; "
                "nothing was done. Try again in a minute, or tell the operator")

    # --- the writer thread -------------------------------------------------------------------------

    def _open(self) -> None:
        if self.target == "stderr":
            self._text = None
            try:
                self._fd = sys.stderr.fileno()
            except (OSError, ValueError, AttributeError):  # replaced by a stream with no descriptor (a test's)
                self._fd, self._text = -1, sys.stderr
            return
        path = Path(self.target)
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: every write lands at the end, so a cut-short one is found and truncated there
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)

    def _close_fd(self) -> None:
        if self._fd is not None and self._fd >= 0 and self.target != "stderr":
            try:
                os.close(self._fd)
            except OSError:
                pass
        self._fd = None

    def _run(self) -> None:
        while True:
            wait = None
            if self._pending:  # retry on time even when no new record comes
                wait = max(0.0, self._last_attempt + RETRY_EVERY - time.monotonic())
            try:
                batch = [self._queue.get(timeout=wait)]
            except queue.Empty:
                batch = []
            while True:  # drain what is there, one write per batch
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for entry in batch:
                if entry is _STOP:
                    self._write_pending(force=True)
                    self._give_up()
                    self._close_fd()
                    return
                if entry is _REOPEN:
                    self._write_pending(force=True)
                    self._close_fd()
                    self._safe_open()
                    continue
                self._add(entry)
            self._write_pending(force=not batch)

    def _safe_open(self) -> bool:
        try:
            self._open()
        except OSError as exc:
            self._failed(exc)
            return False
        return True

    def _add(self, event: Event) -> None:
        """Format one record and queue it for the file; dropped (and counted) when the buffer is full."""
        try:
            record = audit_record(event, with_values=self.with_values, secrets=self.secrets)
            if self.entry_point is not None:
                record["entry_point"] = self.entry_point
            # one line whatever text the record holds: U+2028, NEL, bidi controls, lone surrogates escaped (`json_line`)
            line = (json_line(record) + "\n").encode("utf-8")
        except (ValueError, TypeError) as exc:  # a value JSON cannot hold: never silently
            self.dropped += 1
            log_event("audit record not written", logging.ERROR, path=str(self.target), error=str(exc))
            return
        if len(self._pending) >= MAX_PENDING or self._pending_bytes + len(line) > MAX_PENDING_BYTES:
            self.dropped += 1
            self._report(dropping=True)
            return
        self._pending.append(line)
        self._pending_bytes += len(line)
        self.pending = len(self._pending)

    def _write_pending(self, *, force: bool) -> None:
        """Write the waiting records in order, whole lines only. While failing, at most once per
        `RETRY_EVERY` (`force`: now, for a retry on time, a reopen or the stop)."""
        if not self._pending:
            return
        now = time.monotonic()
        if self.failing_since is not None and not force and now - self._last_attempt < RETRY_EVERY:
            return
        self._last_attempt = now
        if self._fd is None and not self._safe_open():
            return
        assert self._fd is not None
        written_late = self.failing_since is not None
        cut_short = False
        while self._pending:
            count, size = 0, 0
            for line in self._pending:  # whole records, at least one, up to _CHUNK bytes
                if count and size + len(line) > _CHUNK:
                    break
                count, size = count + 1, size + len(line)
            lead = b"\n" if self._torn else b""  # ends the torn line a failed truncate left
            chunk = lead + b"".join(self._pending[i] for i in range(count))
            try:
                done = self._put(chunk)
            except (OSError, ValueError) as exc:  # ValueError: a closed stream
                self._failed(exc if isinstance(exc, OSError) else OSError(errno.EBADF, str(exc)))
                return
            if done >= len(lead):
                self._torn = False
            self._take_whole(done - len(lead))
            if done < len(chunk):  # the file took part of it; the next write says why (ENOSPC, EFBIG), unless
                if cut_short:      # the torn head's truncation made room for another part: then this text
                    self._failed(OSError(errno.ENOSPC, "the file takes only part of a record (a full disk, or "
                                         "the file size limit)"))
                    return
                cut_short = True
        if written_late:
            self._recovered()

    def _put(self, chunk: bytes) -> int:
        """One write(2) of `chunk`; the bytes it took."""
        if self._text is not None:
            self._text.write(chunk.decode("utf-8", "surrogatepass"))
            self._text.flush()
            return len(chunk)
        assert self._fd is not None
        return os.write(self._fd, chunk)

    def _take_whole(self, done: int) -> None:
        """Remove from the buffer the records the first `done` bytes written hold whole. When the write
        ended inside a record, its torn head is truncated off the file's end (O_APPEND: it is the last
        thing there) and the record stays buffered, to be written whole; if the file cannot be cut (a
        pipe, stderr), the next write starts with a newline, so the fragment is one bad line that does
        not run into the next record."""
        while self._pending and len(self._pending[0]) <= done:
            line = self._pending.popleft()
            done -= len(line)
            self._pending_bytes -= len(line)
        self.pending = len(self._pending)
        if done <= 0:
            return
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, os.fstat(self._fd).st_size - done)
        except OSError:
            self._torn = True

    def _failed(self, exc: OSError) -> None:
        self.failed_writes += 1
        self.last_error = exc.strerror or str(exc)
        if self.failing_since is None:
            self.failing_since = time.time()
            self._last_logged = 0.0
        self._report()

    def _report(self, *, dropping: bool = False) -> None:
        """The ERROR line of a failure: at its start, then at most once per `LOG_EVERY` seconds."""
        now = time.monotonic()
        first_drop = dropping and self._dropped_logged == 0
        if self._last_logged and now - self._last_logged < LOG_EVERY and not first_drop:
            return
        self._last_logged = now
        self._dropped_logged = self.dropped
        log_event("audit records dropped: the buffer of unwritten records is full" if first_drop else
                  "audit log not writable: records are kept in memory and retried", logging.ERROR,
                  path=str(self.target), error=self.last_error or "buffer full", pending=self.pending,
                  dropped=self.dropped, calls="refused" if self.on_failure == "refuse" else "served")

    def _recovered(self) -> None:
        since = self.failing_since
        self.failing_since = None
        self.last_error = None
        self._last_logged = 0.0
        log_event("audit log writable again: waiting records written", logging.WARNING, path=str(self.target),
                  failed_for_s=round(time.time() - since, 1) if since else 0, dropped=self.dropped)

    def _give_up(self) -> None:
        """At stop: records the file never took are lost; say how many."""
        if self._pending:
            self.dropped += len(self._pending)
            log_event("audit records lost at stop: the file did not take them", logging.ERROR,
                      path=str(self.target), lost=len(self._pending), error=self.last_error)
            self._pending.clear()
            self._pending_bytes = 0
            self.pending = 0
