"""An argument problem inside an `allOf` of two objects is said once, through a real tool call.

Found in review: an `allOf` of two objects that both declare a property (or both require it) has each part
check it (JSON Schema 2020-12 §10.2.1.1), and the refusal said "item.id: 5 is not of type 'string'" twice, and
"item: 'id' is required" twice. One problem, said once; a problem only one part finds is still said; a manifest's
`fixed` value that breaks both parts is told once too. `mcprt up` over stdio (the SDK client) against a recording
upstream on 127.0.0.1, and `mcprt validate` as a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from mcp import Client

from tests.support.catchall import catch_all
from tests.support.cli import mcprt_cli
from tests.support.served import stdio_up, text_of

NAMED = {"type": "object", "required": ["id", "name"],
         "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}
TAGGED = {"type": "object", "required": ["id"],
          "properties": {"id": {"type": "string", "maxLength": 5}, "tag": {"type": "string"}}}
SPEC = {
    "openapi": "3.1.0", "info": {"title": "items", "version": "1"},
    "paths": {"/items": {"post": {
        "operationId": "putItem", "responses": {"200": {"description": "ok"}},
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["item"], "properties": {"item": {"allOf": [
                {"$ref": "#/components/schemas/Named"}, {"$ref": "#/components/schemas/Tagged"}]}}}}}}}}},
    "components": {"schemas": {"Named": NAMED, "Tagged": TAGGED}},
}
ALLOWED = " Arguments (* required): item*."


def _write(tmp_path: Path, base: str) -> Path:
    (tmp_path / "spec.json").write_text(json.dumps(SPEC), encoding="utf-8")
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(f"version: 1\nsources:\n  t:\n    openapi: spec.json\n    base_url: {base}\n",
                        encoding="utf-8")
    return manifest


async def test_a_problem_both_parts_of_an_all_of_find_is_said_once(tmp_path: Path) -> None:
    with catch_all() as upstream:
        async with Client(stdio_up(_write(tmp_path, upstream.base))) as client:
            wrong = await client.call_tool("putItem", {"item": {"id": 5, "name": "a"}})
            assert wrong.is_error
            assert text_of(wrong) == "invalid arguments for putItem: item.id: 5 is not of type 'string'." + ALLOWED
            missing = await client.call_tool("putItem", {"item": {"name": "a"}})
            assert missing.is_error
            assert text_of(missing) == "invalid arguments for putItem: item: 'id' is required." + ALLOWED
            # a problem of one part only is still said, beside the one both find
            both = await client.call_tool("putItem", {"item": {"id": "toolong", "tag": 3}})
            assert both.is_error
            assert text_of(both) == ("invalid arguments for putItem: item: 'name' is required; item.id: 'toolong' is "
                                     "too long (7 characters; at most 5 characters); item.tag: 3 is not of type 'string'." + ALLOWED)
            assert upstream.seen == []  # refused before any request
            assert not (await client.call_tool("putItem", {"item": {"id": "a1", "name": "a"}})).is_error



EITHER = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
LISTS_SPEC = {
    "openapi": "3.1.0", "info": {"title": "lists", "version": "1"},
    "paths": {"/lists": {"post": {
        "operationId": "putLists", "responses": {"200": {"description": "ok"}},
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "properties": {
                "u": {"type": "array", "items": {"allOf": [EITHER, EITHER]}},  # both parts a union
                "v": {"type": "array", "items": {"allOf": [{"type": "string"}, {"type": "string"}]}}}}}}}}}},
}


async def test_n_more_counts_problems_when_both_parts_are_unions(tmp_path: Path) -> None:
    """Review of oaleft, problem 4: past the 10 problems said, a union's errors were counted once per `allOf`
    part (their dedupe needed the described text, only made for those said), so 15 items refused by
    `allOf[anyOf[string,integer], anyOf[string,integer]]` said "… 11 more" where 5 remain — the same shape without
    unions said "… 5 more". Both now count problems: "… 5 more"."""
    (tmp_path / "spec.json").write_text(json.dumps(LISTS_SPEC), encoding="utf-8")
    with catch_all() as upstream:
        manifest = tmp_path / "mcp.yaml"
        manifest.write_text(f"version: 1\nsources:\n  t:\n    openapi: spec.json\n    base_url: {upstream.base}\n",
                            encoding="utf-8")
        async with Client(stdio_up(manifest)) as client:
            for name, said in (("u", "true is not of type 'string' or 'integer'"), ("v", "true is not of type 'string'")):
                refused = await client.call_tool("putLists", {name: [True] * 15})
                assert refused.is_error
                problems = "; ".join(f"{name}[{i}]: {said}" for i in range(10))
                assert text_of(refused) == (f"invalid arguments for putLists: {problems}; … 5 more. "
                                            "Arguments (* required): u, v."), text_of(refused)
        assert upstream.seen == []


ALL_OF_TOOLS = '''
from typing import Annotated

from pydantic import WithJsonSchema

NAMED = {"type": "object", "required": ["id", "name"],
         "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}
TAGGED = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "maxLength": 5}}}


def put_item(item: Annotated[dict, WithJsonSchema({"allOf": [NAMED, TAGGED]})]) -> str:
    """Store one item."""
    return "stored"
'''


def test_a_fixed_value_both_parts_of_an_all_of_refuse_is_told_once(tmp_path: Path) -> None:
    """The same rule where a manifest's `fixed` value is checked against the argument's schema (a Python source's:
    its upstream enforces the schema): "5 is not of type 'string'" was said twice, once per `allOf` part."""
    (tmp_path / "all_of_tools.py").write_text(ALL_OF_TOOLS, encoding="utf-8")
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  py:\n    python: all_of_tools\n    tools:\n      put_item:\n"
                        "        args:\n          item: {fixed: {id: 5, name: a}}\n", encoding="utf-8")
    done = mcprt_cli("validate", str(manifest))
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert (f"{manifest}:8:25: `fixed` of argument 'item' of tool 'put_item' does not fit its schema: 5 is not of type "
            "'string'\n") in said, said
    assert "Traceback" not in said
