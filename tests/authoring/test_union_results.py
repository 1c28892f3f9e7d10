"""A response of alternative records (`oneOf`/`anyOf`: a polymorphic search or feed), end to end.

Trial "fastmcp", fault 1: `GET /search` returns `items: {oneOf: [Customer, Order, Product]}`. `mcprt init`
suggested a prune with the Customer's fields only, saying nothing of what it left out — served, an order lost
its `total` and a product became `{"name": "Widget"}` — and `validate` passed a typo (`nmae`) on that prune,
because `[]` over such items was taken for a list of lists of any shape. Now each alternative is walked as the
record it is (`authoring/suggest.py`, `_object`), a field is possible when any alternative has it
(`shaping/schema_paths.py`, `_may_be`), and the "leaves out" comment covers list responses too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcprt.authoring.left_out import left_out
from mcprt.authoring.suggest import suggest_prune
from mcprt.authoring.table import as_objects
from mcprt.manifest.model import BASE_URL_PLACEHOLDER
from tests.support.cli import mcprt_cli
from tests.support.served import http_client, mcprt_http, text_of
from tests.support.upstream import serve_app

# the trial's own schemas (acme.json, made by its genspec.py)
CUSTOMER = {"type": "object", "required": ["id", "name", "email", "status"], "properties": {
    "id": {"type": "string", "readOnly": True}, "name": {"type": "string"},
    "email": {"type": "string", "format": "email"},
    "status": {"type": "string", "enum": ["active", "suspended", "closed"]},
    "tags": {"type": "array", "items": {"type": "string"}},
    "address": {"type": "object", "required": ["line1", "city", "country"], "properties": {
        "line1": {"type": "string"}, "city": {"type": "string"}, "country": {"type": "string"}}},
    "created_at": {"type": "string", "format": "date-time", "readOnly": True},
    "phone": {"type": "string", "nullable": True}}}
ORDER = {"type": "object", "required": ["id", "customer_id", "status", "total"], "properties": {
    "id": {"type": "string"}, "customer_id": {"type": "string"},
    "status": {"type": "string", "enum": ["pending", "paid", "shipped", "cancelled"]},
    "items": {"type": "array", "items": {"type": "object", "required": ["sku", "quantity"], "properties": {
        "sku": {"type": "string"}, "quantity": {"type": "integer"}, "unit_price": {"type": "number"}}}},
    "total": {"type": "number"}, "created_at": {"type": "string", "format": "date-time"}}}
PRODUCT = {"type": "object", "required": ["sku", "name", "price"], "properties": {
    "sku": {"type": "string"}, "name": {"type": "string"}, "price": {"type": "number"},
    "category": {"type": "string", "enum": ["hardware", "software", "services"]}, "in_stock": {"type": "boolean"},
    "dimensions": {"type": "object", "properties": {"w": {"type": "number"}, "h": {"type": "number"}}},
    "image_url": {"type": "string", "nullable": True}}}
KEY = {"name": "q", "in": "query", "required": True, "schema": {"type": "string", "minLength": 2}}


def spec(keyword: str = "oneOf") -> dict[str, Any]:
    refs = [{"$ref": f"#/components/schemas/{n}"} for n in ("Customer", "Order", "Product")]
    union = {keyword: refs}
    return {
        "openapi": "3.0.3", "info": {"title": "Acme", "version": "1"},
        "paths": {
            "/search": {"get": {"operationId": "search", "summary": "Search everything", "parameters": [KEY],
                                "responses": {"200": {"description": "OK", "content": {"application/json": {
                                    "schema": {"type": "array", "items": union}}}}}}},
            "/things/{id}": {"get": {"operationId": "getThing", "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": union}}}}}},
        },
        "components": {"schemas": {"Customer": CUSTOMER, "Order": ORDER, "Product": PRODUCT}},
    }


# what the trial's upstream answered to `search {"q": "wid"}`
FOUND = [
    {"id": "c1", "name": "Ada", "email": "ada@example.com", "status": "active", "tags": ["vip"],
     "address": {"line1": "1 Main St", "city": "Paris", "country": "FR"}, "created_at": "2026-01-01T10:00:00Z",
     "phone": None},
    {"id": "o1", "customer_id": "c1", "status": "pending", "items": [{"sku": "W-1", "quantity": 2}],
     "total": 19.0, "created_at": "2026-01-03T10:00:00Z"},
    {"sku": "W-1", "name": "Widget", "price": 9.5, "category": "hardware", "in_stock": True,
     "dimensions": {"w": 1, "h": 2}, "image_url": None},
]


def acme_app() -> Starlette:
    async def search(request: Request) -> JSONResponse:
        return JSONResponse(FOUND)

    async def thing(request: Request) -> JSONResponse:
        return JSONResponse(FOUND[int(request.path_params["id"])])

    return Starlette(routes=[Route("/search", search), Route("/things/{id}", thing)])


def _annotated(keyword: str) -> dict[str, Any]:
    """The search's annotated response shape, as `init` reads it."""
    from mcprt.sources.openapi.loader import document_from_bytes
    from mcprt.sources.openapi.responses import annotated_shapes

    doc = document_from_bytes(json.dumps(spec(keyword)).encode(), "acme.json")
    return annotated_shapes(doc)["search"][0]  # type: ignore[return-value]


