"""`mcprt up --transport http` as a real subprocess: the SDK client, raw HTTP for the front door."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import mcp_types as types
import pytest
from server_support import (
    TOKEN,
    ListChangedCatcher,
    UpProcess,
    child_env,
    demo_manifest,
    http_client,
    launch_command,
    mcprt_http,
    text_of,
)

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
}
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


pytestmark = pytest.mark.xdist_group("test_server_http")  # one started server per run, not one per worker


@dataclass
class KeptAlive:
    """A raw connection to the shared server that served one request and then idled from `since`."""

    sock: socket.socket
    since: float  # time.monotonic() of its first answer


@pytest.fixture(scope="module")
def served_and_idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UpProcess, KeptAlive]]:
    """One authenticated server for the tests that do not change what it serves, and a connection to it
    left idle from the start (test_an_idle_connection_outlasts_the_old_5_s_keep_alive reads it last:
    the module's other tests pass the idle time, so it costs no waiting of its own)."""
    folder = tmp_path_factory.mktemp("served")
    manifest = demo_manifest(folder, auth=True, http="{max_request_bytes: 20000}")
    with mcprt_http(manifest, "--no-reload") as up:
        host, port = up.base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(HEALTHZ)
            assert _read_answer(sock).startswith(b"HTTP/1.1 200 "), "a kept-alive answer"
            yield up, KeptAlive(sock, time.monotonic())
    assert up.stop() == 0


@pytest.fixture(scope="module")
def served(served_and_idle: tuple[UpProcess, KeptAlive]) -> UpProcess:
    return served_and_idle[0]


HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _read_answer(sock: socket.socket) -> bytes:
    """One HTTP/1.1 answer with a Content-Length body (b"" when the server closed the connection)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")))
    while len(body) < length:
        body += sock.recv(65536)
    return data


def post(up: UpProcess, body: object, **headers: str) -> httpx.Response:
    return httpx.post(up.url, content=json.dumps(body), headers={**MCP_HEADERS, **headers}, timeout=10)


def authorized(**headers: str) -> dict[str, str]:
    return {"authorization": f"Bearer {TOKEN}", **headers}


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_initialize_reports_name_instructions_and_list_changed(served: UpProcess, mode: str) -> None:
    async with http_client(served.url, mode=mode) as client:
        assert client.server_info is not None and client.server_info.name == "demo-server"
        assert client.instructions == "Tools for testing mcprt up."
        assert client.server_capabilities.tools is not None
        assert client.server_capabilities.tools.list_changed is True


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_list_and_call_tools(served: UpProcess, mode: str) -> None:
    async with http_client(served.url, mode=mode) as client:
        assert sorted(t.name for t in (await client.list_tools()).tools) == ["add", "echo", "fail"]
        ok = await client.call_tool("add", {"a": 20, "b": 22})
        assert not ok.is_error and text_of(ok) == "42"
        failed = await client.call_tool("fail", {"message": "no such pet"})
        assert failed.is_error and "no such pet" in text_of(failed)
        bad = await client.call_tool("add", {"a": 1.5})
        assert bad.is_error
        assert "'b' is required" in text_of(bad) and "1.5 is not of type 'integer'" in text_of(bad)
        unknown = await client.call_tool("ech", {"text": "x"})
        assert unknown.is_error and "unknown tool 'ech'" in text_of(unknown) and "'echo'" in text_of(unknown)


def test_healthz_needs_no_token_and_counts_tools(served: UpProcess) -> None:
    response = httpx.get(f"{served.base}/healthz", timeout=5)
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok" and health["tools"] == 3 and "server" not in health  # counts only, never names (README)
    assert health["manifest"]["status"] == "ok"


def test_bearer_token_is_required(served: UpProcess) -> None:
    missing = post(served, INITIALIZE)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = post(served, INITIALIZE, authorization="Bearer not-the-token")
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    other_scheme = post(served, INITIALIZE, authorization=f"Basic {TOKEN}")
    assert other_scheme.status_code == 401
    right = post(served, INITIALIZE, **authorized())
    assert right.status_code == 200
    assert "demo-server" in right.text


async def test_sdk_client_without_token_is_refused(served: UpProcess) -> None:
    def refusals() -> int:
        return sum("rejected request: bearer token reason=missing" in line for line in served.stderr)

    before = refusals()
    with pytest.raises(Exception):  # noqa: B017 - the SDK surfaces a 401 as a generic transport failure
        async with http_client(served.url, token=None) as client:
            await client.list_tools()
    with anyio.fail_after(5):  # the log line travels through a pipe and a reader thread
        while refusals() == before:
            await anyio.sleep(0.02)


def test_foreign_origin_is_refused_loopback_origin_accepted(served: UpProcess) -> None:
    evil = post(served, INITIALIZE, **authorized(origin="http://evil.example"))
    assert evil.status_code == 403
    lookalike = post(served, INITIALIZE, **authorized(origin="http://localhost.evil.example"))
    assert lookalike.status_code == 403
    local = post(served, INITIALIZE, **authorized(origin="http://localhost:5173"))
    assert local.status_code == 200


def test_foreign_host_is_refused(served: UpProcess) -> None:
    port = served.url.split(":")[2].split("/")[0]
    rebound = post(served, INITIALIZE, **authorized(host=f"attacker.example:{port}"))
    assert rebound.status_code == 421
    by_name = post(served, INITIALIZE, **authorized(host=f"localhost:{port}"))
    assert by_name.status_code == 200


def test_request_larger_than_the_limit_is_413(served: UpProcess) -> None:
    call = {
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "x" * 30_000}},
    }
    too_large = post(served, call, **authorized())
    assert too_large.status_code == 413
    _assert_refusal(too_large, -32600, "request_entity_too_large")
    # sent without Content-Length (chunked) the SDK's own limit answers it: plain text "Request body too
    # large" without a Content-Type, before
    chunked = httpx.post(served.url, content=iter([json.dumps(call).encode()]), headers={**MCP_HEADERS, **authorized()},
                         timeout=10)
    assert chunked.status_code == 413 and "content-length" not in chunked.request.headers
    _assert_refusal(chunked, -32600, "request_entity_too_large")
    assert chunked.json()["error"]["message"] == too_large.json()["error"]["message"]  # one refusal, one text


def _assert_refusal(answer: httpx.Response, code: int, reason: str) -> None:
    """`answer` is a JSON-RPC error response with id null, `code` and `data.reason` `reason`."""
    message = answer.json()
    assert message["jsonrpc"] == "2.0" and message["id"] is None, message
    assert message["error"]["code"] == code and message["error"]["data"] == {"reason": reason}, message


def test_the_front_doors_refusals_on_the_mcp_endpoint_are_json_rpc_errors(served: UpProcess) -> None:
    """The guard's 401/403/421/413 on the MCP endpoint were `{"error": "…"}`, the only refusals there
    not in JSON-RPC shape (a client reading every error answer as JSON-RPC found no `error.code`).
    Elsewhere (the operator pages, /metrics) they keep `{"error": …}`."""
    port = served.url.split(":")[2].split("/")[0]
    _assert_refusal(post(served, INITIALIZE), -32600, "unauthorized")
    _assert_refusal(post(served, INITIALIZE, **authorized(origin="http://evil.example")), -32600, "forbidden")
    _assert_refusal(post(served, INITIALIZE, **authorized(host=f"attacker.example:{port}")), -32600,
                    "misdirected_request")
    missing = post(served, INITIALIZE)
    assert "a valid bearer token is required" in missing.json()["error"]["message"]
    assert missing.headers["www-authenticate"].startswith("Bearer")
    elsewhere = httpx.get(f"{served.base}/metrics", timeout=5)
    assert elsewhere.status_code == 401 and elsewhere.json() == {"error": "a valid bearer token is required"}


def _open_session(up: UpProcess) -> dict[str, str]:
    """initialize + initialized by raw HTTP; the headers a request of that session carries."""
    opened = post(up, INITIALIZE, **authorized())
    assert opened.status_code == 200, opened.text
    session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18",
               **authorized()}
    assert post(up, {"jsonrpc": "2.0", "method": "notifications/initialized"}, **session).status_code == 202
    return session


@pytest.mark.parametrize("last_event_id", ["1", "0", "not-an-id", "_GET_stream_1"])
def test_a_get_resuming_a_stream_without_kept_events_opens_a_fresh_one(served: UpProcess, last_event_id: str) -> None:
    """A new-user trial: GET /mcp with `Last-Event-ID: 1` on an initialized session got `500 text/plain`
    (the SDK went to replay events, with no event store, and returned without answering). mcprt
    keeps no events and so never issues event ids (MCP transports, "Resumability and Redelivery": the
    server MAY replay): the header is ignored and the GET stream opens as any other does."""
    session = _open_session(served)
    headers = {**session, "accept": "text/event-stream", "last-event-id": last_event_id}
    with httpx.stream("GET", served.url, headers=headers, timeout=10) as stream:
        assert stream.status_code == 200, stream.read()
        assert stream.headers["content-type"].startswith("text/event-stream")
    assert not [line for line in served.stderr if "ASGI callable returned" in line], served.log()


async def test_closed_sessions_are_forgotten(served: UpProcess) -> None:
    before = served.health()["sessions"]
    async with http_client(served.url) as client:
        await client.list_tools()
        assert served.health()["sessions"] == before + 1
    with anyio.fail_after(5):
        while served.health()["sessions"] != before:
            await anyio.sleep(0.05)


async def test_list_changed_reaches_an_http_session(tmp_path: Path) -> None:
    """Rename a tool and SIGHUP; the session's GET stream carries list_changed.

    The client opens its GET stream in the background after initialize, so the change is repeated
    (each one really changes the listing) until the first notification arrives.
    """
    manifest = demo_manifest(tmp_path)
    catcher = ListChangedCatcher()
    with mcprt_http(manifest, "--no-reload") as up:
        async with http_client(up.url, token=None, message_handler=catcher) as client:
            await client.list_tools()
            received = False
            for attempt in range(10):
                demo_manifest(tmp_path, renames={"add": f"plus_{attempt}"})
                up.signal(signal.SIGHUP)
                if await catcher.wait(2):
                    received = True
                    break
            assert received, "no notifications/tools/list_changed:\n" + "".join(up.stderr)
            names = [t.name for t in (await client.list_tools()).tools]
            assert f"plus_{attempt}" in names and "add" not in names
        assert up.stop() == 0


async def test_list_changed_reaches_a_modern_listen_stream(tmp_path: Path) -> None:
    manifest = demo_manifest(tmp_path)
    with mcprt_http(manifest, "--no-reload") as up:
        async with http_client(up.url, token=None, mode="auto") as client:
            assert client.protocol_version == "2026-07-28"
            async with client.listen(tools_list_changed=True) as subscription:
                demo_manifest(tmp_path, renames={"echo": "say"})
                up.signal(signal.SIGHUP)
                with anyio.fail_after(10):
                    event = await subscription.__anext__()
                assert type(event).__name__ == "ToolsListChanged"
            assert "say" in [t.name for t in (await client.list_tools()).tools]


async def test_stateless_json_mode(tmp_path: Path) -> None:
    """--stateless for replicas: no session id, JSON bodies, listChanged not promised."""
    manifest = demo_manifest(tmp_path, http="{json_response: true}")
    with mcprt_http(manifest, "--stateless", "--no-reload") as up:
        raw = post(up, INITIALIZE)
        assert raw.status_code == 200
        assert raw.headers["content-type"].startswith("application/json")
        assert "mcp-session-id" not in raw.headers
        assert raw.json()["result"]["capabilities"]["tools"]["listChanged"] is False
        async with http_client(up.url, token=None) as client:
            assert text_of(await client.call_tool("add", {"a": 1, "b": 2})) == "3"
        assert up.stop() == 0


def test_non_loopback_bind_without_auth_refuses_to_start(tmp_path: Path) -> None:
    manifest = demo_manifest(tmp_path)
    for args, env in (
        (["--transport", "http", "--host", "0.0.0.0"], child_env()),
        ([], child_env(MCPRT_TRANSPORT="http", MCPRT_HOST="192.0.2.10")),
    ):
        done = subprocess.run(launch_command(manifest, *args), env=env, capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 2, done.stderr
        assert "refusing to serve" in done.stderr and "bearer_tokens" in done.stderr
        assert "MCPRT_ALLOW_UNAUTHENTICATED" in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_wildcard_bind_announces_usable_urls(tmp_path: Path, log_format: str) -> None:
    """`--host 0.0.0.0` printed `http://0.0.0.0:PORT/mcp`, an address no client can use: the banner says it
    listens on all interfaces and gives the loopback URL (which a client then uses) and the host's name."""
    manifest = demo_manifest(tmp_path, auth=True)
    with mcprt_http(manifest, "--host", "0.0.0.0", "--no-reload", env=child_env(MCPRT_LOG_FORMAT=log_format)) as up:
        port = up.url.split(":")[2].split("/")[0]
        assert up.url == f"http://127.0.0.1:{port}/mcp", up.log()
        (banner,) = [line for line in up.log().splitlines() if "serving '" in line]
        hostname = socket.gethostname()
        said = json.loads(banner)["msg"] if log_format == "json" else banner
        assert f"(listening on all interfaces, 0.0.0.0:{port}; from other machines http://{hostname}:{port}/mcp; " \
            in said, said
        assert "http://0.0.0.0" not in banner
        if log_format == "json":
            fields = json.loads(banner)
            assert fields["url"] == up.url and fields["listen"] == f"0.0.0.0:{port}"
            assert fields["urls"] == [up.url, f"http://{hostname}:{port}/mcp"]

        async def call() -> str:
            async with http_client(up.url) as client:
                return text_of(await client.call_tool("add", {"a": 1, "b": 2}))

        assert anyio.run(call) == "3"  # the announced URL serves


def test_cli_flag_beats_environment(tmp_path: Path) -> None:
    """MCPRT_HOST=0.0.0.0 would be refused, but --host 127.0.0.1 wins; MCPRT_PORT is overridden too."""
    manifest = demo_manifest(tmp_path)
    env = child_env(MCPRT_HOST="0.0.0.0", MCPRT_PORT="1")
    with mcprt_http(manifest, "--host", "127.0.0.1", "--no-reload", env=env) as up:
        assert up.url.startswith("http://127.0.0.1:")
        assert up.health()["tools"] == 3


def test_bad_manifest_prints_diagnostics_and_exits_2(tmp_path: Path) -> None:
    manifest = demo_manifest(tmp_path)
    manifest.write_text(manifest.read_text().replace("python: demo_tools", "python: demo_tools\n    colour: red"))
    done = subprocess.run(launch_command(manifest, "--transport", "http", "--port", "0"), env=child_env(),
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert f"{manifest}:" in done.stderr and "colour" in done.stderr
    assert "Traceback" not in done.stderr


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    manifest = demo_manifest(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(launch_command(manifest, "--transport", "http", "--port", str(port)), env=child_env(),
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert f"error: port {port} on 127.0.0.1 is in use" in done.stderr  # first and alone: tests/cli/test_cli_first_steps.py
    assert "Traceback" not in done.stderr


def test_unknown_transport_is_a_clear_error(tmp_path: Path) -> None:
    manifest = demo_manifest(tmp_path)
    done = subprocess.run(launch_command(manifest, "--transport", "sse"), env=child_env(), capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert "unknown transport 'sse'" in done.stderr


def test_call_result_is_wire_exact(served: UpProcess) -> None:
    """What crosses the wire for an error result: isError true, text content, no JSON-RPC error."""
    session = post(served, INITIALIZE, **authorized())
    headers = authorized(**{"mcp-session-id": session.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"})
    post(served, {"jsonrpc": "2.0", "method": "notifications/initialized"}, **headers)
    call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "nope", "arguments": {}}}
    response = post(served, call, **headers)
    assert response.status_code == 200
    message = _sse_message(response.text)
    assert "error" not in message
    assert message["result"]["isError"] is True
    assert message["result"]["content"][0]["type"] == "text"
    types.CallToolResult.model_validate(message["result"], by_name=False)


def test_an_idle_connection_outlasts_the_old_5_s_keep_alive(served_and_idle: tuple[UpProcess, KeptAlive]) -> None:
    """uvicorn's default 5 s keep-alive closed idle connections before any load balancer in front did
    (HAProxy, nginx `keepalive`, AWS ALB 60 s, Google Cloud 600 s): one that sent a request on a
    connection in the instant mcprt closed it lost the request. An idle connection now stays open
    `server.http.keep_alive_timeout` (620 s by default) and serves its next request."""
    _, kept = served_and_idle
    time.sleep(max(0.0, kept.since + 6.0 - time.monotonic()))  # past the old 5 s (the module's tests took most)
    kept.sock.sendall(HEALTHZ)
    try:
        answer = _read_answer(kept.sock)
    except ConnectionResetError:
        answer = b"reset"
    assert answer.startswith(b"HTTP/1.1 200 "), f"the idle connection was closed: {answer[:80]!r}"


def _sse_message(text: str) -> dict:
    for line in text.splitlines():
        if line.startswith("data: "):
            return json.loads(line[6:])
    return json.loads(text)


async def test_sigterm_with_open_streams_stops_cleanly(tmp_path: Path) -> None:
    """A connected session's GET stream and a 2026 listen stream must not hold shutdown hostage."""
    manifest = demo_manifest(tmp_path)
    with mcprt_http(manifest, "--no-reload") as up:
        async with http_client(up.url, token=None) as legacy, http_client(up.url, token=None, mode="auto") as modern:
            await legacy.list_tools()
            async with modern.listen(tools_list_changed=True):
                await anyio.sleep(0.3)  # let the legacy client's GET stream open
                code = await anyio.to_thread.run_sync(up.stop)
        assert code == 0
        log = up.log()  # every line, once exited
        assert "Traceback" not in log and "ERROR" not in log, log
