"""Finding 5 of #13: 1,100 half-open connections against a server started with the common
descriptor limit of 1,024 neither starve legitimate calls nor flood the log; the server closes them
after the header timeout."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import resource
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ContextManager

import httpx
import pytest

from tests.support.served import UpProcess, child_env, http_client, mcprt_http, text_of, up_command

TOOLS = 'def ping() -> str:\n    """Pong."""\n    return "pong"\n'


def test_half_open_connections_do_not_starve_calls(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2500 and hard >= 2500:
        resource.setrlimit(resource.RLIMIT_NOFILE, (2500, hard))  # this test itself holds 1,100 sockets
    (tmp_path / "tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  t:\n    python: tools:ping\n")
    command = ["prlimit", "--nofile=1024:4096", "--", *up_command(manifest, "--transport", "http", "--port", "0",
                                                                   "--no-reload")]
    process = subprocess.Popen(command, cwd=tmp_path, env=child_env(MCPRT_HEADER_TIMEOUT="3"),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True).start()  # type: ignore[arg-type]
    sockets: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 60
        url = ""
        while not url and time.monotonic() < deadline and process.poll() is None:
            found = re.search(r" at (http://\S+) \(", "".join(lines))
            url = found.group(1) if found else ""
            time.sleep(0.05)
        assert url, "".join(lines)
        host, port = url.split("//")[1].split("/")[0].split(":")
        opened = time.monotonic()  # the first 50 connections' header timeout runs from about now
        for i in range(1100):  # half-open: connected, a partial request line, never finished
            sock = socket.create_connection((host, int(port)), timeout=5)
            if i % 2:
                sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            sockets.append(sock)

        async def call() -> str:
            async def inner() -> str:
                async with http_client(url) as client:
                    return text_of(await client.call_tool("ping", {}))
            return await asyncio.wait_for(inner(), 30)  # bounds the connect and initialize too

        started = time.monotonic()
        assert asyncio.run(call()) == "pong"
        assert time.monotonic() - started < 15
        # The server closes the half-open connections after the header timeout (3 s here): each read waits
        # for its close (b"" or a reset), all of the first 50 within 8 s of their opening — before the
        # default 10 s would close them, so a server ignoring MCPRT_HEADER_TIMEOUT fails here.
        closed = 0
        deadline = opened + 8
        for sock in sockets[:50]:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                closed += sock.recv(1) == b""
            except TimeoutError:
                pass  # still open
            except OSError:
                closed += 1  # reset by the server: closed too
        assert closed == 50
        assert httpx.get(url.rsplit("/", 1)[0] + "/healthz", timeout=5).status_code == 200
        assert asyncio.run(call()) == "pong"
        assert len(lines) < 50, f"{len(lines)} log lines:\n" + "".join(lines[:20])
    finally:
        for sock in sockets:
            sock.close()
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def _send_head(url: str, header_bytes: int, token: str | None) -> bytes:
    """A POST whose head carries `header_bytes` of one more header field, sent in 64 KB pieces as a
    client streams it; what the server answers (b"" when it only closed the connection)."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = f"POST /mcp HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        try:
            sock.sendall(head.encode() + b"X-Filler: ")
            left = header_bytes
            while left > 0:
                piece = min(left, 65_536)
                sock.sendall(b"a" * piece)
                left -= piece
            sock.sendall(b"\r\nContent-Length: 2\r\n\r\n{}")
        except OSError:
            pass  # the server closed while we were still sending: its answer is already waiting
        answer = b""
        try:
            while chunk := sock.recv(65_536):
                answer += chunk
        except OSError:
            pass
        return answer


