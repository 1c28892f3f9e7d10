"""Faults: timeouts, refused and reset connections, retries, Retry-After, redirects.

Each fault gives a clear result or ToolCallError, and the same HttpUpstream serves the next call.
"""

from __future__ import annotations

import re
import socket
import time
from urllib.parse import quote
from collections.abc import AsyncIterator

import pytest
from tests.http.http_support import Upstream

from mcprt.errors import ToolCallError
from mcprt.outbound import BuiltRequest, HttpUpstream
from mcprt.contracts import CallContext
from tests.support.upstream import free_port, read_request_head, reset, serve_tcp


def ctx(timeout: float = 5.0, limit: int = 10_000_000) -> CallContext:
    return CallContext(tool="t", timeout=timeout, max_response_bytes=limit)


def get(url: str) -> BuiltRequest:
    return BuiltRequest(method="GET", url=url, idempotent=True)


def post(url: str, body: bytes = b"{}") -> BuiltRequest:
    return BuiltRequest(method="POST", url=url, body=body, content_type="application/json")


@pytest.fixture
async def client() -> AsyncIterator[HttpUpstream]:
    http = HttpUpstream(source="test", auth=None, headers={}, retries=2)
    yield http
    await http.aclose()


async def still_serves(client: HttpUpstream, upstream: Upstream) -> None:
    result = await client.send(get(upstream.url("/echo")), ctx())
    assert result.status == 200 and result.kind == "json"


# --- timeouts ---------------------------------------------------------------------------------------


async def test_slow_answer_times_out_with_a_clear_message(upstream: Upstream, client: HttpUpstream) -> None:
    started = time.monotonic()
    with pytest.raises(ToolCallError) as caught:
        await client.send(get(upstream.url("/slow?delay=2&q=1")), ctx(timeout=0.3))
    assert time.monotonic() - started < 1.0
    host = upstream.base.removeprefix("http://")
    assert str(caught.value) == f"upstream did not answer within 0.3s (GET {host}/slow)"
    await still_serves(client, upstream)


async def test_timeout_covers_a_body_that_trickles_in(upstream: Upstream, client: HttpUpstream) -> None:
    started = time.monotonic()
    with pytest.raises(ToolCallError, match=r"did not answer within 0.4s \(GET .*/drip\)"):
        await client.send(get(upstream.url("/drip")), ctx(timeout=0.4))
    assert time.monotonic() - started < 1.0
    await still_serves(client, upstream)


async def test_a_body_that_never_ends_is_told_from_a_slow_answer(upstream: Upstream, client: HttpUpstream) -> None:
    """Found by an operator trial: a chunked body that never ended (a stream endpoint described as JSON)
    and an upstream that never answered read the same, "did not answer within 3s"; the first needs a
    different tool or endpoint, the second a longer timeout."""
    host = upstream.base.removeprefix("http://")
    with pytest.raises(ToolCallError) as caught:
        await client.send(get(upstream.url("/drip")), ctx(timeout=0.4))
    assert str(caught.value) == (f"upstream did not answer within 0.4s (GET {host}/drip): "
                                 "it sent HTTP 200 but not the whole body")
    with pytest.raises(ToolCallError) as caught:  # the same client: nothing of the last call's state is left
        await client.send(get(upstream.url("/slow?delay=2&q=2")), ctx(timeout=0.3))
    assert str(caught.value) == f"upstream did not answer within 0.3s (GET {host}/slow)"
    await still_serves(client, upstream)


# --- connection failures ----------------------------------------------------------------------------


async def test_refused_connection_is_retried_then_reported(upstream: Upstream, client: HttpUpstream) -> None:
    url = f"http://127.0.0.1:{free_port()}/things"
    with pytest.raises(ToolCallError) as caught:
        await client.send(get(url), ctx())
    message = str(caught.value)
    assert message.startswith("cannot connect to upstream: connection refused after 3 attempts")
    assert message.endswith("/things)")
    await still_serves(client, upstream)


async def test_refused_post_is_not_retried(client: HttpUpstream) -> None:
    with pytest.raises(ToolCallError, match=r"^cannot connect to upstream: connection refused \(POST") as caught:
        await client.send(post(f"http://127.0.0.1:{free_port()}/things"), ctx())
    assert str(caught.value).endswith("/things)")  # nothing was sent: no "may have acted" warning