@pytest.mark.parametrize("keyword", ["oneOf", "anyOf"])
def test_the_suggestion_keeps_each_alternative_s_fields_and_says_what_it_leaves_out(keyword: str) -> None:
    shape = _annotated(keyword)
    suggested = suggest_prune(shape)
    assert suggested is not None
    import jmespath

    # the items' fields are the choice checked here: read through the object form of the suggested table
    table = jmespath.search(suggested, FOUND)
    assert set(table) == {"columns", "rows"} and len(table["rows"]) == 3, table
    pruned = jmespath.search(as_objects(suggested), FOUND)
    assert [[item[c] for c in table["columns"]] for item in pruned] == table["rows"]
    customer, order, product = pruned
    assert {k: v for k, v in customer.items() if v is not None} == {
        "id": "c1", "name": "Ada", "email": "ada@example.com", "status": "active", "tags": ["vip"],
        "created_at": "2026-01-01T10:00:00Z"}
    # the order keeps its total, the product its sku and price: what the model acts on
    assert {k: v for k, v in order.items() if v is not None} == {
        "id": "o1", "status": "pending", "total": 19.0, "created_at": "2026-01-03T10:00:00Z"}
    assert {k: v for k, v in product.items() if v is not None} == {
        "name": "Widget", "sku": "W-1", "price": 9.5, "category": "hardware", "in_stock": True}
    # and what the list-item rule drops is said, for a list response too (it said nothing of any before)
    assert left_out(shape, suggested) == ["[].address", "[].customer_id", "[].items", "[].dimensions"]


def test_one_record_alternative_beside_an_empty_object_is_that_record() -> None:
    """GitHub's commit `author: anyOf: [simple-user, empty-object]`: the empty object is no record, so a list's
    items keep the user's one name, as before (not every field of a user)."""
    user = {"type": "object", "properties": {"login": {"type": "string"}, "id": {"type": "integer"},
                                             "url": {"type": "string"}}}
    commit = {"type": "array", "items": {"type": "object", "properties": {
        "sha": {"type": "string"}, "author": {"anyOf": [user, {"type": "object", "properties": {}}]}}}}
    assert suggest_prune(commit) == "[].{sha: sha, author: author.login}"


def test_a_union_of_references_in_list_items_keeps_each_one_s_name() -> None:
    """A list item's reference is one name under its key; of alternative references, each one's name
    (`a || b`: the first the value has), not the first alternative's only."""
    person = {"type": "object", "properties": {"id": {"type": "integer"}, "login": {"type": "string"},
                                               "url": {"type": "string"}}}
    team = {"type": "object", "properties": {"id": {"type": "integer"}, "slug": {"type": "string"},
                                             "url": {"type": "string"}}}
    listing = {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}, "owner": {"anyOf": [person, team]}}}}
    suggested = as_objects(suggest_prune(listing) or "")  # a table of three columns: its object form
    assert suggested == "[].{id: id, title: title, owner: owner.login || owner.slug}"
    import jmespath

    assert jmespath.search(suggested, [{"id": 1, "title": "a", "owner": {"id": 2, "slug": "core"}}]) == [
        {"id": 1, "title": "a", "owner": "core"}]