def test_oversized_request_heads_get_431_before_any_token_check_and_memory_stays_flat(tmp_path: Path) -> None:
    """uvicorn's parser buffered a header line of any length: a 50 MB header, token or not, sat in
    memory whole. Heads are now capped at 64 KiB (431, RFC 6585 §5); a 60 KB one still works."""
    (tmp_path / "tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text('version: 1\nserver:\n  auth: {tokens: {alice: "${ALICE_TOKEN}"}}\n'
                        "sources:\n  t:\n    python: tools:ping\n")
    with mcprt_http(manifest, "--no-reload", env=child_env(ALICE_TOKEN="alice-token-31337")) as up:
        for token in (None, "alice-token-31337"):
            answer = _send_head(up.url, 40_000_000, token)
            assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
            assert b"request header fields larger than 65536 bytes" in answer
        with open(f"/proc/{up.pid}/status") as status:
            peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        assert peak_kb < 300_000, peak_kb  # 40 MB heads were held whole before
        # A big but reasonable head (a large JWT, many cookies) is served as before.
        ok = httpx.get(f"{up.base}/healthz", headers={"X-Filler": "a" * 60_000}, timeout=10)
        assert ok.status_code == 200
        up.wait_log("rejected request: header fields too large")

        async def call() -> str:
            async with http_client(up.url, token="alice-token-31337") as client:
                return text_of(await client.call_tool("ping", {}))

        assert asyncio.run(asyncio.wait_for(call(), 30)) == "pong"


def _alice_served(folder: Path, *, body_timeout: float, **env_vars: str) -> ContextManager[UpProcess]:
    """`mcprt up` over HTTP with alice's token and a `ping` tool, bodies due within `body_timeout` s;
    `env_vars`: more of its environment."""
    (folder / "tools.py").write_text(TOOLS)
    manifest = folder / "mcp.yaml"
    manifest.write_text('version: 1\nserver:\n  auth: {tokens: {alice: "${ALICE_TOKEN}"}}\n'
                        "sources:\n  t:\n    python: tools:ping\n")
    env = child_env(ALICE_TOKEN="alice-token-31337", MCPRT_BODY_TIMEOUT=f"{body_timeout:g}", **env_vars)
    return mcprt_http(manifest, "--no-reload", env=env)


def _post_head(url: str, token: str, length: int) -> socket.socket:
    host, port = url.split("//")[1].split("/")[0].split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(f"POST /mcp HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                 f"Accept: application/json, text/event-stream\r\nAuthorization: Bearer {token}\r\n"
                 f"Content-Length: {length}\r\n\r\n{{".encode())
    return sock


def test_a_body_trickling_in_gets_408_and_a_client_leaving_mid_body_leaves_no_traceback(tmp_path: Path) -> None:
    """The token is checked before the body is read, but an authenticated client sending its body a
    byte every second held its connection for as long as it liked (each one of the connections all
    clients share); and a client hanging up mid-body wrote an "Exception in ASGI application"
    traceback. Now the body has MCPRT_BODY_TIMEOUT seconds (2 here) and a hang-up is quiet.
    The same server has MCPRT_KEEP_ALIVE_TIMEOUT=1: the environment override of
    `server.http.keep_alive_timeout` (it had none) reaches the listener, which closes an idle
    kept-alive connection after 1 s instead of the default 620 s."""
    with _alice_served(tmp_path, body_timeout=2, MCPRT_KEEP_ALIVE_TIMEOUT="1") as up:
        host, port = up.base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as idle:
            idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert idle.recv(4096).startswith(b"HTTP/1.1 200 ")
            started = time.monotonic()
            assert _closed_within(idle, 4), "the idle connection outlived MCPRT_KEEP_ALIVE_TIMEOUT=1"
            assert time.monotonic() - started > 0.5
        with _post_head(up.url, "alice-token-31337", 10_000) as sock:
            started = time.monotonic()
            answer = b""
            sock.settimeout(1)
            while time.monotonic() - started < 30:  # bounds a hang; the answer comes after ~2 s
                try:
                    chunk = sock.recv(4096)
                except TimeoutError:
                    sock.sendall(b" ")  # one more byte of body, as a slowloris client sends
                    continue
                if not chunk:
                    break
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
            assert time.monotonic() - started < 15
            # on the MCP endpoint a JSON-RPC error, as every refusal there (it was text/plain)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert b"content-type: application/json" in head.lower(), head
            refusal = json.loads(body)
            assert refusal["id"] is None and refusal["error"]["code"] == -32600, refusal
            assert refusal["error"]["data"] == {"reason": "request_timeout"}, refusal
            assert "request body not received within 2 s" in refusal["error"]["message"], refusal
        up.wait_log("rejected request: body too slow")
        with _post_head(up.url, "alice-token-31337", 10_000):
            time.sleep(0.3)  # part of the body sent, then the client hangs up
        time.sleep(1)

        async def call() -> str:
            async with http_client(up.url, token="alice-token-31337") as client:
                return text_of(await client.call_tool("ping", {}))

        assert asyncio.run(asyncio.wait_for(call(), 30)) == "pong"
        assert "Traceback" not in up.log() and "Exception in ASGI application" not in up.log(), up.log()