# A request that went out and got no answer may have been acted on: for a method that is not idempotent
# (RFC 9110 §9.2.2: POST, PATCH; PUT and DELETE are) the model is told, or it repeats the call and, say,
# creates the item twice (the trial's POST /items). Both ways the trial lost the answer: a timeout, and
# a connection closed after the request was read.
MAY_HAVE_ACTED = (". The upstream may or may not have acted on it: the request was sent, and {method} is not "
                  "idempotent, so repeating it may do it twice; if the call changes something, check first "
                  "whether it took effect before calling again.")


# (GET is covered by the exact messages of the timeout and reset tests above.)
@pytest.mark.parametrize(("method", "warned"), [("POST", True), ("PATCH", True), ("PUT", False)])
@pytest.mark.parametrize("fault", ["timeout", "reset"])
async def test_a_lost_answer_to_a_non_idempotent_request_says_it_may_have_acted(
        upstream: Upstream, client: HttpUpstream, method: str, warned: bool, fault: str) -> None:
    def handler(conn: socket.socket) -> None:
        read_request_head(conn)
        if fault == "timeout":
            time.sleep(0.6)  # past the call's 0.3 s
        reset(conn)

    with serve_tcp(handler) as (host, port):
        request = BuiltRequest(method=method, url=f"http://{host}:{port}/items", body=b"{}",
                               content_type="application/json", idempotent=method == "PUT")
        with pytest.raises(ToolCallError) as caught:
            await client.send(request, ctx(timeout=0.3))
    message = str(caught.value)
    lost = "did not answer within 0.3s" if fault == "timeout" else "upstream closed the connection"
    assert message.startswith("upstream ") and lost in message, message
    assert message.endswith(MAY_HAVE_ACTED.format(method=method)) is warned, message
    await still_serves(client, upstream)


async def test_connection_reset_before_answer(upstream: Upstream, client: HttpUpstream) -> None:
    def handler(conn: socket.socket) -> None:
        read_request_head(conn)
        reset(conn)

    with serve_tcp(handler) as (host, port):
        with pytest.raises(ToolCallError) as caught:
            await client.send(get(f"http://{host}:{port}/x"), ctx())
    assert "upstream closed the connection" in str(caught.value)
    assert str(caught.value).endswith(f"(GET {host}:{port}/x)")
    await still_serves(client, upstream)


async def test_connection_closed_mid_body(upstream: Upstream, client: HttpUpstream) -> None:
    def handler(conn: socket.socket) -> None:
        read_request_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":")
        conn.close()

    with serve_tcp(handler) as (host, port):
        with pytest.raises(ToolCallError, match="upstream closed the connection before the response was complete"):
            await client.send(get(f"http://{host}:{port}/x"), ctx())
    await still_serves(client, upstream)


async def test_garbage_instead_of_http(upstream: Upstream, client: HttpUpstream) -> None:
    def handler(conn: socket.socket) -> None:
        read_request_head(conn)
        conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        conn.close()

    with serve_tcp(handler) as (host, port):
        with pytest.raises(ToolCallError, match="upstream sent a malformed HTTP response"):
            await client.send(get(f"http://{host}:{port}/x"), ctx())
    await still_serves(client, upstream)


# --- retries ----------------------------------------------------------------------------------------


async def test_503_is_retried_then_succeeds(upstream: Upstream, client: HttpUpstream) -> None:
    reported: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        reported.append((done, total, message))

    context = CallContext(tool="t", timeout=5, max_response_bytes=1000, progress=progress)
    result = await client.send(get(upstream.url("/flaky?key=a&fail=2")), context)
    assert result.status == 200 and result.body == {"ok": True, "seen": 3}
    assert result.meta["attempts"] == 3
    assert [r[:2] for r in reported] == [(1.0, 3.0), (2.0, 3.0)]
    assert all(r[2] and r[2].startswith("upstream answered 503; retrying in ") for r in reported)


