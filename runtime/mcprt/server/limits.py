"""Connection-level limits of the HTTP transport: what a client that never finishes costs us.

The guard (auth, Origin) runs only once a request's headers are complete, so before that an
unauthenticated client can hold a connection — and a file descriptor — as long as it likes. With the
common limit of 1,024 descriptors, 1,100 half-open connections made every legitimate call time out
and wrote 271,587 EMFILE tracebacks in 40 s (#13). Here:

- a connection must complete each request's headers within `MCPRT_HEADER_TIMEOUT` seconds
  (default 10; the first request's counted from the connection's start, a kept-alive one's from its
  first byte) or it is closed: one byte of a next request used to stop every deadline;
- an idle keep-alive connection closes after `server.http.keep_alive_timeout` (default 620 s). It
  was uvicorn's 5 s, shorter than every load balancer's idle timeout for backend connections (HAProxy
  as shipped, nginx `keepalive`, AWS ALB 60 s, Google Cloud 600 s): a balancer reuses an idle
  connection while the backend may be closing it, and the request it sent in that instant is lost
  (HAProxy closes its client's connection without an answer). The side that would send next, the
  balancer, must be the one that closes;
- at most `MCPRT_MAX_CONNECTIONS` connections are open at once (default: 4,096, or what the
  descriptor limit allows after a reserve for upstreams and files). A connection arriving at the cap
  closes the longest-idle keep-alive connection (nginx does the same with its reusable ones), so
  clients that open connections and idle cannot hold the cap for the long keep-alive; only when none
  is idle is the newcomer closed on arrival. Each refused connection is counted (`REFUSED`, the metric
  `mcprt_rejected_connections_total`) and said in a warning at most once per 10 s with how many
  were refused since the previous one: a full server must be visible to its operator;
- a request's body must arrive within `MCPRT_BODY_TIMEOUT` seconds (default 30) of its head, or
  the client gets 408 (RFC 9110 §15.5.9) and the connection closes: the token is checked before
  the body is read, but an authenticated client trickling bodies a byte at a time held a
  connection each for as long as it liked, up to the connection cap that every client shares;
- a request's head (request line and header fields) may take at most `MAX_HEADER_BYTES` (64 KiB),
  counted before the parser sees the bytes; past that the client gets 431 (RFC 6585 §5) and the
  connection closes, whether or not it sent a token. uvicorn's
  httptools parser buffers a header line whole and has no limit of its own: a 50 MB header, sent
  before any token is checked, was held in memory in full;
- a request the parser cannot read (a malformed request line or header field, bad chunked encoding)
  gets 400 naming the parser's complaint, where uvicorn answered a bare "Invalid HTTP request received.";
- every refusal written here to a request for the MCP endpoint (408, 431, 400) is the JSON-RPC error
  body the guard's refusals carry (`guard.refusal_message`), as every other refusal on that endpoint
  is; elsewhere (`/healthz`, a target not yet read) plain text;
- the soft descriptor limit is raised to the hard limit at start;
- "accept failed" errors (EMFILE) are logged at most once per 10 s, with a count.

Session limits (`session_limits`): the SDK's defaults (10,000 sessions, 30 minutes idle) let one
client fill the whole session table for half an hour when auth is off (#13); mcprt caps sessions per
client and in total and expires idle ones after 10 minutes (see `shared_sessions.py`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# httptools (a dependency) is the parser whose callbacks mark a request's head and body below
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..errors import SERVER_ERROR
from ..identity.principal import Principal
from ..manifest.model import KEEP_ALIVE_DEFAULT, HttpConfig
from ..observability.log import log_event
from ..settings import env_limit
from . import wire_json

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
DEFAULT_MAX_CONNECTIONS = 4096
MAX_HEADER_BYTES = 65_536  # nginx allows 32 KiB, Node 16 KiB; OAuth JWTs and cookies fit many times over
MAX_REQUEST_LINE = 8_192  # bytes of a head kept to read a refused request's target (RFC 9112 §3 suggests 8,000)
LINGER_SECONDS = 2.0  # reading (and dropping) what a client still sends after a closing error answer
FD_RESERVE = 128  # descriptors kept for upstream connections, subprocess pipes, files, logs
ACCEPT_LOG_EVERY = 10.0


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the soft limit now in force."""
    try:
        import resource
    except ImportError:  # not POSIX
        return DEFAULT_MAX_CONNECTIONS + FD_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft if soft != resource.RLIM_INFINITY else 65536


