"""An error that comes as a 2xx body reaches the model, through a real server and a real upstream.

The fault: Slack (and others, without a shared `ok` flag) answer errors with status 200. A prune
written for the success shape reads none of the error's fields, so the model received `null`, `{}`
(after `drop_nulls`) or an empty rendering, and could not act. Now such a body is sent unpruned
with a note (rule in `mcprt/shaping/prune_miss.py`); legitimate empties and ordinary successes are
shaped exactly as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcprt.authoring.table import as_objects
from mcprt.manifest.model import BASE_URL_PLACEHOLDER
from tests.support.cli import mcprt_cli
from tests.support.served import http_client, mcprt_http
from tests.support.upstream import serve_app

MESSAGES = [{"ts": "1700000000.000100", "user": "U1", "text": "deploy at 5", "type": "message", "blocks": []},
            {"ts": "1700000000.000200", "user": "U2", "text": "ok", "type": "message", "blocks": []}]


def _op(operation_id: str, path: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"get": {
        "operationId": operation_id,
        "parameters": [{"name": "channel", "in": "query", "required": True, "schema": {"type": "string"}}],
        # the success shape only: the description documents no error shape (as many do)
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
            "type": "object", "properties": properties}}}}},
    }}


MESSAGE_LIST = {"type": "array", "items": {"type": "object", "properties": {
    "ts": {"type": "string"}, "user": {"type": "string"}, "text": {"type": "string"}}}}
SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Chat", "version": "1"},
    "paths": {
        "/conversations.history": _op("history", "/conversations.history",
                                      {"messages": MESSAGE_LIST, "has_more": {"type": "boolean"}}),
        "/conversations.digest": _op("digest", "/conversations.digest",
                                     {"messages": MESSAGE_LIST, "has_more": {"type": "boolean"}}),
        "/conversations.render": _op("render", "/conversations.render",
                                     {"messages": MESSAGE_LIST, "has_more": {"type": "boolean"}}),
        "/items.list": _op("items", "/items.list", {"items": MESSAGE_LIST, "total": {"type": "integer"}}),
        "/items.page": _op("itemsPage", "/items.page", {"items": MESSAGE_LIST, "total": {"type": "integer"}}),
    },
}

TOOLS = """\
    tools:
      history:
        prune: "messages[].{ts: ts, user: user, text: text}"
      digest:
        prune: "{texts: messages[].text, more: has_more}"
      render:
        prune: "messages[].{user: user, text: text}"
        output: "{% for m in result %}{{ m.user }}: {{ m.text }}\\n{% endfor %}"
      items:
        prune: items
      itemsPage:
        prune: "{ids: items[].ts, total: total}"