async def test_retries_are_bounded_by_the_count(upstream: Upstream) -> None:
    http = HttpUpstream(source="s", auth=None, headers={}, retries=1)
    try:
        result = await http.send(get(upstream.url("/flaky?key=b&fail=5")), ctx())
        assert result.is_error and result.status == 503 and result.meta["attempts"] == 2
        assert result.kind == "json" and result.body["seen"] == 2
    finally:
        await http.aclose()


async def test_post_is_not_retried_on_503(upstream: Upstream, client: HttpUpstream) -> None:
    result = await client.send(post(upstream.url("/flaky?key=c&fail=1")), ctx())
    assert result.status == 503 and result.is_error and result.meta["attempts"] == 1


async def test_429_waits_for_retry_after(upstream: Upstream, client: HttpUpstream) -> None:
    started = time.monotonic()
    result = await client.send(get(upstream.url("/flaky?key=d&fail=1&code=429&retry_after=1")), ctx(timeout=3))
    elapsed = time.monotonic() - started
    assert result.status == 200 and result.meta["attempts"] == 2
    assert 1.0 <= elapsed < 2.0


async def test_retry_after_beyond_the_deadline_returns_at_once(upstream: Upstream, client: HttpUpstream) -> None:
    started = time.monotonic()
    result = await client.send(get(upstream.url("/flaky?key=e&fail=1&code=429&retry_after=30")), ctx(timeout=10))
    # at once, not at the 10 s deadline (it was < 0.3 s against a 0.5 s deadline: tight for a loaded machine)
    assert time.monotonic() - started < 5
    assert result.is_error and result.status == 429 and result.kind == "text"
    assert result.body.startswith("upstream is rate limited (HTTP 429); retry after 30s.\n\n")
    assert '"try later"' in result.body
    assert result.meta["attempts"] == 1 and result.meta["retry_after_s"] == 30
    await still_serves(client, upstream)


async def test_backoff_never_waits_past_the_deadline(upstream: Upstream) -> None:
    http = HttpUpstream(source="s", auth=None, headers={}, retries=10)
    try:
        started = time.monotonic()
        result = await http.send(get(upstream.url("/flaky?key=f&fail=100")), ctx(timeout=1.0))
        elapsed = time.monotonic() - started
        assert result.status == 503 and 1 < result.meta["attempts"] < 11
        assert elapsed < 1.0
    finally:
        await http.aclose()


# --- redirects --------------------------------------------------------------------------------------


async def test_303_after_post_becomes_get_without_body(upstream: Upstream, client: HttpUpstream) -> None:
    request = post(upstream.url("/redirect?status=303&to=/echo"), body=b'{"secret": "payload"}')
    result = await client.send(request, ctx())
    assert result.body["method"] == "GET" and result.body["body"] == ""
    assert "content-type" not in result.body["headers"]
    assert result.meta["redirects"] == 1 and result.meta["url"] == upstream.url("/echo")


async def test_307_repeats_the_post_with_its_body(upstream: Upstream, client: HttpUpstream) -> None:
    result = await client.send(post(upstream.url("/redirect?status=307&to=/echo"), body=b"[1]"), ctx())
    assert result.body["method"] == "POST" and result.body["body"] == "[1]"


async def test_redirect_loop_stops_after_five(upstream: Upstream, client: HttpUpstream) -> None:
    with pytest.raises(ToolCallError, match=r"upstream redirected more than 5 times; stopped at GET .*/loop"):
        await client.send(get(upstream.url("/loop")), ctx())
    await still_serves(client, upstream)


async def test_redirect_to_a_non_http_scheme_is_refused(upstream: Upstream, client: HttpUpstream) -> None:
    with pytest.raises(ToolCallError, match="non-HTTP URL"):
        await client.send(get(upstream.url("/redirect?to=file:///etc/passwd")), ctx())


