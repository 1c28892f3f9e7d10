"""`mcprt init` suggests a result's own list of records as a table (`authoring/table.py`): written by the real CLI
from a spec, checked by `mcprt validate`, served by `mcprt up` from a real upstream and read by the SDK client over
stdio and streamable HTTP (text and structuredContent); and `measure.column_holds`, the catalog measure's check
that a hand-kept field's values are in their column."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jmespath
import pytest
from mcprt.authoring.measure import column_holds
from mcprt.authoring.table import as_objects, columns, tables, tabled
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.authoring.test_suggest_rules import suggested_prunes
from tests.support.cli import mcprt_cli as mcprt
from tests.support.served import client_over, mcprt_http, text_of
from tests.support.upstream import serve_app

TRACKER = """openapi: 3.0.3
info: {title: Tracker, version: "1"}
servers: [{url: "UPSTREAM"}]
paths:
  /projects/{project}/issues:
    get:
      operationId: list_issues
      parameters: [{name: project, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: ok, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Issue'}}}}}}
  /projects/{project}/issues/{issue_number}:
    get:
      operationId: get_issue
      parameters:
        - {name: project, in: path, required: true, schema: {type: string}}
        - {name: issue_number, in: path, required: true, schema: {type: integer}}
      responses: {'200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Issue'}}}}}
  /search:
    get:
      operationId: search_issues
      parameters: [{name: q, in: query, required: true, schema: {type: string}}]
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  total_count: {type: integer}
                  items: {type: array, items: {$ref: '#/components/schemas/Issue'}}
  /projects/{project}/tags:
    get:
      operationId: list_tags
      parameters: [{name: project, in: path, required: true, schema: {type: string}}]
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {type: array, items: {type: object, properties: {name: {type: string}, sha: {type: string}}}}
components:
  schemas:
    Issue:
      type: object
      properties:
        state: {type: string}
        title: {type: string}
        number: {type: integer}
        user: {type: object, properties: {id: {type: integer}, login: {type: string}}}
        labels: {type: array, items: {type: object, properties: {id: {type: integer}, name: {type: string}}}}
        pull_request:
          type: object
          properties: {url: {type: string}, merged_at: {type: string, format: date-time, nullable: true}}
        closed_at: {type: string, format: date-time, nullable: true}
