"""What an on-call engineer reads about retries, deadlines and mcprt's own queue, from a real `mcprt up`.

A new-user trial (an SRE of a production gateway) found, against a real upstream:
- an upstream answering 503 slowly (two 503s, then the 5 s deadline during the third attempt) was
  reported to the model, audit, metrics and traces as "did not answer within 5s" with no status, and
  the source stayed `up`;
- retries were invisible: 3 requests upstream were one histogram observation and one CLIENT span, and
  the 503's error text did not say 3 attempts were made;
- a Python call that never left mcprt's own concurrency queue was counted `upstream_error`;
- (review) a Python call that queued, started late and then ran out of its timeout was `upstream_error` too,
  as was every call whose own timeout passed: the outcome now says which limit passed — `queue_timeout` (mcprt's
  queue) or `timeout` (the call's own, after it started) — for OpenAPI, Python and proxied sources alike;
- the log line, the audit record and the trace of a call had no id in common.

Here: an upstream on 127.0.0.1 the test controls (per item: two slow 503s then a hang; always 503; a hang), a
python source with `concurrency: 1`, a proxied MCP server (the suite's fixture server, over stdio), an OTLP/HTTP receiver decoding what arrives, `/metrics` scraped,
JSON log lines and the audit file read."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from otlp_receiver import Received, Span, receiver_app
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.served import UpProcess, child_env, http_client, mcprt_http, text_of
from tests.support.upstream import serve_app
from tests.support.zygote import script_command_yaml

pytestmark = pytest.mark.xdist_group("test_retry_signals")  # one started world per run

MCP_SERVER = Path(__file__).resolve().parents[1] / "sources" / "fixtures" / "mcp_server.py"  # its `nap` sleeps
SERVER, CLIENT = 2, 3  # opentelemetry.proto Span.SpanKind
UPSTREAM_KEY = "items-key-5d6e7f8091a2b3c4"
TIMEOUT_S = 3  # the items tools' timeout: two 0.3 s 503s and their back-offs fit, the hanging third does not

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Items", "version": "1"},
    "paths": {"/items/{id}": {"get": {
        "operationId": "getItem", "summary": "One item.",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok"}, "503": {"description": "shedding load"}}}}},
}

NAP_TOOLS = '''
import time


def nap(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return "rested"
'''

# functions whose own client gave up at once: their TimeoutError is their failure, not mcprt's deadline passing
OWN_TIMEOUT_TOOLS = '''
import socket


def db_lookup() -> str:
    """Ask the database."""
    raise socket.timeout("my db timed out")


async def backend_lookup() -> str:
    """Ask the backend."""
    raise TimeoutError("backend slow")
'''


class Upstream:
    """Requests per item id, and how an item answers: `shed-*` two 503s after 0.3 s, then no answer (a
    shedding upstream whose third try outlasts the call's deadline); `busy-*` 503 at once, its body
    echoing the request's API key (which must reach no log or record); `hang-*` no answer; anything else 200."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        async def item(request: Request) -> JSONResponse:
            name = request.path_params["id"]
            with self.lock:
                self.hits[name] += 1
                hit = self.hits[name]
            if name.startswith("hang-"):
                await asyncio.sleep(20)
            if name.startswith("shed-"):
                if hit > 2:
                    await asyncio.sleep(20)
                await asyncio.sleep(0.3)
                return JSONResponse({"message": "overloaded"}, status_code=503)
            if name.startswith("busy-"):
                return JSONResponse({"message": f"busy; your key {request.headers.get('x-api-key')}"}, status_code=503)
            return JSONResponse({"id": name})

        return Starlette(routes=[Route("/items/{id}", item)])


def _manifest(folder: Path, base: str) -> Path:
    (folder / "items.json").write_text(json.dumps(SPEC))
    (folder / "nap_tools.py").write_text(NAP_TOOLS)
    (folder / "own_timeout_tools.py").write_text(OWN_TIMEOUT_TOOLS)
    source = ("    openapi: items.json\n    base_url: " + base + "\n"
              '    auth: {api_key: {in: header, name: X-Api-Key, value: "${ITEMS_KEY}"}}\n'
              f"    timeout: {TIMEOUT_S}s\n")
    path = folder / "mcp.yaml"
    path.write_text(
        "version: 1\n"
        "server:\n  name: retry-signals\n  observability: {audit: audit.jsonl, traces: true}\n"
        "sources:\n"
        f"  items:\n{source}    tools:\n      getItem: {{name: get_item}}\n"
        # the same upstream as its own source: its health is read by one test alone (tests run in any order)
        f"  shedding:\n{source}    tools:\n      getItem: {{name: shed_item}}\n"
        "  py:\n    python: nap_tools\n    concurrency: 1\n    timeout: 1s\n"
        # the same function as a lane of its own, for one test alone (another's abandoned call may hold `py`'s)
        "  lane:\n    python: nap_tools\n    concurrency: 1\n    timeout: 1s\n    tools:\n      nap: {name: lane_nap}\n"
        "  own:\n    python: own_timeout_tools\n    timeout: 30s\n"
        f"  fx:\n    command: {script_command_yaml(MCP_SERVER)}\n"
        "    tools:\n      nap: {name: fx_nap, timeout: 1s}\n")
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UpProcess, Upstream, Received, Path]]:
    folder = tmp_path_factory.mktemp("retry_signals")
    upstream, received = Upstream(), Received()
    with serve_app(upstream.app()) as base, serve_app(receiver_app(received)) as collector:
        manifest = _manifest(folder, base)
        env = child_env(ITEMS_KEY=UPSTREAM_KEY, OTEL_EXPORTER_OTLP_ENDPOINT=collector, OTEL_BSP_SCHEDULE_DELAY="50",
                        MCPRT_LOG_FORMAT="json")
        with mcprt_http(manifest, "--no-reload", env=env) as up:
            yield up, upstream, received, folder / "audit.jsonl"


