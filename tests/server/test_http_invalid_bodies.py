"""Over streamable HTTP, a body that is not a JSON-RPC request gets a JSON-RPC error that says what is wrong.

Found by trial9 (clients of every age): a 2025-03-26 client's JSON-RPC batch (allowed in that version
only) and a request with `"params": "x"` got 400 with code -32602 and, as the message, pydantic's
report on four union members with a link to errors.pydantic.dev — nothing a client or its user can
act on, and the request's id was dropped (null). Now: -32600 Invalid Request (JSON-RPC 2.0 §5.1)
with the request's id when one can be read, each request of a batch answered by its id saying
batches are not supported; a body that is not JSON is -32700. The session keeps serving.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcprt.server.batches import MAX_BATCH
from tests.support.mcp_schema import check
from tests.support.adder import adder_manifest, adder_up
from tests.support.served import UpProcess, mcprt_http

ACCEPT = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


pytestmark = pytest.mark.xdist_group("test_http_invalid_bodies")  # one started server per run, not one per worker


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    yield from adder_up(tmp_path_factory, "bodies")


def _session(up: UpProcess, version: str) -> dict[str, str]:
    opened = httpx.post(up.url, headers=ACCEPT, timeout=60, json={
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
    headers = {**ACCEPT, "mcp-session-id": opened.headers["mcp-session-id"]}
    if version >= "2025-06-18":
        headers["mcp-protocol-version"] = version
    httpx.post(up.url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, timeout=60)
    return headers


def _post(up: UpProcess, headers: dict[str, str], body: str) -> tuple[int, Any]:
    response = httpx.post(up.url, headers=headers, content=body, timeout=60)
    return response.status_code, response.json()


@pytest.mark.parametrize("version", ["2024-11-05", "2025-06-18"])
def test_a_batch_is_answered_per_request(up: UpProcess, version: str) -> None:
    """Versions without batching (all but 2025-03-26): each request of a batch refused by its id."""
    headers = _session(up, version)
    batch = [{"jsonrpc": "2.0", "id": 7, "method": "ping"},
             {"jsonrpc": "2.0", "id": "b", "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}}]
    status, answers = _post(up, headers, json.dumps(batch))
    assert status == 400
    assert [a["id"] for a in answers] == [7, "b"], answers
    for answer in answers:
        assert answer["error"]["code"] == -32600 and "batches are not supported" in answer["error"]["message"], answer
        assert "pydantic" not in answer["error"]["message"]
    # a batch of one request is still a batch: answered with an array (JSON-RPC 2.0 §6), not the single
    # object a client matching a batch's answers finds none in; so is a batch of notifications only
    for one in ([batch[0]], [{"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}]):
        status, answers = _post(up, headers, json.dumps(one))
        assert status == 400 and isinstance(answers, list) and len(answers) == 1, answers
        assert answers[0]["id"] == one[0].get("id") and "batches are not supported" in answers[0]["error"]["message"]
    status, answer = _post(up, headers, json.dumps(
        {"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}}))
    assert (status, answer["result"]["content"][0]["text"]) == (200, "3")  # the session keeps serving


def test_a_2025_03_26_batch_is_served(up: UpProcess) -> None:
    """MCP 2025-03-26 allows batches: one JSON array of answers (notifications get none); a batch of
    notifications only is 202 Accepted with no body; a batch over the limit is refused whole."""
    headers = _session(up, "2025-03-26")
    batch = [{"jsonrpc": "2.0", "id": 7, "method": "ping"},
             {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"},
             {"jsonrpc": "2.0", "id": "b", "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}},
             {"jsonrpc": "2.0", "id": "l", "method": "tools/list"},
             {"jsonrpc": "2.0", "id": "i", "method": "initialize", "params": {
                 "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}]
    response = httpx.post(up.url, headers=headers, content=json.dumps(batch), timeout=60)
    assert (response.status_code, response.headers["content-type"]) == (200, "application/json"), response.text
    answers = {answer["id"]: answer for answer in response.json()}
    assert sorted(answers, key=str) == [7, "b", "i", "l"], answers
    assert answers[7]["result"] == {} and answers["b"]["result"]["content"][0]["text"] == "3"
    check("2025-03-26", "tools/list", answers["l"])
    assert answers["i"]["error"]["code"] == -32600

    only = httpx.post(up.url, headers=headers, timeout=60,
                      content=json.dumps([{"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}] * 2))
    assert (only.status_code, only.content) == (202, b"")

    status, refused = _post(up, headers, json.dumps([{"jsonrpc": "2.0", "id": n, "method": "ping"}
                                                     for n in range(MAX_BATCH + 1)]))
    assert status == 200 and len(refused) == MAX_BATCH + 1
    assert all(answer["error"]["code"] == -32600 and f"at most {MAX_BATCH}" in answer["error"]["message"]
               for answer in refused)


def test_an_invalid_request_names_its_id(up: UpProcess) -> None:
    headers = _session(up, "2025-11-25")
    status, answer = _post(up, headers, json.dumps({"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": "x"}))
    assert (status, answer["id"], answer["error"]["code"]) == (400, 10, -32600), answer
    assert "pydantic" not in answer["error"]["message"] and "not a JSON-RPC 2.0 message" in answer["error"]["message"]
    status, answer = _post(up, headers, "{not json")
    assert (status, answer["id"], answer["error"]["code"]) == (400, None, -32700), answer
    # said of what HTTP carries: "the line is not a JSON value" was stdio's wording
    assert "the request body is not a JSON value" in answer["error"]["message"], answer


def test_without_a_session(up: UpProcess) -> None:
    status, answers = _post(up, ACCEPT, json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}]))
    assert status == 400 and [(a["id"], a["error"]["code"]) for a in answers] == [(1, -32600)], answers


def test_stateless_http(tmp_path: Path) -> None:
    """`--stateless` answers each request on a transport of its own: the same refusals."""
    with mcprt_http(adder_manifest(tmp_path), "--no-reload", "--stateless") as up:
        status, answers = _post(up, ACCEPT, json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                                         {"jsonrpc": "2.0", "id": 2, "method": "ping"}]))
        assert status == 400 and [a["id"] for a in answers] == [1, 2], answers
        assert all(a["error"]["code"] == -32600 and "batches" in a["error"]["message"] for a in answers)
        status, answers = _post(up, ACCEPT, json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]))
        assert status == 400 and [a["id"] for a in answers] == [1], answers  # one request, still an array
        status, answer = _post(up, ACCEPT, "{not json")
        assert answer["error"]["code"] == -32700 and "request body" in answer["error"]["message"], answer
        status, answer = _post(up, ACCEPT, json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": "x"}))
        assert (status, answer["id"], answer["error"]["code"]) == (400, 3, -32600), answer
        status, answer = _post(up, ACCEPT, json.dumps(
            {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}}))
        assert (status, answer["result"]["content"][0]["text"]) == (200, "3")
        # The Content-Type rule comes first (server/post_headers.py), as on the stateful path: a media type that only
        # starts like JSON's is 415, not our 400 for a body that is not JSON.
        response = httpx.post(up.url, headers={**ACCEPT, "content-type": "application/json-seq"}, content="{not json",
                              timeout=60)
        assert response.status_code == 415, (response.status_code, response.text)


# ids JSON-RPC 2.0 §4 / MCP do not allow on a request (the raw JSON text: `1e999` parses as infinity)
BAD_IDS = {"1.5": "a number with a fraction or exponent", "true": "a boolean", "[1]": "an array",
           '{"a": 1}': "an object", "null": "null", "1e999": "a number with a fraction or exponent"}


@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"])
def test_a_request_with_an_invalid_id_is_answered_not_dropped(up: UpProcess, version: str) -> None:
    """Found by a pentest trial: the SDK's adapter read `{"id": 1.5, "method": "tools/call", …}` as a
    notification (its id ignored), so the body got 202 and no answer, the call never ran, and nothing was
    logged; a client with a loose id serializer waited for its own timeout. JSON-RPC 2.0 §5: -32600,
    id null (the id cannot be read)."""
    headers = _session(up, version)
    mark = up.log_mark()
    for raw, kind in BAD_IDS.items():
        for method, params in (("tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}}), ("ping", None)):
            body = f'{{"jsonrpc": "2.0", "id": {raw}, "method": "{method}"' + (
                f', "params": {json.dumps(params)}}}' if params else "}")
            status, answer = _post(up, headers, body)
            assert (status, answer["id"], answer["error"]["code"]) == (400, None, -32600), (raw, answer)
            assert f"must be a string or an integer (JSON-RPC 2.0 §4; MCP basic: not null), got {kind}" \
                in answer["error"]["message"], answer
    # a notification (no id at all) is still a notification, and the session keeps serving
    notified = httpx.post(up.url, headers=headers, timeout=60,
                          content=json.dumps({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}))
    assert (notified.status_code, notified.content) == (202, b"")
    status, answer = _post(up, headers, json.dumps(
        {"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}}))
    assert (status, answer["result"]["content"][0]["text"]) == (200, "3")
    assert "refused a message that is not a JSON-RPC 2.0 request code=-32600" in up.log_since(mark), up.log_since(mark)


def test_a_2026_request_with_an_invalid_id_is_refused_too(up: UpProcess) -> None:
    """The 2026-07-28 era (no handshake, `_meta` on each request) refused these before; pinned here."""
    from tests.support.modern_client import META
    headers = {**ACCEPT, "mcp-protocol-version": "2026-07-28", "mcp-method": "ping"}
    for raw in BAD_IDS:
        body = f'{{"jsonrpc": "2.0", "id": {raw}, "method": "ping", "params": {{"_meta": {json.dumps(META)}}}}}'
        status, answer = _post(up, headers, body)
        assert (status, answer["id"], answer["error"]["code"]) == (400, None, -32600), (raw, answer)


def test_a_valid_but_too_deep_request_says_so_and_keeps_its_id(up: UpProcess) -> None:
    """Found by a pentest trial: an argument nested ~254 levels got -32700 "the request body is not a JSON
    value" with id null, though the body was valid JSON and its id (7) readable. Depth 100 is served."""
    headers = _session(up, "2025-06-18")
    def call(depth: int, rid: object) -> str:
        nested = "[" * depth + "1" + "]" * depth
        return ('{"jsonrpc": "2.0", "id": ' + json.dumps(rid) + ', "method": "tools/call", "params": {"name": "add", '
                '"arguments": {"a": 1, "b": 2, "extra": ' + nested + '}}}')
    status, answer = _post(up, headers, call(100, 6))
    assert status == 200 and answer["id"] == 6  # served (the tool refuses the unknown argument or ignores it)
    for rid in (7, "seven"):
        status, answer = _post(up, headers, call(254, rid))
        assert (status, answer["id"], answer["error"]["code"]) == (400, rid, -32600), answer
        assert "nests more than 200 levels deep" in answer["error"]["message"], answer
        assert "not a JSON value" not in answer["error"]["message"]
    # an `"id"` nested in the arguments is not the request's
    status, answer = _post(up, headers, call(254, 8).replace('"a": 1', '"id": 99, "a": 1'))
    assert answer["id"] == 8, answer


def test_a_deep_2026_request_is_read(up: UpProcess) -> None:
    """The 2026-07-28 path reads the same deep body (its parser has no such depth limit): answered by id,
    here with the tool's own refusal of the unknown argument, never a parse error."""
    from tests.support.modern_client import META
    headers = {**ACCEPT, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "add"}
    body = ('{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "add", "_meta": '
            + json.dumps(META) + ', "arguments": {"a": 1, "b": 2, "extra": ' + "[" * 254 + "]" * 254 + "}}}")
    status, answer = _post(up, headers, body)
    assert (status, answer["id"]) == (200, 7) and "error" not in answer, answer
    assert "unknown argument 'extra'" in answer["result"]["content"][0]["text"], answer
