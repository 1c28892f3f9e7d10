"""Step-up authorization on the MCP endpoint: a `tools/call` a policy refuses only because the caller's
OAuth access token lacks a scope is answered with the MCP scope challenge, not with a tool error.

MCP authorization 2025-11-25, "Scope Challenge Handling": when a request needs a scope the token
lacks, the server answers HTTP 403 with `WWW-Authenticate: Bearer error="insufficient_scope",
scope="…", resource_metadata="…"` (RFC 6750 §3.1, RFC 9728 §5.1); the client re-authorizes asking for
that `scope` and retries. `scope` lists the scopes the token holds plus the one it lacks (the spec's
recommended approach: a stepped-up token keeps what was granted). Which scope that is, and whether a
scope would help at all, is the policy's answer (`policy.gate.PolicyGate.step_up`): a call refused by a
`deny` rule or the default, that an `allow` rule naming the scope would let through (or an `approve` rule send to
a human).

The check runs before the SDK sees the request, so no response has begun and an HTTP status can still
be chosen. It costs nothing unless the served policy has a scope to step up to (`CallGate.steps_up`: one an
`allow` or `approve` rule names): only then is a POST by an OAuth principal read (whole and bounded: this sits
inside the manager's body limit), only a body naming `tools/call` parsed, and only a tool such a rule names
a scope for (`CallGate.step_up_scopes`, computed once per tool) has its arguments checked and the policy
asked. Everything else goes on unchanged (`Replay`).

It runs behind the session checks' verdicts, not in their place: a handshake-era request without a session
on a stateful server (the SDK's 400 "Missing session ID"), or one naming a session this replica does not
hold for the caller (404, so the client re-initializes), is passed on unchanged to get that answer — a
challenge would send the user through a new consent for a session that does not exist. (A session held by
another replica, with shared state, is adopted by the manager behind this check; its first call here is
answered with the policy's tool error instead of the challenge.) The protocol version is checked earlier
still (`session_versions`). Where no HTTP status can be
sent — stdio, a JSON-RPC batch, discovery's `call_tool` (the refused call is its argument, not the
request), a task's later run — the policy's tool error names the scope instead (`PolicyGate.admit`).
A task-augmented `tools/call` is checked here like any other: it is still this POST's answer.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ..contracts import CallContext
from ..identity.principal import Principal, from_scope
from ..observability.events import new_call_id
from ..observability.log import log_event
from ..toolset.invoke import check_arguments
from .guard import send_refusal
from .lean import Replay, plain_jsonrpc
from .scope_challenge import ScopeRefusal, scope_refusal

if TYPE_CHECKING:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

    from ..identity.resource import ResourceServer
    from ..toolset.toolset import ToolSetHolder


def challenge_scope_steps(manager: StreamableHTTPSessionManager, holder: ToolSetHolder,
                          resource_server: ResourceServer, *, sessions: bool = True) -> None:
    """Put `ScopeChallenge` in front of everything the manager routes a request to (inside its body
    limit). Install it before `check_session_versions`, which then sees every request first.
    `sessions=False`: stateless HTTP, where no request names a session."""
    limited = manager.asgi_app
    limited.app = ScopeChallenge(limited.app, holder, resource_server,  # type: ignore[attr-defined]
                                 manager if sessions else None)


class ScopeChallenge:
    """Answers 403 `insufficient_scope` to a `tools/call` refused only for a missing scope (module docstring).
    `manager`: the stateful session manager (`shared_sessions`), whose sessions a call must name; None
    for stateless HTTP."""

    def __init__(self, inner: ASGIApp, holder: ToolSetHolder, resource_server: ResourceServer,
                 manager: Any = None) -> None:
        self.inner = inner
        self.holder = holder
        self.resource_server = resource_server
        self.manager = manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = from_scope(scope)
        gate = self.holder.current.gate
        if scope.get("method") != "POST" or principal is None or principal.kind != "oauth" or gate is None \
                or not gate.steps_up or self._session_refused(scope, principal):
            await self.inner(scope, receive, send)
            return
        first = await receive()
        body = first.get("body", b"") if first["type"] == "http.request" else b""
        message = plain_jsonrpc(body) if b'"tools/call"' in body else None
        refusal = self._refusal(message, principal, scope) if message is not None else None
        if refusal is None:
            await self.inner(scope, Replay(first, receive), send)
            return
        await send_refusal(send, refusal.status, refusal.message, refusal.headers, jsonrpc=True,
                           request_id=message["id"], data=refusal.data)

    def _session_refused(self, scope: Scope, principal: Principal) -> bool:
        """Whether the session checks behind this will refuse the request: stateful HTTP, and a
        handshake-era request without a session id, or one naming a session not held for `principal`."""
        if self.manager is None:
            return False
        headers = Headers(scope=scope)
        session_id = headers.get(MCP_SESSION_ID_HEADER)
        if session_id is None:
            return headers.get(MCP_PROTOCOL_VERSION_HEADER, HANDSHAKE_PROTOCOL_VERSIONS[0]) \
                in HANDSHAKE_PROTOCOL_VERSIONS  # 2026-07-28 requests carry no session
        return self.manager.transport(session_id, principal.owner) is None

    def _refusal(self, message: dict[str, Any], principal: Principal, scope: Scope) -> ScopeRefusal | None:
        params = message.get("params")
        if message.get("method") != "tools/call" or "id" not in message or not isinstance(params, dict):
            return None
        name, arguments = params.get("name"), params.get("arguments")
        # unknown or hidden: the call's own path answers (and reports a hidden tool's call, once)
        tool = self.holder.current.get_for(name, principal, report=False) if isinstance(name, str) else None
        if tool is None or tool.gate is None or not tool.gate.step_up_scopes(tool):
            return None
        try:
            completed = check_arguments(tool, arguments if isinstance(arguments, dict) else None)
        except Exception:  # bad arguments: the call's own path says what is wrong with them
            return None
        lacking = tool.gate.step_up(tool, principal, completed)
        if lacking is None:
            return None
        headers = Headers(scope=scope)
        scheme, host = scope.get("scheme", "http"), headers.get("host")
        refusal = scope_refusal(self.resource_server.metadata_location(scheme, host), principal.scopes,
                                [lacking.scope], f"{tool.name}: {lacking.explained()}")
        # the audit log and the decision metrics see the refusal as a `deny` like any other, of its own call
        meta = params.get("_meta")
        context = CallContext(tool=tool.name, timeout=tool.timeout, max_response_bytes=tool.max_response_bytes,
                              request_id=str(message["id"]), principal=principal,
                              session_id=headers.get(MCP_SESSION_ID_HEADER), call_id=new_call_id(),
                              meta=meta if isinstance(meta, dict) else None)
        tool.gate.refused_for_scope(tool, lacking, context)
        log_event("rejected request: insufficient scope", logging.WARNING, tool=tool.name,
                  required=" ".join(refusal.needed), principal=principal.subject,
                  client_id=principal.client_id or "-", path=str(scope.get("path", ""))[:100])
        return refusal