def scrape(up: UpProcess) -> tuple[dict[tuple[str, tuple[tuple[str, str], ...]], float], str]:
    response = httpx.get(f"{up.base}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, response.text


def upstream_count(samples: dict[Any, float], source: str, status_class: str) -> float:
    key = ("mcprt_upstream_request_duration_seconds_count", (("source", source), ("status_class", status_class)))
    return samples.get(key, 0.0)


def calls_count(samples: dict[Any, float], tool: str, source: str, outcome: str) -> float:
    key = ("mcprt_tool_calls_total", (("outcome", outcome), ("source", source), ("tool", tool)))
    return samples.get(key, 0.0)


def audit_records(path: Path) -> list[dict[str, Any]]:
    """The audit file's whole lines (a background thread writes it: a line being written is not one yet)."""
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text[:text.rfind("\n") + 1].splitlines()]


def audit_of(path: Path, predicate: Any, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in audit_records(path) if r.get("type") == "call" and predicate(r)]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, found
            return found[0]
        time.sleep(0.05)


def call_lines(up: UpProcess, tool: str, since: int = 0, *, count: int = 1) -> list[dict[str, Any]]:
    """The JSON `call` log lines of `tool` written after `since` (a `log_mark()`), in order, once there are
    `count` (stderr is read by a thread: a line may arrive just after the answer), or after 10 s."""
    deadline = time.monotonic() + 10
    while True:
        lines = []
        for line in up.log_since(since).splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("msg") == "call" and entry.get("tool") == tool:
                    lines.append(entry)
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def call_line(up: UpProcess, tool: str, call_id: str) -> dict[str, Any]:
    """The one JSON log line of call `call_id`."""
    deadline = time.monotonic() + 10
    while True:
        found = [e for e in call_lines(up, tool) if e.get("call") == call_id]
        if found or time.monotonic() > deadline:
            (line,) = found
            return line
        time.sleep(0.05)


