"""The MCP endpoint's refusals that the SDK sends with an empty body, given a JSON-RPC error body.

The SDK's 2026-07-28 entry (`mcp.server._streamable_http_modern`) answers a GET, DELETE or any other
non-POST request with 405 (and `Allow: POST`) and no body, and a `subscriptions/listen` request from a
client that does not accept `text/event-stream` (a listen answer is always a stream, even with
`--json-response`) with 406 and no body. Every other refusal on the endpoint carries a JSON-RPC error
(`post_headers`, `invalid_messages`; MCP basic/transports: "The HTTP response body MAY comprise a
JSON-RPC error response that has no id"), so a client that reads every error answer as JSON-RPC got
nothing to read. Here such an answer keeps its status and headers (the `Allow` of a 405, RFC 9110
§15.5.6) and gets the error body (-32600, id null) that says what the transport wants instead.

Only an answer with no body and no `Content-Type` is filled in; anything that already has a body passes
unchanged, byte for byte.
"""

from __future__ import annotations

from http import HTTPStatus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import wire_json
from .post_headers import shown
from .refusals import as_refusal, refusal_message

# status → what the client is told (2026-07-28: one POST per request, no GET stream, no session to end)
MESSAGES = {
    HTTPStatus.METHOD_NOT_ALLOWED: "{method}; an MCP 2026-07-28 request is one POST (there "
                                   "is no GET stream, and no session to DELETE)",
    HTTPStatus.NOT_ACCEPTABLE: "the answer to this request is an event stream (as a "
                               "subscriptions/listen answer always is): the client must accept text/event-stream "
                               "(the Accept header lists {accept})",
}


def fill_empty_refusals(manager: object) -> None:
    """Put `EmptyRefusalBodies` in front of everything the manager routes a request to."""
    limited = manager.asgi_app  # type: ignore[attr-defined]
    limited.app = EmptyRefusalBodies(limited.app)


HELD_BYTES = 65_536  # of a refusal's body, read whole to reshape it; a longer one passes unchanged


class EmptyRefusalBodies:
    """Passes every request to `inner`; a 405 or 406 it answers without a body gets a JSON-RPC error body,
    and every refusal (status 400 and up) whose body is a JSON-RPC error with id null — the SDK's own
    ("Session not found", "Missing session ID"…) as much as mcprt's — gets the endpoint's one refusal
    shape (`refusals.as_refusal`: its code, `data.reason`), its message and other data kept."""

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        held: Message | None = None  # a refusal's start, until its whole body is known
        body = bytearray()

        async def filling(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] >= 400:
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body") and len(body) <= HELD_BYTES:
                return
            start, held = held, None
            if message.get("more_body"):  # longer than any refusal: not one to reshape
                await send(start)
                await send({**message, "body": bytes(body)})
                return
            if not body and start["status"] in MESSAGES \
                    and not any(name == b"content-type" for name, _ in start.get("headers", ())):
                start, message = _filled(scope, start)
            else:
                start, message = _reshaped(start, bytes(body))
            await send(start)
            await send(message)

        await self.inner(scope, receive, filling)


def _reshaped(start: Message, body: bytes) -> tuple[Message, Message]:
    """A refusal whose body is a JSON-RPC error with id null, in the endpoint's shape; anything else unchanged."""

    answer = None
    if any(name == b"content-type" and value.split(b";")[0].strip().lower() == b"application/json"
           for name, value in start.get("headers", ())):
        try:
            answer = wire_json.loads(body)
        except (ValueError, RecursionError):
            answer = None
    if not (isinstance(answer, dict) and answer.get("id") is None and isinstance(answer.get("error"), dict)):
        return start, {"type": "http.response.body", "body": body}
    return _with_json_body(start, wire_json.dumps(as_refusal(start["status"], answer)))


def _filled(scope: Scope, start: Message) -> tuple[Message, Message]:
    status = HTTPStatus(start["status"])
    request_headers = dict(scope.get("headers", ()))
    accept = request_headers.get(b"accept")
    text = MESSAGES[status].format(method=scope.get("method", "?"),
                                   accept=shown(accept.decode("latin-1") if accept is not None else None, "nothing"))

    return _with_json_body(start, wire_json.dumps(refusal_message(status, text)))


def _with_json_body(start: Message, body: bytes) -> tuple[Message, Message]:
    """`start` (its status and headers kept) with `body` as its JSON body: the two messages to send."""
    headers = [(name, value) for name, value in start.get("headers", ())
               if name not in (b"content-length", b"content-type")]
    headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {**start, "headers": headers}, {"type": "http.response.body", "body": body}


def fill_oversized_refusal(manager: object, limit: int) -> None:
    """Put `OversizedBodyRefusal` around the manager's request-body limit (install it after every
    router that reaches inside that limit: it replaces `manager.asgi_app`). `limit`: bytes."""
    manager.asgi_app = OversizedBodyRefusal(manager.asgi_app, limit)  # type: ignore[attr-defined]


class OversizedBodyRefusal:
    """The SDK's body limit answers a body sent without `Content-Length` (chunked) that grows past the
    limit with 413 and the plain text "Request body too large" (no `Content-Type`); a declared one never
    gets that far (the guard answers it). Here that 413 gets the guard's JSON-RPC error body
    (`refusals.refusal_message`), as every refusal on the MCP endpoint has; anything else passes unchanged."""

    def __init__(self, inner: ASGIApp, limit: int) -> None:
        self.inner = inner
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        held: Message | None = None  # the SDK's 413, its text body dropped until it ends

        async def replacing(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] == HTTPStatus.REQUEST_ENTITY_TOO_LARGE \
                    and not any(name == b"content-type" for name, _ in message.get("headers", ())):
                held = message
                return
            if held is not None and message["type"] == "http.response.body":
                if message.get("more_body"):
                    return

                start, message = _with_json_body(held, wire_json.dumps(refusal_message(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body larger than {self.limit} bytes")))
                held = None
                await send(start)
            await send(message)

        await self.inner(scope, receive, replacing)
