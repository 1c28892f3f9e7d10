"""A `url:` source's request to another origin (only a redirect leads there) is sent to the address the
guard checked, its TLS certificate verified for the name (mcprt.sources.mcp.http._pinned).

Real servers on 127.0.0.1 (plain HTTP for the configured origin, HTTPS with a self-signed certificate made
here for `a.test`, `rebind.test`, `multi.test`, `dual.test` only, trusted through SSL_CERT_FILE); the test names resolve
through a stand-in for DNS (socket.getaddrinfo), which for `rebind.test` answers 127.0.0.1 once and
127.0.0.3 (nothing listens there) after.

Found by a review: the pooled connections were keyed by address, so a hop to `b.test` reused the
connection verified for `a.test` on the same address; and only the first checked address was tried.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from mcprt.manifest.model import UrlSource
from mcprt.sources.mcp.http import HttpStatus, make_http_client
from tests.support.tls import self_signed, server_context
from tests.support.upstream import read_request_head, serve_tcp

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
DEAD = (4, 5, 6, 7)  # 127.0.0.N: listeners that never answer the TLS handshake (dead.test's addresses)
HANGING = 8  # 127.0.0.8: a listener that never answers the TLS handshake (dual.test's first address)
NAMES = ("a.test", "rebind.test", "multi.test", "dual.test")  # the certificate's; b.test and other.test resolve, not in it
Seen = list[tuple[str | None, str]]  # (TLS server name, Host header) of each request, in order


def _answering(tls: ssl.SSLContext | None, seen: Seen) -> Callable[[socket.socket], None]:
    """A keep-alive HTTP/1.1 server's connection handler noting each request's server name and Host."""
    names: dict[int, str | None] = {}
    if tls is not None:
        tls.sni_callback = lambda sock, name, _: names.__setitem__(id(sock), name)  # type: ignore[assignment]

    def handle(conn: socket.socket) -> None:
        stream: Any = tls.wrap_socket(conn, server_side=True) if tls is not None else conn
        while head := read_request_head(stream):
            host = next(line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
                        if line.lower().startswith(b"host:"))
            seen.append((names.get(id(stream)), host))
            stream.sendall(ANSWER)

    return handle


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path, Seen]]:
    """(the configured origin's URL, the HTTPS port, the certificate, what the HTTPS server saw)."""
    cert, key = self_signed(tmp_path_factory.mktemp("tls"), names=NAMES)
    seen: Seen = []
    with serve_tcp(_answering(None, [])) as (host, port), \
            serve_tcp(_answering(server_context(cert, key), seen)) as (_, https_port):
        yield f"http://{host}:{port}/mcp", https_port, cert, seen


@pytest.fixture
def resolved(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The test names resolved (how often each was asked); every other name as the system resolves it."""
    real = socket.getaddrinfo
    asked: dict[str, int] = {}
    lock = threading.Lock()

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if not isinstance(name, str) or not name.endswith(".test"):
            return real(host, port, *args, **kwargs)
        with lock:
            asked[name] = asked.get(name, 0) + 1
        addresses = {"multi.test": ["127.0.0.2", "127.0.0.1"], "dead.test": [f"127.0.0.{n}" for n in DEAD],
                     "dual.test": [f"127.0.0.{HANGING}", "127.0.0.1"],
                     "rebind.test": ["127.0.0.1"] if asked[name] == 1 else ["127.0.0.3"]}.get(name, ["127.0.0.1"])
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0)))
                for address in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def _hops(servers: tuple[str, int, Path, Seen], monkeypatch: pytest.MonkeyPatch, *names: str) -> list[str]:
    """GET https://NAME:port/mcp for each name, after one request to the configured origin (which sets the
    range redirects may reach: loopback); each outcome as `200` or `refused: <error>`."""
    origin, https_port, cert, _ = servers
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))

    async def run() -> list[str]:
        outcomes = []
        async with make_http_client(UrlSource(url=origin), HttpStatus()) as client:
            assert (await client.get(origin)).status_code == 200
            for name in names:
                try:
                    with anyio.fail_after(20):
                        outcomes.append(str((await client.get(f"https://{name}:{https_port}/mcp")).status_code))
                except httpx2.ConnectError as exc:
                    outcomes.append(f"refused: {exc}")
        return outcomes

    return anyio.run(run)


def test_a_hop_goes_to_the_checked_address_with_the_certificate_checked_for_its_name(
        servers: tuple[str, int, Path, Seen], resolved: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    seen = servers[3]
    seen.clear()
    first, other = _hops(servers, monkeypatch, "rebind.test", "other.test")
    assert first == "200"  # sent to 127.0.0.1, the address checked, not where a second resolution points
    assert resolved["rebind.test"] == 1, resolved
    assert seen == [("rebind.test", f"rebind.test:{servers[1]}")]  # SNI and Host name it, not the address
    # a name the certificate does not cover is refused though its address is allowed (the check is the name's)
    assert other.startswith("refused: ") and "certificate verify failed" in other, other


def test_a_hop_never_reuses_a_connection_verified_for_another_name(
        servers: tuple[str, int, Path, Seen], resolved: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """a.test and b.test are both 127.0.0.1: the b.test hop must make its own TLS connection (and fail: the
    certificate is not b.test's), not ride the one verified for a.test."""
    seen = servers[3]
    seen.clear()
    a, b = _hops(servers, monkeypatch, "a.test", "b.test")
    assert a == "200" and b.startswith("refused: ") and "certificate verify failed" in b, (a, b)
    assert seen == [("a.test", f"a.test:{servers[1]}")]


def test_each_checked_address_is_tried_in_turn(servers: tuple[str, int, Path, Seen], resolved: dict[str, int],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """multi.test is 127.0.0.2 (nothing listens there) then 127.0.0.1: both checked, the second answers."""
    seen = servers[3]
    seen.clear()
    assert _hops(servers, monkeypatch, "multi.test") == ["200"]
    assert seen == [("multi.test", f"multi.test:{servers[1]}")]


@contextmanager
def _silent(port: int, *hosts: int) -> Iterator[None]:
    """Listeners on 127.0.0.N:port (N in `hosts`) that take connections and never read from them."""
    silent = []
    try:
        for n in hosts:
            listener = socket.socket()
            listener.bind((f"127.0.0.{n}", port))
            listener.listen(8)  # the kernel completes the TCP handshake; nobody ever reads the ClientHello
            silent.append(listener)
        yield
    finally:
        for listener in silent:
            listener.close()


def _timed_get(servers: tuple[str, int, Path, Seen], monkeypatch: pytest.MonkeyPatch, name: str,
               *silent: int) -> tuple[str, float]:
    """GET https://NAME:port/mcp with a 1 s connect timeout while 127.0.0.N (N in `silent`) hang: its
    outcome (`200`, or the connect timeout's message) and the seconds it took."""
    origin, https_port, cert, _ = servers
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))

    async def run() -> tuple[str, float]:
        async with make_http_client(UrlSource(url=origin), HttpStatus()) as client:
            assert (await client.get(origin)).status_code == 200
            started = anyio.current_time()
            try:
                answer = await client.get(f"https://{name}:{https_port}/mcp", timeout=httpx2.Timeout(10.0, connect=1.0))
                outcome = str(answer.status_code)
            except httpx2.ConnectTimeout as exc:
                outcome = str(exc)
            return outcome, anyio.current_time() - started

    with _silent(https_port, *silent):
        return anyio.run(run)


def test_a_hanging_first_address_leaves_the_next_one_its_share_of_the_connect_timeout(
        servers: tuple[str, int, Path, Seen], resolved: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """dual.test is a silent listener then a live server (dual-stack with IPv6 blackholed): the first attempt
    used the whole 1 s connect timeout, so the live address was never tried. Each now gets its share."""
    outcome, took = _timed_get(servers, monkeypatch, "dual.test", HANGING)
    assert outcome == "200", outcome
    assert took < 1.5, took  # half the timeout on the hanging address, the live one connects at once


def test_a_dead_target_with_several_addresses_costs_one_connect_timeout(
        servers: tuple[str, int, Path, Seen], resolved: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """dead.test has four addresses whose listeners take the connection and never answer the TLS handshake:
    each waited out the whole connect timeout in turn (4 × 1 s here). All of them together now get one."""
    message, took = _timed_get(servers, monkeypatch, "dead.test", *DEAD)
    assert took < 3.0, took  # one timeout (TCP and TLS each bounded by what is left), not four
    assert message.startswith("no address of dead.test connected within the 1 s connect timeout (4 of 4 tried)"), message
