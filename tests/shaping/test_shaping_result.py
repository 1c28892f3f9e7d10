"""`shape_result`: every rule of result.py's docstring, on realistic upstream results."""

from __future__ import annotations

import base64
import copy
import json
import logging

import pytest
from mcp.types import CallToolResult
from syrupy.extensions.json import JSONSnapshotExtension

from mcprt.manifest.model import AutoPrune
from mcprt.shaping import (
    ERROR_BODY_BYTES,
    Shaping,
    compile_autoprune,
    compile_prune,
    compile_template,
    shape_result,
)
from mcprt.contracts import ToolResult, UpstreamResult
from mcprt.shaping.result import PRUNE_EXCERPT

LIST_VIEW = "[].{number: number, title: title, state: state, user: user.login, labels: labels[].name}"
ISSUE_LINES = "{% for i in result %}\n#{{ i.number }} {{ i.title }} ({{ i.state }}, @{{ i.user }})\n{% endfor %}"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 20


def compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _parses(text: object) -> object:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def shape(upstream: UpstreamResult, **shaping) -> ToolResult:
    """Shape, and check the result is a valid MCP tools/call result with honest byte counts."""
    shaping.setdefault("tool", "list_issues")
    result = shape_result(upstream, Shaping(**shaping))
    wire = result.to_wire()
    CallToolResult.model_validate(wire)  # the real SDK's model accepts it
    assert result.sent_bytes == model_reads(result)
    # raw is the upstream's answer measured as sent is: a proxied result by the same rule, a binary body
    # as its base64 (the form it is sent in), a text or JSON body as received
    if upstream.kind == "content":
        expected_raw = model_reads(ToolResult(content=upstream.content or [], structured_content=upstream.structured))
    else:
        expected_raw = (upstream.raw_bytes + 2) // 3 * 4 if upstream.kind == "binary" else upstream.raw_bytes
    assert result.raw_bytes == expected_raw
    if upstream.kind == "content" and "max_result_bytes" in shaping:
        # a proxied result's limit bounds the result object as sent: every field, escaping, the notes; a
        # structuredContent a text block repeats counted once (README "Size limits")
        counted = dict(wire)
        structured = counted.get("structuredContent")
        if any(block.get("type") == "text" and structured is not None
               and (_parses(block.get("text")) == structured or structured == {"result": block.get("text")})
               for block in counted.get("content", [])):
            counted.pop("structuredContent")
        assert len(json.dumps(counted, separators=(",", ":"), ensure_ascii=False).encode()) <= shaping["max_result_bytes"]
    return result


def model_reads(result: ToolResult) -> int:
    """Sent bytes by shaping/sent.py's rule, written out: each block's payload in UTF-8 (text, base64
    data, a resource's text or blob), plus structuredContent's compact JSON unless a text block repeats it."""
    size = 0
    for block in result.content:
        payload = {"text": block.get("text"), "image": block.get("data"),
                   "resource": (block.get("resource") or {}).get("text", (block.get("resource") or {}).get("blob"))}
        size += len(payload[block["type"]].encode())
    structured = result.structured_content
    if structured is None or (structured == {} and result.content) or any(
            repeats(block.get("text"), structured) for block in result.content):
        return size
    return size + len(compact(structured).encode())


def repeats(text: object, structured: dict) -> bool:
    if not isinstance(text, str):
        return False
    if structured == {"result": text}:
        return True
    try:
        return bool(json.loads(text) == structured)
    except ValueError:
        return False


def texts(result: ToolResult) -> list[str]:
    return [block["text"] for block in result.content if block["type"] == "text"]


def ok_json(body, raw_bytes: int = 1234, **extra) -> UpstreamResult:
    return UpstreamResult(kind="json", body=body, raw_bytes=raw_bytes, status=200, **extra)


DROP_NOISE = compile_autoprune(AutoPrune(drop_nulls=True, drop_empty=True, drop_keys=["*_url", "node_id"]))