def test_a_client_still_sending_after_the_408_can_read_it(tmp_path: Path) -> None:
    """Closed at once, a connection whose client sends one more byte after the 408 answers it with a reset,
    and a reset discards what the client has not read yet: the 408 was lost (ConnectionResetError) when
    the client read late. The server now stops sending and reads, dropping, for a while before it closes
    (RFC 9112 §9.6)."""
    with _alice_served(tmp_path, body_timeout=1) as up:
        with _post_head(up.url, "alice-token-31337", 10_000) as sock:
            up.wait_log("rejected request: body too slow")  # the 408 is written and the server is done with us
            sock.sendall(b" ")  # a slow client's next byte, sent before it reads
            time.sleep(0.5)  # long enough for a reset to come back, were the connection closed
            sock.settimeout(10)
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes `sock` within `seconds` (what it still sends is read and dropped)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
        return True
    except TimeoutError:
        return False
    except OSError:
        return True  # reset: closed too


def test_idle_keep_alive_connections_give_way_at_the_cap_and_a_stalled_next_request_is_closed(
        tmp_path: Path) -> None:
    """The keep-alive is long now (`server.http.keep_alive_timeout`, 620 s, so that a load balancer in
    front closes idle connections first): a client that opens connections, makes one request on each
    and idles must still not hold the connection cap. At the cap, the longest-idle connection is
    closed for a newcomer (it was the newcomer that was refused). And one byte of a next request on a
    kept-alive connection stopped every deadline: a client that sent a partial head and stalled held
    its connection for good. It now has the header timeout (1 s here) like a first request."""
    cap = 12
    with _alice_served(tmp_path, body_timeout=30, MCPRT_MAX_CONNECTIONS=str(cap), MCPRT_HEADER_TIMEOUT="1") as up:
        host, port = up.base.removeprefix("http://").split(":")
        idlers = []
        for _ in range(cap):  # each made one request and idles, kept alive
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
            idlers.append(sock)
        try:
            # a newcomer at the cap is served; the first idler (idle the longest) made room for it
            assert httpx.get(f"{up.base}/healthz", timeout=5).status_code == 200
            assert _closed_within(idlers[0], 2), "the longest-idle connection should have been closed"
            assert not _closed_within(idlers[-1], 0.2), "the others stay open"

            async def call() -> str:
                async with http_client(up.url, token="alice-token-31337") as client:
                    return text_of(await client.call_tool("ping", {}))

            assert asyncio.run(asyncio.wait_for(call(), 30)) == "pong"
            # a kept-alive connection whose next request's head stalls is closed after the header timeout
            stalled = idlers[-1]
            stalled.sendall(b"GET /healthz HTTP/1.1\r\nHo")
            started = time.monotonic()
            assert _closed_within(stalled, 5), "a stalled head of a next request held its connection"
            assert time.monotonic() - started < 3
        finally:
            for sock in idlers:
                sock.close()


# --- the cap and the header deadline between kept-alive requests (review of keep_alive_timeout) ---

CAP = 6
HEAD_SECONDS = 2.0
GET = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, str, UpProcess]]:
    """One `mcprt up` for the tests below: `CAP` connections, heads due within `HEAD_SECONDS`, the
    default (long) keep-alive. (host, port, base URL, the server); each test closes every socket it opens."""
    with _alice_served(tmp_path_factory.mktemp("capped"), body_timeout=30, MCPRT_MAX_CONNECTIONS=str(CAP),
                       MCPRT_HEADER_TIMEOUT=f"{HEAD_SECONDS:g}") as up:
        host, port = up.base.removeprefix("http://").split(":")
        yield host, int(port), up.base, up