def _manifest(tmp_path: Path, keyword: str, prune: str) -> Path:
    (tmp_path / "acme.json").write_text(json.dumps(spec(keyword)))
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(f"""\
version: 1
server: {{name: acme}}
sources:
  acme:
    openapi: acme.json
    base_url: http://127.0.0.1:9
    tools:
      search:
        prune: "{prune}"
""")
    return manifest


@pytest.mark.parametrize("keyword", ["oneOf", "anyOf"])
def test_validate_checks_a_prune_against_every_alternative(tmp_path: Path, keyword: str) -> None:
    """The trial's hand-written prune: `sku`, `total`, `price` are fields of one alternative each (fine);
    `nmae` is none's — the same error `getCustomer` gives, at its line and column."""
    manifest = _manifest(tmp_path, keyword, "[].{id: id, sku: sku, total: total, price: price, nmae: nmae}")
    done = mcprt_cli("validate", "--offline", str(manifest), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    column = manifest.read_text().splitlines()[8].index("nmae: nmae") + len("nmae: ") + 1
    assert f"mcp.yaml:9:{column}: prune: field 'nmae' cannot exist here: the response schema has no such " \
           "field (did you mean 'name'?)" in done.stderr, done.stderr
    assert "sku" not in done.stderr and "total" not in done.stderr and "price" not in done.stderr
    fine = _manifest(tmp_path, keyword, "[].{id: id, sku: sku, total: total, price: price, name: name}")
    done = mcprt_cli("validate", "--offline", "--strict", str(fine), cwd=tmp_path)
    assert done.returncode == 0, done.stderr


async def test_init_s_prune_served_keeps_what_each_result_kind_needs(tmp_path: Path) -> None:
    """The trial's steps: `init`, then the SDK client calls `search {"q": "wid"}` on `mcprt up` over HTTP."""
    (tmp_path / "acme.json").write_text(json.dumps(spec()))
    done = mcprt_cli("init", "--openapi", "acme.json", "--out", "mcp.yaml", "--no-input", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = (tmp_path / "mcp.yaml").read_text()
    assert "# the suggested prune leaves out: [].address, [].customer_id, [].items, [].dimensions" in written
    with serve_app(acme_app()) as base:
        (tmp_path / "mcp.yaml").write_text(written.replace(f'"{BASE_URL_PLACEHOLDER}"', base))
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload") as up:
            async with http_client(up.url) as client:
                result = await client.call_tool("search", {"q": "wid"})
    assert not result.is_error, text_of(result)
    table = json.loads(text_of(result))  # a table: `columns` once, a row per result, null where one has none
    assert result.structured_content == table
    customer, order, product = ({c: v for c, v in zip(table["columns"], row, strict=True) if v is not None}
                                for row in table["rows"])
    assert customer["id"] == "c1" and customer["email"] == "ada@example.com"
    assert order == {"id": "o1", "status": "pending", "total": 19.0, "created_at": "2026-01-03T10:00:00Z"}
    assert product == {"sku": "W-1", "name": "Widget", "price": 9.5, "category": "hardware", "in_stock": True}


async def test_the_output_schema_of_a_union_prune_admits_every_alternative(tmp_path: Path) -> None:
    """A prune over one result of alternative records declares an outputSchema in which a field only some
    alternatives have may be null: each real alternative, pruned, validates against it (and the SDK client
    checks structuredContent against the tool's outputSchema)."""
    (tmp_path / "acme.json").write_text(json.dumps(spec()))
    manifest = tmp_path / "mcp.yaml"
    with serve_app(acme_app()) as base:
        manifest.write_text(f"""\
version: 1
server: {{name: acme}}
sources:
  acme:
    openapi: acme.json
    base_url: {base}
    include: {{operations: [getThing]}}
    tools:
      getThing:
        prune: "{{id: id, sku: sku, name: name, total: total, tags: tags, items: items[].sku}}"
""")
        with mcprt_http(manifest, "--no-reload") as up:
            async with http_client(up.url) as client:
                listed = (await client.list_tools()).tools
                results = [await client.call_tool("getThing", {"id": str(n)}) for n in range(3)]
    declared = listed[0].output_schema
    assert declared is not None and declared["type"] == "object"
    for result, raw in zip(results, FOUND, strict=True):
        assert not result.is_error, text_of(result)
        jsonschema.validate(result.structured_content, declared)  # a real response cannot violate it
        assert {k: v for k, v in result.structured_content.items() if v is not None} == {
            k: (v if k != "items" else [i["sku"] for i in v]) for k, v in raw.items()
            if k in ("id", "sku", "name", "total", "tags", "items")}
    assert "null" in json.dumps(declared["properties"]["sku"])  # only a product has it: may be null


def test_an_error_sent_as_a_success_keeps_its_fields_beside_every_alternative() -> None:
    """Slack-style `ok` envelopes (`suggest_prune`'s `default`): the error's `error` is kept, and each alternative
    record still keeps its own fields (the merge used to make them one record's)."""
    order = {"type": "object", "properties": {"ok": {"type": "boolean"}, "id": {"type": "string"},
                                              "total": {"type": "number"}}}
    product = {"type": "object", "properties": {"ok": {"type": "boolean"}, "sku": {"type": "string"},
                                                "price": {"type": "number"}}}
    error = {"type": "object", "properties": {"ok": {"type": "boolean"}, "error": {"type": "string"}}}
    assert suggest_prune({"anyOf": [order, product]}, error) == \
        "{error: error, ok: ok, id: id, total: total, sku: sku, price: price}"


# Review of fixfm1, problem 1: alternatives sharing a key that holds a different object in each (an event's
# `payload`), the review's `clash.json`. One alternative's body for the key used to win, silently dropping the
# other kinds' fields there (`getU`: an A-kind result lost `payload.{amount, currency}`).
PAID = {"type": "object", "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "payload": {
    "type": "object", "properties": {"amount": {"type": "number"}, "currency": {"type": "string"}}}}}