# --- JSON --------------------------------------------------------------------------------------


def test_json_list_is_pruned_then_autopruned_and_sent_as_compact_text(issues):
    autoprune = compile_autoprune(AutoPrune(drop_empty=True))
    result = shape(ok_json(issues, raw_bytes=121_701), pruner=compile_prune(LIST_VIEW), autoprune=autoprune)
    [text] = texts(result)
    value = json.loads(text)
    assert text == compact(value)  # compact separators
    assert len(value) == 30 and value[0]["user"] == "octocat"
    assert "labels" not in value[-2] or value[-2]["labels"]  # empty label lists dropped by autoprune
    assert result.structured_content is None  # an array is not structuredContent
    assert not result.is_error
    assert result.sent_bytes < 121_701 / 10


def test_json_object_is_also_structured_content(issues):
    body = {"total_count": 2, "incomplete_results": False, "items": issues[:2]}
    result = shape(ok_json(body), pruner=compile_prune("{total: total_count, titles: items[].title}"))
    assert result.structured_content == {"total": 2, "titles": [issues[0]["title"], issues[1]["title"]]}
    assert texts(result) == [compact(result.structured_content)]


def test_unicode_is_sent_as_is():
    result = shape(ok_json({"name": "café ☕"}))
    assert texts(result) == ['{"name":"café ☕"}']


def test_scalars_are_text_only():
    result = shape(ok_json(42))
    assert texts(result) == ["42"] and result.structured_content is None


def test_the_input_body_is_not_mutated(issues):
    before = copy.deepcopy(issues)
    shape(ok_json(issues), pruner=compile_prune("sort_by(@, &title)"), autoprune=DROP_NOISE, max_result_bytes=2_000)
    assert issues == before


def test_output_template_renders_the_pruned_result(issues):
    template = compile_template(ISSUE_LINES + "\n{{ status }}/{{ raw_bytes }}", kind="output")
    result = shape(ok_json(issues[:3], raw_bytes=9_999), pruner=compile_prune(LIST_VIEW), output=template)
    assert texts(result) == [
        "#1347 Found a bug in the pagination of search results (open, @octocat)\n"
        "#1346 Add a --dry-run flag to the deploy command (open, @monalisa)\n"
        "#1345 Bump urllib3 from 2.2.1 to 2.2.2 (open, @dependabot[bot])\n"
        "200/9999"
    ]
    assert result.structured_content is None


def test_over_the_limit_json_is_shortened_by_structure_with_a_note(issues):
    body = {"total_count": 30, "items": issues}
    result = shape(ok_json(body), autoprune=DROP_NOISE, max_result_bytes=5_000)
    json_text, note = texts(result)
    assert len(json_text.encode()) <= 5_000
    value = json.loads(json_text)  # still valid JSON: never cut mid-way
    assert value == result.structured_content
    assert value["total_count"] == 30
    assert value["items"][-1].endswith("more items omitted")
    assert note.startswith("Note: result shortened to fit 5,000 bytes: $.items: ")


def test_over_the_limit_template_output_is_re_rendered_from_fewer_items(issues):
    template = compile_template(ISSUE_LINES, kind="output")
    result = shape(ok_json(issues), pruner=compile_prune(LIST_VIEW), output=template, max_result_bytes=400)
    text, note = texts(result)
    assert len(text.encode()) <= 400
    lines = text.splitlines()
    assert lines[0].startswith("#1347 ") and all(line.startswith("#") for line in lines)
    assert note == f"Note: result shortened to fit 400 bytes: $: {30 - len(lines)} of 30 items omitted"


