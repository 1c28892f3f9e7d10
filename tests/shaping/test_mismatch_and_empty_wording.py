"""What a result says about itself stays small and says no data.

Found by review of the outputSchema check and the empty-rendering wording: the mismatch note quoted
the whole offending value (jsonschema's message), unbounded and added after fitting to the limit (limit
20,000 → 31,268 bytes sent); a template that rendered nothing on purpose showed 200 characters of the
data (a `session_token`); a 204 with a template read "No results (empty text)." where without one it
reads "HTTP 204 No Content (empty body)"."""

from __future__ import annotations

import json

import pytest

from mcprt.contracts import UpstreamResult
from mcprt.expressions.templates import compile_template
from mcprt.shaping.result import Shaping, shape_result
from mcprt.schema.structured_check import StructuredCheck

MAX_PROBLEM = 200  # characters (structured_check.MAX_PROBLEM)

SCHEMA = {"type": "object", "properties": {"id": {"type": ["integer", "null"]}, "n": {"type": "integer", "minimum": 0},
                                           "name": {"type": "string"}}}


def _json(body: object, limit: int) -> tuple[object, list[str]]:
    shaping = Shaping(max_result_bytes=limit, tool="t", structured=True, output_schema=SCHEMA,
                      structured_check=StructuredCheck(SCHEMA))
    raw = len(json.dumps(body))
    result = shape_result(UpstreamResult(kind="json", body=body, raw_bytes=raw, status=200), shaping)
    return result, [block["text"] for block in result.content]


@pytest.mark.parametrize(("body", "limit", "problem"), [
    ({"id": ["x" * 100] * 150, "name": "n"}, 20_000, "$.id: array, expected integer/null"),  # fits, note small
    ({"id": ["x" * 100] * 150, "name": "n"}, 4_000, "$.id: array, expected integer/null"),  # shortened: note counted
    ({"id": "secret-" + "y" * 5_000}, 2_000, "$.id: string, expected integer/null"),
    ({"n": -5, "name": "ok"}, 2_000, '$.n: integer, fails "minimum"'),
    ({"id": 1, "k" * 500: 1, "n": {"k" * 300: 1}}, 2_000, '$.n: object, expected integer'),
])
def test_a_mismatch_note_names_path_and_types_only_within_the_limit(body, limit, problem):
    result, texts = _json(body, limit)
    assert result.structured_content == {}
    note = texts[-1]
    assert f"({problem})" in note and "secret" not in note and "xxx" not in note, note
    assert len(note) <= MAX_PROBLEM + 200
    assert sum(len(text.encode()) for text in texts) <= limit, [len(t) for t in texts]


def test_a_long_path_is_cut():
    result, texts = _json({"a" * 400: 1, "id": 1, "n": "z"}, 5_000)
    assert '($.n: string, expected integer)' in texts[-1]
    check = StructuredCheck({"type": "object", "properties": {"k" * 400: {"type": "integer"}}})
    problem = check.problem({"k" * 400: "v"})
    assert problem is not None and len(problem) <= MAX_PROBLEM and problem.endswith("string, expected integer")


def _rendered(template: str, upstream: UpstreamResult) -> list[str]:
    shaping = Shaping(output=compile_template(template, kind="output"), tool="t")
    return [block["text"] for block in shape_result(upstream, shaping).content]


def test_a_template_that_renders_nothing_shows_no_data():
    up = UpstreamResult(kind="json", body={"ok": True, "session_token": "s3cr3t"}, raw_bytes=40, status=200)
    texts = _rendered("{% if result.error is defined %}{{ result.error }}{% endif %}", up)
    assert texts == ["No text for this result: its output template rendered nothing from the data."]


@pytest.mark.parametrize("status", [204, 200])
def test_an_empty_text_body_keeps_its_status_wording_with_a_template(status):
    reason = {204: "No Content", 200: "OK"}[status]
    up = UpstreamResult(kind="text", body="", raw_bytes=0, status=status)
    assert _rendered("{{ result }}", up) == [f"HTTP {status} {reason} (empty body)"]
    assert [b["text"] for b in shape_result(up, Shaping(tool="t")).content] == [f"HTTP {status} {reason} (empty body)"]
    a_value = UpstreamResult(kind="json", body="", raw_bytes=2, status=200)  # a JSON "" is a value, not no body
    assert _rendered("{{ result }}", a_value) == ["No results (empty text)."]
    empty = UpstreamResult(kind="json", body=[], raw_bytes=2, status=200)
    assert _rendered("{% for x in result %}{{ x }}{% endfor %}", empty) == ["No results (empty list)."]