@pytest.mark.parametrize("target, shown", [
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "169.254.169.254, a link-local address"),
    ("http://[::ffff:169.254.169.254]/latest/meta-data/", "::ffff:169.254.169.254, a link-local address"),
    ("http://10.0.0.1:6379/", "10.0.0.1, a private address"),
    ("http://[fd00::1]:8080/admin", "fd00::1, a private address"),
])
async def test_a_redirect_into_a_network_the_upstream_is_not_in_is_refused_before_connecting(
    upstream: Upstream, client: HttpUpstream, target: str, shown: str
) -> None:
    """SSRF through redirects: the (loopback) upstream sends mcprt to cloud metadata or a private
    service; refused at once, nothing connected (the old code tried, and timed out or fetched it)."""
    started = time.monotonic()
    with pytest.raises(ToolCallError, match=f"upstream redirected to {re.escape(shown)}.*not followed"):
        await client.send(get(upstream.url(f"/redirect?to={quote(target, safe='')}")), ctx(timeout=20))
    assert time.monotonic() - started < 5
    await still_serves(client, upstream)


async def test_a_redirect_within_the_upstreams_own_range_is_followed(upstream: Upstream, client: HttpUpstream) -> None:
    """Loopback to loopback (another name, another port) is the upstream's own network: followed."""
    result = await client.send(get(upstream.url(f"/redirect?to={upstream.other_host}/echo")), ctx())
    assert result.status == 200 and result.meta["redirects"] == 1


async def test_a_name_resolving_into_a_refused_range_is_refused_after_resolution(upstream: Upstream) -> None:
    """The check reads the addresses the connection would use, not the URL's text: `localhost`
    (resolved by the system) is refused where only public addresses may be reached."""
    from mcprt.outbound.redirects import Hop, redirect_ranges
    from mcprt.outbound.transport import make_session

    port = upstream.url("/echo").split("//")[1].split("/")[0].split(":")[1]
    session = make_session(verify=True)
    try:
        with Hop(redirect_ranges("public")):
            with pytest.raises(ToolCallError, match=r"redirected to localhost \(.+\), a loopback address"):
                await session.get(f"http://localhost:{port}/echo")
        async with session.get(f"http://localhost:{port}/echo") as response:  # no hop in progress: allowed
            assert response.status == 200
            await response.read()
        # Now the name is cached and a connection to it pooled: the socket's own address is checked.
        with Hop(redirect_ranges("public")):
            with pytest.raises(ToolCallError, match=r"redirected to localhost \(.+\), a loopback address"):
                await session.get(f"http://localhost:{port}/echo")
        with Hop(redirect_ranges("loopback")) as hop:  # the upstream's own range: allowed, and recorded
            async with session.get(f"http://localhost:{port}/echo") as response:
                assert response.status == 200 and hop.peer_range == "loopback"
    finally:
        await session.close()


# --- requests that cannot be sent ------------------------------------------------------------------


async def test_non_ascii_header_is_a_clear_error(upstream: Upstream, client: HttpUpstream) -> None:
    request = BuiltRequest(method="GET", url=upstream.url("/echo"), headers=[("X-Name", "café")])
    with pytest.raises(ToolCallError, match=r"the header 'X-Name' of the request is not ASCII text .*\(GET .*/echo\)"):
        await client.send(request, ctx())
    await still_serves(client, upstream)


async def test_header_with_a_newline_is_refused_without_echoing_it(upstream: Upstream, client: HttpUpstream) -> None:
    request = BuiltRequest(method="GET", url=upstream.url("/echo"), headers=[("X-Name", "a\r\nX-Injected: 1")])
    with pytest.raises(ToolCallError) as caught:
        await client.send(request, ctx())
    assert "not valid HTTP" in str(caught.value) and "Injected" not in str(caught.value)
    await still_serves(client, upstream)


async def test_invalid_url_is_a_clear_error(client: HttpUpstream) -> None:
    with pytest.raises(ToolCallError, match="not a valid URL"):
        await client.send(get("http://[::1/x"), ctx())


async def test_invalid_redirect_location_is_a_clear_error(upstream: Upstream, client: HttpUpstream) -> None:
    def handler(conn: socket.socket) -> None:
        read_request_head(conn)
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: http://[::1/x\r\nContent-Length: 0\r\n\r\n")

    with serve_tcp(handler) as (host, port):
        with pytest.raises(ToolCallError, match="redirected to an invalid URL"):
            await client.send(get(f"http://{host}:{port}/x"), ctx())
    await still_serves(client, upstream)
