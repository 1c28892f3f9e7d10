"""Hostile schemas through a real tool call: fastjsonschema writes Python source from a tool's input
schema and `exec`s it (`schema.shortcut`), so property names, enum values and patterns from an
upstream's OpenAPI text must never run as code. `mcprt up` over stdio (the SDK client) against a
recording upstream on 127.0.0.1; each payload would create the file `pwned` in the server's folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from mcp import Client

from mcprt.schema.shortcut import valid_shortcut
from tests.support.catchall import catch_all
from tests.support.served import stdio_up, text_of

RUN = "__import__('os').system('touch pwned')"
NAMES = [f'a" + {RUN} + "', f'b"]); {RUN}; (["', "{c.__class__}{0}", f"d\n{RUN}", f'e\\\\" + {RUN} + "',
         f"f'''\"\"\"{RUN}", "f-g", "fg", "é"]
KINDS = [f"'); {RUN}; ('", f'"); {RUN}; ("', f'x\\" + {RUN} + "', "{0}{name}", "ok"]
PATTERN = f'^(a|" + {RUN} + ")$'


def _spec() -> dict[str, Any]:
    item = {"type": "object", "required": NAMES[:1], "additionalProperties": False,
            "properties": {name: {"type": "string", "maxLength": 40} for name in NAMES}}
    body = {"type": "object", "required": ["item"],
            "properties": {"item": item, "kind": {"type": "string", "enum": KINDS}}}
    return {
        "openapi": "3.1.0", "info": {"title": "hostile", "version": "1"},
        "paths": {
            "/things": {"post": {"operationId": "makeThing", "responses": {"200": {"description": "ok"}},
                                 "requestBody": {"required": True, "content": {"application/json": {"schema": body}}}}},
            "/match": {"get": {"operationId": "matchIt", "responses": {"200": {"description": "ok"}},
                               "parameters": [{"name": "q", "in": "query", "required": True,
                                               "schema": {"type": "string", "pattern": PATTERN}}]}},
        },
    }


async def test_hostile_names_enums_and_patterns_are_data_not_code(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text(json.dumps(_spec()))
    with catch_all() as upstream:
        (tmp_path / "mcp.yaml").write_text(
            f"version: 1\nsources:\n  h:\n    openapi: spec.json\n    base_url: {upstream.base}\n")
        async with Client(stdio_up(tmp_path / "mcp.yaml")) as client:
            tools = {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}
            make, match = tools["makeThing"], tools["matchIt"]
            assert list(make["properties"]["item"]["properties"]) == NAMES  # nested names kept verbatim
            assert make["properties"]["kind"]["enum"] == KINDS and match["properties"]["q"]["pattern"] == PATTERN
            # the server compiles the same schema: it gets the shortcut (its names and enum values go
            # through fastjsonschema's generated source); the pattern keeps it out
            assert valid_shortcut(make) is not None and valid_shortcut(match) is None

            item = {name: f"value {i}" for i, name in enumerate(NAMES)}
            for kind in KINDS:
                done = await client.call_tool("makeThing", {"item": item, "kind": kind})
                assert not done.is_error, text_of(done)
                assert json.loads(upstream.last().body) == {"item": item, "kind": kind}

            bad_kind = await client.call_tool("makeThing", {"item": item, "kind": "nope"})
            expected = next(Draft202012Validator(make).iter_errors({"item": item, "kind": "nope"})).message
            assert bad_kind.is_error and text_of(bad_kind) == (
                f"invalid arguments for makeThing: kind: {expected}. Arguments (* required): item*, kind.")
            assert expected.startswith("'nope' is not one of [")

            missing = await client.call_tool("makeThing", {"item": {"fg": "x"}})
            assert missing.is_error and text_of(missing) == (
                f"invalid arguments for makeThing: item: {NAMES[0]!r} is required. Arguments (* required): item*, kind.")
            too_long = await client.call_tool("makeThing", {"item": {NAMES[0]: "x", "f-g": "y" * 41}})
            assert too_long.is_error and text_of(too_long) == (
                f"invalid arguments for makeThing: item.f-g: {'y' * 41!r} is too long (41 characters; at most 40 characters). "
                "Arguments (* required): item*, kind.")

            assert not (await client.call_tool("matchIt", {"q": "a"})).is_error
            assert upstream.last().query == "q=a"
            no_match = await client.call_tool("matchIt", {"q": "b"})
            assert no_match.is_error and text_of(no_match).startswith("invalid arguments for matchIt: q: 'b' does not match ")
    assert not (tmp_path / "pwned").exists()