def test_template_output_that_cannot_shrink_by_structure_is_cut_at_a_line():
    template = compile_template("{% for n in range(200) %}\nline {{ n }} of a fixed report\n{% endfor %}", kind="output")
    result = shape(ok_json({"a": 1}), output=template, max_result_bytes=300)
    text, note = texts(result)
    assert len(text.encode()) <= 300
    assert text.startswith("line 0 of a fixed report\n")
    assert "more lines, " in text.splitlines()[-1]
    assert note == "Note: rendered text shortened to fit 300 bytes"


# A value big enough that its rendering passes the template output cap (MCPRT_TEMPLATE_MAX_OUTPUT)
# was an error ("the template's output exceeds …") instead of being shortened like a smaller one.
# The cap is lowered here so the case stays cheap; the served test runs it at the default sizes.
ROWS = "{% for i in result %}\n{{ i.id }}: {{ i.name }} ${{ i.price }}\n{% endfor %}"


@pytest.mark.parametrize(("items", "json_rows"), [(200, False), (2_000, False), (20_000, False), (2_000, True)])
def test_a_rendering_over_the_template_output_cap_is_shortened_not_an_error(monkeypatch, items, json_rows):
    monkeypatch.setenv("MCPRT_TEMPLATE_MAX_OUTPUT", "20000")
    body = [{"id": n, "name": "word " * 20, "price": n} for n in range(items)]
    # `tojson` builds one string of the whole value: over the cap as a value, not as output.
    source = "{{ result | tojson }}" if json_rows else ROWS
    result = shape(ok_json(body), output=compile_template(source, kind="output"), max_result_bytes=2_000)
    assert not result.is_error, texts(result)
    text, note = texts(result)
    assert 0 < len(text.encode()) <= 2_000
    kept = len(json.loads(text)) if json_rows else len(text.splitlines())
    assert text.startswith("[{\"id\":0," if json_rows else "0: word word")
    assert note == f"Note: result shortened to fit 2,000 bytes: $: {items - kept} of {items} items omitted"


def test_a_template_that_passes_the_output_cap_on_any_input_is_still_stopped(monkeypatch):
    monkeypatch.setenv("MCPRT_TEMPLATE_MAX_OUTPUT", "20000")
    template = compile_template("{% for i in result %}{% for n in range(10000) %}xxxx{% endfor %}{% endfor %}",
                                kind="output")
    result = shape(ok_json([{"id": n} for n in range(50)]), output=template, max_result_bytes=2_000)
    assert result.is_error
    assert "exceeds 20,000 characters (MCPRT_TEMPLATE_MAX_OUTPUT)" in texts(result)[0]


def test_a_text_result_whose_rendering_passes_the_output_cap_is_shortened(monkeypatch):
    monkeypatch.setenv("MCPRT_TEMPLATE_MAX_OUTPUT", "20000")
    upstream = UpstreamResult(kind="text", body="a log line\n" * 5_000, raw_bytes=55_000, status=200)
    result = shape(upstream, output=compile_template("{{ result }}", kind="output"), max_result_bytes=2_000)
    assert not result.is_error, texts(result)
    text, note = texts(result)
    assert text.startswith("a log line\n") and len(text.encode()) <= 2_000
    assert note.startswith("Note: result shortened to fit 2,000 bytes")


def test_a_prune_that_matches_nothing_gives_null_and_says_so(issues):
    """A body that is not an object (here a list) is left to the prune, even when it finds nothing."""
    result = shape(ok_json(issues), pruner=compile_prune("data"))
    assert texts(result) == ["null", "Note: tool 'list_issues': its prune 'data' matched nothing in this result"]
    assert not result.is_error


def test_a_prune_that_finds_none_of_its_fields_in_an_object_sends_it_unpruned(issues):
    """An object the prune reads nothing of is not the shape it was written for (prune_miss.py)."""
    result = shape(ok_json({"items": issues[:1]}), pruner=compile_prune("data[].id"))
    assert texts(result) == [json.dumps({"items": issues[:1]}, separators=(",", ":"), ensure_ascii=False),
                             "Note: tool 'list_issues': its prune 'data[].id' found none of its fields in this response, "
                             "which is shown unpruned"]
    assert not result.is_error


