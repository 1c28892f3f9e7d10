"""A proxied server's JSON-RPC error, as the client gets it: the same error, wherever its era has it.

JSON-RPC 2.0 §5.1 gives an error `code`, `message` and optional `data`; MCP 2025-11-25 (basic,
"Responses") has servers answer a request they cannot serve with one, and defines some codes' `data`
(client/elicitation, "Error Handling": -32042 `URLElicitationRequiredError`, `data.elicitations`, the
URL-mode elicitations the user must complete before the request can succeed). A gateway that rewrites
such an error into prose loses what the client acts on (a trial: the authorization URL of -32042 never
reached the client). So one rule holds for `tools/call` (direct; a task's `failed` status carries the
same `error`, tasks/run.py), `resources/read`, `prompts/get` and `completion/complete`, in both eras:

  - the client gets the upstream's `code`, its `message` through `scrubbing.scrub_error_text` and its
    `data` through `scrubbing.scrub_error_data` (one rule for the text of both: configured secrets, URL
    credentials and literal credentials hidden, and credential-named keys' values): never a
    secret-looking value unscrubbed (both are scrubbed where they enter too, sources/mcp/source.py);
  - -32042 exists in MCP 2025-11-25 only (mcp_types: "removed in protocol 2026-07-28"; earlier versions
    have no URL mode): a 2025-11-25 client gets it, each elicitation as a relayed URL elicitation is
    (`url_elicitation.for_handshake_client`: the upstream's `elicitationId` kept, one minted when it has
    none), each one with the upstream's id remembered for the calling session where the error entered
    (sources/mcp/source.py, `url_asks.url_asks_of_error`), so the upstream's later
    `notifications/elicitation/complete` reaches that session; a client of another version gets no code its version does not define: `relayed` answers None
    and the caller falls back to its non-error form (a tools/call's tool error naming the upstream's
    message; -32603 with that message for the others);
  - mcprt's own failures (a source restarting, a timeout, a lost connection) are mcprt's words, as before:
    they are not an upstream's JSON-RPC error.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
from mcp.shared.exceptions import MCPError

from ..scrubbing import scrub_error_data, scrub_error_text
from .url_elicitation import for_handshake_client

# the protocol versions whose schema has -32042 (mcp_types.URL_ELICITATION_REQUIRED)
_URL_ELICITATION_VERSIONS = frozenset({"2025-11-25"})


def relayed(code: int, message: str, data: Any, protocol_version: str | None) -> MCPError | None:
    """The JSON-RPC error a client of `protocol_version` gets for an upstream's error (`code`, `message`,
    `data` as the upstream sent them), or None when that version has no such error (module docstring)."""
    data = scrub_error_data(data)
    if code == types.URL_ELICITATION_REQUIRED:
        if protocol_version not in _URL_ELICITATION_VERSIONS:
            return None
        data = _url_elicitations(data)
        if data is None:  # not the data -32042 requires: nothing a client could act on
            return None
    return MCPError(code=code, message=scrub_error_text(message), data=data)


def _url_elicitations(data: Any) -> dict[str, Any] | None:
    """-32042's `data` with each elicitation as a handshake-era client gets a relayed URL elicitation;
    None when it is not `{"elicitations": [URL-mode params…]}`."""
    if not isinstance(data, dict) or not isinstance(data.get("elicitations"), list):
        return None
    elicitations = data["elicitations"]
    if not all(isinstance(item, dict) and item.get("mode", "url") == "url" for item in elicitations):
        return None
    return {**data, "elicitations": [for_handshake_client({**item, "mode": "url"}) for item in elicitations]}
