"""An audit log that cannot be written is loud and loses as little as it can (observability/audit.py).

The trial that asked for it: on a full 16 KiB tmpfs 120 calls left 52 records, the last one torn, with no log line,
a green `/healthz` and no metric; on `/dev/full` 63 calls wrote nothing, silently. Here the kernel refuses the
writes for real: `RLIMIT_FSIZE` set on the running server (a write past it is cut short, then EFBIG, as a full
disk cuts it short, then ENOSPC), and `/dev/full` (every write ENOSPC).
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from mcprt.observability import audit as audit_module
from mcprt.observability.audit import AuditLog
from mcprt.observability.events import BUS, CallEvent
from tests.support.served import UpProcess, http_client, mcprt_http, text_of

TOOLS = "def add(a: int, b: int) -> int:\n    \"\"\"Add two numbers.\"\"\"\n    return a + b\n"


def manifest(folder: Path, audit: str, on_failure: str | None = None) -> Path:
    (folder / "pytools.py").write_text(TOOLS)
    extra = f", audit_on_failure: {on_failure}" if on_failure else ""
    path = folder / "mcp.yaml"
    path.write_text("version: 1\nserver:\n  name: audited\n"
                    f"  observability: {{audit: {audit}{extra}}}\n"
                    "sources:\n  py: {python: [pytools:add]}\n")
    return path


def records(path: Path) -> list[dict[str, Any]]:
    """Every line of the audit file parsed: a torn line fails the test here."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def until(check: Callable[[], Any], timeout: float = 20, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return found


def audit_health(up: UpProcess) -> dict[str, Any]:
    return httpx.get(f"{up.base}/healthz", timeout=5).json()["audit"]


def metric(up: UpProcess, name: str) -> float:
    for line in httpx.get(f"{up.base}/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not on /metrics")