def test_a_long_prune_that_finds_nothing_costs_the_model_a_short_note_and_the_operator_gets_it_whole(caplog):
    """Big-API trial, fault 6: GitHub's suggested prune of `repos/get` made a miss's note 4,266 of the result's
    4,470 bytes (the whole expression, quoted). The note now names the tool and quotes at most PRUNE_EXCERPT
    characters; the operator's log has the whole expression, once per tool and expression."""
    fields = [f"field_number_{i}" for i in range(120)]
    expression = "{" + ", ".join(f"{f}: {f}" for f in fields) + "}"
    assert len(expression) > 4_000
    body = {"message": "Moved Permanently", "documentation_url": "https://docs.example.com"}
    with caplog.at_level(logging.WARNING, logger="mcprt.shaping"):
        for _ in range(3):
            result = shape(ok_json(body), pruner=compile_prune(expression))
    value, note = texts(result)
    assert json.loads(value) == body
    excerpt = "'" + expression[:PRUNE_EXCERPT - 1] + "…'"
    assert note == (f"Note: tool 'list_issues': its prune {excerpt} found none of its fields in this response, "
                    "which is shown unpruned")
    assert len(note.encode()) < 200
    logged = [r.getMessage() for r in caplog.records if "its prune found none of its fields" in r.getMessage()]
    assert len(logged) == 1 and logged[0].endswith(expression) and "tool list_issues" in logged[0], logged


def test_a_prune_that_fails_at_runtime_gives_null_and_says_why():
    result = shape(ok_json([{"count": 3}]), pruner=compile_prune("length(count)"))
    value, note = texts(result)
    assert value == "null"
    assert "length(count)" in note and "length()" in note and note.endswith("the result is shown as null")


def test_a_prune_that_fails_on_an_object_of_another_shape_sends_it_unpruned_and_says_why():
    result = shape(ok_json({"error": "gone"}), pruner=compile_prune("length(count)"))
    value, note = texts(result)
    assert value == '{"error":"gone"}'
    assert "length(count)" in note and "length()" in note and note.endswith("the response is shown unpruned")


def test_a_prune_that_fails_on_a_record_it_reads_gives_null_never_the_record():
    """The body holds the member the prune reads: it is the shape the prune was written for, so what the prune
    drops is not shown (shaping trial, fault 1)."""
    result = shape(ok_json({"count": 3, "email": "c1@x.io"}), pruner=compile_prune("length(count)"))
    value, note = texts(result)
    assert value == "null" and note.endswith("the result is shown as null")


def test_a_failing_template_is_an_error_naming_the_tool_and_line(issues):
    template = compile_template("{% for i in result %}\n{{ i.milestone.title }}\n{% endfor %}", kind="output")
    result = shape(ok_json(issues), output=template, tool="list_issues")
    assert result.is_error
    [message] = texts(result)
    assert message.startswith("Tool 'list_issues' could not format its result: its output template failed at line 2")
    assert "Traceback" not in message and "server's configuration" in message


def test_a_blocked_template_is_an_error_too():
    template = compile_template("{{ result.__class__ }}", kind="output")
    result = shape(ok_json({"a": 1}), output=template)
    assert result.is_error and "sandbox" in texts(result)[0]
    assert ".." not in texts(result)[0]  # jinja2's message ends with its own period (a trial saw "unsafe..")


# --- errors ------------------------------------------------------------------------------------


def test_error_bodies_skip_the_prune_expression_but_not_autoprune(validation_error):
    upstream = UpstreamResult(kind="json", body=validation_error, raw_bytes=180, status=422, is_error=True)
    result = shape(upstream, pruner=compile_prune(LIST_VIEW), autoprune=DROP_NOISE, output=compile_template(
        ISSUE_LINES, kind="output"))
    assert result.is_error and result.structured_content is None
    assert texts(result) == [
        'HTTP 422 Unprocessable Entity: {"message":"Validation Failed",'
        '"errors":[{"resource":"Issue","code":"invalid","field":"labels"}],"status":"422"}'
    ]


