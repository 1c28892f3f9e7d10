"""A successful upstream answer with an empty body tells the model what happened.

Found by an operator trial: a DELETE answered `204 No Content` (or a 200 with an empty JSON body)
reached the model as an empty text block, which reads as "nothing happened"; an error's empty body
was already said (`HTTP 404 Not Found (empty body)`). The same for an output template that renders nothing
(a loop over an empty list): the model reads "No results (empty list)."."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.served import http_client, mcprt_http
from tests.support.upstream import serve_app

# The operation's `count` parameter is its page size: a shortened page says how to get what was left out.
PAGE_NOTE = "omitted items are NOT on the next page; call again with a smaller `count`"

LISTING = {"type": "object", "properties": {
    "entries": {"type": "array", "items": {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "integer"}, "created": {"type": "string", "nullable": True}}}},
    "meta": {"type": "object", "required": ["updated"], "properties": {"updated": {"type": "string"}}}}}

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Items", "version": "1"},
    "paths": {
        "/items/{id}": {
            "delete": {"operationId": "deleteItem",
                       "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                       "responses": {"204": {"description": "gone"}}},
            "put": {"operationId": "touchItem",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "ok"}}},
        },
        "/empty-text": {"get": {"operationId": "emptyText", "responses": {"200": {"description": "ok"}}}},
        "/items": {"get": {"operationId": "listItems",
                           "parameters": [{"name": "count", "in": "query", "required": True,
                                           "schema": {"type": "integer"}}],
                           "responses": {"200": {"description": "ok"}}}},
        # The trial's optional field (test_template_absence.py has the kind): a null description, drop_nulls.
        "/records/{id}": {"get": {"operationId": "getRecord", "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"name": {"type": "string"},
                                                 "description": {"type": "string", "nullable": True}}}}}}}}},
        # The same record, with a template that uses the absent field as a value: the error the model reads
        "/records/{id}/check": {"get": {"operationId": "checkRecord", "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"name": {"type": "string"},
                                                 "description": {"type": "string", "nullable": True}}}}}}}}},
        # `created` is nullable in the entries only (test_template_absence.py has the kind): absent there, it
        # renders empty; `meta.created` is documented nowhere, and fails as a typo does.
        "/listing": {"get": {"operationId": "listing", "responses": {"200": {"description": "ok", "content": {
            "application/json": {"schema": LISTING}}}}}},
        "/listing/meta": {"get": {"operationId": "listingMeta", "responses": {"200": {"description": "ok", "content": {
            "application/json": {"schema": LISTING}}}}}},
        # Pages and not-pages (test_shortened_conforms.py has the kind): `feed` takes its cursor back, `log` has
        # no parameter that could take one, so its `after` (a time), `marker` (an object), `next` are no cursors.
        "/feed": {"get": {"operationId": "feed", "parameters": [
            {"name": "after", "in": "query", "schema": {"type": "string"}},
            {"name": "shape", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}}}},
        "/log": {"get": {"operationId": "log", "parameters": [
            {"name": "since", "in": "query", "schema": {"type": "string"}},
            {"name": "shape", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}}}},
        # The trial's id documented as an integer, sent as "abc" (and one beyond 2^53, sent exactly)
        "/things/{id}": {"get": {"operationId": "getThing", "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"id": {"type": "integer", "format": "int64"},
                                                 "name": {"type": "string"}}}}}}}}},
        # The trial's map (shortened_conforms.py has the kind): typed map values, 3,000 keys, 2 KB.
        "/map": {"get": {"operationId": "getMap", "responses": {"200": {"description": "ok", "content": {
            "application/json": {"schema": {"type": "object", "additionalProperties": {
                "type": "object", "properties": {"v": {"type": "integer"}, "s": {"type": "string"}},
                "required": ["v", "s"]}}}}}}}},
    },
}


def items_app() -> Starlette:
    async def delete(request: Request) -> Response:
        return Response(status_code=204)

    async def touch(request: Request) -> Response:
        return Response(b"", media_type="application/json")

    async def templated(request: Request) -> Response:
        return Response(b"", media_type="text/plain")

    async def many(request: Request) -> Response:  # the trial's list: ~520 bytes an item
        count = int(request.query_params["count"])
        return JSONResponse([{"id": n, "name": "word " * 100, "kind": "k", "price": n} for n in range(count)])

    async def a_map(request: Request) -> Response:
        return JSONResponse({f"k{i}": {"v": i, "s": "ü" * 5} for i in range(3000)})

    async def thing(request: Request) -> Response:
        given = request.path_params["id"]
        return JSONResponse({"id": int(given) if given.isdigit() else given, "name": "thing"})

    async def record(request: Request) -> Response:
        return JSONResponse({"name": "Item 3", "description": None})

    async def listing(request: Request) -> Response:
        return JSONResponse({"entries": [{"id": 1, "created": "2026"}, {"id": 2, "created": None}],
                             "meta": {"updated": "u"}})

    async def paged(request: Request) -> Response:  # 300 entries of ~520 bytes, or one with a 150 KB text
        entries = [{"id": n, "text": "word " * 100} for n in range(300)]  # too many to keep even shortened
        return JSONResponse({
            "page": {"entries": entries, "after": "b3BhcXVl"}, "text": {"entries": [{"id": 0, "text": "word " * 30_000}],
                                                                        "after": "b3BhcXVl"},
            "time": {"after": "2026-01-01T00:00:00Z", "entries": entries}, "object": {"marker": {"id": 7}, "entries": entries},
            "opaque": {"next": "b3BhcXVl", "entries": entries},
        }[request.query_params["shape"]])

    return Starlette(routes=[Route("/map", a_map), Route("/records/{id}", record), Route("/records/{id}/check", record), Route("/listing", listing), Route("/things/{id}", thing), Route("/listing/meta", listing), Route("/items/{id}", delete, methods=["DELETE"]),
                             Route("/items/{id}", touch, methods=["PUT"]), Route("/empty-text", templated),
                             Route("/items", many), Route("/feed", paged), Route("/log", paged)])


async def test_an_empty_successful_answer_says_its_status(tmp_path: Path) -> None:
    (tmp_path / "items.json").write_text(json.dumps(SPEC))
    with serve_app(items_app()) as base:
        (tmp_path / "mcp.yaml").write_text(
            f"version: 1\ndefaults:\n  prune: {{drop_nulls: true, drop_empty: true}}\nsources:\n  items:\n    openapi: items.json\n    base_url: {base}\n"
            "    tools:\n      emptyText: {output: 'got [{{ result }}]'}\n"
            "      listItems:\n        prune: '[].{id: id, name: name, price: price}'\n"
            "        output: \"{% for i in result %}{{ i.id }} {{ i.name }} $${{ i.price }}\\n{% endfor %}\"\n"
            "      getMap: {name: get_map, prune: '@', max_result_bytes: 2KB}\n"
            "      getRecord: {output: '{{ result.name }} — {{ result.description | shorten(40) }}'}\n"
            "      checkRecord: {output: \"{{ result.name }}: {{ 'draft' in result.description }} "
            "{{ result.description in 'draft' }}\"}\n"
            "      listing: {output: \"{% set rows = result.entries %}{% for e in rows %}{{ e.id }}:{{ e.created }};"
            "{% endfor %}\"}\n"
            "      listingMeta: {output: \"{{ result.meta.updated }} {{ result.meta.created }}\"}\n"
            "      getThing: {prune: '{id: id, name: name}'}\n"
            "      feed: {max_result_bytes: 5KB}\n      log: {max_result_bytes: 5KB}\n")
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload") as up:
            async with http_client(up.url) as client:
                deleted = await client.call_tool("deleteItem", {"id": "a1"})
                touched = await client.call_tool("touchItem", {"id": "a1"})
                templated = await client.call_tool("emptyText", {})
                # Shares this server (cheap): a 1 MB list whose rendering passes the template output
                # cap (MCPRT_TEMPLATE_MAX_OUTPUT, 1,000,000) was an error; 1,000 items were shortened.
                # The SDK client rejects a result whose structuredContent breaks the tool's outputSchema.
                mapped = await client.call_tool("get_map", {})
                recorded = await client.call_tool("getRecord", {"id": 3})
                checked = await client.call_tool("checkRecord", {"id": 3})
                listing = await client.call_tool("listing", {})
                listing_meta = await client.call_tool("listingMeta", {})
                listed = {count: await client.call_tool("listItems", {"count": count}) for count in (1_000, 2_000)}
                # the trial's empty list (petstore's find_pets_by_status, an empty Kubernetes namespace): a
                # template looping over `[]` sent an empty text block, read as "nothing happened"
                none_listed = await client.call_tool("listItems", {"count": 0})
                # the SDK client refused the whole result ("Invalid structured content"): the model got nothing
                things = {given: await client.call_tool("getThing", {"id": given})
                          for given in ("abc", "9007199254740993")}
                pages = {(tool, shape): await client.call_tool(tool, {"shape": shape}) for tool, shape in (
                    ("feed", "page"), ("feed", "text"), ("log", "time"), ("log", "object"), ("log", "opaque"))}
    assert not deleted.is_error and deleted.content[0].text == "HTTP 204 No Content (empty body)"
    assert not touched.is_error and touched.content[0].text == "HTTP 200 OK (empty body)"
    assert templated.content[0].text == "got []"  # an output template still renders what came
    assert not none_listed.is_error and [b.text for b in none_listed.content] == ["No results (empty list)."], \
        none_listed.content
    wrong, exact = things["abc"], things["9007199254740993"]
    assert not wrong.is_error and wrong.structured_content == {}, wrong
    assert json.loads(wrong.content[0].text) == {"id": "abc", "name": "thing"}
    assert wrong.content[1].text == (
        "Note: structuredContent is empty because the upstream's answer does not match the response schema its "
        "API description documents ($.id: string, expected integer/null); the text is the whole result")
    assert exact.structured_content == {"id": 9007199254740993, "name": "thing"} and len(exact.content) == 1
    assert '"id":9007199254740993' in exact.content[0].text  # exact in both (README: RFC 8259 §6)
    assert not recorded.is_error and recorded.content[0].text == "Item 3 —", recorded.content[0].text
    # `in` on the absent field: Python's TypeError named the internal `_DocumentedUndefined` class
    assert checked.is_error and "Undefined" not in checked.content[0].text
    assert checked.content[0].text.startswith(
        f"Tool 'checkRecord' could not format its result: its output template ({tmp_path / 'mcp.yaml'}:"), \
        checked.content[0].text
    assert " failed at line 1: field 'description' is absent from this record (a documented field a record may " \
           "lack: it renders empty, but cannot be used as a value here; guard it with `| default(…)` or " \
           "`is defined`)" in checked.content[0].text, checked.content[0].text
    assert not listing.is_error and listing.content[0].text == "1:2026;2:;", listing.content[0].text
    assert listing_meta.is_error and "failed at line 1: field 'created' is missing: 'dict object' has no attribute " \
        "'created'" in listing_meta.content[0].text, listing_meta.content[0].text  # it rendered empty
    assert not mapped.is_error and mapped.structured_content
    assert "…" not in mapped.structured_content and json.loads(mapped.content[0].text) == mapped.structured_content
    assert f"$: {3000 - len(mapped.structured_content)} of 3000 keys omitted" in mapped.content[1].text
    assert sum(len(block.text.encode()) for block in mapped.content) <= 2048  # notes included
    for count, result in listed.items():
        assert not result.is_error, result.content[0].text
        text, note = (block.text for block in result.content)
        assert text.startswith("0 word word")
        assert len(text.encode()) + len(note.encode()) <= 100_000  # the default max_result_bytes, notes counted
        # the items are kept with their names shortened, as many as fit so (shapeleft, fault 2); the rest dropped
        kept = len(text.splitlines())
        assert kept >= 1_000 and all(" … (" in line for line in text.splitlines())
        omitted = f"; $: {count - kept} of {count} items omitted\nNote: {PAGE_NOTE}" if kept < count else ""
        assert note == f"Note: result shortened to fit 100,000 bytes: $[*].name: text shortened in {kept} of {kept} items{omitted}"
    # The page note only where a cursor the operation takes back continues after dropped items: not for a page
    # whose one long text was shortened (nothing omitted), nor for `after`/`marker`/`next` the operation cannot take.
    for (tool, shape), result in pages.items():
        assert not result.is_error, result.content[0].text
        note = result.content[-1].text
        assert note.startswith("Note: result shortened to fit 5,000 bytes: $."), note
        assert ("NOT on the next page" in note) == (shape == "page"), (tool, shape, note)
    assert "NOT on the next page (`after`)" in pages["feed", "page"].content[-1].text
    assert "items omitted" not in pages["feed", "text"].content[-1].text
