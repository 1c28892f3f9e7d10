"""A proxied server's URL-mode `elicitation/create` as a handshake-era (2025-11-25) client must get it.

MCP 2025-11-25 (client/elicitation, "URL Mode"; schema `ElicitRequestURLParams`) requires an
`elicitationId`, unique within the server, and lets the server later send
`notifications/elicitation/complete` naming it. MCP 2026-07-28 removed both: a URL-mode question comes
inside an `InputRequiredResult` as `{mode, message, url}`, and the client's retry of the request is the
only sign that the user is done. Relayed as written, the older client refuses the request ("Invalid
request parameters": the required field is missing) and the call fails.

So mcprt mints the id (`mcprt-` + 128 random bits: unique within mcprt, which is the server this client
sees). Nothing maps it back: the client's `ElicitResult` does not name it, and the 2026-07-28 upstream
has no completion notification to relay under it; the spec makes that notification optional ("MAY"),
so its absence is faithful. A handshake-era upstream's own id is kept as it wrote it.

URL mode is sent only to a client that declared it (`capabilities.elicitation.url`; an empty
`elicitation: {}` means form mode only, MCP 2025-11-25 "Capabilities"): otherwise RelayError saying so,
which the upstream gets as a JSON-RPC error and the caller as a tool error naming the URL mode.
"""

from __future__ import annotations

import secrets
from typing import Any

import mcp_types as types

from ..contracts import RelayError


def for_handshake_client(params: dict[str, Any] | None,
                         capabilities: types.ClientCapabilities | None) -> dict[str, Any] | None:
    """`elicitation/create` params (wire form) fit for a 2025-11-25 client: a URL-mode request gets an
    `elicitationId` when it has none. RelayError when the request is URL mode and the client did not
    declare URL-mode elicitation. Form-mode params are returned as they are."""
    if not isinstance(params, dict) or params.get("mode") != "url":
        return params
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or elicitation.url is None:
        raise RelayError("the client does not support URL-mode elicitation (its elicitation capability has no "
                         f"'url'), so it cannot be sent to {params.get('url')!r} to continue; a client that "
                         "declares elicitation.url can complete this call")
    if isinstance(params.get("elicitationId"), str) and params["elicitationId"]:
        return params
    return {**params, "elicitationId": f"mcprt-{secrets.token_urlsafe(16)}"}
