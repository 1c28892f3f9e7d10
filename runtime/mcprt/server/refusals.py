"""The one shape of every refusal on the MCP endpoint (README, "Serving over HTTP").

A refused request gets a JSON-RPC 2.0 error response (§5.1) with id null (the refused request's id when its
body was read): code -32600 (Invalid Request), -32603 (Internal error) for a 503 — the server unable to serve
it now —; message the HTTP status's phrase and what went wrong (`"Service Unavailable: Too many open
sessions …"`); `data.reason` the phrase in snake case (`unauthorized`, `too_many_requests`,
`service_unavailable`…) unless the refusal's own data says more (`insufficient_scope`), beside any other data
it carries (a cap's `limit`, `retryAfter`). mcprt's own refusals are built here (`refusal_message`), the MCP
SDK's are reshaped here (`as_refusal`), and a refusal that travels as a JSON-RPC error of one request rather
than an HTTP status (a `subscriptions/listen` stream over the per-client cap) takes the same code, message
and data (`refusal_error`).

No SDK import at module level: the guard that uses this also fronts the stdio metrics listener, before the
SDK is loaded.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

# JSON-RPC 2.0 §5.1: a refused request (-32600); the server unable to serve it now (-32603)
_CODES = {HTTPStatus.SERVICE_UNAVAILABLE: -32603}
_PREDEFINED_CODES = (-32700, -32600, -32601, -32602, -32603)  # JSON-RPC 2.0 §5.1


def refusal_code(status: int) -> int:
    """The JSON-RPC error code of a refusal with HTTP `status`: -32603 for a 503, else -32600."""
    return _CODES.get(HTTPStatus(status), -32600)


def refusal_reason(status: int) -> str:
    """`data.reason` of a refusal with HTTP `status`: its phrase in snake case (`too_many_requests`)."""
    return HTTPStatus(status).phrase.lower().replace(" ", "_")


def refusal_text(status: int, message: str) -> str:
    """The message of a refusal with HTTP `status`: `"<Phrase>: <message>"`, the phrase once (the SDK's
    own "Bad Request: Missing session ID" already starts with it)."""
    phrase = HTTPStatus(status).phrase
    return message if message.startswith(f"{phrase}:") else f"{phrase}: {message}"


def refusal_error(status: int, message: str, data: dict[str, Any] | None = None) -> tuple[int, str, dict[str, Any]]:
    """(code, message, data) of a refusal with HTTP `status`: `data` (more fields; its own `reason` says
    more than the phrase) kept beside `reason`."""
    return refusal_code(status), refusal_text(status, message), {"reason": refusal_reason(status), **(data or {})}


def refusal_message(status: int, message: str, *, request_id: str | int | None = None,
                    data: dict[str, Any] | None = None) -> dict[str, object]:
    """The JSON-RPC error response a refusal with HTTP `status` and `message` gets on the MCP endpoint (see
    the module docstring). `request_id`: the refused request's, when its body was read (else null)."""
    from .invalid_messages import error  # here: not before the SDK is loaded (module docstring)

    return error(request_id, *refusal_error(status, message, data))


def as_refusal(status: int, answer: dict[str, Any]) -> dict[str, Any]:
    """`answer`, a JSON-RPC error response with id null that a refusal with HTTP `status` carries (as the
    MCP SDK writes its own: "Session not found", -32600, no data), in `refusal_message`'s shape: -32603
    for a 503, -32600 for a code outside JSON-RPC 2.0's predefined ones (a parse error keeps -32700), the
    message led by the status's phrase, `data.reason` added where it has none; other data kept."""
    error = dict(answer["error"])
    data = error.get("data") if isinstance(error.get("data"), dict) else {}
    if HTTPStatus(status) in _CODES or error.get("code") not in _PREDEFINED_CODES:
        error["code"] = refusal_code(status)
    if isinstance(error.get("message"), str):
        error["message"] = refusal_text(status, error["message"])
    error["data"] = {"reason": refusal_reason(status), **data}
    return {**answer, "error": error}
