"""Over stdio, a line that is not a JSON-RPC request the SDK serves is answered with an error, not dropped.

Found by trial9 (clients of every age): a 2025-03-26 client's JSON-RPC batch — allowed in that
version only —, a line that is not JSON, and a request with `"params": "x"` all got no answer at
all (the SDK's stdio reader drops what its adapter refuses, logging at debug level), so the client
waited forever for its ids. JSON-RPC 2.0 §5.1: -32700 for a parse error, -32600 for an invalid
request (with its id when one can be read, else null); each request of a batch is answered -32600
by its id. The server keeps serving afterwards, and a line that is a malformed *response* is not
answered (its id is in the server's own namespace). Raw JSON-RPC lines, no SDK client in between.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcprt.server.batches import MAX_BATCH
from tests.support.mcp_schema import check
from tests.support.raw_stdio import RawStdio

TOOLS = '''
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b
'''


@pytest.fixture
def served(tmp_path: Path) -> Iterator[RawStdio]:
    (tmp_path / "adder.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  adder: {python: adder}\n")
    server = RawStdio(manifest, tmp_path)
    try:
        yield server
    finally:
        server.close()


def _write(served: RawStdio, line: str) -> None:
    assert served.process.stdin is not None
    served.process.stdin.write(line.encode() + b"\n")
    served.process.stdin.flush()


def _initialize(served: RawStdio, version: str) -> None:
    served.send({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
        "protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
    assert served.read_until("init")["result"]["protocolVersion"] == version
    served.send({"jsonrpc": "2.0", "method": "notifications/initialized"})


@pytest.mark.parametrize("version", ["2024-11-05", "2025-06-18"])
def test_a_batch_is_answered_per_request(served: RawStdio, version: str) -> None:
    """Versions without batching (all but 2025-03-26): each request of a batch refused by its id."""
    _initialize(served, version)
    batch = [{"jsonrpc": "2.0", "id": 7, "method": "ping"},
             {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 1, "progress": 1}},
             {"jsonrpc": "2.0", "id": "b", "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}}]
    _write(served, json.dumps(batch))
    # one array on one line, as over HTTP (JSON-RPC 2.0 §6); a review found separate lines, and a
    # one-request batch answered with a single object, which a client matching a batch reads as no answer
    answers = {answer["id"]: answer for answer in _read_batch_answer(served)}
    assert set(answers) == {7, "b"}, answers
    for answer in answers.values():
        assert answer["error"]["code"] == -32600, answer
        assert "batches are not supported" in answer["error"]["message"], answer
    _write(served, json.dumps(batch[:1]))
    assert [answer["id"] for answer in _read_batch_answer(served)] == [7]
    served.send({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}})
    assert served.read_until(8)["result"]["content"][0]["text"] == "3"  # still serving


def _read_batch_answer(served: RawStdio) -> list[dict[str, Any]]:
    message: Any = served.read()
    while not isinstance(message, list):  # a notification line may come first
        message = served.read()
    return message


def test_a_2025_03_26_batch_is_served(served: RawStdio) -> None:
    """MCP 2025-03-26 allows batches: each request answered, in one array on one line; notifications
    get no answer; an invalid element and `initialize` (which MUST NOT be batched) get -32600."""
    _initialize(served, "2025-03-26")
    batch = [{"jsonrpc": "2.0", "id": 7, "method": "ping"},
             {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"},
             {"jsonrpc": "2.0", "id": "b", "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}},
             {"jsonrpc": "2.0", "id": "l", "method": "tools/list"},
             {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": "x"},
             {"jsonrpc": "2.0", "id": "i", "method": "initialize", "params": {
                 "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}]
    _write(served, json.dumps(batch))
    answers = {answer["id"]: answer for answer in _read_batch_answer(served)}
    assert sorted(answers, key=str) == [7, 9, "b", "i", "l"], answers
    assert answers[7]["result"] == {}
    assert answers["b"]["result"]["content"][0]["text"] == "3"
    check("2025-03-26", "tools/list", answers["l"])  # shaped for the version, as alone
    assert answers[9]["error"]["code"] == -32600
    assert answers["i"]["error"]["code"] == -32600 and "initialize" in answers["i"]["error"]["message"]

    _write(served, json.dumps([{"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}]))
    served.send({"jsonrpc": "2.0", "id": 10, "method": "ping"})
    assert served.read() == {"jsonrpc": "2.0", "id": 10, "result": {}}  # nothing answered the notifications


def test_a_2025_03_26_batch_over_the_limit_is_refused_whole(served: RawStdio) -> None:
    _initialize(served, "2025-03-26")
    _write(served, json.dumps([{"jsonrpc": "2.0", "id": n, "method": "ping"} for n in range(MAX_BATCH + 1)]))
    answers = _read_batch_answer(served)
    assert sorted(answer["id"] for answer in answers) == list(range(MAX_BATCH + 1))
    assert all(answer["error"]["code"] == -32600 and f"at most {MAX_BATCH}" in answer["error"]["message"]
               for answer in answers), answers[0]
    _write(served, json.dumps([{"jsonrpc": "2.0", "id": n, "method": "ping"} for n in range(MAX_BATCH)]))
    assert [answer.get("result") for answer in _read_batch_answer(served)] == [{}] * MAX_BATCH


def test_not_json_and_invalid_requests(served: RawStdio) -> None:
    _initialize(served, "2025-06-18")
    _write(served, "{not json")
    parse = served.read()
    assert (parse["id"], parse["error"]["code"]) == (None, -32700), parse
    _write(served, json.dumps({"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": "x"}))
    invalid = served.read_until(10)
    assert invalid["error"]["code"] == -32600, invalid
    _write(served, json.dumps({"jsonrpc": "1.0", "id": 11, "method": "ping"}))
    assert served.read_until(11)["error"]["code"] == -32600
    _write(served, "[]")
    empty = served.read()
    assert (empty["id"], empty["error"]["code"]) == (None, -32600), empty
    _write(served, json.dumps({"jsonrpc": "2.0", "id": 99, "result": "not an object"}))  # a malformed response
    served.send({"jsonrpc": "2.0", "id": 12, "method": "ping"})
    assert served.read() == {"jsonrpc": "2.0", "id": 12, "result": {}}  # nothing answered the response
    assert "refused a message that is not a JSON-RPC 2.0 request" in served.wait_for_log("-32700")


def test_a_bad_first_line_before_initialize(served: RawStdio) -> None:
    """The very first line (read before the SDK loads: server/early.py) is answered too."""
    _write(served, "[1, 2]")
    (first,) = served.read()  # a batch's answer is an array (JSON-RPC 2.0 §6), here one error: no request had an id
    assert (first["id"], first["error"]["code"]) == (None, -32600), first
    _initialize(served, "2025-11-25")
    served.send({"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert served.read_until(2)["result"] == {}


# ids JSON-RPC 2.0 §4 / MCP do not allow on a request (raw JSON text: `1e999` parses as infinity)
BAD_IDS = {"1.5": "a number with a fraction or exponent", "true": "a boolean", "[1]": "an array",
           '{"a": 1}': "an object", "null": "null", "1e999": "a number with a fraction or exponent"}


@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"])
def test_a_request_with_an_invalid_id_is_answered_and_logged(served: RawStdio, version: str) -> None:
    """Found by a pentest trial: lines with ids `1.5`, `true`, `{"a":1}`, `null` got no answer and no log
    line (the SDK's adapter read each as a notification), while a `ping` after them was answered.
    JSON-RPC 2.0 §5: -32600, id null."""
    _initialize(served, version)
    for raw, kind in BAD_IDS.items():
        _write(served, f'{{"jsonrpc": "2.0", "id": {raw}, "method": "tools/call", '
                       f'"params": {{"name": "add", "arguments": {{"a": 1, "b": 2}}}}}}')
        answer = served.read()
        assert (answer["id"], answer["error"]["code"]) == (None, -32600), (raw, answer)
        assert f"must be a string or an integer (JSON-RPC 2.0 §4; MCP basic: not null), got {kind}" \
            in answer["error"]["message"], answer
    served.send({"jsonrpc": "2.0", "id": 3, "method": "ping"})
    assert served.read() == {"jsonrpc": "2.0", "id": 3, "result": {}}
    assert served.stderr_text().count("refused a message that is not a JSON-RPC 2.0 request (-32600)") == len(BAD_IDS)


def test_an_invalid_id_on_the_first_line_and_in_the_2026_era(served: RawStdio) -> None:
    """Before `initialize` (the early phase, server/early.py) and with no handshake at all (2026-07-28)."""
    from tests.support.modern_client import META
    _write(served, '{"jsonrpc": "2.0", "id": 1.5, "method": "ping"}')
    first = served.read()
    assert (first["id"], first["error"]["code"]) == (None, -32600), first
    _write(served, '{"jsonrpc": "2.0", "id": true, "method": "ping", "params": {"_meta": %s}}' % json.dumps(META))
    modern = served.read()
    assert (modern["id"], modern["error"]["code"]) == (None, -32600), modern
    served.send({"jsonrpc": "2.0", "id": 4, "method": "ping", "params": {"_meta": META}})
    assert served.read_until(4)["id"] == 4, "a valid request after them is answered (the server keeps serving)"


def test_a_valid_but_too_deep_line_says_so_and_keeps_its_id(served: RawStdio) -> None:
    """Found by a pentest trial (over HTTP; stdio read lines the same way): valid JSON nested ~254 levels
    was "not a JSON value", id null."""
    _initialize(served, "2025-06-18")
    nested = "[" * 254 + "1" + "]" * 254
    _write(served, '{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "add", '
                   '"arguments": {"a": 1, "b": 2, "extra": ' + nested + '}}}')
    answer = served.read()
    assert (answer["id"], answer["error"]["code"]) == (7, -32600), answer
    assert "nests more than 200 levels deep" in answer["error"]["message"]
