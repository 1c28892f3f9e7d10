"""`sent_size` (shaping/sent.py): the one rule for "sent bytes" — what the model reads of a result."""

from __future__ import annotations

import json

from mcprt.contracts import UpstreamResult
from mcprt.shaping import Shaping, compile_prune, shape_result
from mcprt.shaping.limits import json_size
from mcprt.shaping.sent import Mirror, mirrored_block, sent_size

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


def test_an_unshaped_result_of_any_kind_shows_raw_equal_to_sent() -> None:
    """#15 fault 2's kind: raw and sent measured two ways. A proxied `-> str` tool's result (its text and the
    SDK's `{"result": <text>}` copy) counted its whole JSON-RPC result as raw (153 bytes for a 20-byte echo,
    "saved 87%"); a binary body counted its bytes as raw and their base64 as sent (-33 % "saved")."""
    echo = "echo:hi:pid=4242:abcd"
    proxied = UpstreamResult(kind="content", content=[{"type": "text", "text": echo}], structured={"result": echo},
                             raw_bytes=153)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
    binary = UpstreamResult(kind="binary", body=png, raw_bytes=len(png), media_type="image/png", status=200)
    blob = UpstreamResult(kind="binary", body=png[8:], raw_bytes=len(png) - 8, media_type="application/pdf")
    for upstream in (proxied, binary, blob):
        result = shape_result(upstream, Shaping(tool="t"))
        assert result.raw_bytes == result.sent_bytes > 0, (upstream.kind, result.raw_bytes, result.sent_bytes)


def test_a_structured_content_no_text_block_repeats_counts() -> None:
    """It is sent and read as well as the blocks, and the result size limit bounds this same figure."""
    structured = {"items": [1, 2, 3]}
    assert sent_size([{"type": "text", "text": "3 items"}], structured) == 7 + len('{"items":[1,2,3]}')
    indented = json.dumps(structured, indent=2)
    assert sent_size([{"type": "text", "text": indented}], structured) == len(indented)  # a copy: once



def test_the_empty_structured_placeholder_beside_content_is_not_counted() -> None:
    """Review: a tool declaring an outputSchema (`structured: true`) sends `{}` beside its text, and it was
    counted: `json raw 23 sent 25`, "saved" negative (the README promises never a negative figure)."""
    body = [{"id": 1, "name": "Rex"}]
    raw = len(json.dumps(body, **COMPACT).encode())
    for kind, answer, size in [("json", body, raw), ("text", "hello world", 11)]:
        result = shape_result(UpstreamResult(kind=kind, body=answer, raw_bytes=size, status=200),
                              Shaping(tool="t", structured=True))
        assert result.structured_content == {} and result.raw_bytes == result.sent_bytes == size, kind
    assert sent_size([], {}) == 2  # with no content, `{}` is the whole result

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


def test_one_rule_finds_the_text_block_a_structured_content_repeats() -> None:
    """The `{"result": text}` wrapper check lived twice (`result._wraps_text`, any block equal to the wrapped
    text; `sent.mirrored_block`, the first block that is the text or the JSON): given both, one said "a wrapper"
    and the other pointed at the JSON block, so pruning and the result limit treated the pair differently.
    Now one `Mirror` (index, wrapped) serves both call sites, a wrapped copy first."""
    text = '{"id":1}'
    wrapper = {"result": text}
    both = [{"type": "text", "text": json.dumps(wrapper, **COMPACT)}, {"type": "text", "text": text}]
    assert mirrored_block(both, wrapper) == Mirror(1, True)
    assert mirrored_block([{"type": "text", "text": text}], {"id": 1}) == Mirror(0, False)
    assert mirrored_block([{"type": "text", "text": json.dumps({"id": 1}, indent=2)}], {"id": 1}) == Mirror(0, False)
    assert mirrored_block([{"type": "text", "text": "other"}], wrapper) is None
    assert mirrored_block([{"type": "image", "data": text, "mimeType": "image/png"}], wrapper) is None