"""


def chat_app() -> Starlette:
    """A Slack-like API: unknown channels get `{"ok": false, "error": …}` with 200; `other` answers
    an error of its own shape (no `ok` flag); `empty` has no messages or items at all."""

    async def messages(request: Request) -> JSONResponse:
        channel = request.query_params["channel"]
        if channel == "C1":
            return JSONResponse({"ok": True, "messages": MESSAGES, "has_more": False})
        if channel == "empty":
            return JSONResponse({"ok": True, "messages": [], "has_more": False})
        if channel == "other":
            return JSONResponse({"fault": {"code": "E_CHANNEL", "reason": f"no channel {channel!r} here"}})
        return JSONResponse({"ok": False, "error": "channel_not_found"})

    async def items(request: Request) -> JSONResponse:
        if request.query_params["channel"] == "empty":
            return JSONResponse({"items": [], "total": 0})
        if request.query_params["channel"] == "huge":
            return JSONResponse({"ok": False, "error": "too_many", "detail": ["x" * 200] * 200})
        return JSONResponse({"ok": False, "error": "not_authed"})

    return Starlette(routes=[
        Route("/conversations.history", messages), Route("/conversations.digest", messages),
        Route("/conversations.render", messages), Route("/items.list", items), Route("/items.page", items)])


def write_manifest(folder: Path, base: str, defaults: str = "") -> Path:
    (folder / "chat.json").write_text(json.dumps(SPEC))
    path = folder / "mcp.yaml"
    path.write_text(f"version: 1\n{defaults}sources:\n  chat:\n    openapi: chat.json\n    base_url: {base}\n{TOOLS}")
    return path


def texts(result: Any) -> list[str]:
    return [block.text for block in result.content]


UNPRUNED_NOTE = "found none of its fields in this response, which is shown unpruned"


async def test_a_2xx_error_body_reaches_the_model_unpruned_and_the_rest_is_unchanged(tmp_path: Path) -> None:
    with serve_app(chat_app()) as base:
        manifest = write_manifest(tmp_path, base, defaults="defaults:\n  prune: {drop_nulls: true}\n  "
                                  "max_result_bytes: 4000\n")
        with mcprt_http(manifest, "--no-reload") as up:
            async with http_client(up.url) as client:
                listed = {tool.name: tool for tool in (await client.list_tools()).tools}
                calls = {
                    (tool, channel): await client.call_tool(tool, {"channel": channel})
                    for tool in ("history", "digest", "render", "items", "itemsPage")
                    for channel in ("C1", "nope", "other", "empty", "huge")
                }

    # Slack's shape: the error and its code reach the model, with a note; not an MCP error (the API said 200)
    slack = calls["history", "nope"]
    assert not slack.is_error
    assert json.loads(texts(slack)[0]) == {"ok": False, "error": "channel_not_found"}
    assert UNPRUNED_NOTE in texts(slack)[1] and "messages[].{ts: ts, user: user, text: text}" in texts(slack)[1]
    # an error of its own shape, no `ok` flag: the same
    assert json.loads(texts(calls["history", "other"])[0]) == {
        "fault": {"code": "E_CHANNEL", "reason": "no channel 'other' here"}}
    # a prune building an object of nulls (drop_nulls would have made it `{}`), and a declared outputSchema:
    # the body goes as text beside an empty structuredContent, which the schema (no `required`) accepts
    assert listed["digest"].output_schema is not None
    digest = calls["digest", "nope"]
    assert json.loads(texts(digest)[0]) == {"ok": False, "error": "channel_not_found"}
    assert digest.structured_content == {} and UNPRUNED_NOTE in texts(digest)[1]
    # an output template reads the pruned shape: it is not applied to a body of another shape
    render = calls["render", "nope"]
    assert json.loads(texts(render)[0]) == {"ok": False, "error": "channel_not_found"}
    assert UNPRUNED_NOTE in texts(render)[1]
    # the size limit still applies to an unpruned body
    huge = calls["items", "huge"]
    assert len(texts(huge)[0].encode()) <= 4000 and json.loads(texts(huge)[0])["error"] == "too_many"
    assert any("result shortened to fit 4,000 bytes" in text for text in texts(huge)[1:])

    # legitimate empties stay as they are: what the prune found is empty, not missing
    assert texts(calls["items", "empty"]) == ["[]"]
    assert texts(calls["itemsPage", "empty"]) == ['{"ids":[],"total":0}']
    assert calls["itemsPage", "empty"].structured_content == {"ids": [], "total": 0}
    assert texts(calls["history", "empty"]) == ["[]"]
    assert texts(calls["render", "empty"]) == ["No results (empty list)."]  # the template rendered an empty list: said so
    # and successes are pruned (and rendered) exactly as before
    assert json.loads(texts(calls["history", "C1"])[0]) == [
        {"ts": m["ts"], "user": m["user"], "text": m["text"]} for m in MESSAGES]
    assert calls["digest", "C1"].structured_content == {"texts": ["deploy at 5", "ok"], "more": False}
    assert texts(calls["render", "C1"]) == ["U1: deploy at 5\nU2: ok"]
    for (tool, channel), result in calls.items():
        if channel in ("C1", "empty") and (tool, channel) != ("items", "C1") and (tool, channel) != ("itemsPage", "C1"):
            assert not any("Note:" in text for text in texts(result)), (tool, channel, texts(result))


async def test_init_s_suggested_prune_no_longer_turns_a_2xx_error_into_an_empty_object(tmp_path: Path) -> None:
    """`mcprt init` suggests `{messages: …, has_more: has_more}` from the success schema (the document names
    no error shape) with `drop_nulls`/`drop_empty`: Slack's error became `{}`; now it is shown unpruned."""
    (tmp_path / "chat.json").write_text(json.dumps(SPEC))
    done = mcprt_cli("init", "--openapi", "chat.json", "--out", "mcp.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    manifest = (tmp_path / "mcp.yaml").read_text()
    prune = YAML(typ="safe").load(manifest)["sources"]["chat"]["tools"]["history"]["prune"]
    # from 3 messages on a table; these 2 come as the object form after `||`
    assert as_objects(prune) == "{messages: messages[].{ts: ts, user: user, text: text}, has_more: has_more}", prune
    with serve_app(chat_app()) as base:
        (tmp_path / "mcp.yaml").write_text(manifest.replace(f'"{BASE_URL_PLACEHOLDER}"', base))  # init's placeholder
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload") as up:
            async with http_client(up.url) as client:
                error = await client.call_tool("history", {"channel": "nope"})
                empty = await client.call_tool("history", {"channel": "empty"})
                found = await client.call_tool("history", {"channel": "C1"})
    assert json.loads(texts(error)[0]) == {"ok": False, "error": "channel_not_found"}
    assert UNPRUNED_NOTE in texts(error)[1]
    assert texts(empty) == ['{"has_more":false}']  # found, if empty: pruned (and drop_empty) as before
    assert json.loads(texts(found)[0]) == {"messages": [{"ts": m["ts"], "user": m["user"], "text": m["text"]}
                                                        for m in MESSAGES], "has_more": False}


ORDER_SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Shop", "version": "1"},
    "paths": {"/orders/{id}": {"get": {
        "operationId": "getOrder",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
            "type": "object", "required": ["id"], "properties": {
                "id": {"type": "integer"},
                "customer": {"type": "object", "properties": {"email": {"type": "string"}}},
                "discount": {"type": ["integer", "null"]},
                "note": {"type": ["string", "null"]}}}}}}}}}},
}
CUSTOMER = {"email": "c3@x.io"}


