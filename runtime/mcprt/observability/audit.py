"""The audit log (`server.observability.audit`): one JSON line per call and per policy decision.

Record fields (absent when unknown):
  call:     {"time", "type": "call", "principal", "principal_kind", "client_id", "session", "tool", "source", "outcome",
             "latency_ms", "bytes_raw", "bytes_sent", "call", "arguments", "upstream_status", "error",
             "via", "task", "entry_point"}
          (`task`: the task id when the call ran as a task, the tasks extension; `via`: the meta-tool
          an operation was called through, discovery's `call_tool`, whose record has the same `call`)
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
(`Principal.by_client`: a token with no `sub`, or its own id as `sub`), so it is not a user of that name.
`time` is RFC 3339 UTC with milliseconds. `arguments` lists the argument *names*; with
`audit_arguments: true` it is an object of their values, secret-looking names and the manifest's
secrets redacted, each value longer than `VALUE_LIMIT` characters (a string, or another value's
JSON) shortened to that many and marked `… [shortened: N characters]`, so one call's argument
cannot write a 100 KB line. Nothing else from the request or the upstream is written.

Writing never blocks a call: the bus subscriber only enqueues; a daemon thread formats and
writes. `reopen()` (on SIGHUP) makes the writer close and reopen the path, so `logrotate` can
move the file away and the next record starts a new one.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from ..identity.principal import Principal
from .events import CallEvent, DecisionEvent, Event, UnknownToolEvent
from .log import log_event, rfc3339
from .redact import redact_value

VALUE_LIMIT = 1024
"""Characters of one recorded argument value (a string's, or another value's compact JSON)."""

_REOPEN = object()
_STOP = object()


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
        if event.error is not None:
            record["error"] = redact_value(event.error[:1000], secrets)
        if event.via is not None:  # the operation's call through discovery's call tool (same `call`)
            record["via"] = event.via
        if event.task_id is not None:  # only its creator can read it (tasks.store), so it names, not grants
            record["task"] = event.task_id
    elif isinstance(event, UnknownToolEvent):
        record = {"time": rfc3339(event.time), "type": "unknown_tool", "tool": event.tool, **who,
                  "session": event.session_id, "request": event.request_id}
    else:
        record = {
            "time": rfc3339(event.time), "type": "decision", "action": event.action, "tool": event.tool,
            "source": event.source, **(who if event.principal is not None else {"principal": event.caller}),
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
               secrets: Iterable[str] = (), entry_point: str | None = None) -> AuditLog | None:
    """The audit log `server.observability.audit` names (`target`: a path, relative to the manifest's
    folder `base_dir`, or `stderr`), opened; None when not configured. Every process that makes calls
    opens it here (`mcprt up`, and the one-shot `mcprt call` and `mcprt record`: `mcprt.oneshot`), so each
    writes the same records to the same file; `entry_point`: the one-shot command, written on each record.
    Raises McprtError when the file cannot be opened."""
    from ..errors import McprtError

    if not target:
        return None
    if target != "stderr":
        target = str((base_dir / Path(target)).resolve())
    try:
        return AuditLog(target, with_values=with_values, secrets=secrets, entry_point=entry_point)
    except OSError as exc:
        raise McprtError(f"cannot open the audit log {target}: {exc.strerror or exc}") from None


class AuditLog:
    """A bus subscriber writing audit records to a file (or stderr) from a background thread."""

    def __init__(self, target: str | Path, *, with_values: bool = False, secrets: Iterable[str] = (),
                 entry_point: str | None = None) -> None:
        self.target = target
        # a one-shot command's log stamps each record with it: a reader tells a test run from a served call
        self.entry_point = entry_point
        self.with_values = with_values
        self.secrets = tuple(secrets)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stream: IO[str] | None = None
        self._open()  # fail at start (exit 2 with the reason), not on the first call
        self._thread = threading.Thread(target=self._run, name="mcprt-audit", daemon=True)
        self._thread.start()

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

    def _open(self) -> None:
        if self.target == "stderr":
            self._stream = sys.stderr
            return
        path = Path(self.target)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._stream = path.open("a", encoding="utf-8")

    def _close_stream(self) -> None:
        if self._stream is not None and self._stream is not sys.stderr:
            self._stream.close()
        self._stream = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            batch = [item]
            while True:  # drain what is there, one flush per batch
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for entry in batch:
                if entry is _STOP:
                    self._flush()
                    self._close_stream()
                    return
                if entry is _REOPEN:
                    self._flush()
                    self._close_stream()
                    self._safe_open()
                    continue
                self._write(entry)
            self._flush()

    def _safe_open(self) -> None:
        try:
            self._open()
        except OSError as exc:
            log_event("cannot open the audit log", logging.ERROR, path=str(self.target), error=exc.strerror or str(exc))

    def _write(self, event: Event) -> None:
        if self._stream is None:
            self._safe_open()
            if self._stream is None:
                return
        try:
            record = audit_record(event, with_values=self.with_values, secrets=self.secrets)
            if self.entry_point is not None:
                record["entry_point"] = self.entry_point
            line = json.dumps(record, ensure_ascii=False, default=str)
            self._stream.write(line + "\n")
        except (OSError, ValueError) as exc:
            log_event("audit record not written", logging.ERROR, path=str(self.target), error=str(exc))

    def _flush(self) -> None:
        if self._stream is not None:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                pass
