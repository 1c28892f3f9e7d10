"""A shortened result stays valid against the tool's outputSchema, and its notes count against the limit.

Found by a new-user trial: a map result (`additionalProperties: {type: object, …}`) shortened to
2 KB got a `"…": "2938 more keys omitted"` entry in structuredContent, and the SDK client threw the
whole answer away (MCP: structuredContent MUST conform to the outputSchema). The kind: any marker
the shortener can put into data (a map key, a list item, a string's end) against any keyword that
forbids it. Property-style: every fixture schema below, with a body that fits it, shortened at
several sizes, must give structuredContent that validates (jsonschema, with format checking).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mcprt.contracts import UpstreamResult
from mcprt.shaping import Shaping, compile_template, shape_result
from mcprt.shaping.pagination import cursor_parameters

LONG = "word " * 80

# (name, outputSchema, a body that conforms to it and is far over the smaller limits)
FIXTURES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("typed map values", {"type": "object", "additionalProperties": {
        "type": "object", "properties": {"v": {"type": "integer"}, "s": {"type": "string"}}}},
     {f"k{i}": {"v": i, "s": "ü" * 5} for i in range(600)}),  # the trial's 3,000 keys: below and served
    ("map values required", {"type": "object", "additionalProperties": {
        "type": "object", "properties": {"v": {"type": "integer"}, "s": {"type": "string"}}, "required": ["v", "s"]}},
     {f"k{i}": {"v": i, "s": LONG} for i in range(300)}),
    ("list of objects, minItems", {"type": "object", "properties": {
        "items": {"type": "array", "minItems": 3, "items": {"type": "object", "properties": {"id": {"type": "integer"}}}},
        "next": {"type": "string"}}},
     {"items": [{"id": i, "text": LONG} for i in range(500)], "next": "cursor-abc"}),
    ("string constraints", {"type": "object", "properties": {
        "state": {"type": "string", "enum": [LONG.strip(), "closed"]},
        "sha": {"type": "string", "pattern": "^[0-9a-f]+$"},
        "when": {"type": "string", "format": "date-time"},
        "code": {"type": "string", "maxLength": 800},
        "id": {"type": "string", "minLength": 500}}},
     {"state": LONG.strip(), "sha": "ab" * 300, "when": "2026-01-01T00:00:00." + "1" * 600 + "Z",
      "code": "x " * 390, "id": "y " * 300}),
    ("required keys of a wide object", {"type": "object", "required": ["a0", "z"], "properties": {
        "a0": {"type": "string"}, "z": {"type": "integer"}}, "additionalProperties": {"type": "string"}},
     {"a0": "first", **{f"f{i}": f"v{i}" * 10 for i in range(400)}, "z": 7}),
    ("nested typed maps", {"type": "object", "properties": {"groups": {"type": "object", "additionalProperties": {
        "type": "object", "additionalProperties": {"type": "integer"}}}}},
     {"groups": {f"g{i}": {f"m{j}": j for j in range(60)} for i in range(60)}}),
    ("items with const and nested list", {"type": "object", "properties": {"rows": {"type": "array", "items": {
        "type": "array", "maxItems": 40, "items": {"type": "object", "properties": {"kind": {"const": LONG}}}}}}},
     {"rows": [[{"kind": LONG} for _ in range(5)] for _ in range(40)]}),
]
SIZES = (300, 600, 1_500, 4_000)


def _shape(body: Any, schema: dict[str, Any], limit: int) -> Any:
    raw = json.dumps(body)
    upstream = UpstreamResult(kind="json", status=200, body=body, raw_bytes=len(raw))
    return shape_result(upstream, Shaping(tool="t", structured=True, output_schema=schema, max_result_bytes=limit))


@pytest.mark.parametrize(("name", "schema", "body"), FIXTURES, ids=[f[0] for f in FIXTURES])
def test_every_shortened_structured_content_validates_against_its_output_schema(
    name: str, schema: dict[str, Any], body: dict[str, Any]
) -> None:
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert not list(validator.iter_errors(body)), f"fixture {name} must itself conform"
    for limit in SIZES:
        result = _shape(body, schema, limit)
        assert not result.is_error
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:80]}" for e in validator.iter_errors(
            result.structured_content)]
        assert not errors, (limit, errors)
        # the text block is the same data; the note says what was left out, never the data itself
        assert json.loads(result.content[0]["text"]) == result.structured_content
        assert "omitted" not in json.dumps(result.structured_content, ensure_ascii=False)
        if len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()) > limit:
            note = result.content[-1]["text"]
            assert note.startswith("Note: result shortened")
            if " kept" not in note:  # only what the schema refuses shortened may take the result over its limit
                received = sum(len(block["text"].encode()) for block in result.content)
                assert received <= max(limit, len(note.encode()) + 2)  # or the notes alone are over a tiny limit


def test_what_the_schema_refuses_shortened_is_kept_and_said() -> None:
    schema, body = FIXTURES[3][1], FIXTURES[3][2]  # string constraints
    result = _shape(body, schema, 1_500)
    for name in ("state", "sha", "id"):
        assert result.structured_content[name] == body[name]
    note = result.content[-1]["text"]
    assert "$.sha: kept whole (the tool's outputSchema does not allow it shortened: pattern)" in note
    assert "$.sha: text shortened" not in note  # the earlier detail is no longer true
    # items of ~270 bytes with no long text to cut (a list keeps more items by cutting long texts only): two fit
    whole = {"items": [{"id": i, "text": "word " * 48} for i in range(500)], "next": "cursor-abc"}
    listed = _shape(whole, FIXTURES[2][1], 900)
    assert len(listed.structured_content["items"]) == 3  # as many items back as minItems needs, not the whole list
    assert "$.items: 3 of 500 items kept (the tool's outputSchema's minItems)" in listed.content[-1]["text"]


def test_the_testers_map_keeps_no_marker_key_and_says_what_was_omitted() -> None:
    schema, body = FIXTURES[0][1], {f"k{i}": {"v": i, "s": "ü" * 5} for i in range(3000)}
    result = _shape(body, schema, 2_000)
    assert "…" not in result.structured_content
    assert all(isinstance(value, dict) for value in result.structured_content.values())
    kept = len(result.structured_content)
    assert f"$: {3000 - kept} of 3000 keys omitted" in result.content[-1]["text"]


@pytest.mark.parametrize("limit", [500, 3_000, 20_000])
@pytest.mark.parametrize("structured", [False, True])
def test_what_the_model_receives_notes_included_fits_the_limit(limit: int, structured: bool) -> None:
    """The note block counts: 2,999 bytes of JSON and a 95-byte note against a 3,000 limit was over."""
    body = {"items": [{"id": i, "title": LONG[: 20 + i % 50]} for i in range(400)], "next": "cursor-abc"}
    schema = {"type": "object"} if structured else None
    upstream = UpstreamResult(kind="json", status=200, body=body, raw_bytes=len(json.dumps(body)))
    result = shape_result(upstream, Shaping(tool="t", structured=structured, output_schema=schema,
                                            max_result_bytes=limit))
    received = sum(len(block["text"].encode()) for block in result.content)
    assert received <= limit, received
    assert result.content[-1]["text"].startswith("Note: ")


def test_a_text_result_and_its_note_fit_the_limit_together() -> None:
    text = "line of text\n" * 1_000
    upstream = UpstreamResult(kind="text", status=200, body=text, raw_bytes=len(text))
    result = shape_result(upstream, Shaping(tool="t", max_result_bytes=1_000))
    assert sum(len(block["text"].encode()) for block in result.content) <= 1_000


@pytest.mark.parametrize(("body", "page_size", "said"), [
    ({"items": [{"id": i, "t": LONG} for i in range(500)], "next": "cursor-abc"}, None, "(`next`)"),
    ({"data": [{"id": i, "t": LONG} for i in range(500)], "nextPageToken": "tok"}, "pageSize", "smaller `pageSize`"),
    ({"data": [{"id": i, "t": LONG} for i in range(500)], "links": {"next": "https://x/?page=2"}}, None,
     "(`links.next`)"),
    ({"messages": [{"t": LONG} for _ in range(500)], "response_metadata": {"next_cursor": "dXNlcjpV"}}, "limit",
     "smaller `limit`"),
    ({"data": [{"id": i, "t": LONG} for i in range(500)]}, "per_page", "smaller `per_page`"),
])
def test_a_shortened_page_says_the_omitted_items_are_not_on_the_next_page(
    body: dict[str, Any], page_size: str | None, said: str
) -> None:
    upstream = UpstreamResult(kind="json", status=200, body=body, raw_bytes=len(json.dumps(body)))
    result = shape_result(upstream, Shaping(tool="list_page", max_result_bytes=3_000, page_size=page_size))
    note = result.content[-1]["text"]
    assert "NOT on the next page" in note and said in note, note
    if page_size is None:
        assert "fewer items per page" in note


ITEMS = [{"id": i, "t": LONG} for i in range(500)]


@pytest.mark.parametrize(("body", "parameters"), [
    ({"items": ITEMS, "next": None}, None),
    # named like a cursor, but no cursor: a time filter echoed back, an object, a flag
    ({"after": "2026-01-01T00:00:00Z", "items": ITEMS}, None),
    ({"after": "2026-01-01T00:00:00Z", "items": ITEMS}, frozenset({"after"})),
    ({"marker": {"id": 7, "at": "x"}, "items": ITEMS}, None),
    ({"marker": {"id": 7}, "items": ITEMS}, frozenset({"marker"})),
    ({"next": True, "items": ITEMS}, None),
    # without the spec, conservatively: `after`/`marker` alone are too often something else
    ({"after": "b3BhcXVl", "items": ITEMS}, None),
    # with it, a token no parameter of the operation can take back
    ({"next": "b3BhcXVl", "items": ITEMS}, frozenset({"since", "q"})),
    # a page whose one long text was shortened lost no item
    ({"items": [{"id": 0, "t": LONG * 200}], "next": "cursor-abc"}, frozenset({"cursor"})),
    # nor one whose item lost items of its own list: the next page would not bring them back (review)
    ({"items": [{"id": 0, "tags": [LONG] * 40}], "next": "tok"}, frozenset({"cursor"})),
    ({"items": [{"id": 0, "tags": {f"k{i}": LONG for i in range(40)}}], "next": "tok"}, frozenset({"cursor"})),
    # the kind of the time filter echoed back, not one spelling (review): a number, a number in text, an HTTP date
    ({"after": 1735689600, "items": ITEMS}, frozenset({"after", "q"})),
    ({"after": "1735689600", "items": ITEMS}, frozenset({"after", "q"})),
    ({"after": "Thu, 01 Jan 2026 00:00:00 GMT", "items": ITEMS}, frozenset({"after", "q"})),
    ({"marker": "1735689600.5", "items": ITEMS}, frozenset({"marker"})),
    # `after`/`marker` only back into a parameter of their own name: `page` takes no `after` (review)
    ({"items": ITEMS, "after": 1735689600}, frozenset({"page", "afterts"})),
    ({"items": ITEMS, "after": "b3BhcXVl"}, frozenset({"page", "cursor"})),
])
def test_a_shortened_result_without_a_cursor_or_page_size_gets_no_page_note(
    body: dict[str, Any], parameters: frozenset[str] | None
) -> None:
    upstream = UpstreamResult(kind="json", status=200, body=body, raw_bytes=len(json.dumps(body)))
    for template in (None, compile_template("{{ result | tojson }}", kind="output")):
        result = shape_result(upstream, Shaping(tool="t", max_result_bytes=3_000, output=template,
                                                cursor_parameters=parameters))
        note = result.content[-1]["text"]
        assert note.startswith("Note: ") and "next page" not in note, note


@pytest.mark.parametrize(("body", "parameters", "said"), [
    ({"items": ITEMS, "after": "b3BhcXVl"}, frozenset({"after", "limit"}), "(`after`)"),
    ({"items": ITEMS, "nextMarker": "m-2"}, frozenset({"marker"}), "(`nextMarker`)"),
    ({"items": ITEMS, "next_page": 3}, frozenset({"page"}), "(`next_page`)"),
    ({"items": ITEMS, "next": "https://x/?page=2"}, frozenset({"q"}), "(`next`)"),  # a link needs no parameter
    ({"items": ITEMS, "pageInfo": {"endCursor": "Y3Vy", "hasNextPage": True}}, frozenset({"after"}),
     "(`pageInfo.endCursor`)"),
    # a page keyed by id that lost keys lost entries (review: main said so, the shortened-items fix did not)
    ({"entries": {f"k{i}": {"t": LONG} for i in range(300)}, "next_cursor": "abc"}, frozenset({"cursor"}),
     "(`next_cursor`)"),
    ({"entries": {f"k{i}": {"t": LONG} for i in range(300)}, "next_cursor": "abc"}, None, "(`next_cursor`)"),
    # a page that lost items and whose items' lists were cut too
    ({"items": [{"id": i, "tags": [LONG] * 3} for i in range(300)], "next": "tok"}, frozenset({"cursor"}),
     "(`next`)"),
])
def test_a_cursor_the_operation_takes_back_gets_the_page_note(
    body: dict[str, Any], parameters: frozenset[str] | None, said: str
) -> None:
    upstream = UpstreamResult(kind="json", status=200, body=body, raw_bytes=len(json.dumps(body)))
    for template in (None, compile_template("{{ result | tojson }}", kind="output")):
        note = shape_result(upstream, Shaping(tool="t", max_result_bytes=3_000, output=template,
                                              cursor_parameters=parameters)).content[-1]["text"]
        assert "NOT on the next page" in note and said in note, note


def test_a_parameter_for_a_date_time_or_a_number_takes_no_cursor_back() -> None:
    """The tool's input schema decides which parameters can take a cursor: not `after: {format: date-time}`,
    `since: {type: integer}` (a time filter, review), but a page number and text."""
    schema = {"type": "object", "properties": {
        "after": {"type": "string", "format": "date-time"}, "marker": {"type": "integer"}, "since": {"type": "number"},
        "updated_before": {"type": "string", "format": "date"}, "page": {"type": "integer"},
        "starting_after": {"type": "string"}, "q": {}}}
    assert cursor_parameters(schema) == frozenset({"page", "startingafter", "q"})
    body = {"after": "b3BhcXVl", "items": ITEMS}
    upstream = UpstreamResult(kind="json", status=200, body=body, raw_bytes=len(json.dumps(body)))
    note = shape_result(upstream, Shaping(tool="t", max_result_bytes=3_000,
                                          cursor_parameters=cursor_parameters(schema))).content[-1]["text"]
    assert "next page" not in note, note


# The review sent 5 MB against a 100 KB limit; the same ratios at a tenth of both keep each case's power
# (an uncapped restore sends 50 times the limit) at a tenth of the cost.
LIMIT = 10_000
BIG = 50 * LIMIT
HEX = {"type": "string", "pattern": "^[0-9a-f]+$"}
REFUSED = [  # the review's inputs, scaled: each is 50 times the limit
    ("string under pattern", {"type": "object", "properties": {"sha": HEX, "id": {"type": "integer"}}},
     {"id": 1, "sha": "ab" * (BIG // 2)}),
    ("map under root minProperties", {"type": "object", "minProperties": 80,
                                     "additionalProperties": {"type": "string"}},
     {f"k{i}": "v" * 200 for i in range(2_500)}),  # ~46 keys fit 10 KB: 34 more restored, not 2,454
    ("list under contains", {"type": "object", "properties": {
        "id": {"type": "integer"}, "l": {"type": "array", "contains": {"const": "END"}}}},
     {"id": 1, "l": ["v" * 500] * 1_000 + ["END"]}),
]


@pytest.mark.parametrize(("name", "schema", "body"), REFUSED, ids=[r[0] for r in REFUSED])
def test_what_the_schema_refuses_shortened_is_restored_only_within_the_limit(
    name: str, schema: dict[str, Any], body: dict[str, Any]
) -> None:
    result = _shape(body, schema, LIMIT)
    assert not result.is_error, result.content
    received = sum(len(block["text"].encode()) for block in result.content)
    assert received <= 2 * LIMIT, received  # the limit, and at most as much again restored
    Draft202012Validator(schema).validate(result.structured_content)


def test_root_min_properties_restores_only_up_to_the_minimum() -> None:
    schema, body = REFUSED[1][1], {f"k{i}": "v" * 50 for i in range(2_000)}
    assert len(_shape(body, schema, 3_000).structured_content) == 80  # 4.6 KB: the limit and less than as much again


def test_a_node_past_the_restore_cap_is_dropped_where_its_parent_allows_it() -> None:
    result = _shape(REFUSED[0][2], REFUSED[0][1], LIMIT)
    assert result.structured_content == {"id": 1}
    assert "$.sha: omitted (the tool's outputSchema does not allow it shortened" in result.content[-1]["text"]


def test_a_result_that_cannot_conform_within_the_limit_is_an_error_naming_the_setting() -> None:
    schema = {"type": "object", "required": ["sha"], "properties": {"sha": HEX}}
    result = _shape({"sha": "ab" * (BIG // 2)}, schema, LIMIT)
    assert result.is_error and result.structured_content is None
    assert f"cannot be shortened to fit the tool's outputSchema within the result limit of {LIMIT:,} bytes" \
        in result.content[0]["text"] and "`max_result_bytes`" in result.content[0]["text"]


def test_a_node_the_upstream_sent_invalid_is_never_restored() -> None:
    schema = {"type": "object", "properties": {"sha": HEX}}
    # 1.5 times the limit: restoring it would fit the restore cap, so only the validity check keeps it out
    result = _shape({"sha": "zz " * (LIMIT // 2)}, schema, LIMIT)
    assert sum(len(block["text"].encode()) for block in result.content) <= LIMIT
    assert "kept whole" not in result.content[-1]["text"]


@pytest.mark.parametrize("limit", [3_000, 10_000])
def test_a_long_text_cut_at_word_boundaries_fits_the_limit_with_its_note(limit: int) -> None:
    """Found shrinking the cases above: `{"sha": "zz zz …"}` (300 KB) at 10,000 bytes came out at 10,001;
    each refit lowered the budget by the overshoot, and the cut, on a word boundary, gave the same text."""
    body = {"sha": "zz " * 100_000}
    upstream = UpstreamResult(kind="json", status=200, body=body, raw_bytes=len(json.dumps(body)))
    for structured in (False, True):
        result = shape_result(upstream, Shaping(tool="t", structured=structured, max_result_bytes=limit,
                                                output_schema={"type": "object"} if structured else None))
        assert sum(len(block["text"].encode()) for block in result.content) <= limit, structured