def test_large_error_bodies_are_shortened_to_about_two_kilobytes(issues):
    body = {"message": "Server Error", "debug": issues}
    result = shape(UpstreamResult(kind="json", body=body, raw_bytes=50_000, status=500, is_error=True))
    [text] = texts(result)
    assert text.startswith('HTTP 500 Internal Server Error: {"message":"Server Error","debug":[')
    assert len(text.encode()) <= ERROR_BODY_BYTES + 100
    json.loads(text.split(": ", 1)[1])  # shortened by structure, still JSON


def test_html_error_pages_are_reduced_to_their_text():
    page = (
        "<html><head><title>502</title><style>body{color:red}</style></head>"
        "<body><h1>502 Bad Gateway</h1><hr><center>nginx/1.25.3</center><script>track()</script></body></html>"
    )
    upstream = UpstreamResult(kind="text", body=page, status=502, is_error=True, media_type="text/html; charset=utf-8")
    assert texts(shape(upstream)) == ["HTTP 502 Bad Gateway: 502 Bad Gateway nginx/1.25.3"]


def test_long_text_errors_are_shortened_with_a_marker():
    upstream = UpstreamResult(kind="text", body="stack frame\n" * 1_000, status=503, is_error=True)
    [text] = texts(shape(upstream))
    assert text.startswith("HTTP 503 Service Unavailable: stack frame\n")
    assert len(text.encode()) <= ERROR_BODY_BYTES + 40
    assert "more lines, " in text


@pytest.mark.parametrize(
    ("upstream", "expected"),
    [
        (UpstreamResult(kind="text", body="", status=404, is_error=True), "HTTP 404 Not Found (empty body)"),
        (UpstreamResult(kind="json", body=None, status=599, is_error=True), "HTTP 599: null"),
        (UpstreamResult(kind="text", body="ValueError: x must be > 0", is_error=True), "ValueError: x must be > 0"),
        (
            UpstreamResult(kind="binary", body=b"\x00" * 10, status=500, is_error=True, media_type="application/pdf"),
            "HTTP 500 Internal Server Error: binary body of 10 bytes (application/pdf) not shown",
        ),
    ],
)
def test_error_variants(upstream, expected):
    result = shape(upstream)
    assert result.is_error
    assert texts(result) == [expected]


# --- text --------------------------------------------------------------------------------------


def test_text_passes_through():
    upstream = UpstreamResult(kind="text", body="plain answer", raw_bytes=12, status=200)
    result = shape(upstream)
    assert result.content == [{"type": "text", "text": "plain answer"}] and result.structured_content is None


def test_long_text_is_shortened_at_a_line_with_a_note():
    upstream = UpstreamResult(kind="text", body="".join(f"row {i}\n" for i in range(1_000)), raw_bytes=7_890)
    text, note = texts(shape(upstream, max_result_bytes=200))
    assert len(text.encode()) + len(note.encode()) <= 200 and text.startswith("row 0\nrow 1\n")  # the note counts
    assert note == "Note: text shortened to fit 200 bytes"


def test_text_output_template_gets_the_text():
    template = compile_template("First line: {{ result | firstline }}", kind="output")
    upstream = UpstreamResult(kind="text", body="\nsubject\nbody", status=200)
    assert texts(shape(upstream, output=template)) == ["First line: subject"]


# --- binary ------------------------------------------------------------------------------------


def test_images_become_image_blocks():
    upstream = UpstreamResult(kind="binary", body=PNG, raw_bytes=len(PNG), media_type="Image/PNG", status=200)
    result = shape(upstream)
    assert result.content == [{"type": "image", "data": base64.b64encode(PNG).decode(), "mimeType": "image/png"}]