REFUSED = {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "payload": {
    "type": "object", "properties": {"reason": {"type": "string"}, "code": {"type": "string"}}}}}
PAID_LINES = {"type": "object", "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "lines": {
    "type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"},
                                                                "state": {"type": "string"}}}}}}
REFUSED_LINES = {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "lines": {
    "type": "array", "items": {"type": "object", "properties": {"reason": {"type": "string"},
                                                                "code": {"type": "string"}}}}}}


def _full(shape: dict[str, Any], path: str = "") -> Any:
    """An instance of `shape` holding every documented field, each scalar a value of its own (its path)."""
    if "oneOf" in shape or "anyOf" in shape:
        return _full((shape.get("oneOf") or shape["anyOf"])[0], path)
    if shape.get("type") == "array":
        return [_full(shape["items"], f"{path}[]")]
    if "properties" in shape:
        return {n: _full(p, f"{path}.{n}") for n, p in shape["properties"].items()}
    return {"number": float(len(path)) + 0.5, "integer": len(path), "boolean": True}.get(shape.get("type"), path)


def _kept(value: Any) -> set[Any]:
    """The scalar values a pruned result still holds, wherever the prune put them."""
    if isinstance(value, dict):
        return {v for item in value.values() for v in _kept(item)}
    if isinstance(value, list):
        return {v for item in value for v in _kept(item)}
    return set() if value is None else {value}


@pytest.mark.parametrize(("kinds", "listed"), [
    ((PAID, REFUSED), False), ((PAID, REFUSED), True),
    ((PAID_LINES, REFUSED_LINES), False), ((PAID_LINES, REFUSED_LINES), True),
    ((CUSTOMER, ORDER, PRODUCT), False), ((CUSTOMER, ORDER, PRODUCT), True),
    # the review's `/nested`: one level down, `subject: oneOf [Customer, Order, Product]` in a list's items
    (tuple({"type": "object", "properties": {"id": {"type": "string"}, "subject": k}}
           for k in (CUSTOMER, ORDER, PRODUCT)), True),
], ids=["shared-object", "shared-object-listed", "shared-list", "shared-list-listed", "records", "records-listed",
        "nested-subject-listed"])
