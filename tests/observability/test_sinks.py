"""The sinks on their own: policy decisions in metrics and the audit log, argument values only when
asked (secrets never), the stdio listener, and no heavy import for commands that do not serve."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from observability_support import ALICE_TOKEN, UPSTREAM_KEY, Seen, env_for, pets_app, write_manifest
from prometheus_client.parser import text_string_to_metric_families

from mcprt.identity.principal import Principal
from mcprt.observability.audit import AuditLog
from mcprt.observability.events import CallEvent, DecisionEvent
from mcprt.observability.metrics import Metrics
from mcprt.observability.state import ServerState
from tests.support.served import launch_command
from tests.support.upstream import serve_app


def _state() -> ServerState:
    return ServerState("s", "0", "stdio", None, 0.0, [], [], 1, {})


def _call(**extra: object) -> CallEvent:
    base = dict(time=time.time(), tool="search", source="api", outcome="ok", latency=0.01, raw_bytes=10,
                sent_bytes=5, principal=Principal("alice", "token"), session_id="s1",
                arguments={"query": f"find {UPSTREAM_KEY}", "api_key": "k-123456", "limit": 3})
    base.update(extra)
    return CallEvent(**base)  # type: ignore[arg-type]


def test_policy_decisions_are_counted_by_action_and_rule() -> None:
    metrics = Metrics(_state)
    for action, rule in [("deny", "rules[0]"), ("deny", "rules[0]"), ("rate_limited", "rate_limits[1]"),
                         ("allow", None)]:
        metrics.on_event(DecisionEvent(time=time.time(), action=action, tool="delete_repo", rule=rule))
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(metrics.render().decode()) for s in f.samples}
    name = "mcprt_policy_decisions_total"
    assert samples[(name, (("action", "deny"), ("rule", "rules[0]")))] == 2
    assert samples[(name, (("action", "rate_limited"), ("rule", "rate_limits[1]")))] == 1
    assert samples[(name, (("action", "allow"), ("rule", "")))] == 1


def test_audit_records_decisions_and_argument_values_only_when_asked(tmp_path: Path) -> None:
    names_only = AuditLog(tmp_path / "names.jsonl", secrets=[UPSTREAM_KEY])
    values = AuditLog(tmp_path / "values.jsonl", with_values=True, secrets=[UPSTREAM_KEY])
    decision = DecisionEvent(time=time.time(), action="deny", tool="delete_repo", source="gh",
                             principal=Principal("bob", "token"), rule="rules[2]", reason="not here")
    for log in (names_only, values):
        log.on_event(_call())
        log.on_event(decision)
        log.close()
    call, denied = [json.loads(line) for line in (tmp_path / "names.jsonl").read_text().splitlines()]
    assert call["arguments"] == ["api_key", "limit", "query"] and call["principal"] == "alice"
    assert denied == {"time": denied["time"], "type": "decision", "action": "deny", "tool": "delete_repo",
                      "source": "gh", "principal": "bob", "principal_kind": "token", "rule": "rules[2]",
                      "reason": "not here"}
    call_values = json.loads((tmp_path / "values.jsonl").read_text().splitlines()[0])
    assert call_values["arguments"] == {"query": "find [redacted]", "api_key": "[redacted]", "limit": 3}
    both = (tmp_path / "names.jsonl").read_text() + (tmp_path / "values.jsonl").read_text()
    assert UPSTREAM_KEY not in both and "k-123456" not in both


async def test_stdio_serves_metrics_and_status_on_its_listener(tmp_path: Path) -> None:
    with serve_app(pets_app(Seen())) as base:
        manifest = write_manifest(tmp_path, base, observability="{listen: '127.0.0.1:0'}")
        command = launch_command(manifest, "--no-reload")
        params = StdioServerParameters(command=command[0], args=command[1:], env=env_for(), cwd=str(tmp_path))
        errlog = (tmp_path / "stderr.log").open("w+")
        async with Client(stdio_client(params, errlog=errlog)) as client:  # type: ignore[arg-type]
            await client.call_tool("list_pets", {})
            found = None
            deadline = time.monotonic() + 30
            while found is None and time.monotonic() < deadline:
                found = re.search(r"metrics and status at (http://\S+)/status", Path(errlog.name).read_text())
                time.sleep(0.05)
            assert found, Path(errlog.name).read_text()
            headers = {"Authorization": f"Bearer {ALICE_TOKEN}"}
            text = httpx.get(f"{found.group(1)}/metrics", headers=headers, timeout=10).text
            assert 'mcprt_tool_calls_total{outcome="ok",source="pets",tool="list_pets"} 1.0' in text
            assert "mcprt_sessions 1.0" in text
            assert httpx.get(f"{found.group(1)}/metrics", timeout=10).status_code == 401
            page = httpx.get(f"{found.group(1)}/status", headers=headers, timeout=10)
            assert page.status_code == 200 and 'data-tool="list_pets"' in page.text and "stdio" in page.text
            # its trailing-slash redirect is relative too (server/slashes.py), as the HTTP transport's
            moved = httpx.get(f"{found.group(1)}/status/", headers=headers, timeout=10)
            assert (moved.status_code, moved.headers.get("location")) == (307, "/status"), moved.headers


async def test_stdio_serves_on_when_its_metrics_port_is_taken(tmp_path: Path) -> None:
    """The same manifest in two hosts: the second instance meets the first one's metrics port. Its MCP
    server serves anyway (metrics are optional), and the warning names the setting that moves the
    listener, never `--port` (the HTTP transport's), which does not help."""
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        with serve_app(pets_app(Seen())) as base:
            manifest = write_manifest(tmp_path, base, observability=f"{{listen: '127.0.0.1:{port}'}}")
            for extra, setting in (([], "server.observability.listen"), (["--metrics-port", str(port)],
                                                                          "--metrics-port")):
                command = launch_command(manifest, "--no-reload", *extra)
                params = StdioServerParameters(command=command[0], args=command[1:], env=env_for(),
                                               cwd="/")  # as a host does
                errlog = (tmp_path / f"stderr-{setting}.log").open("w+")
                async with Client(stdio_client(params, errlog=errlog)) as client:  # type: ignore[arg-type]
                    result = await client.call_tool("list_pets", {})
                    assert not result.is_error
                log = Path(errlog.name).read_text()
                assert (f"metrics and status listener not started: port {port} on 127.0.0.1 is in use (another "
                        f"server listens there): stop it, or serve on another port with {setting} (0 picks a "
                        "free one); the MCP server serves on without /metrics and /status") in log, log
                assert "--port " not in log and "metrics and status at" not in log
    finally:
        taken.close()


def test_commands_that_do_not_serve_import_no_metrics_or_tracing(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, "http://127.0.0.1:9")
    probe = (
        "import sys\nfrom mcprt.cli.main import app\n"
        "try:\n    app(['tools', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
        # into a file: `tools` claims stdout for its own output (a module's print() goes to stderr), so a print
        # after it would not land on stdout
        "open(sys.argv[2], 'w').write(repr(sorted(m for m in sys.modules\n"
        "    if m.split('.')[0] in ('prometheus_client', 'opentelemetry', 'aiohttp'))))"
    )
    imported = tmp_path / "imported.txt"
    done = subprocess.run([sys.executable, "-c", probe, str(manifest), str(imported)], capture_output=True, text=True,
                          env=env_for(), timeout=120)
    assert "list_pets" in done.stdout, done.stderr
    assert imported.read_text() == "[]", done.stderr


def test_inspector_ring_is_bounded_and_serializes_only_when_opened() -> None:
    from mcprt.observability.recent import BODY_BUDGET, BODY_LIMIT, CallRecorder
    from mcprt.contracts import ToolResult, UpstreamResult

    recorder = CallRecorder(keep=5, secrets=[UPSTREAM_KEY])
    body = {"token": "t-1", "note": f"key {UPSTREAM_KEY}", "items": ["x" * 1000] * 3000}  # ~3 MB
    for i in range(8):
        upstream = UpstreamResult("json", body, raw_bytes=3_000_000, status=200)
        result = ToolResult([{"type": "text", "text": '{"n": %d}' % i}], sent_bytes=10)
        recorder.on_event(_call(raw_bytes=3_000_000, sent_bytes=10, detail={"upstream": upstream, "result": result}))
    assert [c.id for c in recorder.recent] == [4, 5, 6, 7, 8]  # the last 5 calls
    kept = [c for c in recorder.recent if c.upstream is not None]
    assert sum(c.kept for c in kept) <= BODY_BUDGET and kept[-1].id == 8 and recorder.recent[0].upstream is None
    shown = recorder.payloads(recorder.recent[-1])
    assert shown.raw_cut and len(shown.raw) == BODY_LIMIT and shown.sent == '{\n "n": 7\n}'
    assert '"token": "[redacted]"' in shown.raw and UPSTREAM_KEY not in shown.raw
    assert shown.arguments["api_key"] == "[redacted]"
    assert recorder.payloads(recorder.recent[0]).raw is None  # gave up its body


def test_histogram_buckets_follow_prometheus_le_semantics() -> None:
    metrics = Metrics(_state)
    for seconds in (0.01, 0.015, 400.0):  # on a bound, between two, above the last
        metrics.observe_operation("tools/list", seconds)
    samples = {(s.name, s.labels.get("le")): s.value
               for f in text_string_to_metric_families(metrics.render().decode()) for s in f.samples
               if s.labels.get("mcp_method_name") == "tools/list"}
    bucket = "mcp_server_operation_duration_seconds_bucket"
    assert samples[(bucket, "0.01")] == 1 and samples[(bucket, "0.02")] == 2
    assert samples[(bucket, "300.0")] == 2 and samples[(bucket, "+Inf")] == 3
    assert samples[("mcp_server_operation_duration_seconds_count", None)] == 3
    assert samples[("mcp_server_operation_duration_seconds_sum", None)] == 400.025


def test_stdio_listener_beyond_loopback_needs_inbound_auth(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text('def f(x: int) -> int:\n    """F."""\n    return x\n')
    (tmp_path / "mcp.yaml").write_text(
        'version: 1\nserver:\n  observability: {listen: "0.0.0.0:0"}\nsources:\n  t:\n    python: t\n')
    from tests.support.served import child_env

    # stdin stays open, as a host's pipe does (a stdin closed before the server started ends the start: exit 0)
    with subprocess.Popen([sys.executable, "-m", "mcprt", "up", "mcp.yaml", "--no-reload"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                          env=child_env()) as up:
        try:
            up.wait(timeout=120)  # stdin left open: the process ends on its own (its stderr is a few lines)
        except subprocess.TimeoutExpired:
            up.kill()
            raise
        stderr = up.stderr.read()
    assert up.returncode == 2 and "without authentication" in stderr and "Traceback" not in stderr, stderr


def test_bytes_saved_count_only_shaped_answers() -> None:
    """Found by a new-user trial: a tool whose calls failed showed "saved -1200%" on the status page
    (a 26-byte upstream 404 body became a 76-byte tool error; bad arguments send text and no upstream
    byte). Saved bytes are those pruning and templates saved: of calls that ended ok, and the "raw → sent"
    figures beside them are of those same calls (a trial saw "1893 → 2107 B" beside "5% saved")."""
    from mcprt.observability.recent import CallRecorder

    recorder = CallRecorder(keep=0)
    recorder.on_event(_call(tool="get_note", outcome="upstream_error", raw_bytes=26, sent_bytes=76))
    recorder.on_event(_call(tool="get_note", outcome="rejected", raw_bytes=0, sent_bytes=123))
    figures = recorder.tools["get_note"]
    assert figures.saved_ratio is None  # nothing was shaped yet
    assert (figures.raw_bytes, figures.sent_bytes, figures.errors) == (0, 0, 2)
    recorder.on_event(_call(tool="get_note", outcome="ok", raw_bytes=400, sent_bytes=100))
    assert figures.saved_ratio == 0.75 and (figures.raw_bytes, figures.sent_bytes) == (400, 100)
    recorder.on_event(_call(tool="get_note", outcome="upstream_error", raw_bytes=10_000, sent_bytes=300))
    assert figures.saved_ratio == 0.75 and (figures.raw_bytes, figures.sent_bytes) == (400, 100)
    assert sum(saved for _, _, saved in recorder.minutes) == 300  # the ok call's 400 → 100 only


def test_the_last_hour_lists_only_minutes_the_server_lived() -> None:
    """A trial's server, up 3 minutes, listed 60 "0 calls" rows under "last hour": 57 minutes before it
    started. Only the minutes since the start are listed (at most 60)."""
    from mcprt.observability.recent import CallRecorder

    now = 1_800_000_000.0  # a whole minute
    fresh = CallRecorder(keep=0, started=now - 150)  # 2.5 minutes ago: minutes -3, -2, -1 and this one
    fresh.on_event(_call(time=now - 70, outcome="ok", raw_bytes=400, sent_bytes=100))
    assert fresh.last_hour(now) == [(3, 0, 0), (2, 1, 300), (1, 0, 0), (0, 0, 0)]
    old = CallRecorder(keep=0, started=now - 5 * 3600)
    hour = old.last_hour(now)
    assert len(hour) == 60 and hour[0][0] == 59 and hour[-1][0] == 0


def test_a_recorded_argument_value_is_capped(tmp_path: Path) -> None:
    """With `audit_arguments: true` a trial's 100 KB argument was written whole (a 100,788-byte line). Each
    recorded value (a string, or a list/object's JSON) keeps 1,024 characters, marked as shortened;
    short values are written as they were."""
    limit = 1024  # README: "each value longer than 1,024 characters"
    log = AuditLog(tmp_path / "values.jsonl", with_values=True)
    big = {"body": "x" * 100_000, "items": list(range(30_000)), "note": "short", "limit": 3}
    log.on_event(_call(arguments=big))
    log.close()
    line = (tmp_path / "values.jsonl").read_text()
    assert len(line) < 4 * limit, len(line)
    arguments = json.loads(line)["arguments"]
    assert arguments["body"] == "x" * limit + "… [shortened: 100,000 characters]"
    assert arguments["items"].startswith("[0,1,2,") and arguments["items"].endswith(" characters]")
    assert (arguments["note"], arguments["limit"]) == ("short", 3)


def test_span_urls_keep_argument_values_out_unless_recorded() -> None:
    """The trial's `url.full` values `/notes?q=retry&limit=2` and `/notes/424242`: with values kept out (the
    audit log's default), query values are REDACTED and the path is the route; `url.template` either way."""
    from mcprt.observability.hooks import Route
    from mcprt.observability.tracing import http_target

    notes = Route("/notes", frozenset({"q", "limit"}))
    query = http_target("http://127.0.0.1:8080/api/notes?q=retry&limit=2", notes, record_values=False)
    assert query == {"server.address": "127.0.0.1", "server.port": 8080, "url.template": "/api/notes",
                     "url.full": "http://127.0.0.1:8080/api/notes?q=REDACTED&limit=REDACTED"}
    path = http_target("https://notes.example/notes/424242", Route("/notes/{id}"), record_values=False)
    assert path["url.full"] == "https://notes.example/notes/{id}" and path["server.port"] == 443
    kept = http_target("https://notes.example/notes/424242?q=retry", Route("/notes/{id}"), record_values=True)
    assert kept["url.full"] == "https://notes.example/notes/424242?q=retry" and kept["url.template"] == "/notes/{id}"


def test_span_urls_keep_argument_data_in_query_keys_out() -> None:
    """A deepObject (`filter[ssn-123-45-6789]=1`) or exploded form object (`ssn-123-45-6789=1`) puts the
    argument's data in query KEYS, which `url.full` kept: only the operation's declared names stay, the
    rest become one `REDACTED=REDACTED`. The request is built by the OpenAPI source's own plan."""
    from mcprt.observability.tracing import http_target
    from mcprt.sources.openapi.plan import ParamPlan, RequestPlan

    plan = RequestPlan("GET", "/people?v=2", "http://127.0.0.1:8080/api", params=(
        ParamPlan("filter", "filter", "query", "deepObject", True),
        ParamPlan("tags", "tags", "query", "form", True),
        ParamPlan("match", "match", "query", "form", True)))
    request = plan.build({"filter": {"ssn-123-45-6789": "1", "name-ann": "2"}, "tags": ["a"],
                          "match": {"dob-1970-01-01": "x"}})
    assert "ssn-123-45-6789" in request.url and "dob-1970-01-01" in request.url, request.url
    full = http_target(request.url, request.route, record_values=False)["url.full"]
    assert full == "http://127.0.0.1:8080/api/people?v=REDACTED&tags=REDACTED&REDACTED=REDACTED", full