def test_other_binary_becomes_an_embedded_resource():
    pdf = b"%PDF-1.7\n" + bytes(range(256))
    upstream = UpstreamResult(kind="binary", body=pdf, raw_bytes=len(pdf), media_type="application/pdf")
    [block] = shape(upstream, tool="get_report").content
    assert block == {
        "type": "resource",
        "resource": {"uri": "mcprt://result/get_report", "mimeType": "application/pdf", "blob": base64.b64encode(pdf).decode()},
    }


def test_binary_over_the_limit_is_described_not_sent():
    upstream = UpstreamResult(kind="binary", body=b"\x01" * 3_000, raw_bytes=3_000, media_type="image/jpeg")
    result = shape(upstream, max_result_bytes=1_000)
    assert texts(result) == [
        "binary body of 3,000 bytes (image/jpeg) not shown: larger than the result limit of 1,000 bytes once base64-encoded"
    ]


def test_binary_without_a_media_type_is_octet_stream():
    upstream = UpstreamResult(kind="binary", body=b"\x00\x01", raw_bytes=2)
    assert shape(upstream).content[0]["resource"]["mimeType"] == "application/octet-stream"


# --- truncated upstream bodies -------------------------------------------------------------------


def test_a_cut_upstream_body_is_announced():
    upstream = UpstreamResult(kind="text", body="partial da", raw_bytes=10_000_000, truncated=True)
    assert texts(shape(upstream)) == [
        "partial da",
        "Note: the upstream response was larger than the response size limit and was cut after 10,000,000 bytes; "
        "this result is incomplete",
    ]


def test_a_cut_image_is_not_sent_as_an_image():
    upstream = UpstreamResult(kind="binary", body=PNG[:20], raw_bytes=20, media_type="image/png", truncated=True)
    text, note = texts(shape(upstream))
    assert text == "binary body of 20 bytes (image/png) not shown: it was cut at the response size limit"
    assert note.startswith("Note: the upstream response was larger")


# --- proxied MCP content -------------------------------------------------------------------------


def _proxied(structured=None, extra=(), is_error=False) -> UpstreamResult:
    blocks = []
    if structured is not None:
        blocks.append({"type": "text", "text": json.dumps(structured, indent=2)})
    blocks.extend(extra)
    return UpstreamResult(kind="content", content=blocks, structured=structured, is_error=is_error, raw_bytes=500)


def test_content_passes_through_without_shaping():
    upstream = _proxied({"a": 1}, extra=[{"type": "image", "data": "aGk=", "mimeType": "image/png"}])
    result = shape(upstream)
    assert result.content == upstream.content
    assert result.structured_content == {"a": 1}


def test_content_prune_applies_to_structured_and_json_text(issues):
    structured = {"items": issues[:2], "count": 2}
    upstream = _proxied(structured, extra=[{"type": "text", "text": "not json"}, {"type": "text", "text": "[1, 2"}])
    result = shape(upstream, pruner=compile_prune("{count: count, numbers: items[].number}"))
    assert result.structured_content == {"count": 2, "numbers": [1347, 1346]}
    assert texts(result) == ['{"count":2,"numbers":[1347,1346]}', "not json", "[1, 2"]


def test_content_structured_that_stops_being_an_object_is_dropped(issues):
    upstream = _proxied({"items": issues[:2]})
    result = shape(upstream, pruner=compile_prune("items[].number"))
    assert result.structured_content is None
    assert texts(result) == ["[1347,1346]"]


def test_content_autoprune_without_a_prune_expression():
    upstream = _proxied({"a": None, "b": {"html_url": "x", "c": 1}})
    result = shape(upstream, autoprune=DROP_NOISE)
    assert result.structured_content == {"b": {"c": 1}}
    assert texts(result) == ['{"b":{"c":1}}']