def test_of_a_union_each_kind_keeps_what_it_keeps_alone(kinds: tuple[dict[str, Any], ...], listed: bool) -> None:
    """The rule's promise (`suggest.py`): a union's suggestion keeps, of a result of each kind, every value the
    suggestion for that kind alone keeps, whatever the kinds share (a key holding a different object or list of
    objects in each). (`annotated_shapes` gives a `oneOf` as an `anyOf`: the rule reads that.)"""
    import jmespath

    def shaped(item: dict[str, Any]) -> dict[str, Any]:
        return {"type": "array", "items": item} if listed else item

    nested = "subject" in kinds[0]["properties"]
    union: dict[str, Any] = {"type": "object", "properties": {"id": {"type": "string"}, "subject": {
        "anyOf": [k["properties"]["subject"] for k in kinds]}}} if nested else {"anyOf": list(kinds)}
    together = suggest_prune(shaped(union))
    assert together is not None
    for kind in kinds:
        alone = suggest_prune(shaped(kind))
        assert alone is not None
        instance = _full(shaped(kind))
        lost = _kept(jmespath.search(alone, instance)) - _kept(jmespath.search(together, instance))
        assert not lost, (kind, together)


def test_a_key_the_kinds_share_keeps_every_kind_s_fields() -> None:
    """The review's exact input (`clash.json`, `getU`, `listU`) and its right value: the payload of each kind."""
    assert suggest_prune({"anyOf": [PAID, REFUSED]}) == \
        "{id: id, title: title, payload: payload.{amount: amount, currency: currency, reason: reason, code: code}, " \
        "name: name}"
    # in a list's items a part keeps only what says its state (the list rule, for one kind as for a union): a
    # refusal's `reason` and `code`; a payment's payload has none — as for a list of payments alone
    assert as_objects(suggest_prune({"type": "array", "items": {"anyOf": [PAID, REFUSED]}}) or "") == \
        "[].{id: id, title: title, payload: payload.{reason: reason, code: code}, name: name}"
    assert as_objects(suggest_prune({"type": "array", "items": PAID}) or "") == "[].{id: id, title: title}"


def _clash_spec() -> dict[str, Any]:
    def answer(schema: dict[str, Any]) -> dict[str, Any]:
        return {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}}

    return {"openapi": "3.0.3", "info": {"title": "Clash", "version": "1"}, "paths": {
        "/events/{id}": {"get": {"operationId": "getEvent", "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": answer({"oneOf": [PAID, REFUSED]})}}}}


EVENTS = [{"id": "a1", "title": "Paid", "payload": {"amount": 12.5, "currency": "EUR"}},
          {"id": "b1", "name": "Refused", "payload": {"reason": "fraud", "code": "R1"}}]


async def test_init_s_prune_served_keeps_each_kind_s_payload(tmp_path: Path) -> None:
    """`init` on the review's shape, then the SDK client over `mcprt up`: a payment keeps its amount and
    currency, a refusal its reason and code (before, the payment's payload came back `{}` and was dropped)."""
    async def event(request: Request) -> JSONResponse:
        return JSONResponse(EVENTS[0] if request.path_params["id"] == "a1" else EVENTS[1])

    (tmp_path / "clash.json").write_text(json.dumps(_clash_spec()))
    done = mcprt_cli("init", "--openapi", "clash.json", "--out", "mcp.yaml", "--no-input", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = (tmp_path / "mcp.yaml").read_text()
    assert "leaves out" not in written, written
    with serve_app(Starlette(routes=[Route("/events/{id}", event)])) as base:
        (tmp_path / "mcp.yaml").write_text(written.replace(f'"{BASE_URL_PLACEHOLDER}"', base))
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload") as up:
            async with http_client(up.url) as client:
                tool = (await client.list_tools()).tools[0].name
                results = [await client.call_tool(tool, {"id": i}) for i in ("a1", "b1")]
    assert [json.loads(text_of(r)) for r in results] == EVENTS