def server_span_of(received: Received, call_id: str) -> Span:
    (span,) = received.wait_for(lambda s: s.kind == SERVER and s.attributes.get("mcprt.call.id") == call_id)
    return span


def attempt_spans(received: Received, server: Span, count: int) -> list[Span]:
    deadline = time.monotonic() + 10
    while True:
        spans = received.wait_for(lambda s: s.kind == CLIENT and s.parent_id == server.span_id)
        if len(spans) >= count or time.monotonic() > deadline:
            return sorted(spans, key=lambda s: s.attributes.get("http.request.resend_count", 0))
        time.sleep(0.05)


async def test_a_slow_503_cut_by_the_deadline_says_what_the_upstream_answered(world) -> None:
    """Two 503s, then the deadline during attempt 3: the model, audit, log, metrics and spans say so."""
    up, upstream, received, audit = world
    before, _ = scrape(up)
    async with http_client(up.url) as client:
        result = await client.call_tool("get_item", {"id": "shed-1"})
    assert result.is_error
    text = text_of(result)
    assert text.startswith(f"upstream answered HTTP 503 twice, then the {TIMEOUT_S}s timeout passed during attempt 3 "
                           "(GET 127.0.0.1:"), text
    assert "did not answer" not in text
    assert upstream.hits["shed-1"] == 3

    # the limit that passed is the call's own timeout (`timeout`); what the upstream answered before it is kept
    record = audit_of(audit, lambda r: r["tool"] == "get_item" and r["error"].startswith("upstream answered"))
    assert record["outcome"] == "timeout"
    assert record["upstream_status"] == 503 and record["upstream_attempts"] == 3

    line = call_line(up, "get_item", record["call"])
    assert line["status"] == "timeout" and line["upstream_status"] == 503 and line["attempts"] == 3
    # a log line carries no argument value: the one the error's URL quotes is redacted
    assert line["error_message"] == text.replace("/items/shed-1", "/items/[redacted]")

    after, _ = scrape(up)
    # every request is its own observation: two answered 503, the third got no answer
    assert upstream_count(after, "items", "5xx") - upstream_count(before, "items", "5xx") == 2
    assert upstream_count(after, "items", "error") - upstream_count(before, "items", "error") == 1

    server = server_span_of(received, record["call"])
    assert server.attributes["error.type"] == "timeout"
    spans = attempt_spans(received, server, 3)
    assert [s.attributes.get("http.response.status_code") for s in spans] == [503, 503, None]
    assert [s.attributes.get("error.type") for s in spans] == ["503", "503", "timeout"]
    assert [s.attributes.get("http.request.resend_count") for s in spans] == [None, 1, 2]


async def test_calls_whose_deadline_passed_after_5xx_answers_degrade_the_source(world) -> None:
    """Decided: the upstream answered 5xx before the call's deadline, so the call tells of its source as a
    5xx answer does (3 in a row: `degraded`); a time-out with no answer at all still says nothing."""
    up, _, _, _ = world

    def state() -> str:
        sources = httpx.get(f"{up.base}/status.json", timeout=10).json()["sources"]
        return next(s for s in sources if s["name"] == "shedding")["state"]

    assert state() == "up"
    async with http_client(up.url) as client:
        results = await asyncio.gather(*(client.call_tool("shed_item", {"id": f"shed-h{i}"}) for i in range(3)))
    assert all(r.is_error and text_of(r).startswith("upstream answered HTTP 503 twice") for r in results)
    assert state() == "degraded"