def test_content_output_template_replaces_text_blocks_and_keeps_others(issues):
    image = {"type": "image", "data": "aGk=", "mimeType": "image/png"}
    upstream = _proxied({"items": issues[:2]}, extra=[image])
    template = compile_template("{{ result['items'] | map(attribute='title') | join(' | ') }}", kind="output")
    result = shape(upstream, output=template)
    assert result.content == [
        {"type": "text", "text": f"{issues[0]['title']} | {issues[1]['title']}"},
        image,
    ]


def test_content_output_template_over_plain_text_gets_the_text():
    upstream = UpstreamResult(kind="content", content=[{"type": "text", "text": "alpha"}, {"type": "text", "text": "beta"}])
    template = compile_template("{{ result | upper }}", kind="output")
    assert texts(shape(upstream, output=template)) == ["ALPHA\nBETA"]


def test_content_errors_pass_through_untouched():
    blocks = [{"type": "text", "text": '{"error": "boom", "detail": null}'}]
    upstream = UpstreamResult(kind="content", content=blocks, is_error=True)
    result = shape(upstream, pruner=compile_prune("items"), autoprune=DROP_NOISE)
    assert result.is_error and result.content == blocks


def test_content_text_over_the_limit_is_shortened(issues):
    json_block = {"type": "text", "text": json.dumps(issues)}
    text_block = {"type": "text", "text": "word " * 2_000}
    upstream = UpstreamResult(kind="content", content=[json_block, text_block], raw_bytes=130_000)
    result = shape(upstream, max_result_bytes=3_000)
    first, second, note = texts(result)
    assert json.loads(first)[-1].endswith("more items omitted")  # JSON stays JSON
    assert second.endswith("more chars)")
    assert len(first.encode()) + len(second.encode()) <= 3_000  # the limit bounds both blocks together
    assert note.startswith("Note: result shortened to fit 3,000 bytes (all content blocks")



@pytest.mark.parametrize(("count", "text_of_block"), [
    (2_000, lambda n: f"item number {n:06d} ok"),  # 22 bytes each: below a cut marker's size once shared
    (25_000, lambda n: str(n % 10)),  # one character each (an SDK `-> list[list[int]]` tool's blocks)
    (300, lambda n: "line\n" * 20),  # 100 bytes each: a share of 53 bytes would leave only markers
])
def test_many_small_text_blocks_keep_whole_blocks_in_order_with_one_note(count, text_of_block):
    """Review of the whole-result limit: each of N blocks got `limit/N` bytes; below a cut marker's size
    every block became the marker alone, so 2000 blocks of 22 B went out as 110,093 B with none intact.
    Now whole blocks are kept in order, the rest left out with ONE counted note, and the result never
    grows past its input."""
    blocks = [{"type": "text", "text": text_of_block(n)} for n in range(count)]
    result = shape(UpstreamResult(kind="content", content=blocks), max_result_bytes=16_000)
    *kept, note = texts(result)
    assert kept == [block["text"] for block in blocks[:len(kept)]]  # whole, in order
    assert 0 < sum(len(text.encode()) for text in kept) <= 16_000
    assert note.count("left out:") == 1 and "omitted" not in note  # counted once, no per-block marker
    dropped = count - len(kept)
    assert f"left out: {dropped:,} text block{'s' if dropped != 1 else ''}" in note
    assert result.sent_bytes <= sum(len(block["text"].encode()) for block in blocks)


