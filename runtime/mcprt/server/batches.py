"""JSON-RPC batches, served to clients that negotiated MCP 2025-03-26 (the only version that has them).

MCP 2025-03-26 lets a client send a JSON array of requests and notifications (or of responses) as one
stdio line or one POST body (basic/index "JSON-RPC Batching", basic/transports); 2025-06-18 removed
batching, and the SDK serves none. For a 2025-03-26 session, `serve_batch` handles each element as it
would be handled alone (JSON-RPC 2.0 §6, which lets the server process a batch's elements in any order):

- notifications and responses first, delivered as if sent alone (`deliver`), and answered with nothing:
  a `notifications/cancelled` of a call in flight, or the answer to a question a call is waiting on,
  takes effect at once instead of waiting behind every request before it in the batch; a batch of only
  those is answered with nothing (HTTP: 202 Accepted, no body);
- then each request, answered through the transport's own request path (`answer`: the SDK's request
  kernel, as the lean paths run it), one after the other, so a batch takes no more concurrent work
  than one request; its answers make one JSON array, in the requests' order (stdio: one line; HTTP:
  one `application/json` body). A request in a batch is answered without a stream: its progress
  notifications and requests to the client have no wire (the tools that send those are best called
  alone). A request the client cancelled gets no answer (MCP basic/utilities/cancellation);
- an element that is not a JSON-RPC message gets -32600 (by its id when one can be read), and
  `initialize` -32600 too: it "MUST NOT be part of a JSON-RPC batch" (2025-03-26 basic/lifecycle); a
  malformed *response* gets nothing, as when sent alone (`invalid_messages.looks_like_response`).

Two bounds keep one message from buying unbounded work and memory:

- `MAX_BATCH` messages: a longer batch is refused whole, -32600 for each of its requests, by id,
  nothing delivered. 16 is well above what a client batches (a handful of independent requests), and
  the work of one batch is that of 16 requests sent one after another;
- `MAX_ANSWER_BYTES` (8 MiB) of answers: the answers are held until the last request is answered, so
  16 `tools/list` of a 10 MB listing would hold 160 MB at once. Once the answers so far reach the
  bound, each later request gets -32600 saying to send it alone (alone, an answer is as large as it
  is: one answer held at a time). 8 MiB holds any ordinary batch many times over; what a batch holds
  at once stays below it plus its largest answer.

A batch from a client of any other version is refused as before (`invalid_messages.refusals`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp_types import INVALID_REQUEST

from . import wire_json
from .early import request_id
from .invalid_messages import NOT_A_REQUEST, error, looks_like_response, plain_message, refuse_batch, request_id_of

BATCH_VERSION = "2025-03-26"
MAX_BATCH = 16
MAX_ANSWER_BYTES = 8 * 1024 * 1024
TOO_LARGE = (f"Invalid Request: a JSON-RPC batch may hold at most {MAX_BATCH} messages here; "
             "send the rest in another batch")
TOO_MUCH = (f"Invalid Request: this JSON-RPC batch's answers reached {MAX_ANSWER_BYTES // (1024 * 1024)} MiB "
            "before this request; send it alone")
NO_INITIALIZE = "Invalid Request: initialize must not be part of a JSON-RPC batch (MCP 2025-03-26, lifecycle)"


def batch_of(text: str | bytes) -> list[Any] | None:
    """The elements of `text` when it is a non-empty JSON array, else None."""
    try:
        value = wire_json.loads(text)  # type: ignore[arg-type]
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, list) and value else None


def is_response(element: Any) -> bool:
    """A valid JSON-RPC response object (the client answering a server→client request, JSON-RPC 2.0 §5)."""
    return (looks_like_response(element) and element.get("jsonrpc") == "2.0"
            and ("result" in element) != ("error" in element) and request_id(element) is not None)


async def serve_batch(elements: list[Any], answer: Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]],
                      deliver: Callable[[dict[str, Any]], Awaitable[None]], *,
                      max_answer_bytes: int = MAX_ANSWER_BYTES) -> bytes | None:
    """The batch's answers as one JSON array (bytes, requests' order), or None when nothing is to be
    answered; see the module docstring.

    `answer(request)` returns the JSON-RPC response object for one request (None: the client cancelled
    it, no answer); `deliver(message)` hands a notification or a response on as if sent alone.
    """
    if len(elements) > MAX_BATCH:
        return wire_json.dumps(refuse_batch(elements, TOO_LARGE))
    messages = [plain_message(element) for element in elements]
    for element, message in zip(elements, messages):
        if (message is not None and "id" not in message) or is_response(element):
            await deliver(element)
    encoded: list[bytes] = []  # each answer encoded as it comes: the objects are not held
    size = 0
    for element, message in zip(elements, messages):
        if message is not None and "id" in message:
            if message["method"] == "initialize":
                reply: dict[str, Any] | None = error(message["id"], INVALID_REQUEST, NO_INITIALIZE)
            elif size >= max_answer_bytes:
                reply = error(message["id"], INVALID_REQUEST, TOO_MUCH)
            else:
                reply = await answer(message)
        elif message is None and not looks_like_response(element):
            reply = error(request_id_of(element), INVALID_REQUEST, NOT_A_REQUEST)
        else:
            continue  # delivered above, or a malformed response (nothing to answer)
        if reply is not None:
            encoded.append(wire_json.dumps(reply))
            size += len(encoded[-1])
    return b"[" + b",".join(encoded) + b"]" if encoded else None
