"""Answers for messages the SDK cannot take: not JSON, not JSON-RPC 2.0, or a batch.

Over stdio the SDK's reader turns a line its message adapter refuses into an exception that its
dispatcher logs at debug level and drops, so a client that sent such a request waits for an answer
that never comes; over streamable HTTP its transport answers 400 with pydantic's validation report
as a -32602 message (a page of union-member errors and a pydantic.dev link). JSON-RPC 2.0 (§4.2, §5.1, §6) has the server answer instead: -32700 for a line
that is not JSON, -32600 for one that is not a valid request (with the request's `id` when one can
be read, else `null`). Batches (a JSON array) were part of MCP only in 2025-03-26 and are not
served by the SDK: a 2025-03-26 session's are served by `batches.py`; any other client's get -32600
for each request by its id, saying to send it alone.

A line the SDK accepts is never touched (the same adapter decides), and neither is a malformed
*response* from the client (an object with `result` or `error`): its `id` is in mcprt's own request
namespace, so an error carrying it would answer a request the client never made.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import mcp_types as types
from mcp_types import INVALID_REQUEST, PARSE_ERROR

from ..observability.log import log_event
from ..outbound.decoding import MAX_JSON_DEPTH
from . import wire_json
from .early import request_id

NOT_JSON = "Parse error: the line is not a JSON value (one JSON-RPC 2.0 message per line)"  # stdio
NOT_JSON_BODY = "Parse error: the request body is not a JSON value (one JSON-RPC 2.0 message per POST)"  # HTTP
NOT_A_REQUEST = ("Invalid Request: not a JSON-RPC 2.0 message (an object with \"jsonrpc\": \"2.0\", a string "
                 "\"method\", a string or integer \"id\" for a request, and \"params\" an object when given)")
BATCH = ("Invalid Request: JSON-RPC batches are not supported by this server (MCP allowed them only in "
         "2025-03-26): send each request as a message of its own")
EMPTY_BATCH = "Invalid Request: an empty array is not a JSON-RPC message"
# pydantic-core's parser (the SDK's) stops past this depth; found by a pentest trial: a request whose
# argument nested ~254 levels was told "not a JSON value", id null, though valid and its id readable
TOO_DEEP = (f"Invalid Request: the message nests more than {MAX_JSON_DEPTH} levels deep (arrays and objects "
            "inside one another); it may be valid JSON, but mcprt reads messages at most that deep: send a flatter value")
_ID_KINDS = {float: "a number with a fraction or exponent", bool: "a boolean", type(None): "null", list: "an array",
             dict: "an object"}


def refusals(line: str | bytes, not_json: str = NOT_JSON) -> tuple[list[dict[str, Any]], bool] | None:
    """(the error responses a stdio `line` gets, whether they go as one array), or None when the SDK
    takes it as is; `not_json`: the -32700 message. A batch is answered with an array on one line,
    however many requests it held (JSON-RPC 2.0 §6), as over HTTP (`body_refusal`).

    An empty list means: refused, but nothing to answer (a malformed response from the client).
    """
    return _refused(line, not_json)


def body_refusal(body: bytes) -> bytes | None:
    """HTTP: the JSON a POST body the SDK would not take is answered with (status 400), or None when
    the SDK takes it (a malformed response from the client included: nothing to answer). A batch
    (a non-empty JSON array) is answered with an array, one error per request (JSON-RPC 2.0 §6),
    however many it held: a one-request batch got a single object, which a client matching a batch's
    answers reads as no answer. Anything else gets one error object."""
    refused = _refused(body, NOT_JSON_BODY)
    if refused is None or not refused[0]:
        return None
    answers, batch = refused
    # said to the operator too (its code and the first message, never the body: it is a client's), as stdio
    # does: a refusal only the client saw left nothing to explain a client's complaint
    log_event("http: refused a message that is not a JSON-RPC 2.0 request", logging.INFO,
              code=",".join(sorted({str(answer["error"]["code"]) for answer in answers})),
              reason=answers[0]["error"]["message"][:160])
    return wire_json.dumps(answers if batch else answers[0])


def _refused(line: str | bytes, not_json: str) -> tuple[list[dict[str, Any]], bool] | None:
    """(the error responses, whether `line` was a batch to be answered as one), or None for the SDK."""
    try:
        types.jsonrpc_message_adapter.validate_json(line, by_name=False)
        accepted = True
    except ValueError:
        accepted = False
    if accepted:  # the SDK's to handle, unless it would take a request with a bad id for a notification
        bad_id = _bad_id(line) if ('"id"' in line if isinstance(line, str) else b'"id"' in line) else None
        return None if bad_id is None else ([error(None, INVALID_REQUEST, bad_id)], False)
    try:
        message = wire_json.loads(line)  # type: ignore[arg-type]  # pydantic_core reads str too
    except ValueError as exc:
        if "recursion limit" in str(exc):  # valid JSON, perhaps: too deep to read, not "not JSON"
            return [error(top_level_id(line), INVALID_REQUEST, TOO_DEEP)], False
        return [error(None, PARSE_ERROR, not_json)], False
    except RecursionError:
        return [error(None, PARSE_ERROR, not_json)], False
    if isinstance(message, list):
        if not message:  # JSON-RPC 2.0 §7's example: an empty array gets one error object
            return [error(None, INVALID_REQUEST, EMPTY_BATCH)], False
        return refuse_batch(message, BATCH), True
    if looks_like_response(message):
        return [], False
    return [error(request_id_of(message), INVALID_REQUEST, NOT_A_REQUEST)], False


def top_level_id(line: str | bytes) -> str | int | None:
    """The `id` of a JSON object too deep to parse, read by a scan that tracks only strings and nesting: the
    value after a top-level `"id":` key when it is a string or an integer, else None (no id, or one JSON-RPC
    does not allow, or text that is no object)."""
    text = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line
    depth, index, size = 0, 0, len(text)
    while index < size:
        char = text[index]
        if char == '"':
            end = index + 1
            while end < size and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            if depth == 1 and text[index:end + 1] == '"id"':
                rest = text[end + 1:end + 1 + 300].lstrip()
                if rest.startswith(":"):
                    try:
                        value, _ = json.JSONDecoder().raw_decode(rest[1:].lstrip())
                    except ValueError:
                        return None
                    return value if isinstance(value, str) or (type(value) is int) else None
            index = end + 1
            continue
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
        index += 1
    return None


def _bad_id(line: str | bytes) -> str | None:
    """The -32600 message for a request whose `id` JSON-RPC does not allow, else None.

    The SDK's adapter reads `{"id": 1.5, "method": …}` as a *notification* (an object with a method and no
    valid id; the extra key ignored), so the request was dropped without an answer or a log line while its
    client waited (a pentest trial: ids `1.5`, `true`, `[1]`, `{}`, `null`, `1e999`, in every handshake era,
    over HTTP and stdio). JSON-RPC 2.0 §4: an id is a string, a number or null, "Numbers SHOULD NOT contain
    fractional parts"; MCP (basic, "Requests") narrows it to a string or an integer, never null. §5: when
    the id cannot be read, the error's id is null."""
    try:
        message = wire_json.loads(line)  # type: ignore[arg-type]
    except (ValueError, RecursionError):
        return None
    if not isinstance(message, dict) or "id" not in message or not isinstance(message.get("method"), str):
        return None
    request_id = message["id"]
    if isinstance(request_id, str) or (isinstance(request_id, int) and not isinstance(request_id, bool)):
        return None
    kind = _ID_KINDS.get(type(request_id), type(request_id).__name__)
    return (f"Invalid Request: a request's \"id\" must be a string or an integer (JSON-RPC 2.0 §4; MCP basic: "
            f"not null), got {kind}; this request was not run")


