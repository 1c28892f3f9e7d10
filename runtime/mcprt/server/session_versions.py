"""A handshake-era session's request with an `MCP-Protocol-Version` header its era does not know.

The SDK routes a request by that header alone: a value outside `HANDSHAKE_PROTOCOL_VERSIONS` goes
to the 2026-07-28 entry, whose first check answers "params._meta must be an object carrying …" —
about an envelope a handshake-era client never sends, and silent about the header. A request of
the handshake era — it names a session (`Mcp-Session-Id`: only that era has sessions), or it is an
`initialize` under a header that is no version at all (under a 2026-07-28 header it is that version's
removed method: 404 / -32601, SEP-2575) — is checked here instead, and answered as MCP 2025-06-18 says
(Transports, "Protocol Version Header": an invalid or unsupported version gets 400 Bad Request),
naming the header, the value and the versions served.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import TYPE_CHECKING

from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types import INVALID_REQUEST
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Receive, Scope, Send

from .lean import Replay, _send_json, plain_jsonrpc

if TYPE_CHECKING:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

_VERSION = MCP_PROTOCOL_VERSION_HEADER.lower().encode("latin-1")
_SESSION = MCP_SESSION_ID_HEADER.lower().encode("latin-1")
SHOWN_CHARS = 64  # of the offending value: a header may be kilobytes long


def check_session_versions(manager: StreamableHTTPSessionManager, *, sessions: bool = True) -> None:
    """Put `SessionVersionCheck` in front of everything the manager routes a request to (inside
    its request-body limit; install it after the other routers, so it sees every request first).
    `sessions=False` (stateless HTTP: no request names a session): only `initialize` is checked — a
    stateless handshake-era server still answers one, and other requests carry nothing that tells a
    handshake-era one from a 2026-07-28 one."""
    limited = manager.asgi_app
    limited.app = SessionVersionCheck(limited.app, sessions=sessions)  # type: ignore[attr-defined]


class SessionVersionCheck:
    """Answers 400 to a handshake-era request (a session's, or an `initialize`) whose protocol version
    header is not a handshake-era version; every other request goes on to `inner` unchanged."""

    def __init__(self, inner: ASGIApp, *, sessions: bool = True) -> None:
        self.inner = inner
        self.sessions = sessions  # False: an `Mcp-Session-Id` means nothing here (stateless HTTP)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        version = session = None
        for name, value in scope.get("headers", ()):
            if name == _VERSION:
                version = value.decode("latin-1")
            elif name == _SESSION:
                session = value
        if version is None or version in HANDSHAKE_PROTOCOL_VERSIONS:
            await self.inner(scope, receive, send)
            return
        if session is not None and self.sessions:
            await _refuse(send, version, None, "a session's requests carry the version its initialize settled on")
            return
        if scope.get("method") != "POST" or version in MODERN_PROTOCOL_VERSIONS:
            # under a 2026-07-28 header an `initialize` is that version's removed method, which the
            # 2026-07-28 entry answers 404 / -32601 (SEP-2575), not a version the server does not know
            await self.inner(scope, receive, send)
            return
        first = await receive()  # whole and bounded: this sits inside the manager's body limit
        body = first.get("body", b"") if first["type"] == "http.request" else b""
        # parsed only when it may be an initialize: every 2026-07-28 request comes this way
        message = plain_jsonrpc(body) if b'"initialize"' in body else None
        if message is not None and message["method"] == "initialize":
            await _refuse(send, version, message.get("id"), "an initialize asks for one of")
            return
        await self.inner(scope, Replay(first, receive), send)


async def _refuse(send: Send, version: str, request_id: object, what: str) -> None:
    await _send_json(json.dumps(unsupported_version(version, request_id, what)).encode(), send,
                     HTTPStatus.BAD_REQUEST)


def unsupported_version(value: str, request_id: object, what: str) -> dict[str, object]:
    """The JSON-RPC error for a handshake-era request's unsupported header `value`: `what` says what the
    request should carry (the session's version, or for an initialize one the server supports)."""
    shown = value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…"
    supported = list(HANDSHAKE_PROTOCOL_VERSIONS)
    message = (f"Bad Request: unsupported protocol version {shown!r} in the MCP-Protocol-Version header; "
               f"{what} {', '.join(supported)} (MCP 2025-06-18, Transports, Protocol Version Header)")
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": INVALID_REQUEST, "message": message,
                                                          "data": {"supported": supported, "requested": shown}}}
