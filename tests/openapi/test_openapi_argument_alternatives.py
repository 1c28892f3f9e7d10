"""A value no alternative of an `anyOf`/`oneOf` accepts is refused naming every alternative, values in JSON's
words, and a length limit with its number: `mcprt up` over stdio (the SDK client) against a recording upstream.

The new-user trial (fault 3) called Stripe's `PostCustomers` with `address: 42`, where `address` is
`anyOf: [object{city,…}, string enum [""]]` (Stripe's "an object, or '' to clear it"), and was told
`address: 42 is not of type 'string'`; with a string, `is not one of ['']`: never that an object is wanted.
An enum holding null was printed `None` (Python's word); `maxItems` said `is too long` without the limit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.support.catchall import catch_all
from tests.support.served import stdio_up, text_of


def _spec() -> dict[str, Any]:
    address = {"anyOf": [{"type": "object", "title": "optional_fields_address",
                          "properties": {"city": {"type": "string", "maxLength": 5000},
                                         "line1": {"type": "string", "maxLength": 5000}}},
                         {"type": "string", "enum": [""]}]}
    body = {"type": "object", "properties": {
        "address": address,
        "state_reason": {"type": ["string", "null"], "enum": ["completed", "not_planned", None]},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        "limit": {"type": ["integer", "null"]},  # a type list (OpenAPI 3.1), as mcprt types optional arguments
        "metadata": {"type": ["object", "null"]},
    }}
    return {
        "openapi": "3.1.0", "info": {"title": "customers", "version": "1"},
        "paths": {"/v1/customers": {"post": {
            "operationId": "PostCustomers", "responses": {"200": {"description": "ok"}},
            "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": body}}}}}},
    }


REFUSED = [
    ({"address": 42}, "address: 42 is not of type 'object' or 'string'"),
    ({"address": "Paris, France"}, "address: 'Paris, France' is not of type 'object' or one of ['']"),
    ({"address": None}, "address: null is not of type 'object' or 'string'"),
    ({"address": {"city": 5}}, "address.city: 5 is not of type 'string'"),  # inside the one it fits
    ({"state_reason": "done"}, "state_reason: 'done' is not one of ['completed', 'not_planned', null]"),
    ({"tags": ["a", "b", "c", "d"]}, "tags: ['a', 'b', 'c', 'd'] is too long (4 items; at most 3 items)"),
    # review of discofix, problem 10: jsonschema's `is not of type 'integer', 'null'`, in the README's form
    ({"limit": "x"}, "limit: 'x' is not of type 'integer' or 'null'"),
    ({"metadata": 5}, "metadata: 5 is not of type 'object' or 'null'"),
    ({"metadata": True}, "metadata: true is not of type 'object' or 'null'"),
]


@pytest.mark.parametrize(("arguments", "problem"), REFUSED, ids=[p for _, p in REFUSED])
async def test_a_value_no_alternative_takes_names_them_all(tmp_path: Path, arguments: dict[str, Any],
                                                           problem: str) -> None:
    (tmp_path / "spec.json").write_text(json.dumps(_spec()))
    with catch_all() as upstream:
        (tmp_path / "mcp.yaml").write_text(
            f"version: 1\nsources:\n  stripe:\n    openapi: spec.json\n    base_url: {upstream.base}\n")
        async with Client(stdio_up(tmp_path / "mcp.yaml")) as client:
            result = await client.call_tool("PostCustomers", arguments)
            assert result.is_error
            assert text_of(result).startswith(f"invalid arguments for PostCustomers: {problem}. Arguments"), \
                text_of(result)
            assert upstream.seen == []  # nothing was sent
            done = await client.call_tool("PostCustomers", {"address": {"city": "Paris"}, "state_reason": None})
            assert not done.is_error, text_of(done)
