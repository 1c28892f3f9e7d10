"""The one `insufficient_scope` answer of the MCP endpoint: HTTP 403 with the scope challenge.

Two refusals send it — the guard's, for a token lacking a scope `server.auth.oauth.scopes` requires of every
request, and the step-up's (`step_up`), for a `tools/call` a policy rule admits only with a scope more — and a
client must not be able to tell them apart by shape: both carry `WWW-Authenticate: Bearer
resource_metadata="…", error="insufficient_scope", error_description="…", scope="…"` (RFC 6750 §3.1, RFC 9728
§5.1), `scope` being the scopes the token holds plus those it lacks (`identity.resource.challenge_scopes`; MCP
authorization 2025-11-25, "Scope Challenge Handling"), and the JSON-RPC error body's `data` is
`{"reason": "insufficient_scope", "scope": <that scope>}`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any


@dataclass(frozen=True, slots=True)
class ScopeRefusal:
    """A 403 `insufficient_scope`: what the guard's refusal writer (`guard.send_refusal`) sends."""

    message: str  # the body's message after the status phrase, and the challenge's error_description
    headers: list[tuple[bytes, bytes]]  # WWW-Authenticate
    data: dict[str, Any]  # the JSON-RPC error's `data`
    needed: list[str]  # the challenge's scopes (also for the log line)
    status: int = HTTPStatus.FORBIDDEN


def scope_refusal(metadata: str, granted: Iterable[str], wanted: Iterable[str], description: str) -> ScopeRefusal:
    """The refusal of a token holding `granted` that needs `wanted` too; `metadata`: the Protected Resource
    Metadata URL (`ResourceServer.metadata_location`); `description`: why, for people (RFC 6750 §3's
    character set is enforced by `challenge`)."""
    from ..identity.principal import challenge_scopes
    from ..identity.resource import challenge  # here: the guard imports this module without OAuth

    needed = challenge_scopes(granted, wanted)
    value = challenge(metadata, error="insufficient_scope", description=description, scope=needed)
    return ScopeRefusal(description, [(b"www-authenticate", value.encode())],
                        {"reason": "insufficient_scope", "scope": " ".join(needed)}, needed)
