"""`mcprt init` says in the manifest it writes what each suggested prune leaves out (real CLI).

Shaping trial, fault 7: for a single order the suggestion dropped `items[]` (the order's lines) and
`customer.address`, with nothing in the written manifest saying so; an operator accepting it found out only
by reading raw responses. The rule is suggest.py's (another branch is changing its list rules); the writer now
names, at any depth, every documented field the accepted prune reads nothing of.
"""

from __future__ import annotations

import json
from pathlib import Path

from mcprt.authoring.left_out import comment, left_out
from tests.support.cli import mcprt_cli

ADDRESS = {"anyOf": [{"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string"}}},
                     {"type": "null"}]}
ORDER = {"type": "object", "required": ["id"], "properties": {
    "id": {"type": "integer"},
    "status": {"type": "string", "enum": ["open", "paid"]},
    "customer": {"type": "object", "properties": {
        "name": {"type": "string"}, "email": {"type": "string"}, "address": ADDRESS}},
    "items": {"type": "array", "items": {"type": "object", "properties": {
        "sku": {"type": "string"}, "qty": {"type": "integer"}, "price": {"type": "number"}}}}}}
SPEC = {"openapi": "3.1.0", "info": {"title": "Shop", "version": "1"}, "servers": [{"url": "https://shop.example.com"}],
        "paths": {"/orders/{id}": {"get": {
    "operationId": "getOrder",
    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": ORDER}}}}}}}}


def test_the_written_manifest_names_what_the_suggested_prune_leaves_out(tmp_path: Path) -> None:
    (tmp_path / "shop.json").write_text(json.dumps(SPEC))
    done = mcprt_cli("init", "--openapi", "shop.json", "--out", "mcp.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "mcp.yaml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("        prune:"))  # the tool's, not defaults'
    folded = [line.strip() for line in lines[start + 1:] if line.startswith("          ")]
    suggested = " ".join(folded) if lines[start].endswith(">-") else json.loads(lines[start].split(": ", 1)[1])
    said = lines[start - 1].strip()
    assert said.startswith("# the suggested prune leaves out: "), lines[start - 2:start + 2]
    named = said.removeprefix("# the suggested prune leaves out: ").split(", ")
    assert named == left_out(ORDER, suggested), (named, suggested)  # exactly what the written prune does not read
    # today's rule drops the order's lines and the customer's address (suggest.py); whatever it becomes, said
    assert ("items" in named) == ("items" not in suggested) and \
        ("customer.address" in named) == ("address" not in suggested), (named, suggested)
    valid = mcprt_cli("validate", "--offline", "mcp.yaml", cwd=tmp_path)
    assert valid.returncode == 0, valid.stderr  # a comment changes nothing of what is served


def test_left_out_follows_the_expression_through_the_shape() -> None:
    assert left_out(ORDER, "{id: id, status: status, customer: customer.{name: name, email: email}}") == [
        "customer.address", "items"]
    assert left_out(ORDER, "{id: id, customer: customer, lines: items[].{sku: sku, qty: qty, price: price}}") == [
        "status"]
    assert left_out(ORDER, "{id: id, skus: sort(items[].sku), who: customer.name}") == [
        "status", "customer.email", "customer.address", "items[].qty", "items[].price"]
    assert left_out(ORDER, "@") == [] and left_out(None, "id") == []
    assert comment([f"f{i}" for i in range(10)]).endswith("f7 and 2 more")


def test_left_out_names_a_field_left_out_at_any_depth() -> None:
    """Review of shapefix, problem 7: a list's `customer.{name: name}` left out `data[].customer.email` and
    `…address`, three levels down, and the comment (two levels deep) did not name them."""
    listing = {"type": "object", "properties": {"data": {"type": "array", "items": ORDER}}}
    assert left_out(listing, "{data: data[].{id: id, customer: customer.{name: name}}}") == [
        "data[].status", "data[].customer.email", "data[].customer.address", "data[].items"]
    assert left_out(listing, "data[].{id: id, c: customer}") == ["data[].status", "data[].items"]  # kept whole
