"""A handshake-era session's request with an `MCP-Protocol-Version` header its era does not know.

The SDK routes a request by that header alone: a value outside `HANDSHAKE_PROTOCOL_VERSIONS` goes
to the 2026-07-28 entry, whose first check answers "params._meta must be an object carrying …" —
about an envelope a handshake-era client never sends, and silent about the header. A request that
names a session (`Mcp-Session-Id`: only the handshake era has sessions) is checked here instead,
and answered as MCP 2025-06-18 says (Transports, "Protocol Version Header": an invalid or
unsupported version gets 400 Bad Request), naming the header, the value and the versions served.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import TYPE_CHECKING

from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types import INVALID_REQUEST
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Receive, Scope, Send

from .lean import _send_json

if TYPE_CHECKING:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

_VERSION = MCP_PROTOCOL_VERSION_HEADER.lower().encode("latin-1")
_SESSION = MCP_SESSION_ID_HEADER.lower().encode("latin-1")
SHOWN_CHARS = 64  # of the offending value: a header may be kilobytes long


def check_session_versions(manager: StreamableHTTPSessionManager) -> None:
    """Put `SessionVersionCheck` in front of everything the manager routes a request to (inside
    its request-body limit; install it after the other routers, so it sees every request first)."""
    limited = manager.asgi_app
    limited.app = SessionVersionCheck(limited.app)  # type: ignore[attr-defined]


class SessionVersionCheck:
    """Answers 400 to a session's request whose protocol version header is not a handshake-era
    version; every other request goes on to `inner` unchanged."""

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        version = session = None
        for name, value in scope.get("headers", ()):
            if name == _VERSION:
                version = value.decode("latin-1")
            elif name == _SESSION:
                session = value
        if session is None or version is None or version in HANDSHAKE_PROTOCOL_VERSIONS:
            await self.inner(scope, receive, send)
            return
        await _send_json(json.dumps(unsupported_version(version)).encode(), send, HTTPStatus.BAD_REQUEST)


def unsupported_version(value: str) -> dict[str, object]:
    """The JSON-RPC error (id null: the body is not read) for a session's unsupported `value`."""
    shown = value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…"
    supported = list(HANDSHAKE_PROTOCOL_VERSIONS)
    message = (f"Bad Request: unsupported protocol version {shown!r} in the MCP-Protocol-Version header; "
               f"a session's requests carry the version its initialize settled on, one of {', '.join(supported)} "
               "(MCP 2025-06-18, Transports, Protocol Version Header)")
    return {"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": message,
                                                    "data": {"supported": supported, "requested": shown}}}