async def test_a_cut_short_write_leaves_no_torn_record_and_refuses_calls_until_the_file_takes_them(
        tmp_path: Path) -> None:
    folder = tmp_path
    log = folder / "logs" / "audit.jsonl"
    with mcprt_http(manifest(folder, "logs/audit.jsonl"), "--no-reload") as up:
        async with http_client(up.url) as client:
            assert text_of(await client.call_tool("add", {"a": 1, "b": 2})) == "3"
            until(lambda: log.exists() and len(records(log)) == 1, what="the first record")
            size = log.stat().st_size
            # room for part of one more record: the next write is cut short inside it
            resource.prlimit(up.pid, resource.RLIMIT_FSIZE, (size + 100, resource.RLIM_INFINITY))
            try:
                assert text_of(await client.call_tool("add", {"a": 2, "b": 2})) == "4"  # ran before the failure
                health = until(lambda: (h := audit_health(up))["status"] == "failing" and h,
                               what="the failure on /healthz")
                assert health["pending"] == 1 and health["dropped"] == 0 and health["failed_writes"] >= 1
                assert [r["tool"] for r in records(log)] == ["add"]  # the torn head was cut off again
                assert log.stat().st_size == size
                ready = httpx.get(f"{up.base}/readyz", timeout=5)
                assert ready.status_code == 503 and ready.json()["status"] == "audit log failing"
                assert ready.json()["audit"] == "failing"
                assert metric(up, "mcprt_audit_up") == 0.0
                assert metric(up, "mcprt_audit_records_pending") == 1.0
                status = httpx.get(f"{up.base}/status.json", timeout=5).json()["audit"]
                assert status["state"] == "failing" and status["refusing"] is True
                assert status["error"] == "the file takes only part of a record (a full disk, or the file size limit)"
                assert "ERROR" in up.wait_log("audit log not writable")
                refused = await client.call_tool("add", {"a": 3, "b": 3})
                assert refused.is_error
                assert "cannot record calls in its audit log" in text_of(refused)
                assert "reason=audit_failing" in up.wait_log("reason=audit_failing")
            finally:
                resource.prlimit(up.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            until(lambda: audit_health(up)["status"] == "ok", what="the recovery on /healthz")
            assert text_of(await client.call_tool("add", {"a": 4, "b": 4})) == "8"
            written = until(lambda: len(found := records(log)) == 4 and found, what="every record, in order")
        assert [(r["arguments"], r["outcome"]) for r in written] == [
            (["a", "b"], "ok"), (["a", "b"], "ok"), (["a", "b"], "rejected"), (["a", "b"], "ok")]
        up.wait_log("audit log writable again")
        assert httpx.get(f"{up.base}/readyz", timeout=5).json() == {"status": "ready", "audit": "ok", "tools": 1}
        assert metric(up, "mcprt_audit_records_dropped_total") == 0.0


async def test_with_on_failure_serve_calls_go_on_and_the_replica_reads_degraded(tmp_path: Path) -> None:
    with mcprt_http(manifest(tmp_path, "/dev/full", "serve"), "--no-reload") as up:
        async with http_client(up.url) as client:
            for n in range(3):
                assert text_of(await client.call_tool("add", {"a": n, "b": 1})) == str(n + 1)
            health = until(lambda: (h := audit_health(up))["status"] == "failing" and h)
            assert health["pending"] == 3 and health["dropped"] == 0
        ready = httpx.get(f"{up.base}/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["status"] == "degraded" and ready.json()["audit"] == "failing"
        assert "No space left on device" in up.wait_log("audit log not writable")
        assert metric(up, "mcprt_audit_write_failures_total") >= 1


def _event(n: int) -> CallEvent:
    return CallEvent(time=time.time(), tool="add", source="py", outcome="ok", latency=0.001, raw_bytes=1,
                     sent_bytes=1, arguments={"a": n})


def test_records_past_the_buffer_are_dropped_counted_and_logged(monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(audit_module, "MAX_PENDING", 3)
    log = AuditLog("/dev/full", on_failure="serve")
    try:
        for n in range(5):
            log.on_event(_event(n))
        until(lambda: log.health().dropped == 2, timeout=10)
        health = log.health()
        assert (health.state, health.pending, health.refusing) == ("failing", 3, False)
        assert health.error == "No space left on device"
        assert log.refusal() is None  # `serve`: calls go on
    finally:
        log.close()
    assert log.health().dropped == 5  # the three still waiting at stop are lost too, and said so
    messages = [r.getMessage() for r in caplog.records]
    assert any("audit records dropped" in m for m in messages)
    assert any("audit records lost at stop" in m for m in messages)


def test_a_reopen_that_fails_keeps_the_records_until_the_path_opens(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    try:
        log.on_event(_event(1))
        until(lambda: path.exists() and len(records(path)) == 1)
        path.rename(tmp_path / "audit.jsonl.1")
        path.mkdir()  # what was rotated away cannot be reopened: the path is a folder now
        log.reopen()
        log.on_event(_event(2))
        until(lambda: log.health().state == "failing")
        assert log.refusal() is not None and log.refusal()[0] == "audit_failing"  # the default: refuse
        assert log.health().pending == 1
        path.rmdir()
        until(lambda: log.health().state == "ok", what="written once the path opens")
        assert [r["arguments"] for r in records(path)] == [["a"]]
    finally:
        log.close()


def test_the_call_gate_refuses_only_while_a_gate_says_so() -> None:
    reason: list[tuple[str, str]] = []
    remove = BUS.add_gate(lambda: reason[0] if reason else None)
    try:
        assert BUS.refusal() is None
        reason.append(("audit_failing", "no"))
        assert BUS.refusal() == ("audit_failing", "no")
    finally:
        remove()
    assert BUS.refusal() is None


@pytest.mark.parametrize("on_failure", [None, "serve"])
def test_a_one_shot_call_whose_record_is_lost_fails_under_refuse(tmp_path: Path, on_failure: str | None) -> None:
    # Review: `mcprt call` with `audit: /dev/full` and the default `refuse` printed the result and exited 0, the
    # record lost and the ERROR line saying `calls=refused`. A one-shot runs one call, so no later call can be
    # refused: the command fails instead, saying the call ran and is not recorded.
    from tests.support.cli import mcprt_process

    done = mcprt_process("call", str(manifest(tmp_path, "/dev/full", on_failure)), "add", "--args",
                         '{"a": 1, "b": 2}', cwd=tmp_path, forked=True)
    assert "audit records lost at stop" in done.stderr and "Traceback" not in done.stderr
    if on_failure == "serve":
        assert done.returncode == 0, done.stderr
        assert "calls=served" in done.stderr
    else:
        assert done.returncode == 2, done.stderr
        assert "1 audit record(s) could not be written to /dev/full (No space left on device): what ran is not " \
               "recorded (server.observability.audit_on_failure: refuse)" in done.stderr


APPROVED = """\
version: 1
server:
  name: audited
  auth:
    tokens: {alice: "${ALICE_TOKEN}", ci-bot: "${CI_TOKEN}"}
  observability: {audit: audit.jsonl}
sources:
  py: {python: [pytools:add, pytools:write_note]}
policy:
  admins: [alice]
  rules:
    - {match: {tools: [write_note]}, action: approve}
  approvals: {wait: 60s, valid_for: 2m, approvers: [alice]}
"""


async def test_a_call_approved_after_the_audit_log_began_failing_is_refused(tmp_path: Path) -> None:
    # Review: the gate was asked only when a call started, so a call waiting minutes for a human's approval ran,
    # unrecorded, once approved after the disk filled. Asked again after admission, it is refused.
    from tests.support.served import child_env

    (tmp_path / "pytools.py").write_text(TOOLS + "\n\nNOTES = []\n\n\ndef write_note(text: str) -> str:\n"
                                          "    \"\"\"Write a note.\"\"\"\n    NOTES.append(text)\n"
                                          "    return f'wrote {len(NOTES)}'\n")
    (tmp_path / "mcp.yaml").write_text(APPROVED)
    log = tmp_path / "audit.jsonl"
    admin = {"Authorization": "Bearer tok-alice"}
    with mcprt_http(tmp_path / "mcp.yaml", "--no-reload",
                    env=child_env(ALICE_TOKEN="tok-alice", CI_TOKEN="tok-ci")) as up:
        async with http_client(up.url, token="tok-ci") as asker, http_client(up.url, token="tok-alice") as other:
            assert text_of(await other.call_tool("add", {"a": 1, "b": 2})) == "3"
            # its decision (a policy decides every call) and its call
            until(lambda: log.exists() and len(records(log)) == 2, what="the first records")
            async with anyio.create_task_group() as tasks:
                outcome: dict[str, Any] = {}

                async def ask() -> None:
                    outcome["result"] = await asker.call_tool("write_note", {"text": "governed"})

                tasks.start_soon(ask)
                async with httpx.AsyncClient(headers=admin, timeout=5) as http:  # the loop runs the call meanwhile
                    while not (pending := (await http.get(f"{up.base}/policy/approvals")).json()):
                        await anyio.sleep(0.05)
                # the disk fills while the call waits: the next record cannot be written
                resource.prlimit(up.pid, resource.RLIMIT_FSIZE, (log.stat().st_size, resource.RLIM_INFINITY))
                await other.call_tool("add", {"a": 2, "b": 2})  # its records, if no other, meet the full disk
                async with httpx.AsyncClient(headers=admin, timeout=10) as http:
                    with anyio.fail_after(20):
                        while (await http.get(f"{up.base}/healthz")).json()["audit"]["status"] != "failing":
                            await anyio.sleep(0.05)
                    approved = await http.post(f"{up.base}/policy/approvals/{pending[0]['id']}/approve")
                assert approved.status_code == 200, approved.text
            result = outcome["result"]
            assert result.is_error and "cannot record calls in its audit log" in text_of(result), text_of(result)
            # it never ran (write_note changes things: its approval runs one call), so its approval is not used up
            assert f"approval {pending[0]['id']} is not used: make the same call again" in text_of(result)
            assert "tool=write_note" in up.wait_log("tool=write_note")
            assert "reason=audit_failing" in up.wait_log("tool=write_note")
        assert "NOTES" not in up.log() and "wrote 1" not in up.log()


async def test_audit_on_failure_moves_to_serve_by_a_reload_keeping_the_waiting_records(tmp_path: Path) -> None:
    # Review: `audit_on_failure` was startup-only, so during a disk-full incident under `refuse` the operator had
    # to restart to serve, and a restart loses the records waiting in memory. A reload applies it.
    path = manifest(tmp_path, "/dev/full")
    with mcprt_http(path, env=None) as up:
        async with http_client(up.url) as client:
            assert text_of(await client.call_tool("add", {"a": 1, "b": 2})) == "3"  # ran: its record is what fails
            until(lambda: audit_health(up)["status"] == "failing", what="the failure")
            refused = await client.call_tool("add", {"a": 1, "b": 2})
            assert refused.is_error and "cannot record calls" in text_of(refused)
            path.write_text(path.read_text().replace("audit: /dev/full", "audit: /dev/full, audit_on_failure: serve"))
            await anyio.to_thread.run_sync(lambda: up.wait_log("reload applied", timeout=60))
            assert text_of(await client.call_tool("add", {"a": 2, "b": 2})) == "4"
            health = audit_health(up)
            assert health["status"] == "failing" and health["pending"] >= 3 and health["dropped"] == 0, health
            ready = httpx.get(f"{up.base}/readyz", timeout=5)
            assert ready.status_code == 200 and ready.json()["status"] == "degraded", ready.text
        assert "server.observability" not in up.log()  # no "needs a restart" warning naming it
