"""Traces of a real `mcprt up` exported over OTLP/HTTP to a receiver started by the test: spans,
parents and attributes per the OpenTelemetry MCP semantic conventions, trace context arriving at the
HTTP upstream (`traceparent` header) and at a proxied MCP server (`params._meta`)."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from observability_support import ALICE_TOKEN, Seen, env_for, pets_app, write_manifest
from otlp_receiver import Received, receiver_app
from prometheus_client.parser import text_string_to_metric_families

from tests.support.served import UpProcess, http_client, mcprt_http
from tests.support.upstream import serve_app
from tests.support.zygote import script_command_yaml

pytestmark = pytest.mark.xdist_group("test_traces")  # one started set of servers per run, not one per worker

SERVER, CLIENT = 2, 3  # opentelemetry.proto Span.SpanKind
STATUS_ERROR = 2
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
FIXTURE = Path(__file__).with_name("traced_mcp_server.py")


MANIFEST: list[Path] = []  # the traced world's manifest (test_a_crashed_proxied_server_shows_as_restarted edits it)


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UpProcess, Seen, Received]]:
    folder = tmp_path_factory.mktemp("traces")
    seen, received = Seen(), Received()
    proxied = f'  traced:\n    command: {script_command_yaml(FIXTURE)}'
    with serve_app(pets_app(seen)) as base, serve_app(receiver_app(received)) as collector:
        manifest = write_manifest(folder, base)
        manifest.write_text(manifest.read_text() + proxied + "\n")
        MANIFEST.append(manifest)
        env = env_for(OTEL_EXPORTER_OTLP_ENDPOINT=collector, OTEL_BSP_SCHEDULE_DELAY="50",
                      OTEL_SERVICE_NAME="pets-ops-traced")
        with mcprt_http(manifest, "--no-reload", env=env) as up:
            yield up, seen, received


async def test_tool_call_span_continues_the_callers_trace_and_reaches_upstream(traced) -> None:
    up, seen, received = traced
    traceparent = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
    async with http_client(up.url, token=ALICE_TOKEN) as client:
        result = await client.call_tool("list_pets", {}, meta={"traceparent": traceparent})
        assert not result.is_error
    servers = received.wait_for(lambda s: s.name == "tools/call list_pets" and s.trace_id == CALLER_TRACE)
    assert len(servers) == 1
    server = servers[0]
    assert server.kind == SERVER and server.parent_id == CALLER_SPAN
    attrs = server.attributes
    assert attrs["mcp.method.name"] == "tools/call"
    assert attrs["gen_ai.tool.name"] == "list_pets"
    assert attrs["gen_ai.operation.name"] == "execute_tool"
    assert attrs["mcp.session.id"] and attrs["mcp.protocol.version"]
    assert "error.type" not in attrs
    assert server.resource["service.name"] == "pets-ops-traced"
    assert [e[0] for e in server.events] == ["mcprt.shaping"], up.log()
    (event,) = server.events
    assert event[1]["mcprt.bytes.raw"] > event[1]["mcprt.bytes.sent"] > 0

    clients = received.wait_for(lambda s: s.parent_id == server.span_id)
    assert len(clients) == 1
    upstream = clients[0]
    assert upstream.kind == CLIENT and upstream.name == "GET" and upstream.trace_id == CALLER_TRACE
    assert upstream.attributes["http.request.method"] == "GET"
    assert upstream.attributes["http.response.status_code"] == 200
    assert upstream.attributes["url.full"].endswith("/pets")
    # the upstream received the client span's context
    sent = [t for t in seen.traceparents if t and CALLER_TRACE in t]
    assert sent == [f"00-{CALLER_TRACE}-{upstream.span_id}-01"]


async def test_failed_call_span_has_error_type(traced) -> None:
    up, _, received = traced
    async with http_client(up.url, token=ALICE_TOKEN) as client:
        result = await client.call_tool("get_pet", {"petId": 99})
        assert result.is_error
    spans = received.wait_for(lambda s: s.name == "tools/call get_pet")
    assert len(spans) == 1
    assert spans[0].attributes["error.type"] == "upstream_error" and spans[0].status_code == STATUS_ERROR
    assert spans[0].parent_id == ""  # no caller context: a new trace
    (child,) = received.wait_for(lambda s: s.parent_id == spans[0].span_id)
    assert child.attributes["http.response.status_code"] == 404 and child.attributes["error.type"] == "404"
    # HTTP client semconv: server.address/server.port required; `url.full` carried the argument (`/pets/99`)
    # though the audit log keeps values out by default (audit_arguments: false): the route instead
    attrs = child.attributes
    assert (attrs["server.address"], attrs["url.template"]) == ("127.0.0.1", "/pets/{petId}"), attrs
    assert f"http://127.0.0.1:{attrs['server.port']}/pets/{{petId}}" == attrs["url.full"], attrs


async def test_proxied_mcp_call_carries_trace_context_in_meta(traced) -> None:
    up, _, received = traced
    traceparent = f"00-{CALLER_TRACE[::-1]}-{CALLER_SPAN}-01"
    async with http_client(up.url, token=ALICE_TOKEN) as client:
        result = await client.call_tool("meta", {}, meta={"traceparent": traceparent})
        assert not result.is_error, result
    got = json.loads(result.content[0].text)
    (server,) = received.wait_for(lambda s: s.name == "tools/call meta" and s.kind == SERVER)
    (proxied,) = received.wait_for(lambda s: s.parent_id == server.span_id)
    assert proxied.kind == CLIENT and proxied.name == "tools/call meta"
    assert proxied.attributes["gen_ai.tool.name"] == "meta" and proxied.attributes["mcprt.source"] == "traced"
    # a stdio server: the command's name was `server.address` ("python"); not a network address
    assert "server.address" not in proxied.attributes and proxied.attributes["network.transport"] == "pipe"
    assert got["traceparent"] == f"00-{CALLER_TRACE[::-1]}-{proxied.span_id}-01"


def test_a_crashed_proxied_server_shows_as_restarted(traced) -> None:
    up, _, _ = traced
    import asyncio

    async def crash() -> None:
        async with http_client(up.url, token=ALICE_TOKEN) as client:
            await client.call_tool("crash", {})

    asyncio.run(crash())
    headers = {"Authorization": f"Bearer {ALICE_TOKEN}"}
    deadline = time.monotonic() + 60
    restarts = up_value = None
    while time.monotonic() < deadline:
        text = httpx.get(f"{up.base}/metrics", headers=headers, timeout=10).text
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for f in text_string_to_metric_families(text) for s in f.samples}
        restarts = samples[("mcprt_source_restarts_total", (("source", "traced"),))]
        up_value = samples[("mcprt_source_up", (("source", "traced"),))]
        if restarts == 1 and up_value == 1:
            break
        time.sleep(0.2)
    assert (restarts, up_value) == (1, 1)
    status = httpx.get(f"{up.base}/status.json", headers=headers, timeout=10).json()
    (source,) = [s for s in status["sources"] if s["name"] == "traced"]
    assert source["state"] == "up" and source["restarts"] == 1

    # A reload that reopens the source (its settings changed) made a new source object: the counter fell
    # from 1 to 0, and a counter never goes down (Prometheus reads a drop as a process restart).
    manifest = MANIFEST[0]
    manifest.write_text(manifest.read_text().replace(f'{FIXTURE}"]', f'{FIXTURE}"]\n    env: {{RELOADED: "1"}}'))
    up.signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    while True:
        text = httpx.get(f"{up.base}/metrics", headers=headers, timeout=10).text
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for f in text_string_to_metric_families(text) for s in f.samples}
        if samples[("mcprt_reloads_total", (("result", "ok"),))] == 1:
            break
        assert samples[("mcprt_reloads_total", (("result", "error"),))] == 0, up.log()
        assert time.monotonic() < deadline, up.log()
        time.sleep(0.2)
    assert samples[("mcprt_source_restarts_total", (("source", "traced"),))] == 1
    status = httpx.get(f"{up.base}/status.json", headers=headers, timeout=10).json()
    (source,) = [s for s in status["sources"] if s["name"] == "traced"]
    assert source["restarts"] == 1, source


async def test_spans_are_not_named_by_methods_or_tools_the_client_made_up(traced) -> None:
    """The span name and `mcp.method.name` were the client's method string, and `tools/call {tool}` the
    client's tool name even for a tool nobody offers: one span name per made-up string in the trace
    backend. A method MCP does not define is `_OTHER` (the client's string in `rpc.method_original`,
    OpenTelemetry's JSON-RPC conventions); an unknown tool's span is `tools/call` alone."""
    up, _, received = traced
    auth = {"authorization": f"Bearer {ALICE_TOKEN}", "content-type": "application/json",
            "accept": "application/json, text/event-stream"}
    init = httpx.post(up.url, headers=auth, timeout=10, json={
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    session = {**auth, "mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
    httpx.post(up.url, headers=session, timeout=10, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    for n, method in enumerate(["made/up/span", "roots/list"]):  # roots/list is a server→client method
        answer = httpx.post(up.url, headers=session, timeout=10, json={"jsonrpc": "2.0", "id": n + 1, "method": method})
        assert answer.json()["error"]["code"] == -32601
    answer = httpx.post(up.url, headers=session, timeout=10, json={
        "jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "made_up_tool_span", "arguments": {}}})
    assert "made_up_tool_span" in answer.text  # the client is told which tool is unknown
    httpx.delete(up.url, headers=session, timeout=10)

    for original in ("made/up/span", "roots/list"):
        (span,) = received.wait_for(lambda s, o=original: s.attributes.get("rpc.method_original") == o)
        assert span.name == "_OTHER" and span.attributes["mcp.method.name"] == "_OTHER" and span.kind == SERVER
    (call,) = received.wait_for(lambda s: s.attributes.get("jsonrpc.request.id") == "9"
                                and s.attributes.get("mcp.session.id") == session["mcp-session-id"])
    assert call.name == "tools/call" and call.attributes["mcp.method.name"] == "tools/call"
    assert "gen_ai.tool.name" not in call.attributes and "rpc.method_original" not in call.attributes
    names = {s.name for s in received.spans}
    assert not any("made" in name or "roots" in name for name in names), names


async def test_traceparent_http_header_continues_the_trace(traced) -> None:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    up, _, received = traced
    trace = "0af7651916cd43dd8448eb211c80319c"
    headers = {"Authorization": f"Bearer {ALICE_TOKEN}", "traceparent": f"00-{trace}-b7ad6b7169203331-01"}
    async with create_mcp_http_client(headers=headers) as http:
        async with Client(streamable_http_client(up.url, http_client=http), mode="legacy") as client:
            await client.call_tool("get_pet", {"petId": 5})
    spans = received.wait_for(lambda s: s.name == "tools/call get_pet" and s.trace_id == trace)
    assert len(spans) == 1 and spans[0].parent_id == "b7ad6b7169203331"


def test_an_unreachable_collector_is_logged_in_mcprts_format(tmp_path: Path) -> None:
    """Found by a new-user trial: with the collector down, the OpenTelemetry exporter's warnings came
    out as bare text from Python's last-resort handler: no time or level, not JSON under
    MCPRT_LOG_FORMAT=json, not scrubbed. Other libraries' warnings now share mcprt's handler."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with serve_app(pets_app(Seen())) as base:
        manifest = write_manifest(tmp_path, base)
        env = env_for(OTEL_EXPORTER_OTLP_ENDPOINT=closed, OTEL_BSP_SCHEDULE_DELAY="50", MCPRT_LOG_FORMAT="json")
        with mcprt_http(manifest, "--no-reload", env=env) as up:
            headers = {"authorization": f"Bearer {ALICE_TOKEN}"}
            assert httpx.get(f"{up.base}/metrics", headers=headers, timeout=10).status_code == 200  # a traced request
            anyio_run_call(up)
            deadline = time.monotonic() + 60  # the exporter retries with backoff; this only bounds a hang
            while not any('"logger": "opentelemetry' in line for line in up.stderr) and time.monotonic() < deadline:
                time.sleep(0.05)
            lines = [line for line in up.stderr if line.strip() and not line.startswith("mcprt ")]  # the banner
    exporter = [json.loads(line) for line in lines if '"logger": "opentelemetry' in line]
    assert exporter and exporter[0]["level"] in ("warning", "error") and exporter[0]["ts"].endswith("Z")
    for line in lines:
        json.loads(line)  # every log line is JSON, the libraries' included
    assert ALICE_TOKEN not in "".join(lines)


def anyio_run_call(up: UpProcess) -> None:
    import anyio

    async def call() -> None:
        async with http_client(up.url, token=ALICE_TOKEN) as client:
            assert not (await client.call_tool("list_pets", {})).is_error

    anyio.run(call)


def test_sigterm_with_an_unreachable_collector_stops_within_the_flush_timeout(tmp_path: Path) -> None:
    """Found by a new-user trial: with the collector down, SIGTERM took 10 s (the exporter's default
    timeout, retrying the final flush). The final flush is bounded by MCPRT_TRACES_FLUSH_TIMEOUT (2 s by
    default) and a warning says how many spans were dropped."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with serve_app(pets_app(Seen())) as base:
        manifest = write_manifest(tmp_path, base)
        # spans wait in the batch (no scheduled export) so the final flush at shutdown is what meets the closed port
        env = env_for(OTEL_EXPORTER_OTLP_ENDPOINT=closed, OTEL_BSP_SCHEDULE_DELAY="600000")
        with mcprt_http(manifest, "--no-reload", env=env) as up:
            anyio_run_call(up)
            started = time.monotonic()
            assert up.stop(timeout=30) == 0, up.log()  # 30 s only bounds a hang
            took = time.monotonic() - started
    # 2 s of flush plus the server's own shutdown (measured 2.4 s); the exporter's retries alone took
    # 5.6-10 s before (back-off 1, 2, 4 s ±20% within its 10 s timeout)
    assert took < 5.0, f"stopped in {took:.1f}s:\n{up.log()}"
    dropped = [line for line in up.log().splitlines() if "spans not exported" in line]  # log(): every line, once exited
    assert len(dropped) == 1, up.log()
    assert "within 2 s" in dropped[0] and "MCPRT_TRACES_FLUSH_TIMEOUT" in dropped[0], dropped[0]