async def test_each_retry_is_counted_and_traced_and_the_error_says_the_attempts(world) -> None:
    up, upstream, received, audit = world
    before, _ = scrape(up)
    async with http_client(up.url) as client:
        result = await client.call_tool("get_item", {"id": "busy-1"})
    assert result.is_error
    text = text_of(result)
    assert text.startswith("HTTP 503 Service Unavailable (the last of 3 attempts): "), text
    assert UPSTREAM_KEY not in text
    assert upstream.hits["busy-1"] == 3

    after, exposition = scrape(up)
    assert upstream_count(after, "items", "5xx") - upstream_count(before, "items", "5xx") == 3
    help_line = next(line for line in exposition.splitlines()
                     if line.startswith("# HELP mcprt_upstream_request_duration_seconds "))
    assert "one observation per attempt" in help_line

    record = audit_of(audit, lambda r: r["tool"] == "get_item" and "busy" in r.get("error", ""))
    assert record["upstream_status"] == 503 and record["upstream_attempts"] == 3
    server = server_span_of(received, record["call"])
    spans = attempt_spans(received, server, 3)
    assert len(spans) == 3
    assert [s.attributes.get("http.request.resend_count") for s in spans] == [None, 1, 2]
    assert all(s.attributes["http.response.status_code"] == 503 and s.attributes["error.type"] == "503"
               for s in spans)
    # each attempt sent its own span's context upstream: three distinct spans
    assert len({s.span_id for s in spans}) == 3


async def test_a_call_that_never_left_mcprts_queue_is_a_queue_timeout(world) -> None:
    """`concurrency: 1`, timeout 1 s: a second call waiting behind a 2 s nap never starts."""
    up, _, received, audit = world
    before, _ = scrape(up)
    async with http_client(up.url) as client:
        first = asyncio.create_task(client.call_tool("nap", {"seconds": 2}))
        await asyncio.sleep(0.2)
        second = await client.call_tool("nap", {"seconds": 0})
        ran = await first
    assert ran.is_error and "nap did not finish within 1s" in text_of(ran)
    assert second.is_error and text_of(second).startswith("nap did not start within 1s"), text_of(second)

    after, _ = scrape(up)
    assert calls_count(after, "nap", "py", "queue_timeout") - calls_count(before, "nap", "py", "queue_timeout") == 1
    assert calls_count(after, "nap", "py", "timeout") - calls_count(before, "nap", "py", "timeout") == 1
    record = audit_of(audit, lambda r: r["tool"] == "nap" and r["outcome"] == "queue_timeout")
    assert record["error"] == text_of(second)
    line = call_line(up, "nap", record["call"])
    assert line["status"] == "queue_timeout"
    assert server_span_of(received, record["call"]).attributes["error.type"] == "queue_timeout"


async def test_which_limit_passed_is_the_outcome_for_every_source_kind(world) -> None:
    """The call's own timeout passing after the call started is `timeout` — a Python call that queued behind
    another, started late and then ran out (it was `upstream_error`), an HTTP upstream that never answers, a proxied
    server's tool that never answers — in the tool error's words, the audit record, the log line, the metric and
    the span alike; only a call whose time passed in mcprt's queue is `queue_timeout` (the test above)."""
    up, _, received, audit = world
    before, _ = scrape(up)
    async with http_client(up.url) as client:
        # the three sources' limits pass independently: the HTTP and proxied calls run out meanwhile
        hanging = asyncio.create_task(client.call_tool("get_item", {"id": "hang-1"}))
        napping = asyncio.create_task(client.call_tool("fx_nap", {"seconds": 5}))
        first = asyncio.create_task(client.call_tool("lane_nap", {"seconds": 0.8}))
        await asyncio.sleep(0.3)
        late = await client.call_tool("lane_nap", {"seconds": 3})  # queues ~0.5 s behind `first`, runs out at 1 s
        assert not (await first).is_error, text_of(await first)
        hung, proxied = await hanging, await napping
    assert text_of(late).startswith("lane_nap did not finish within 1s: it queued "), text_of(late)
    assert "behind 1 running calls of this tool" in text_of(late) and "then ran " in text_of(late)
    assert text_of(hung).startswith(f"upstream did not answer within {TIMEOUT_S}s (GET 127.0.0.1:"), text_of(hung)
    assert text_of(proxied).startswith("fx_nap: the server did not answer within 1s"), text_of(proxied)

    after, _ = scrape(up)
    for tool, source, result in (("lane_nap", "lane", late), ("get_item", "items", hung), ("fx_nap", "fx", proxied)):
        assert result.is_error
        said = text_of(result).replace("/items/hang-1", "/items/[redacted]")  # the audit takes argument values out
        record = audit_of(audit, lambda r, tool=tool, said=said: r["tool"] == tool and r.get("error") == said)
        assert record["outcome"] == "timeout", (tool, record)
        assert call_line(up, tool, record["call"])["status"] == "timeout", tool
        assert server_span_of(received, record["call"]).attributes["error.type"] == "timeout", tool
        assert calls_count(after, tool, source, "timeout") - calls_count(before, tool, source, "timeout") == 1, tool
        for other in ("upstream_error", "queue_timeout"):
            assert calls_count(after, tool, source, other) == calls_count(before, tool, source, other), (tool, other)