def refuse_batch(items: list[Any], why: str) -> list[dict[str, Any]]:
    """-32600 `why` for each request of a batch, by its id; one answer (id null) when none has an id
    (a batch of notifications only would otherwise be dropped without a word)."""
    answered = [error(rid, INVALID_REQUEST, why) for rid in map(request_id_of, items) if rid is not None]
    return answered or [error(None, INVALID_REQUEST, why)]


def looks_like_response(message: Any) -> bool:
    """Whether `message` (parsed JSON) is shaped as a response — an object with `result` or `error` and
    no `method` — valid or not. Such a message is never answered (JSON-RPC 2.0 §5: a response gets no
    response; its `id` is in mcprt's own request namespace), alone or in a batch."""
    return isinstance(message, dict) and ("result" in message or "error" in message) and "method" not in message


def request_id_of(message: Any) -> str | int | None:
    """The id of something shaped like a request (it names a method), when JSON-RPC allows it (§4)."""
    return request_id(message) if isinstance(message, dict) and "method" in message else None


def plain_message(message: Any) -> dict[str, Any] | None:
    """`message` (parsed JSON) when it is one plain JSON-RPC 2.0 request or notification, read as the SDK
    reads it, else None: an object with a string `method`, no `result`/`error`, an `id` that is a string
    or an integer (not a boolean), `params` absent or an object."""
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or not isinstance(message.get("method"), str):
        return None
    if "result" in message or "error" in message:
        return None
    if "id" in message and (not isinstance(message["id"], str | int) or isinstance(message["id"], bool)):
        return None
    params = message.get("params")
    if params is not None and not isinstance(params, dict):
        return None
    return message


def error(request_id: str | int | None, code: int, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """A JSON-RPC 2.0 error response (§5.1): the one shape of every refusal mcprt writes itself."""
    body: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        body["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": body}