"""

ISSUES = [
    {"state": "open", "title": "Found a bug", "number": 1347, "user": {"id": 1, "login": "octocat"},
     "labels": [{"id": 7, "name": "bug"}, {"id": 8, "name": "ui"}],
     "pull_request": {"url": "https://tracker.example/pulls/1347", "merged_at": None}, "closed_at": None},
    {"state": "closed", "title": "Typo", "number": 1348, "user": None, "labels": [],
     "closed_at": "2026-01-02T03:04:05Z"},  # no pull request at all, no user
    {"state": "open", "title": "Crash on start", "number": 1349, "user": {"id": 2, "login": "hubot"}},
]
COLUMNS = ["number", "title", "state", "user", "labels", "pull_request.url", "pull_request.merged_at", "closed_at"]
ROWS = [
    [1347, "Found a bug", "open", "octocat", ["bug", "ui"], "https://tracker.example/pulls/1347", None, None],
    [1348, "Typo", "closed", None, [], None, None, "2026-01-02T03:04:05Z"],
    [1349, "Crash on start", "open", "hubot", None, None, None, None],
]


@contextmanager
def tracker() -> Iterator[str]:
    """A real upstream: the issues (the empty project has none), a search page wrapping them, the tags."""

    async def issues(request: Request) -> JSONResponse:
        return JSONResponse({"empty": [], "one": ISSUES[:1]}.get(request.path_params["project"], ISSUES))

    async def issue(request: Request) -> JSONResponse:
        return JSONResponse(ISSUES[0])

    async def search(request: Request) -> JSONResponse:
        return JSONResponse({"total_count": 3, "items": ISSUES})

    async def tags(request: Request) -> JSONResponse:
        return JSONResponse([{"name": "v1", "sha": "a1"}, {"name": "v2", "sha": "b2"}])

    with serve_app(Starlette(routes=[Route("/projects/{project}/issues", issues),
                                     Route("/projects/{project}/issues/{issue_number}", issue),
                                     Route("/search", search), Route("/projects/{project}/tags", tags)])) as base:
        yield base


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """The manifest `mcprt init` writes for the tracker, as written (its suggested prunes untouched)."""
    folder = tmp_path_factory.mktemp("tracker")
    with tracker() as upstream:
        spec = folder / "tracker.yaml"
        spec.write_text(TRACKER.replace("UPSTREAM", upstream))
        made = mcprt("init", "--openapi", str(spec), "--out", str(folder / "mcp.yaml"))
        assert made.returncode == 0, made.stderr
        manifest = folder / "mcp.yaml"
        yield manifest, {key: " ".join(prune.split()) for key, prune in suggested_prunes(manifest.read_text()).items()}


def test_init_writes_the_results_own_lists_as_tables_and_says_how_to_have_objects(
        served: tuple[Path, dict[str, str]]) -> None:
    manifest, prunes = served
    # the addressing key (`{issue_number}`) first, then the label; a nested part flattened into its columns
    # from three items on (fewer: objects, which a header would make larger)
    assert prunes["list_issues"] == (
        'length(@ || `[]`) >= `3` && {columns: `["number", "title", "state", "user", "labels", "pull_request.url", '
        '"pull_request.merged_at", "closed_at"]`, rows: [].[number, title, state, user.login, labels[].name, '
        "pull_request.url, pull_request.merged_at, closed_at]} || [].{state: state, title: title, number: number, "
        "user: user.login, labels: labels[].name, pull_request: pull_request.{url: url, merged_at: merged_at}, "
        "closed_at: closed_at}")
    assert prunes["search_issues"].startswith(
        "{total_count: total_count, items: length(items || `[]`) >= `3` && {columns: `[")
    assert "rows: items[].[title, state, number" in prunes["search_issues"]  # no key known here: the label first
    # not tables: a single record's own list (few items: a header costs more than it saves) and two columns
    assert "labels: labels[].name" in prunes["get_issue"] and "columns" not in prunes["get_issue"]
    assert prunes["list_tags"] == "[].{name: name, sha: sha}"
    text = manifest.read_text()
    said = " ".join(line.strip().removeprefix("# ") for line in text.splitlines())
    assert ("from 3 items on, a table: `columns` once, then one row per item (null: no value; `a.b`: b of a); "
            "fewer items come as objects; for objects always, keep only the part after `||`: "
            "`[].{state: state, title: title, …}`") in said, text
    checked = mcprt("validate", str(manifest))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_tabled_result_reads_right_through_mcprt_up(served: tuple[Path, dict[str, str]],
                                                             transport: str) -> None:
    """Text and structuredContent carry the same table, each value in its column, null where an item has none;
    the SDK client checks structuredContent against the outputSchema (`prefixItems` per column)."""
    manifest, _ = served
    with mcprt_http(manifest) as up:  # the spec names the fixture's upstream, serving while the module runs
        async with client_over(transport, manifest, up.url) as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
            # a table or objects, by the list's length: no outputSchema for the list (tools/list does not grow)
            assert listed["list_issues"].output_schema is None
            wrapped_schema = listed["search_issues"].output_schema
            assert wrapped_schema is not None and wrapped_schema["properties"]["items"] == {}, wrapped_schema

            result = await client.call_tool("list_issues", {"project": "demo"})
            assert not result.is_error, result.content
            expected = {"columns": COLUMNS, "rows": ROWS}
            assert json.loads(text_of(result)) == expected

            one = await client.call_tool("list_issues", {"project": "one"})  # short: objects, no header
            assert json.loads(text_of(one)) == [{"state": "open", "title": "Found a bug", "number": 1347,
                                                 "user": "octocat", "labels": ["bug", "ui"],
                                                 "pull_request": {"url": "https://tracker.example/pulls/1347"}}]
            empty = await client.call_tool("list_issues", {"project": "empty"})  # nothing: no header either
            assert not empty.is_error and json.loads(text_of(empty) or "null") in (None, [], {}), text_of(empty)

            wrapped = await client.call_tool("search_issues", {"q": "is:open"})
            assert wrapped.structured_content is not None and json.loads(text_of(wrapped)) == wrapped.structured_content
            assert wrapped.structured_content["total_count"] == 3
            assert _records(wrapped.structured_content["items"]) == _records(expected)  # its own column order


def _records(table: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]


def test_as_objects_gives_back_the_objects_the_table_was_made_from(served: tuple[Path, dict[str, str]]) -> None:
    prune = served[1]["list_issues"]
    objects = jmespath.search(as_objects(prune), ISSUES)
    # the object alternative, its nesting as it was (review #7: not dotted keys)
    assert as_objects(prune).startswith("[].{state: state, title: title, number: number, user: user.login, "
                                        "labels: labels[].name, pull_request: pull_request.{url: url, ")
    table = jmespath.search(prune, ISSUES)
    flat = [{**o, **{f"pull_request.{k}": v for k, v in (o.pop("pull_request") or {}).items()}} for o in objects]
    assert [[item.get(c) for c in table["columns"]] for item in flat] == table["rows"] == ROWS
    assert as_objects(tabled("", "{a: a, b: b, c: c.{d: d}}") or "") == "[].{a: a, b: b, c: c.{d: d}}"
    # a bare table (hand-written) still reads back as objects, a flattened column under its dotted name
    assert as_objects('{columns: `["a", "c.d"]`, rows: x[].[a, c.d]}') == 'x[].{a: a, "c.d": c.d}'


def test_columns_flatten_nested_hashes_and_tabled_puts_names_first() -> None:
    body = "{state: state, title: title, number: number, pr: pull_request.{url: url, merge: merge.{at: at}}}"
    assert columns(body) == [("state", "state"), ("title", "title"), ("number", "number"),
                             ("pr.url", "pull_request.url"), ("pr.merge.at", "pull_request.merge.at")]
    # a nested hash under a projection is one cell, not flattened (no table in a table)
    assert columns("{a: a, b: b[].{c: c}}") == [("a", "a"), ("b", "b[].{c: c}")]
    assert tabled("items", body, first=("number", "title")) == (
        'length(items || `[]`) >= `3` && {columns: `["number", "title", "state", "pr.url", "pr.merge.at"]`, '
        f"rows: items[].[number, title, state, pull_request.url, pull_request.merge.at]}} || items[].{body}")
    short = [{"number": 1, "title": None, "state": None}] * 2
    for listed, sent in (([], []), (None, None), ([{"number": 1}] * 2, short)):  # short: objects
        assert jmespath.search(tabled("items", "{number: number, title: title, state: state}") or "",
                               {"items": listed}) == sent
    assert tabled("", "{a: a, b: b}") is None  # two columns: objects read better and cost about the same
    assert columns("[].{a: a}") is None


def test_a_typo_in_a_tables_row_is_reported_where_it_is(served: tuple[Path, dict[str, str]]) -> None:
    manifest, _ = served
    broken = manifest.parent / "broken.yaml"  # beside the spec it names
    text = manifest.read_text().replace("rows: [].[number, title,", "rows: [].[number, titel,")
    assert text != manifest.read_text()
    broken.write_text(text)
    checked = mcprt("validate", str(broken))
    assert checked.returncode == 2 and "Traceback" not in checked.stderr
    out = checked.stdout + checked.stderr
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "titel" in row)
    assert f"broken.yaml:{line}:" in out and "'titel' cannot exist here" in out and "did you mean 'title'?" in out, out


def test_column_holds_needs_every_hand_kept_value_in_its_column() -> None:
    prune = ('{total_count: total_count, items: {columns: `["number", "user", "labels"]`, '
             "rows: items[].[number, user, labels[].name]}}")
    body = {"total_count": 3, "items": ISSUES}
    sent = jmespath.search(prune, body)
    assert tables(prune)[0].list_path == "items" and tables(prune)[0].output_path == "items"
    for path in ("items[].number", "items[].user.login", "items[].labels[].name", "items[].labels"):
        assert column_holds(prune, body, sent, path), path
    assert column_holds(prune, body, sent, "total_count")  # not in a table: the key check alone
    swapped: Any = json.loads(json.dumps(sent))
    swapped["items"]["rows"].reverse()  # each value present, in another item's row
    assert not column_holds(prune, body, swapped, "items[].number")
    short: Any = json.loads(json.dumps(sent))
    short["items"]["rows"].pop()  # an item without its row
    assert not column_holds(prune, body, short, "items[].number")
    blanked: Any = json.loads(json.dumps(sent))
    blanked["items"]["rows"][0][1] = None  # the column is there, its value is not
    assert not column_holds(prune, body, blanked, "items[].user.login")
    assert column_holds(prune, body, blanked, "items[].number")


ITEM = {"type": "object", "properties": {"name": {"type": "string"}, "image": {"type": "string"},
                                         "state": {"type": "string"}, "ready": {"type": "boolean"}}}
POD = {"type": "object", "properties": {  # a single resource whose identifier is `metadata.uid`, not a top-level id
    "kind": {"type": "string"},
    "metadata": {"type": "object", "properties": {"uid": {"type": "string"}, "name": {"type": "string"},
                                                  "ownerReferences": {"type": "array", "items": ITEM},
                                                  "managedFields": {"type": "array", "items": ITEM}}},
    "spec": {"type": "object", "properties": {
        "nodeName": {"type": "string"},
        "containers": {"type": "array", "items": ITEM}, "volumes": {"type": "array", "items": ITEM},
        "affinity": {"type": "object", "properties": {"nodeAffinity": {"type": "object", "properties": {
            "preferred": {"type": "array", "items": ITEM},
            "required": {"type": "object", "properties": {"terms": {"type": "array", "items": ITEM}}}}}}}}},
    "status": {"type": "object", "properties": {"phase": {"type": "string"},
                                                "conditions": {"type": "array", "items": ITEM},
                                                "containerStatuses": {"type": "array", "items": ITEM}}}}}
SEARCH = {"type": "object", "properties": {  # wrappers that each carry one list: Spotify's search
    "tracks": {"type": "object", "properties": {"total": {"type": "integer"}, "next": {"type": "string"},
                                                "items": {"type": "array", "items": ITEM}}},
    "albums": {"type": "object", "properties": {"total": {"type": "integer"},
                                                "items": {"type": "array", "items": ITEM}}}}}


def test_only_lists_reached_through_wrappers_alone_are_tables() -> None:
    """A single resource's inner lists (a pod's containers, its affinity terms) stay objects, however deep: its
    `spec`, `status` and `metadata` carry several lists each, so they are parts of one record, not wrappers (the
    review measured kubernetes get_pod 10,597 → 12,274 bytes with 15 such tables). A wrapper carrying one list
    (`tracks: {items, total}`) still gives a table."""
    from mcprt.authoring.suggest import suggest_prune

    pod = suggest_prune(POD)
    assert pod is not None and tables(pod) == [] and "columns" not in pod, pod
    assert "containers: containers[].{" in pod
    search = suggest_prune(SEARCH)
    assert search is not None
    assert sorted(t.list_path for t in tables(search)) == ["albums.items", "tracks.items"], search


def test_column_holds_reads_each_header_against_its_expression() -> None:
    """A header naming the wrong column (two names swapped: every value present, under another's name) fails the
    measure's check, as a key naming another field's value would; the table as `tabled` writes it holds."""
    prune = tabled("items", "{number: number, user: user.login, labels: labels[].name}") or ""
    body = {"total_count": 3, "items": ISSUES}
    assert column_holds(prune, body, jmespath.search(prune, body), "items[].number")
    swapped = prune.replace('`["number", "user", "labels"]`', '`["user", "number", "labels"]`')
    assert swapped != prune
    assert not column_holds(swapped, body, jmespath.search(swapped, body), "items[].number")