def shop_app() -> Starlette:
    """Order 2 has a discount; order 3 has both optional fields null; order 4 leaves them out (an API that omits
    nulls); order 5 is an error sent with 200, in a shape of its own beside a documented `id`."""

    async def order(request: Request) -> JSONResponse:
        number = int(request.path_params["id"])
        if number == 2:
            return JSONResponse({"id": 2, "customer": CUSTOMER, "discount": 5, "note": None})
        if number == 3:
            return JSONResponse({"id": 3, "customer": CUSTOMER, "discount": None, "note": None})
        if number == 4:
            return JSONResponse({"id": 4, "customer": CUSTOMER})
        return JSONResponse({"id": number, "customer": CUSTOMER, "error": "order_locked"})

    return Starlette(routes=[Route("/orders/{id}", order)])


async def test_a_prune_whose_fields_are_null_or_absent_is_applied_and_never_leaks_what_it_drops(
        tmp_path: Path) -> None:
    await _order_discounts(tmp_path, ORDER_SPEC, (2, 3, 4, 5))


def _partial(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with the order's `customer` left out of its description (descriptions leave fields out)."""
    partial = json.loads(json.dumps(spec))
    schema = partial["paths"]["/orders/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    del schema["properties"]["customer"]
    return partial


async def test_a_prune_whose_fields_are_null_or_omitted_never_leaks_what_the_description_leaves_out(
        tmp_path: Path) -> None:
    """Review of shapefix, problem 1: with `customer` undocumented, order 3 (discount and note null) was a miss
    and its `customer` (the e-mail) was shown as a "foreign" member, the template skipped. The body holds the
    members the prune reads: it is the prune's shape, and the prune's value stands.

    Shapeleft, fault 1: order 4, from an API that omits nulls (`{id, customer}`), still counted as another
    shape and sent `{"customer": {"email": …}}`. It holds the required `id` and the prune reads only optional
    members: the documented order, pruned. Order 5's error beside it is shown alone, its `customer` not."""
    await _order_discounts(tmp_path, _partial(ORDER_SPEC), (2, 3, 4, 5))


def shop_ref_spec() -> dict[str, Any]:
    """The order described through `$ref` and `allOf` (its `required` on the referenced part), `customer` left
    out, and a declared `status`."""
    spec = _partial(ORDER_SPEC)
    op = spec["paths"]["/orders/{id}"]["get"]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    spec["components"] = {"schemas": {
        "Record": {"type": "object", "required": schema.pop("required"),
                   "properties": {"id": schema["properties"].pop("id")}},
        "Order": {"allOf": [{"$ref": "#/components/schemas/Record"},
                            {"type": "object", "properties": {**schema["properties"], "status": {"type": "string"}}}]}}}
    op["responses"]["200"]["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/Order"}
    return spec


def shop_ref_spec_unrequired() -> dict[str, Any]:
    """`shop_ref_spec` with no `required` stated, as many API descriptions are written."""
    spec = shop_ref_spec()
    del spec["components"]["schemas"]["Record"]["required"]
    return spec


@pytest.mark.parametrize(
    ("spec", "members"),
    [
        (shop_ref_spec, "its members `message`, `customer` only"),
        # review of shapeleft, problem 1: with no `required`, the error body fitted the order and was emptied
        # (the model read "discount=none note=none"); its `message` is an error carrier, shown, `customer` not
        (shop_ref_spec_unrequired, "its member `message` only"),
    ],
)
async def test_a_body_without_a_required_member_is_another_shape_and_is_not_emptied(
        tmp_path: Path, spec: Callable[[], dict[str, Any]], members: str) -> None:
    """Shapeleft, fault 1, the other side: `{"status": "error", "message": …}` (an error sent with 200) holds the
    declared `status` but not the `id` the description requires (through `$ref` and `allOf`): another shape, so
    its `message` reaches the model with a note, where the prune's empty value would have read "no discount";
    order 4 (`{id, customer}`, nulls omitted) is still the documented order, pruned. With no `required` stated,
    the error body fits the order too, and its `message`, an error carrier, is shown all the same."""

    async def order(request: Request) -> JSONResponse:
        number = int(request.path_params["id"])
        if number == 4:
            return JSONResponse({"id": 4, "customer": CUSTOMER})
        return JSONResponse({"status": "error", "message": f"no order {number}", "customer": None})

    (tmp_path / "shop.json").write_text(json.dumps(spec()))
    manifest = tmp_path / "mcp.yaml"
    with serve_app(Starlette(routes=[Route("/orders/{id}", order)])) as base:
        manifest.write_text(_DISCOUNT_MANIFEST.format(base=base))
        with mcprt_http(manifest, "--no-reload") as up:
            async with http_client(up.url) as client:
                found = await client.call_tool("get_order_discount", {"id": 4})
                error = await client.call_tool("get_order_discount", {"id": 9})
    assert texts(found) == ["discount=none note=none"]
    assert json.loads(texts(error)[0]) == {"message": "no order 9"}  # `customer: null` dropped by drop_nulls
    assert f"found none of its fields in this response, which is shown as {members}" in texts(error)[1]
    assert not error.is_error


_DISCOUNT_MANIFEST = (
    "version: 1\ndefaults:\n  prune: {{drop_nulls: true}}\nsources:\n  shop:\n    openapi: shop.json\n"
    "    base_url: {base}\n    tools:\n      getOrder:\n        name: get_order_discount\n"
    "        prune: \"{{discount: discount, note: note}}\"\n"
    "        output: \"discount={{{{ result.discount | default('none') }}}} note={{{{ result.note | default('none') }}}}\"\n")


async def _order_discounts(tmp_path: Path, spec: dict[str, Any], numbers: tuple[int, ...]) -> None:
    """Shaping trial, fault 1 (HIGH): `{discount: discount, note: note}` on an order whose two nullable fields
    were null counted as "found none of its fields", and the whole order, customer e-mail included, went to the
    model with the output template skipped. A present member is found whatever its value; and a miss never shows
    a member the API description documents (what the prune was written to drop), only the foreign ones."""
    (tmp_path / "shop.json").write_text(json.dumps(spec))
    manifest = tmp_path / "mcp.yaml"
    with serve_app(shop_app()) as base:
        manifest.write_text(_DISCOUNT_MANIFEST.format(base=base))
        with mcprt_http(manifest, "--no-reload") as up:
            async with http_client(up.url) as client:
                results = {number: await client.call_tool("get_order_discount", {"id": number})
                           for number in numbers}
    assert texts(results[2]) == ["discount=5 note=none"]
    assert texts(results[3]) == ["discount=none note=none"]  # null is a value: the template renders it
    if 4 in results:
        assert texts(results[4]) == ["discount=none note=none"]  # absent, in the documented shape: the same
    if 5 in results:
        error = results[5]  # another shape: its foreign member only, never the documented (pruned-away) customer
        assert json.loads(texts(error)[0]) == {"error": "order_locked"}
        assert "found none of its fields in this response, which is shown as its member `error` only" \
            in texts(error)[1]
    for result in results.values():
        assert not any("c3@x.io" in text for text in texts(result)), texts(result)
        assert not result.is_error


LIST_SPEC = {
    "openapi": "3.1.0", "info": {"title": "Shop", "version": "1"},
    "paths": {
        **ORDER_SPEC["paths"],
        "/orders": {"get": {"operationId": "listOrders", "parameters": [
            {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "data": {"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "integer"}, "note": {"type": ["string", "null"]}}}},
                    "next_cursor": {"type": ["string", "null"]}}}}}}}}},
    },
}


