"""The "resource not found" error of `resources/read` (and `resources/subscribe`), as each era defines it.

- MCP 2025-11-25 (server/resources, "Error Handling"): code -32002, with the URI in `data`
  (`{"code": -32002, "message": "Resource not found", "data": {"uri": ...}}`).
- MCP 2026-07-28 (SEP-2164, "Standardize Resource Not Found Error Code"): -32602 Invalid params with
  `data.uri`; -32002 is retired ("reserved, never reused": the SDK's `mcp_types.jsonrpc` allocation note).

Who says a resource is missing: mcprt itself (no source serves the URI), a `python:` source's function,
or a proxied server of either era — a handshake-era one with -32002, a 2026-07-28 one with -32602 and
`data.uri`. `not_found_in` recognises each; `resource_not_found` answers the client in its own era,
with the URI the client asked for (the exposed one, not the upstream's), so a 2026-07-28 client never
gets -32002 and a 2025-11-25 client never gets an -32602 it cannot tell from a malformed request.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

RESOURCE_NOT_FOUND = -32002  # MCP 2025-11-25 §server/resources "Error Handling"


def resource_not_found(uri: str, protocol_version: str | None, message: str | None = None) -> MCPError:
    """The error answering a request for the resource `uri` (as the client named it) that does not exist,
    for a client speaking `protocol_version`: -32602 with `data.uri` from 2026-07-28 on (SEP-2164),
    else -32002 with `data.uri` (MCP 2025-11-25)."""
    code = types.INVALID_PARAMS if protocol_version in MODERN_PROTOCOL_VERSIONS else RESOURCE_NOT_FOUND
    return MCPError(code=code, message=message or f"Resource not found: {uri}", data={"uri": uri})


def not_found_in(code: int, data: Any, upstream_uri: str) -> bool:
    """Whether an error (`code`, `data`), a provider's answer to reading `upstream_uri`, says that resource
    does not exist: -32002 (handshake era, and mcprt's own sources), or -32602 whose `data.uri` is that
    URI (SEP-2164; an -32602 without it is some other fault of the request, left as it is)."""
    if code == RESOURCE_NOT_FOUND:
        return True
    return code == types.INVALID_PARAMS and isinstance(data, dict) and data.get("uri") == upstream_uri
