"""A bad argument deep inside nested objects and lists is named by its path, through a real tool call.

Found by a developer's trial: `'name' is required` for a node missing its name at
`children[0].children[0]` gave the model no way to find which one. `mcprt up` over stdio (the SDK
client) against a recording upstream on 127.0.0.1; the upstream never sees a refused call."""

from __future__ import annotations

import json
from pathlib import Path

from mcp import Client

from tests.support.catchall import catch_all
from tests.support.served import stdio_up, text_of

NODE = {"type": "object", "required": ["name"],
        "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}
SPEC = {
    "openapi": "3.0.3", "info": {"title": "tree", "version": "1"},
    "paths": {"/trees": {"post": {
        "operationId": "plantTree", "responses": {"200": {"description": "ok"}},
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["root"], "properties": {"root": {"$ref": "#/components/schemas/Node"}}}}}}}}},
    "components": {"schemas": {"Node": NODE}},
}


async def test_a_nested_bad_argument_is_named_by_its_path(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    with catch_all() as upstream:
        (tmp_path / "mcp.yaml").write_text(
            f"version: 1\nsources:\n  t:\n    openapi: spec.json\n    base_url: {upstream.base}\n")
        async with Client(stdio_up(tmp_path / "mcp.yaml")) as client:
            tree = {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}, {"children": []}]}]}
            missing = await client.call_tool("plantTree", {"root": tree})
            assert missing.is_error and text_of(missing).startswith(
                "invalid arguments for plantTree: root.children[0].children[1]: 'name' is required."), text_of(missing)
            tree["children"][0]["children"][1] = {"name": 7}
            wrong = await client.call_tool("plantTree", {"root": tree})
            assert wrong.is_error and text_of(wrong).startswith(
                "invalid arguments for plantTree: root.children[0].children[1].name: 7 is not of type 'string'."), \
                text_of(wrong)
            assert upstream.seen == []  # refused before any request
            tree["children"][0]["children"][1] = {"name": "d"}
            assert not (await client.call_tool("plantTree", {"root": tree})).is_error
            assert json.loads(upstream.last().body) == {"root": tree}