async def test_a_key_the_tool_s_prune_selects_is_not_dropped_by_defaults_drop_keys(tmp_path: Path) -> None:
    """Shaping trial, fault 6: `defaults.prune.drop_keys: [note, "*_cursor"]` deleted the `note` a tool's prune
    `{id: id, note: note}` selected (and left it out of the outputSchema), and the `next_cursor` another kept for
    paging. The tool's explicit selection wins over the source-wide default."""

    async def orders(request: Request) -> JSONResponse:
        return JSONResponse({"data": [{"id": 1, "note": "gift"}], "next_cursor": "c2"})

    async def order(request: Request) -> JSONResponse:
        return JSONResponse({"id": 2, "customer": CUSTOMER, "discount": 5, "note": "gift"})

    (tmp_path / "shop.json").write_text(json.dumps(LIST_SPEC))
    manifest = tmp_path / "mcp.yaml"
    with serve_app(Starlette(routes=[Route("/orders", orders), Route("/orders/{id}", order)])) as base:
        manifest.write_text(
            "version: 1\ndefaults:\n  prune: {drop_keys: [note, \"*_cursor\"]}\nsources:\n  shop:\n"
            f"    openapi: shop.json\n    base_url: {base}\n    tools:\n"
            "      getOrder: {name: get_order, prune: \"{id: id, note: note}\"}\n"
            "      listOrders:\n        name: list_orders\n        prune: \"{notes: data[].note, next_cursor: next_cursor}\"\n"
            "        output: \"{{ result.notes | join(',') }} next={{ result.next_cursor }}\"\n")
        strict = mcprt_cli("validate", "--strict", str(manifest))
        assert strict.returncode == 0, strict.stderr  # the template's `result.next_cursor` is no longer dropped
        with mcprt_http(manifest, "--no-reload") as up:
            async with http_client(up.url) as client:
                listed = {tool.name: tool for tool in (await client.list_tools()).tools}
                got = await client.call_tool("get_order", {"id": 2})
                page = await client.call_tool("list_orders", {})
    assert got.structured_content == {"id": 2, "note": "gift"}
    assert "note" in (listed["get_order"].output_schema or {}).get("properties", {})
    assert texts(page) == ["gift next=c2"]