def _answer(sock: socket.socket) -> bytes:
    """One whole HTTP answer read from `sock` (by its content-length), or what came before it closed."""
    sock.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            if not (chunk := sock.recv(65536)):
                return data or b"<closed>"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
        while len(body) < length and (chunk := sock.recv(65536)):
            body += chunk
        return head + b"\r\n\r\n" + body
    except OSError as error:
        return repr(error).encode()


def _kept(host: str, port: int) -> socket.socket:
    """A connection that made one request and is kept alive."""
    sock = socket.create_connection((host, port), timeout=5)
    sock.sendall(GET)
    assert _answer(sock).startswith(b"HTTP/1.1 200 ")
    return sock


def _rejected_total(base: str) -> float:
    metrics = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer alice-token-31337"}, timeout=5).text
    found = re.search(r"^mcprt_rejected_connections_total (\S+)$", metrics, re.M)
    assert found, metrics
    return float(found.group(1))


def test_connections_refused_at_the_cap_are_counted_and_logged(capped: tuple[str, int, str, UpProcess]) -> None:
    """A connection refused at MCPRT_MAX_CONNECTIONS (none idle to close) was neither logged nor counted:
    a full server looked healthy. Now `mcprt_rejected_connections_total` counts each, and one warning
    line per 10 s says how many (a flood writes one line, not one per socket)."""
    host, port, base, up = capped
    before = _rejected_total(base)
    mark = up.log_mark()
    busy = []
    try:
        for _ in range(CAP):  # each sending its first head: busy, not idle
            sock = socket.create_connection((host, port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")
            busy.append(sock)
        time.sleep(0.2)  # every one accepted before the newcomers
        for _ in range(3):
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{base}/healthz", timeout=2)
    finally:
        for sock in busy:
            sock.close()
    time.sleep(0.2)
    assert _rejected_total(base) - before == 3

    def said() -> list[str]:
        return [line for line in up.log_since(mark).splitlines() if "refused connection" in line]

    # said at once, or (another test's refusal opened the 10 s window) in the window's closing line
    deadline = time.monotonic() + 12
    while not said() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert said() and all(f"limit={CAP}" in line and "MCPRT_MAX_CONNECTIONS reached" in line for line in said())
    assert len(said()) <= 2, said()  # three refusals in one window: at most its first and its closing line


def test_bare_line_breaks_between_requests_do_not_hold_connections_at_the_cap(capped: tuple[str, int, str, UpProcess]) -> None:
    """llhttp skips a CRLF before a request without beginning one, and uvicorn stops the keep-alive
    timer on any byte: kept-alive connections that sent only "\\r\\n" were neither idle nor overdue and
    held the cap for good (a newcomer was refused). The CRLF now starts the header deadline."""
    host, port, base, _ = capped
    holders = [_kept(host, port) for _ in range(CAP)]
    try:
        for sock in holders:
            sock.sendall(b"\r\n")
        started = time.monotonic()
        assert all(_closed_within(sock, HEAD_SECONDS + 3) for sock in holders), "a CRLF held its connection"
        assert time.monotonic() - started < HEAD_SECONDS + 3
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    finally:
        for sock in holders:
            sock.close()


def test_a_connection_with_its_next_request_partly_received_is_not_closed_as_idle(
        capped: tuple[str, int, str, UpProcess]) -> None:
    """A first request and the start of a second in one packet: once the first was answered the
    connection counted as idle and was closed for a newcomer at the cap, the second request (sent in
    full within the header timeout) lost without an answer. It is busy: the newcomer is refused."""
    host, port, base, _ = capped
    heads = []
    for _ in range(CAP - 1):  # first requests still sending their heads: not idle
        sock = socket.create_connection((host, port), timeout=5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")
        heads.append(sock)
    pipelined = socket.create_connection((host, port), timeout=5)
    try:
        pipelined.sendall(GET + b"GET /healthz HTTP/1.1\r\nHo")
        assert _answer(pipelined).startswith(b"HTTP/1.1 200 ")
        with contextlib.suppress(httpx.HTTPError):  # refused at the cap: no connection is idle
            httpx.get(f"{base}/healthz", timeout=2)
        pipelined.sendall(b"st: 127.0.0.1\r\n\r\n")  # the rest, well within the header timeout
        assert _answer(pipelined).startswith(b"HTTP/1.1 200 "), "the next request's connection was closed"
    finally:
        for sock in [*heads, pipelined]:
            sock.close()


def _raw(host: str, port: int, request: bytes) -> tuple[int, bytes, bytes]:
    """Send `request` as is; (status, head, body) of the answer read until the server closes."""
    with socket.create_connection((host, port), timeout=5) as sock:
        with contextlib.suppress(OSError):  # the server may close while the rest is still being sent
            sock.sendall(request)
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head.lower(), body


@pytest.mark.parametrize(("target", "request_tail", "status", "says"), [
    # a head past 64 KiB: the 431 is written before the parser reads the head
    ("/mcp", b"X-Filler: " + b"a" * 70_000 + b"\r\n\r\n", 431, "request header fields larger than 65536 bytes"),
    ("/mcp?x=1", b"X-Filler: " + b"a" * 70_000 + b"\r\n\r\n", 431, "request header fields larger than 65536 bytes"),
    # a header field that is not one
    ("/mcp", b"Bad Header\r\n\r\n", 400, "Invalid header token"),
    # a chunk size that is not hexadecimal (the head was fine: the body's target is the MCP endpoint)
    ("/mcp", b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
             b"Accept: application/json, text/event-stream\r\nAuthorization: Bearer alice-token-31337\r\n\r\n"
             b"zz\r\n{}\r\n0\r\n\r\n", 400, "Invalid character in chunk size"),
    # a request line without a valid HTTP version
    ("/mcp HTZP/1.1", b"\r\n", 400, "Expected HTTP/"),
])
def test_refusals_before_the_app_on_the_mcp_endpoint_are_json_rpc_errors(
        capped: tuple[str, int, str, UpProcess], target: str, request_tail: bytes, status: int, says: str) -> None:
    """Refusals written by the HTTP layer itself, before any app code runs, were `text/plain` (431
    "request header fields larger…", uvicorn's bare 400 "Invalid HTTP request received.") where every
    other refusal on /mcp is a JSON-RPC error body. Now the MCP endpoint gets the JSON-RPC error
    (naming the parser's complaint for a 400); other paths keep plain text."""
    host, port, _, up = capped
    version = b"" if " " in target else b" HTTP/1.1"
    request = b"POST " + target.encode() + version + b"\r\nHost: 127.0.0.1\r\n" + request_tail
    code, head, body = _raw(host, port, request)
    assert code == status, (head, body[:300])
    assert b"content-type: application/json" in head, (head, body[:300])
    refusal = json.loads(body)
    assert refusal["jsonrpc"] == "2.0" and refusal["id"] is None and refusal["error"]["code"] == -32600, refusal
    assert says in refusal["error"]["message"], refusal
    # elsewhere the same refusal stays plain text
    code, head, body = _raw(host, port, request.replace(target.split(" ")[0].split("?")[0].encode(), b"/healthz", 1))
    assert code == status and b"content-type: text/plain" in head and says.encode() in body, (head, body[:300])
    assert "Traceback" not in up.log(), up.log()



@pytest.mark.parametrize(("bad_request", "says"), [
    # refused inside uvicorn's `on_headers_complete` (parse_url), after the head was read
    (b"GET http://a:99999/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"invalid url b'http://a:99999/'"),
    (b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n", b"Invalid header token"),
    (b"GET /healthz HTZP/1.1\r\n\r\n", b"Expected HTTP/"),
])
def test_a_kept_alive_connections_next_request_refused_by_the_parser_gets_its_400(
        capped: tuple[str, int, str, UpProcess], bad_request: bytes, says: bytes) -> None:
    """A kept-alive connection's next request with an invalid URL got no answer at all: refused in
    `on_headers_complete`, it was taken for a body error of the previous (answered) request, and the
    connection closed silently; the complaint read "User callback error". Now: 400 naming the parser's
    real complaint, for the first request of a connection and for a kept-alive one's next alike."""
    host, port, _, up = capped
    code, _, body = _raw(host, port, bad_request)
    assert code == 400 and says in body, body
    sock = _kept(host, port)
    try:
        sock.sendall(bad_request)
        answer = _answer(sock)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 400 ") and says in answer, answer
    assert "Traceback" not in up.log()
