"""JSON-RPC batches, served to clients that negotiated MCP 2025-03-26 (the only version that has them).

MCP 2025-03-26 lets a client send a JSON array of requests and notifications (or of responses) as one
stdio line or one POST body (basic/index "JSON-RPC Batching", basic/transports); 2025-06-18 removed
batching, and the SDK serves none. For a 2025-03-26 session, `serve_batch` handles each element as it
would be handled alone (JSON-RPC 2.0 §6):

- each request is answered through the transport's own request path (`answer`: the SDK's request
  kernel, as the lean paths run it), one after the other, so a batch takes no more concurrent work
  than one request; its answers make one JSON array (stdio: one line; HTTP: one `application/json`
  body). A request in a batch is answered without a stream: its progress notifications and
  requests to the client have no wire (the tools that send those are best called alone);
- notifications and responses are delivered as if sent alone (`deliver`), and get no answer; a batch
  of only those is answered with nothing (HTTP: 202 Accepted, no body);
- an element that is not a JSON-RPC message gets -32600 (by its id when one can be read), and
  `initialize` -32600 too: it "MUST NOT be part of a JSON-RPC batch" (2025-03-26 basic/lifecycle).

`MAX_BATCH` bounds a batch: one message must not buy unbounded work and answer bytes (a batch of
`tools/list` multiplies a large listing by its length), so a longer batch is refused whole: -32600 for
each of its requests, by id, nothing delivered. 16 is well above what a client batches (a handful of
independent requests), and the work of one batch is that of 16 requests sent one after another.

A batch from a client of any other version is refused as before (`invalid_messages.refusals`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp_types import INVALID_REQUEST

from . import wire_json
from .early import request_id
from .invalid_messages import NOT_A_REQUEST, error, plain_message, refuse_batch, request_id_of

BATCH_VERSION = "2025-03-26"
MAX_BATCH = 16
TOO_LARGE = (f"Invalid Request: a JSON-RPC batch may hold at most {MAX_BATCH} messages here; "
             "send the rest in another batch")
NO_INITIALIZE = "Invalid Request: initialize must not be part of a JSON-RPC batch (MCP 2025-03-26, lifecycle)"


def batch_of(text: str | bytes) -> list[Any] | None:
    """The elements of `text` when it is a non-empty JSON array, else None."""
    try:
        value = wire_json.loads(text)  # type: ignore[arg-type]
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, list) and value else None


def is_response(element: Any) -> bool:
    """A JSON-RPC response object (the client answering a server→client request)."""
    return (isinstance(element, dict) and element.get("jsonrpc") == "2.0" and "method" not in element
            and ("result" in element) != ("error" in element) and request_id(element) is not None)


async def serve_batch(elements: list[Any], answer: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
                      deliver: Callable[[dict[str, Any]], Awaitable[None]]) -> list[dict[str, Any]]:
    """The batch's answers, in the elements' order (empty: nothing to answer); see the module docstring.

    `answer(request)` returns the JSON-RPC response object for one request; `deliver(message)` hands a
    notification or a response on as if it had been sent alone.
    """
    if len(elements) > MAX_BATCH:
        return refuse_batch(elements, TOO_LARGE)
    answers: list[dict[str, Any]] = []
    for element in elements:
        message = plain_message(element)
        if message is not None and "id" in message:
            if message["method"] == "initialize":
                answers.append(error(message["id"], INVALID_REQUEST, NO_INITIALIZE))
            else:
                answers.append(await answer(message))
        elif message is not None or is_response(element):
            await deliver(element)
        else:
            answers.append(error(request_id_of(element), INVALID_REQUEST, NOT_A_REQUEST))
    return answers