async def test_a_python_functions_own_timeout_error_is_its_failure_not_the_calls_timeout(world) -> None:
    """A function whose own client gave up (`socket.timeout`, `TimeoutError`: raised at once, its `timeout` is 30 s)
    failed: `tool_error` with its own words, as any exception — not "did not finish within 30s" with the outcome
    `timeout`, a limit that never passed (review of oaleft, problem 1)."""
    up, _, received, audit = world
    before, _ = scrape(up)
    async with http_client(up.url) as client:
        db = await client.call_tool("db_lookup", {})
        backend = await client.call_tool("backend_lookup", {})
    after, _ = scrape(up)
    for tool, result, said in ((("db_lookup", db, "TimeoutError: my db timed out")),
                               ("backend_lookup", backend, "TimeoutError: backend slow")):
        assert result.is_error and text_of(result) == said, (tool, text_of(result))
        record = audit_of(audit, lambda r, tool=tool: r["tool"] == tool)
        assert (record["outcome"], record["error"]) == ("tool_error", said), record
        assert call_line(up, tool, record["call"])["status"] == "tool_error", tool
        assert server_span_of(received, record["call"]).attributes["error.type"] == "tool_error", tool
        assert calls_count(after, tool, "own", "tool_error") - calls_count(before, tool, "own", "tool_error") == 1
        assert calls_count(after, tool, "own", "timeout") == 0, tool


async def test_the_log_line_audit_record_and_span_of_a_call_join(world) -> None:
    """The JSON log line of a call carries its call id, session, error text (scrubbed) and trace/span ids;
    its audit record the same ids; its tools/call span the call id (`mcprt.call.id`)."""
    up, _, received, audit = world
    mark = up.log_mark()
    async with http_client(up.url) as client:
        failed = await client.call_tool("get_item", {"id": "busy-join"})
        ok = await client.call_tool("get_item", {"id": "fine-join"})
    assert failed.is_error and not ok.is_error
    failed_line, ok_line = call_lines(up, "get_item", since=mark, count=2)

    assert failed_line["error"] is True and failed_line["error_message"] == text_of(failed)
    assert "[redacted]" in failed_line["error_message"]  # the upstream echoed the API key
    assert "error_message" not in ok_line and ok_line["error"] is False
    for line in (failed_line, ok_line):
        record = audit_of(audit, lambda r, line=line: r["call"] == line["call"])
        assert line["session"] == record["session"] and line["session"]
        assert (line["trace_id"], line["span_id"]) == (record["trace_id"], record["span_id"])
        assert len(line["trace_id"]) == 32 and len(line["span_id"]) == 16
        server = server_span_of(received, line["call"])
        assert (server.trace_id, server.span_id) == (line["trace_id"], line["span_id"])
        assert server.attributes["mcp.session.id"] == line["session"]
    assert audit_of(audit, lambda r: r["call"] == failed_line["call"])["error"] == text_of(failed)
    assert UPSTREAM_KEY not in up.log() and UPSTREAM_KEY not in audit.read_text()