def test_a_template_and_the_structured_content_it_renders_share_the_limit_consistently():
    """Review: structuredContent was shortened after the template text had been re-rendered to fit the
    limit alone, so the text was then cut mid-line (`… (6880 more characters, 487 more lines omitted)`)
    and two notes disagreed (1938 vs 2721 of 3000 omitted). Now both are shortened together: the text
    renders exactly the items structuredContent keeps, and one note counts them."""
    template = compile_template("{% for i in result['items'] %}{{ i.n }} {{ i.word }}\n{% endfor %}", kind="output")
    items = {"items": [{"n": n, "word": f"word{n:05d}"} for n in range(3000)]}
    upstream = UpstreamResult(kind="content", content=[{"type": "text", "text": "3000 items"}], structured=items)
    result = shape(upstream, max_result_bytes=16_000, output=template)
    text, note = texts(result)
    kept = result.structured_content["items"]
    assert text.splitlines() == [f"{i['n']} {i['word']}" for i in kept]  # no line cut, same items as structured
    assert len(text.encode()) + len(compact(result.structured_content).encode()) <= 16_000
    assert note.count("omitted") == 1 and f"{3000 - len(kept)} of 3000 items omitted" in note

# --- snapshots of what a model sees ---------------------------------------------------------------


@pytest.fixture
def json_snapshot(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def test_snapshot_of_shaped_results(issues, validation_error, json_snapshot):
    pruner = compile_prune(LIST_VIEW)
    template = compile_template(ISSUE_LINES, kind="output")
    cases = {
        "issues_pruned_json": shape(ok_json(issues[:5], raw_bytes=20_000), pruner=pruner, autoprune=DROP_NOISE),
        "issues_template": shape(ok_json(issues[:5], raw_bytes=20_000), pruner=pruner, output=template),
        "issues_shortened": shape(ok_json(issues, raw_bytes=121_701), pruner=pruner, max_result_bytes=700),
        "one_issue_autopruned": shape(ok_json(issues[3], raw_bytes=4_000), autoprune=DROP_NOISE),
        "validation_error": shape(
            UpstreamResult(kind="json", body=validation_error, raw_bytes=180, status=422, is_error=True),
            pruner=pruner,
            autoprune=DROP_NOISE,
        ),
    }
    shaped = {
        name: {**result.to_wire(), "raw_bytes": result.raw_bytes, "sent_bytes": result.sent_bytes}
        for name, result in cases.items()
    }
    assert shaped == json_snapshot


def test_absurdly_deep_results_are_an_error_not_a_crash():
    deep: list = []
    for _ in range(5_000):
        deep = [deep]
    result = shape(ok_json(deep), autoprune=DROP_NOISE)
    assert result.is_error and "nested too deeply" in texts(result)[0]


def test_a_proxied_string_result_wrapped_as_structured_content_is_pruned_once_without_false_notes() -> None:
    """SDK servers send a str return value as text plus `structuredContent: {"result": text}`."""
    text = json.dumps({"id": 1, "name": "a", "noise": {"deep": True}})
    upstream = UpstreamResult(kind="content", content=[{"type": "text", "text": text}],
                              structured={"result": text}, raw_bytes=len(text))
    shaping = Shaping(pruner=compile_prune("{id: id, name: name}"), tool="proxied")
    result = shape_result(upstream, shaping)
    assert [block["text"] for block in result.content] == ['{"id":1,"name":"a"}']  # no "matched nothing" note
    assert result.structured_content == {"id": 1, "name": "a"}


def test_a_proxied_result_the_prune_misses_passes_unpruned_with_a_note() -> None:
    """The same rule for an MCP source's result: its JSON text and structuredContent stay as they came."""
    body = {"ok": False, "error": "channel_not_found"}
    text = json.dumps(body)
    upstream = UpstreamResult(kind="content", content=[{"type": "text", "text": text}], structured=body,
                              raw_bytes=len(text))
    template = compile_template("{% for m in result %}{{ m }}{% endfor %}", kind="output")
    for output in (None, template):
        result = shape_result(upstream, Shaping(pruner=compile_prune("messages[].text"), output=output, tool="p"))
        assert [block["text"] for block in result.content] == [
            '{"ok":false,"error":"channel_not_found"}',
            "Note: tool 'p': its prune 'messages[].text' found none of its fields in this response, which is "
            "shown unpruned"]
        assert result.structured_content == body and not result.is_error