async def test_drop_keys_spares_a_selected_key_only_where_the_prune_builds_it(tmp_path: Path) -> None:
    """Review of shapefix, problem 4: the prune `{customer: data[0].customer.name, orders: data}` named
    `customer` at its top, and `drop_keys: [customer, note]` then spared every `customer` in the orders it
    passes whole (the e-mail reached the model). The top-level alias is kept; the nested ones are dropped."""

    async def orders(request: Request) -> JSONResponse:
        return JSONResponse({"data": [{"id": 1, "note": "gift", "customer": {"name": "Ann", "email": "c1@x.io"}},
                                      {"id": 2, "note": None, "customer": {"name": "Bo", "email": "c2@x.io"}}],
                             "next_cursor": "c2"})

    (tmp_path / "shop.json").write_text(json.dumps(LIST_SPEC))
    manifest = tmp_path / "mcp.yaml"
    with serve_app(Starlette(routes=[Route("/orders", orders)])) as base:
        manifest.write_text(
            "version: 1\ndefaults:\n  prune: {drop_keys: [note, customer]}\nsources:\n  shop:\n"
            f"    openapi: shop.json\n    base_url: {base}\n    tools:\n"
            "      listOrders:\n        name: list_orders\n"
            "        prune: \"{customer: data[0].customer.name, orders: data, notes: data[].{id: id, note: note}}\"\n")
        with mcprt_http(manifest, "--no-reload") as up:
            async with http_client(up.url) as client:
                page = await client.call_tool("list_orders", {})
    assert json.loads(texts(page)[0]) == {"customer": "Ann", "orders": [{"id": 1}, {"id": 2}],
                                          "notes": [{"id": 1, "note": "gift"}, {"id": 2, "note": None}]}
