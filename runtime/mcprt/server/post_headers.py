"""A POST to the MCP endpoint whose `Content-Type` or `Accept` the transport cannot serve, answered as a
JSON-RPC error before anything reads its body.

The SDK answers these in three ways, none of them JSON-RPC: its transport-security check answers a
`Content-Type` that does not start with `application/json` (or none) with a plain-text 400 "Invalid
Content-Type header", on both the handshake-era and the 2026-07-28 entry; one that does (say
`application/jsonx`) gets its transport's 415 with a JSON-RPC body; and the 2026-07-28 entry answers a
bad `Accept` 406 with an empty body. A client that reads every error answer as JSON-RPC (MCP basic/
transports: "The HTTP response body MAY comprise a JSON-RPC error response that has no id") got text or
nothing. Here every such POST, of either era, stateful or stateless, gets one answer:

- `Content-Type` not `application/json` (parameters such as `charset` allowed; media types compare
  case-insensitively, RFC 9110 §8.3.1) → 415 Unsupported Media Type (RFC 9110 §15.5.16), -32600, id null;
- `Accept` without `application/json`, or without `text/event-stream` where an answer may stream
  (not `--json-response`) → 406 Not Acceptable (RFC 9110 §15.5.7; MCP basic/transports: "The client
  MUST include an Accept header, listing both application/json and text/event-stream"), -32600, id null.
  Wildcards list what they match (`*/*`, `application/*`, `text/*`: RFC 9110 §12.5.1). No `Accept` at all
  is refused too: RFC 9110 reads it as "anything", but MCP makes listing both a client MUST, and a client
  told at once what to send beats one that later meets a stream it did not expect.

The body is neither read nor parsed here (`invalid_messages` answers bodies that are not JSON-RPC). An
accepted `Content-Type` is passed on as plain `application/json` (JSON is UTF-8, RFC 8259 §8.1), so the
SDK's own checks, which compare case-sensitively, take what is accepted here. The check runs once per
POST: the lean paths (`lean.py`, `lean_modern.py`, the stateless route) sit behind it and do not repeat it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING

from mcp.server.streamable_http import check_accept_headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from . import wire_json
from .refusals import refusal_message

if TYPE_CHECKING:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

JSON = "application/json"
_JSON_BYTES = JSON.encode()
NOT_JSON = ("the body must be sent with Content-Type: application/json "
            "(one JSON-RPC 2.0 message), not {given}")
NOT_ACCEPTED = "the client must accept {wanted} (the Accept header lists {given})"
SHOWN_CHARS = 64  # of an offending header value: a header may be kilobytes long


def is_json(content_type: str | None) -> bool:
    """Whether a `Content-Type` value names `application/json` (its parameters ignored, case-insensitive)."""
    return content_type is not None and content_type.split(";", 1)[0].strip().lower() == JSON


def refusal(request: Request, json_response: bool) -> tuple[HTTPStatus, str] | None:
    """The status and message a POST with these headers gets, or None when both are acceptable.
    `json_response`: the server answers only with JSON (then `text/event-stream` need not be accepted)."""
    content_type = request.headers.get("content-type")
    if not is_json(content_type):
        return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, NOT_JSON.format(given=shown(content_type, "none"))
    has_json, has_sse = check_accept_headers(request)
    if not has_json or not (has_sse or json_response):
        wanted = "application/json" if json_response else "both application/json and text/event-stream"
        return HTTPStatus.NOT_ACCEPTABLE, NOT_ACCEPTED.format(wanted=wanted,
                                                              given=shown(request.headers.get("accept"), "nothing"))
    return None


def shown(value: str | None, absent: str) -> str:
    """A client's header value as an answer quotes it: `repr`, cut at SHOWN_CHARS; `absent` when not sent."""
    if value is None:
        return absent
    return repr(value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…")


def check_post_headers(manager: StreamableHTTPSessionManager) -> None:
    """Put `PostHeaderCheck` in front of everything the manager routes a request to (install it last,
    so it sees every request first)."""
    limited = manager.asgi_app
    limited.app = PostHeaderCheck(limited.app, json_response=manager.json_response)  # type: ignore[attr-defined]


class PostHeaderCheck:
    """Answers a POST whose `Content-Type` or `Accept` is refused (see the module docstring); every other
    request goes on to `inner` unchanged."""

    def __init__(self, inner: ASGIApp, *, json_response: bool) -> None:
        self.inner = inner
        self.json_response = json_response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "POST":
            await self.inner(scope, receive, send)
            return
        refused = refusal(Request(scope), self.json_response)
        if refused is None:
            # as the SDK's own checks read it (its transport's compares case-sensitively, RFC 9110 does not)
            scope["headers"] = [(name, _JSON_BYTES if name == b"content-type" else value)
                                for name, value in scope.get("headers", ())]
            await self.inner(scope, receive, send)
            return

        status, message = refused
        body = wire_json.dumps(refusal_message(status, message))
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
