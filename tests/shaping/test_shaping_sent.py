"""`sent_size` (shaping/sent.py): the one rule for "sent bytes" — what the model reads of a result."""

from __future__ import annotations

import json

from mcprt.contracts import UpstreamResult
from mcprt.shaping import Shaping, compile_prune, shape_result
from mcprt.shaping.limits import json_size
from mcprt.shaping.sent import sent_size

COMPACT = {"separators": (",", ":"), "ensure_ascii": False}


def test_each_block_counts_its_payload_in_utf8() -> None:
    content = [{"type": "text", "text": "héllo"}, {"type": "image", "data": "iVBORw0K", "mimeType": "image/png"},
               {"type": "audio", "data": "UklGRg==", "mimeType": "audio/wav"},
               {"type": "resource", "resource": {"uri": "mcprt://result/t", "text": "ab"}},
               {"type": "resource", "resource": {"uri": "mcprt://result/t", "blob": "AAAA"}},
               {"type": "resource_link", "uri": "file:///x", "name": "x"}]
    assert sent_size(content) == 6 + 8 + 8 + 2 + 4 + len("file:///x")


def test_structured_content_counts_only_without_content() -> None:
    structured = {"id": 1, "name": "Ünïcode"}
    text = json.dumps(structured, **COMPACT)
    assert sent_size([{"type": "text", "text": text}], structured) == len(text.encode())  # one copy, not two
    assert sent_size([], structured) == len(text.encode())
    assert sent_size([]) == 0


def test_an_unpruned_compact_json_body_is_not_reported_larger_than_it_came() -> None:
    """The operator trial's kind: `357 → 691 bytes (93.6 % more)` for a tool passing compact JSON through."""
    body = {"id": 7, "name": "Rex", "tags": ["a", "b"], "owner": {"name": "Ann \"the\" Smith", "city": "Zürich"}}
    raw = len(json.dumps(body, **COMPACT).encode())
    result = shape_result(UpstreamResult(kind="json", body=body, raw_bytes=raw, status=200), Shaping(tool="get"))
    assert result.structured_content == body and result.sent_bytes == raw  # saved 0 %, not negative
    pruned = shape_result(UpstreamResult(kind="json", body=body, raw_bytes=raw, status=200),
                          Shaping(tool="get", pruner=compile_prune("{id: id, name: name}")))
    assert pruned.sent_bytes == len('{"id":7,"name":"Rex"}') < raw  # what pruning removed is what is saved


def test_a_result_holding_a_lone_surrogate_is_shaped_and_measured() -> None:
    """The upstream body `{"name": "Rex\\ud800"}` decodes to a lone surrogate: shaping it under a
    size limit (which measures every subtree) and counting its sent bytes both use the one UTF-8
    rule (`limits.utf8_length`), so the result is shortened as any other, not an internal error."""
    body = json.loads('{"name": "Rex\\ud800", "items": ["' + "a" * 300 + '"]}')
    result = shape_result(UpstreamResult(kind="json", body=body, raw_bytes=330, status=200),
                          Shaping(tool="get", max_result_bytes=200))
    assert not result.is_error and result.structured_content["name"] == "Rex\ud800"
    assert json_size(result.structured_content) < 200
    assert result.sent_bytes == sent_size(result.content, result.structured_content) <= 200  # the note included