def max_connections(fd_limit: int) -> int:
    default = max(16, min(DEFAULT_MAX_CONNECTIONS, fd_limit - FD_RESERVE))
    return int(env_limit("MCPRT_MAX_CONNECTIONS", default))


def header_timeout() -> float:
    return env_limit("MCPRT_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT)


def body_timeout() -> float:
    return env_limit("MCPRT_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT)


def _closing_response(status: str, text: str, jsonrpc: bool = False) -> bytes:
    """An HTTP/1.1 response that closes the connection (written before the app answered): plain
    text, or with `jsonrpc` (a request to the MCP endpoint, where every refusal is one) the JSON-RPC
    error the guard's refusals carry (`guard.refusal_message`)."""
    content_type = "text/plain; charset=utf-8"
    body = text.encode()
    if jsonrpc:
        from .guard import refusal_message  # here: only a refused MCP request needs it

        code, _, _ = status.partition(" ")
        content_type, body = "application/json", wire_json.dumps(refusal_message(int(code), text))
    return (f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n").encode() + body


def limited_protocol(limit: int, timeout: float, body_seconds: float = DEFAULT_BODY_TIMEOUT,
                     mcp_path: str | None = None) -> type:
    """uvicorn's HTTP protocol class with a connection cap (reclaiming idle keep-alive connections
    first), a header deadline per request, a header-size cap and a body deadline (each request's,
    keep-alive ones too). `timeout`, `body_seconds`: seconds. A request to `mcp_path` (the MCP
    endpoint) refused for its slow body gets a JSON-RPC error, as every refusal there does."""
    endpoint = (mcp_path.rstrip("/") or "/") if mcp_path is not None else None

    def for_endpoint(target: bytes | str) -> bool:
        """Whether a request target (`/mcp?x`, `/mcp/`, a raw request-line target) is the MCP endpoint's."""
        text = target.decode("latin-1") if isinstance(target, bytes) else target
        return endpoint is not None and (text.split("?", 1)[0].rstrip("/") or "/") == endpoint

    # connections waiting between requests (uvicorn's keep-alive timer running), longest idle first
    idle: dict[HttpToolsProtocol, None] = {}

    class LimitedHTTPProtocol(HttpToolsProtocol):
        _in_head = True  # between a request's first byte (or the connection's) and its blank line
        _head_bytes = 0
        _head_tail = b""
        _request_line = b""  # the head's first bytes, up to its first line break: the target a 431 answers
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limit and not _close_longest_idle():
                transport.abort()  # frees the descriptor at once; the client sees a reset
                REFUSED.add(limit, self.loop)
                return
            self._header_timer = self.loop.call_later(timeout, self._headers_overdue)

        _lingering = False

        def data_received(self, data: bytes) -> None:
            idle.pop(self, None)  # a next request is arriving: no longer idle (uvicorn stops its timer)
            if self._lingering or self.transport.is_closing():
                return
            cycle = getattr(self, "cycle", None)
            if self._header_timer is None and (cycle is None or (cycle.response_complete and not cycle.more_body)):
                # A byte between requests starts the next head's deadline here, not at the parser's
                # message begin: llhttp skips a leading CRLF without beginning a message, and uvicorn
                # stops the keep-alive timer on any byte, so a client sending bare CRLFs was never
                # idle, never overdue, and held its connection (and a place under the cap) for good.
                self._in_head = True
                self._header_timer = self.loop.call_later(timeout, self._headers_overdue)
            if self._in_head:  # counted before the parser sees (and buffers) any of it
                if b"\n" not in self._request_line and len(self._request_line) < MAX_REQUEST_LINE:
                    self._request_line += data[:MAX_REQUEST_LINE]
                end = (self._head_tail + data).find(b"\r\n\r\n")
                counted = len(data) if end < 0 else max(0, end - len(self._head_tail))
                if self._head_bytes + counted > MAX_HEADER_BYTES:
                    self._headers_too_large()
                    return
                self._head_bytes += counted
                self._head_tail = data[-3:]  # a blank line split across two reads
            super().data_received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_head = True
            if self._header_timer is None:  # a kept-alive connection's next request: its own deadline
                self._header_timer = self.loop.call_later(timeout, self._headers_overdue)

        def on_headers_complete(self) -> None:
            self._in_head, self._head_bytes, self._head_tail, self._request_line = False, 0, b"", b""
            self._stop_header_timer()
            super().on_headers_complete()
            self._body_timer = self.loop.call_later(body_seconds, self._body_overdue)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            # kept alive and waiting for a next request; one whose next head is partly received
            # (pipelined, or sent before this answer completed) is busy, not idle
            if self.timeout_keep_alive_task is not None and not self._in_head:
                idle[self] = None

        def on_message_complete(self) -> None:
            self._stop_body_timer()
            super().on_message_complete()

        def _stop_body_timer(self) -> None:
            timer = getattr(self, "_body_timer", None)
            if timer is not None:
                timer.cancel()
                self._body_timer = None

        def _body_overdue(self) -> None:
            # The body did not finish arriving. Answer 408 unless the app already answered (then
            # only close); closing tells the app's pending `receive` the client is gone.
            self._body_timer = None
            cycle = getattr(self, "cycle", None)
            if self.transport.is_closing() or cycle is None or not cycle.more_body:
                return
            if not cycle.response_started:
                self.transport.write(_closing_response(
                    "408 Request Timeout", f"request body not received within {body_seconds:g} s",
                    jsonrpc=for_endpoint(str(cycle.scope.get("path", "")))))
            # As uvicorn does for a client that went away: the app's pending `receive` gets
            # http.disconnect and whatever it still sends is dropped.
            cycle.response_started = cycle.response_complete = cycle.disconnected = True
            cycle.message_event.set()
            log_event("rejected request: body too slow", logging.WARNING, seconds=body_seconds,
                      client=(self.client or ("unknown",))[0])
            self._close_lingering()

        def _headers_too_large(self) -> None:
            # the parser has not seen these bytes: the target is read off the request line kept above
            line = self._request_line.lstrip(b"\r\n").split(b"\r\n", 1)[0].split(b" ")
            self.transport.write(_closing_response(
                "431 Request Header Fields Too Large", f"request header fields larger than {MAX_HEADER_BYTES} bytes",
                jsonrpc=len(line) > 1 and for_endpoint(line[1])))
            self._close_lingering()
            log_event("rejected request: header fields too large", logging.WARNING,
                      limit_bytes=MAX_HEADER_BYTES, client=(self.client or ("unknown",))[0])

        def send_400_response(self, msg: str) -> None:
            """uvicorn's answer to a request its parser refused, called inside its `except
            httptools.HttpParserError` (so `sys.exc_info()` holds the parser's complaint, e.g. "Invalid
            character in chunk size"): 400 naming it, a JSON-RPC error for the MCP endpoint (the target
            the parser read so far: `on_url`), then close as uvicorn does."""
            complaint = sys.exc_info()[1]
            if complaint is not None and complaint.__context__ is not None:
                # one of uvicorn's parser callbacks raised (e.g. `on_headers_complete`'s parse_url:
                # "invalid url ..."); httptools wraps it as "User callback error": name the real one
                complaint = complaint.__context__
            text = f"the request is not valid HTTP/1.1: {complaint}" if complaint is not None else msg
            cycle = getattr(self, "cycle", None)
            target: bytes | str = getattr(self, "url", b"")  # a head being read: its target so far
            # A body-phase error only when the cycle is this message's: a head refused inside
            # `on_headers_complete` (after `_in_head` went False, before uvicorn made the new cycle)
            # leaves the kept-alive connection's *previous*, answered cycle here, and treating that
            # as this request's would close without answering it.
            if cycle is not None and cycle.scope is getattr(self, "scope", None) and not self._in_head:
                target = str(cycle.scope.get("path", ""))
                answered = cycle.response_started
                # As for a client that went away: the app's pending `receive` gets http.disconnect and
                # whatever it still sends is dropped (a second status line would corrupt its answer).
                cycle.response_started = cycle.response_complete = cycle.disconnected = True
                cycle.message_event.set()
                if answered:
                    self.transport.close()
                    return
            self.transport.write(_closing_response("400 Bad Request", text, jsonrpc=for_endpoint(target)))
            self.transport.close()

        def _close_lingering(self) -> None:
            # Stop sending, read and drop what the client still sends, then close (RFC 9112 §9.6): closed at
            # once, a client still sending its body or headers gets a reset for its next bytes, and the reset
            # can discard our answer before the client has read it.
            self._lingering = True
            self._stop_header_timer()
            if self.transport.can_write_eof():
                self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)

        def _headers_overdue(self) -> None:
            # The request being sent (the connection's first, or a kept-alive one's next) never
            # finished its headers.
            self._header_timer = None
            if self._in_head and not self.transport.is_closing():
                self.transport.abort()

        def _stop_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def connection_lost(self, exc: Exception | None) -> None:
            idle.pop(self, None)
            self._stop_body_timer()
            self._stop_header_timer()
            super().connection_lost(exc)

    def _close_longest_idle() -> bool:
        """Close the connection idle the longest between requests, if any (False: none is idle).
        Skipped: one whose next request has begun (`_in_head`) or is waiting unread in the kernel's
        buffer (closing it would lose a request already sent); it stays in `idle` until it is read."""
        for candidate in list(idle):
            if candidate.transport.is_closing():
                del idle[candidate]
            elif not candidate._in_head and not _bytes_waiting(candidate.transport):
                del idle[candidate]
                candidate.timeout_keep_alive_handler()  # as its keep-alive timer would: a plain close
                return True
        return False

    return LimitedHTTPProtocol


class RefusedConnections:
    """Connections refused at the `MCPRT_MAX_CONNECTIONS` cap in this process: `count` since start (the
    counter `mcprt_rejected_connections_total`, after OpenTelemetry's `kestrel.rejected_connections`), and
    a warning per `ACCEPT_LOG_EVERY` seconds at most: the first refusal of a quiet spell at once, those
    after it in one line when the window ends (a flood writes one line per 10 s, not one per socket)."""

    def __init__(self) -> None:
        self.count = 0
        self._unsaid = 0  # refused since the last warning
        self._window: asyncio.TimerHandle | None = None

    def add(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        self.count += 1
        self._unsaid += 1
        if self._window is None:
            self._say(limit)
            self._window = loop.call_later(ACCEPT_LOG_EVERY, self._window_ends, limit)

    def _window_ends(self, limit: int) -> None:
        self._window = None
        if self._unsaid:
            self._say(limit)

    def _say(self, limit: int) -> None:
        log_event("refused connection: MCPRT_MAX_CONNECTIONS reached, none idle to close", logging.WARNING,
                  limit=limit, refused=self._unsaid, window_seconds=ACCEPT_LOG_EVERY, total=self.count)
        self._unsaid = 0


REFUSED = RefusedConnections()  # one listener per process: `mcprt up` serves one


def _bytes_waiting(transport: asyncio.BaseTransport) -> bool:
    """Whether the transport's socket has received bytes the event loop has not read yet
    (a non-blocking MSG_PEEK of one byte; recv(2)). False when there is no socket to ask."""
    transport_socket = transport.get_extra_info("socket")
    if transport_socket is None:
        return False
    # asyncio's TransportSocket offers no recv: peek through a socket object on the same descriptor,
    # detached afterwards so that the descriptor stays the transport's
    peek = socket.socket(fileno=transport_socket.fileno())
    try:
        return bool(peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))  # b"": the client closed
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return False  # reset or gone: closing it loses nothing
    finally:
        peek.detach()


class _Throttle(logging.Filter):
    """Let one "accept" error through per ACCEPT_LOG_EVERY seconds; say how many were dropped."""

    def __init__(self) -> None:
        super().__init__()
        self._last = 0.0
        self._dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "accept" not in text.lower() and "Too many open files" not in text:
            return True
        now = time.monotonic()
        if now - self._last < ACCEPT_LOG_EVERY:
            self._dropped += 1
            return False
        self._last = now
        if self._dropped:
            record.msg = f"{text} ({self._dropped} more like it in the last {ACCEPT_LOG_EVERY:g}s not shown)"
            record.args = ()
            record.exc_info = None  # one traceback per window at most
        self._dropped = 0
        return True


_THROTTLE = _Throttle()


def throttle_accept_errors() -> None:
    """Install the accept-error throttle on the loggers asyncio and uvicorn report them on."""
    for name in ("asyncio", "uvicorn.error"):
        log = logging.getLogger(name)
        if _THROTTLE not in log.filters:
            log.addFilter(_THROTTLE)


def connection_settings(keep_alive: float = KEEP_ALIVE_DEFAULT, mcp_path: str | None = None) -> dict[str, Any]:
    """uvicorn.Config keyword arguments enforcing these limits (raises the fd limit as a side effect);
    `keep_alive`: seconds an idle connection stays open (`server.http.keep_alive_timeout`); `mcp_path`:
    the MCP endpoint, whose refusals are JSON-RPC errors (None: a listener without one)."""
    fd_limit = raise_fd_limit()
    throttle_accept_errors()
    protocol = limited_protocol(max_connections(fd_limit), header_timeout(), body_seconds=body_timeout(),
                                mcp_path=mcp_path)
    return {"http": protocol, "timeout_keep_alive": keep_alive}


MAX_RETRY_AFTER = 60  # seconds; the longest `Retry-After` a refused session opening is told


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """Bounds on handshake-era MCP sessions (`Mcp-Session-Id`) in one process.

    - `per_client`: sessions one client (principal, or peer IP when anonymous) may hold;
    - `total`: sessions all clients together may hold;
    - `idle_timeout`: seconds without a request in flight before a session ends (then 404).
    """

    per_client: int
    total: int
    idle_timeout: float


def session_limits(http: HttpConfig) -> SessionLimits:
    """The manifest's `server.http` session settings, each overridable from the environment."""
    return SessionLimits(
        per_client=int(env_limit("MCPRT_MAX_SESSIONS_PER_CLIENT", http.max_sessions_per_client)),
        total=int(env_limit("MCPRT_MAX_SESSIONS", http.max_sessions)),
        idle_timeout=env_limit("MCPRT_SESSION_IDLE_TIMEOUT", http.session_idle_timeout),
    )


def client_key(principal: Principal | None, scope: Mapping[str, Any] | None) -> str:
    """Whom a session (or a 2026-07-28 listen stream) counts against: the authenticated principal,
    else the peer's IP address (with auth off, all anonymous clients would otherwise share one allowance)."""
    if principal is not None and principal.kind != "anonymous":
        return f"{principal.kind}:{principal.owner}"
    peer = scope.get("client") if scope is not None else None
    return f"ip:{peer[0]}" if peer else "ip:unknown"
