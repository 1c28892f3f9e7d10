"""Step-up authorization on the MCP endpoint: a `tools/call` a policy refuses only because the caller's
OAuth access token lacks a scope is answered with the MCP scope challenge, not with a tool error.

MCP authorization 2025-11-25, "Scope Challenge Handling": when a request needs a scope the token
lacks, the server answers HTTP 403 with `WWW-Authenticate: Bearer error="insufficient_scope",
scope="…", resource_metadata="…"` (RFC 6750 §3.1, RFC 9728 §5.1); the client re-authorizes asking for
that `scope` and retries. `scope` lists the scopes the token holds plus the one it lacks (the spec's
recommended approach: a stepped-up token keeps what was granted). Which scope that is, and whether a
scope would help at all, is the policy's answer (`policy.gate.PolicyGate.step_up`): a call refused by a
`deny` rule or the default, that an `allow` rule naming the scope would let through.

The check runs before the SDK sees the request, so no response has begun and an HTTP status can still
be chosen: only a POST whose body is one plain JSON-RPC `tools/call` by an OAuth principal is read
(whole and bounded: this sits inside the manager's body limit), and only when the body names
`tools/call` is it parsed. Everything else goes on unchanged (`Replay`). Where no HTTP status can be
sent — stdio, a JSON-RPC batch, discovery's `call_tool` (the refused call is its argument, not the
request), a task's later run — the policy's tool error names the scope instead (`PolicyGate.admit`).
A task-augmented `tools/call` is checked here like any other: it is still this POST's answer.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ..contracts import CallContext
from ..identity.principal import from_scope
from ..observability.log import log_event
from ..toolset.gate import visible_to
from ..toolset.invoke import check_arguments
from .invalid_messages import error
from .lean import Replay, plain_jsonrpc

if TYPE_CHECKING:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

    from ..identity.resource import ResourceServer
    from ..toolset.toolset import ToolSetHolder


def challenge_scope_steps(manager: StreamableHTTPSessionManager, holder: ToolSetHolder,
                          resource_server: ResourceServer) -> None:
    """Put `ScopeChallenge` in front of everything the manager routes a request to (inside its body
    limit; install it last of the routers, so it sees every request first)."""
    limited = manager.asgi_app
    limited.app = ScopeChallenge(limited.app, holder, resource_server)  # type: ignore[attr-defined]


class ScopeChallenge:
    """Answers 403 `insufficient_scope` to a `tools/call` refused only for a missing scope (module docstring)."""

    def __init__(self, inner: ASGIApp, holder: ToolSetHolder, resource_server: ResourceServer) -> None:
        self.inner = inner
        self.holder = holder
        self.resource_server = resource_server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = from_scope(scope)
        if scope.get("method") != "POST" or principal is None or principal.kind != "oauth" \
                or self.holder.current.gate is None:
            await self.inner(scope, receive, send)
            return
        first = await receive()
        body = first.get("body", b"") if first["type"] == "http.request" else b""
        message = plain_jsonrpc(body) if b'"tools/call"' in body else None
        refusal = self._refusal(message, principal, scope) if message is not None else None
        if refusal is None:
            await self.inner(scope, Replay(first, receive), send)
            return
        status, headers, answer = refusal
        payload = json.dumps(answer).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode()), *headers]})
        await send({"type": "http.response.body", "body": payload})

    def _refusal(self, message: dict[str, Any], principal: Any,
                 scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], dict[str, Any]] | None:
        from ..identity.resource import challenge

        params = message.get("params")
        if message.get("method") != "tools/call" or "id" not in message or not isinstance(params, dict):
            return None
        name, arguments = params.get("name"), params.get("arguments")
        tool = self.holder.current.get(name) if isinstance(name, str) else None
        if tool is None or tool.gate is None or not hasattr(tool.gate, "step_up") or not visible_to(tool, principal):
            return None  # unknown or hidden: the SDK's path answers as it always does
        try:
            completed = check_arguments(tool, arguments if isinstance(arguments, dict) else None)
        except Exception:  # bad arguments: the call's own path says what is wrong with them
            return None
        lacking = tool.gate.step_up(tool, principal, completed)
        if lacking is None:
            return None
        headers = Headers(scope=scope)
        scheme, host = scope.get("scheme", "http"), headers.get("host")
        needed = lacking.needed(principal)
        description = f"{tool.name}: {lacking.explained()}"
        value = challenge(self.resource_server.metadata_location(scheme, host), error="insufficient_scope",
                          description=description, scope=needed)
        reason = f"insufficient scope: {lacking.explained()}"
        # the audit log and the decision metrics see the refusal as a `deny` like any other
        context = CallContext(tool=tool.name, timeout=tool.timeout, max_response_bytes=tool.max_response_bytes,
                              principal=principal, session_id=headers.get("mcp-session-id"))
        tool.gate.publish("deny", tool, context, rule=lacking.decision.rule, reason=reason)
        log_event("rejected request: insufficient scope", logging.WARNING, tool=tool.name,
                  required=" ".join(needed), principal=principal.subject, client_id=principal.client_id or "-",
                  path=str(scope.get("path", ""))[:100])
        phrase = HTTPStatus.FORBIDDEN.phrase
        answer = error(message["id"], -32600, f"{phrase}: {description}",
                       {"reason": "insufficient_scope", "scope": " ".join(needed)})
        return HTTPStatus.FORBIDDEN, [(b"www-authenticate", value.encode())], answer
