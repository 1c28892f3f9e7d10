"""CORS for the MCP endpoint: browser-based MCP clients on an origin in `server.http.allowed_origins`.

A page's `fetch` of `/mcp` from another origin is preflighted (a JSON POST with `Authorization` is not a
"simple" request), and the preflight carries no credentials (Fetch standard, "CORS-preflight request":
no `Authorization`), so it is answered here, before the token check: 204 with the allowed methods and
headers. Every answer of the endpoint to such an origin — 401/403 refusals included, whose
`WWW-Authenticate` starts the client's OAuth discovery — carries `Access-Control-Allow-Origin: <origin>`,
`Vary: Origin` and exposes the MCP headers a client reads (`Mcp-Session-Id`, `WWW-Authenticate`, …).

Only origins listed in `allowed_origins` (or all, with `*`) get these headers: the Origin check also
lets loopback origins through (a request sent by a local page is served), but reading the answers from
another origin is granted only where the operator said so. No `Access-Control-Allow-Credentials`: MCP
clients authenticate with a bearer token, never cookies. Spec: Fetch standard §3.2 (CORS protocol);
MCP basic/transports (streamable HTTP headers), 2025-06-18 and 2026-07-28.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.types import Message, Send

# Request headers an MCP client sends (MCP 2025-06-18 and 2026-07-28 transports; `Accept`/`Content-Type`
# with values outside the CORS-safelisted ones; `Authorization` is never covered by a `*`, so listed by name).
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Accept", "Mcp-Session-Id", "MCP-Protocol-Version",
                   "Last-Event-ID", "Mcp-Method", "Mcp-Name")
PARAM_PREFIX = "mcp-param-"  # 2026-07-28: `Mcp-Param-<name>` headers mirror tool arguments
ALLOWED_METHODS = "GET, POST, DELETE"
# Response headers a browser client must be able to read
EXPOSED_HEADERS = "Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate, Retry-After"
MAX_AGE_S = 600  # how long a browser may reuse a preflight's answer
_TOKEN = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")  # RFC 9110 §5.6.2 token, lower-cased


def is_preflight(method: str, headers: Headers) -> bool:
    """A CORS preflight: OPTIONS with `Origin` and `Access-Control-Request-Method`."""
    return method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers


def with_cors(send: Send, origin: str) -> Send:
    """`send` adding the CORS answer headers for `origin` to the response's start."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()),
                                              (b"access-control-allow-origin", origin.encode("latin-1")),
                                              (b"vary", b"Origin"),
                                              (b"access-control-expose-headers", EXPOSED_HEADERS.encode())]}
        await send(message)

    return sending


async def answer_preflight(send: Send, headers: Headers) -> None:
    """204 to a preflight from an allowed origin (`send` is already `with_cors`): the methods, and the
    requested headers an MCP client may send (the MCP ones, `Mcp-Param-*`), never any other."""
    requested = [h.strip().lower() for h in headers.get("access-control-request-headers", "").split(",") if h.strip()]
    known = {h.lower() for h in ALLOWED_HEADERS}
    params = [h for h in requested if h.startswith(PARAM_PREFIX) and h not in known and _TOKEN.fullmatch(h)]
    allowed = ", ".join([*ALLOWED_HEADERS, *params])
    await send({"type": "http.response.start", "status": 204, "headers": [
        (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
        (b"access-control-allow-headers", allowed.encode("latin-1")),
        (b"access-control-max-age", str(MAX_AGE_S).encode()),
    ]})
    await send({"type": "http.response.body", "body": b""})
