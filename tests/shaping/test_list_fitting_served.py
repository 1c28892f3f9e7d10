"""A list over the result limit keeps its items with their long texts shortened, through a real server.

Shapeleft, fault 2: the fitter kept the first items whole and dropped the rest, so 30 issues with 2 KB bodies
under an 8 KB limit reached the model as 3 issues (and one cut short): the model never saw that issues 4-30
existed. Items that fit once their long texts are shortened are kept shortened (`shaping/limits.py`).
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.served import http_client, mcprt_http
from tests.support.upstream import serve_app

PARAGRAPH = ("The export job fails when a project has more than 10,000 rows; the worker logs a timeout after 30 s "
             "and the UI shows a spinner forever. Steps: open Reports, choose Export, pick CSV. ")
ISSUES = [{"id": 5000 + i, "number": 100 + i, "title": f"Export times out for large project #{i}",
           "state": "open", "user": {"login": f"dev{i}"}, "labels": [{"name": "bug"}],
           "html_url": f"https://tracker.example.com/acme/reports/issues/{100 + i}",
           "body": PARAGRAPH * (10 + i % 5)} for i in range(30)]
ISSUE = {"type": "object", "properties": {
    "id": {"type": "integer"}, "number": {"type": "integer"}, "title": {"type": "string"},
    "state": {"type": "string"}, "user": {"type": "object", "properties": {"login": {"type": "string"}}},
    "labels": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
    "html_url": {"type": "string"}, "body": {"type": "string"}}}
SPEC = {"openapi": "3.1.0", "info": {"title": "Tracker", "version": "1"}, "paths": {"/issues": {"get": {
    "operationId": "listIssues", "responses": {"200": {"description": "ok", "content": {"application/json": {
        "schema": {"type": "object", "properties": {"total_count": {"type": "integer"},
                                                    "items": {"type": "array", "items": ISSUE}}}}}}}}}}}


async def test_issues_with_long_bodies_are_all_kept_with_their_bodies_shortened(tmp_path: Path) -> None:
    async def issues(request: Request) -> JSONResponse:
        return JSONResponse({"total_count": len(ISSUES), "items": ISSUES})

    (tmp_path / "tracker.json").write_text(json.dumps(SPEC))
    manifest = tmp_path / "mcp.yaml"
    with serve_app(Starlette(routes=[Route("/issues", issues)])) as base:
        manifest.write_text(
            f"version: 1\ndefaults:\n  max_result_bytes: 8KB\nsources:\n  tracker:\n    openapi: tracker.json\n"
            f"    base_url: {base}\n    tools:\n      listIssues: {{name: list_issues, prune: '@'}}\n"
            f"  text:\n    openapi: tracker.json\n    base_url: {base}\n    tools:\n"
            "      listIssues:\n        name: list_issues_text\n        prune: items\n"
            "        output: \"{% for i in result %}#{{ i.number }} {{ i.title }}: {{ i.body }}\\n{% endfor %}\"\n")
        with mcprt_http(manifest, "--no-reload") as up:
            async with http_client(up.url) as client:
                listed = await client.call_tool("list_issues", {})
                rendered = await client.call_tool("list_issues_text", {})

    assert not listed.is_error
    text, note = (block.text for block in listed.content)
    assert sum(len(block.text.encode()) for block in listed.content) <= 8_000
    items = json.loads(text)["items"]
    assert listed.structured_content == json.loads(text)  # no marker in the data (an outputSchema is declared)
    assert len(items) == 30  # every issue, where the whole ones were 3
    for item, issue in zip(items, ISSUES):
        assert {k: v for k, v in item.items() if k != "body"} == {k: v for k, v in issue.items() if k != "body"}
        assert " more chars)" in item["body"] and issue["body"].startswith(item["body"].split(" … (")[0])
    assert note == "Note: result shortened to fit 8,000 bytes: $.items[*].body: text shortened in 30 of 30 items"

    # a template over the list: re-rendered from the same kind of shortened list, every issue listed
    assert not rendered.is_error
    lines = rendered.content[0].text.splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == [f"#{issue['number']}" for issue in ISSUES]
    assert sum(len(block.text.encode()) for block in rendered.content) <= 8_000
    assert "$[*].body: text shortened in 30 of 30 items" in rendered.content[-1].text
