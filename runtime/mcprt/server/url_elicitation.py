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
so its absence is faithful. A handshake-era upstream's own id is kept as it wrote it, and its
`notifications/elicitation/complete` reaches the one session that was sent it (`SessionCompletions`,
routed by sources/mcp/url_asks.py); a 2026-07-28 client is never sent one (that era removed it).

Either mode goes only to a client that declared it (`undeclared_mode`, for both eras: the handshake's
session (`offers._request_of`) and the 2026-07-28 rounds (`roundtrip.QueuePeer`)). MCP 2025-11-25
client/elicitation "Capabilities": URL mode needs `elicitation.url`; form mode needs `elicitation.form`,
or the empty `elicitation: {}`, which means form mode only (so a client declaring `{"url": {}}` alone
does not support form mode). Otherwise the upstream gets a JSON-RPC error and the caller a tool error
naming the mode (2026-07-28: -32021 with `requiredCapabilities` when the call fails, SEP-2575).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import mcp_types as types
from mcp.server.connection import Connection
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from . import connection_state


def undeclared_mode(params: dict[str, Any] | None,
                    capabilities: types.ClientCapabilities | None) -> tuple[dict[str, Any], str] | None:
    """Whether a client with `capabilities` may be sent the `elicitation/create` `params` (wire form):
    None when it declared the request's mode (`mode` "url", or "form" when absent: MCP 2025-11-25), else
    (the capability it lacks in wire form, e.g. `{"elicitation": {"url": {}}}`, and a message saying so,
    for the RelayError the caller raises). A client with no `elicitation` at all lacks either mode."""
    mode = "url" if isinstance(params, dict) and params.get("mode") == "url" else "form"
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is not None and (elicitation.url is not None if mode == "url"
                                    else elicitation.form is not None or elicitation.url is None):
        return None
    asked = params if isinstance(params, dict) else {}
    if mode == "url":
        message = ("the client does not support URL-mode elicitation (its elicitation capability has no 'url'), "
                   f"so it cannot be sent to {asked.get('url')!r} to continue; a client that declares "
                   "elicitation.url can complete this call")
    else:
        message = ("the client does not support form-mode elicitation (its elicitation capability has 'url' "
                   f"only), so it cannot be asked {asked.get('message')!r}; a client that declares "
                   "elicitation.form (or an empty elicitation) can complete this call")
    return {"elicitation": {mode: {}}}, message


def for_handshake_client(params: dict[str, Any] | None) -> dict[str, Any] | None:
    """`elicitation/create` params (wire form) fit for a 2025-11-25 client: a URL-mode request gets an
    `elicitationId` when it has none. Other params are returned as they are. Whether the client may be
    sent the mode at all is `undeclared_mode`'s question, asked first."""
    if not isinstance(params, dict) or params.get("mode") != "url":
        return params
    if isinstance(params.get("elicitationId"), str) and params["elicitationId"]:
        return params
    return {**params, "elicitationId": f"mcprt-{secrets.token_urlsafe(16)}"}


class SessionCompletions:
    """A handshake-era client session as the addressee of `notifications/elicitation/complete`
    (contracts.ElicitationCompletions): sent on the session's standalone channel (the stdio stream, or
    the streamable HTTP session's GET stream), since it may come after the call that asked ended."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @property
    def session(self) -> object:
        return self._connection

    def on_end(self, callback: Callable[[], Any]) -> bool:
        return connection_state.on_close(self._connection, callback)

    async def complete(self, elicitation_id: str) -> None:
        await self._connection.notify("notifications/elicitation/complete", {"elicitationId": elicitation_id})


def completions_of(connection: Connection | None, protocol_version: str | None) -> SessionCompletions | None:
    """The session's channel for `notifications/elicitation/complete`, or None where there is none: no
    session (stateless HTTP), no channel to send on, a closed session, or a 2026-07-28 client (MCP
    2026-07-28 removed the notification with `elicitationId`; the client's retry is its only sign)."""
    if connection is None or not connection.has_standalone_channel or connection_state.closed(connection):
        return None
    # A second guard: no 2026-07-28 call reaches here with a URL ask to remember today (its relays go through
    # round trips' QueuePeer, which has no channel, and SessionPeer refuses to relay in that era), so removing
    # it fails no test; the served tests over HTTP and stdio pin the behaviour itself (no completion arrives).
    if (protocol_version or connection.protocol_version) in MODERN_PROTOCOL_VERSIONS:
        return None
    return SessionCompletions(connection)
