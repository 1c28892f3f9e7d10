"""OpenAPI 3.1 schemas named by JSON Schema 2020-12 anchors and `$id`s are what their references mean.

Before 2026-11-30 `$ref: "#NewPet"` (an `$anchor`, §8.2.2) warned and accepted any value, and
`$ref: "https://schemas.example.com/pet.json"` naming a schema by the `$id` it has in the same
document (§8.2.1) was fetched from the network (and the operation skipped when that failed). The
fixture `mcprt/anchors-3.1.yaml` uses each form: the inputSchema, the outputSchema, argument
checking and `mcprt init`'s response shapes all follow them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_support import SPECS, by_key, compile_inline, compile_spec

from mcprt.sources.openapi import load_document
from mcprt.sources.openapi.responses import annotated_shapes
from tests.support.catchall import catch_all
from tests.support.cli import mcprt_cli
from tests.support.served import http_client, mcprt_http, text_of

FIXTURE = "mcprt/anchors-3.1.yaml"
PET_SHAPE = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                              "kind": {"type": "string"}, "tag": {"type": "string"}}}


def test_input_schemas_are_what_anchors_and_ids_name() -> None:
    compiled = compile_spec(FIXTURE)
    assert compiled.warnings == []
    tools = {key: op.operation.input_schema for key, op in by_key(compiled).items()}
    assert tools["createPet"] == {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "kind": {"type": "string", "enum": ["cat", "dog"]},  # `#Kind`
            "tag": {"type": "string", "maxLength": 10},  # `https://…/pet.json#/$defs/tag`: a pointer into that `$id`
        },
        "required": ["name", "kind"],
    }
    assert tools["getPet"] == {"type": "object", "properties": {"petId": {"type": "integer", "minimum": 1}},
                               "required": ["petId"]}
    # `$dynamicRef: "#node"` with one `$dynamicAnchor: node` in the document: the static case, recursive.
    tree = {"type": "object", "properties": {"name": {"type": "string"},
                                             "children": {"type": "array", "items": {"$ref": "#/$defs/Tree"}}},
            "required": ["name"]}
    assert tools["plantTree"] == {**tree, "$defs": {"Tree": tree}}


def test_output_schema_and_init_shapes_follow_id_refs(tmp_path: Path) -> None:
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nserver: {name: anchors}\nsources:\n  pets:\n"
                        f"    openapi: {json.dumps(str(SPECS / FIXTURE))}\n"
                        "    base_url: http://127.0.0.1:9\n    output_schema: true\n")
    listed = mcprt_cli("tools", str(manifest), "--json", env={"MCPRT_CACHE_DIR": str(tmp_path / "cache")})
    assert listed.returncode == 0, listed.stderr
    outputs = {tool["name"]: tool.get("outputSchema") for tool in json.loads(listed.stdout)["tools"]}
    # `https://…/pet.json` and `https://…/pet.json#`; inside it `#/$defs/id` and `kind.json` resolve against its `$id`.
    assert outputs["createPet"] == PET_SHAPE
    assert outputs["getPet"] == PET_SHAPE
    assert "warning" not in listed.stderr
    # `mcprt init`'s suggested prunes read the same shapes (annotated: `required` from the Pet schema).
    shapes = annotated_shapes(load_document(FIXTURE, SPECS, None))
    success, _ = shapes["getPet"]
    assert success is not None
    assert set(success["properties"]) == {"id", "name", "kind", "tag"}
    assert success["required"] == ["id", "name"]
    assert success["properties"]["kind"]["enum"] == ["cat", "dog"]


def test_a_bad_argument_is_refused_by_the_anchored_schema(tmp_path: Path) -> None:
    with catch_all() as upstream:
        manifest = tmp_path / "mcp.yaml"
        manifest.write_text("version: 1\nserver: {name: anchors}\nsources:\n  pets:\n"
                            f"    openapi: {json.dumps(str(SPECS / FIXTURE))}\n"
                            f"    base_url: {upstream.base}\n")
        with mcprt_http(manifest, "--no-reload") as up:
            import anyio

            async def calls() -> list[Any]:
                async with http_client(up.url) as client:
                    return [
                        await client.call_tool("createPet", {"name": "Rex", "kind": "fish"}),
                        await client.call_tool("getPet", {"petId": 0}),
                        await client.call_tool("createPet", {"name": "Rex", "kind": "dog", "tag": "good"}),
                    ]

            wrong_kind, bad_id, good = anyio.run(calls)
    assert wrong_kind.is_error and "kind: 'fish' is not one of ['cat', 'dog']" in text_of(wrong_kind)
    assert bad_id.is_error and "petId: 0 is less than the minimum of 1" in text_of(bad_id)
    assert not good.is_error, text_of(good)
    assert [(seen.method, seen.path) for seen in upstream.seen] == [("POST", "/pets")]  # the refused never left
    assert json.loads(upstream.seen[0].body) == {"name": "Rex", "kind": "dog", "tag": "good"}


def _spec(schema: dict[str, Any], **schemas: Any) -> dict[str, Any]:
    return {
        "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "paths": {"/a": {"post": {"operationId": "a", "responses": {"200": {"description": "ok"}},
                                  "requestBody": {"content": {"application/json": {"schema": schema}}}}},
                  "/ok": {"get": {"operationId": "ok", "responses": {"200": {"description": "ok"}}}}},
        "components": {"schemas": schemas},
    }


@pytest.mark.parametrize(
    ("ref", "schemas", "message"),
    [
        ("#Nope", {"Kind": {"$anchor": "Kind", "type": "string"}},
         "#/paths/~1a/post/requestBody/content/application~1json/schema/$ref: $ref '#Nope' does not resolve: "
         "no $anchor or $dynamicAnchor 'Nope' in inline.json; operation skipped"),
        ("https://s.example.com/k.json#Nope", {"Kind": {"$id": "https://s.example.com/k.json", "type": "string"}},
         "#/paths/~1a/post/requestBody/content/application~1json/schema/$ref: $ref "
         "'https://s.example.com/k.json#Nope' does not resolve: no $anchor or $dynamicAnchor 'Nope' in "
         "https://s.example.com/k.json; operation skipped"),
    ],
)
def test_an_unknown_anchor_is_a_clear_error_at_its_place(ref: str, schemas: dict[str, Any], message: str) -> None:
    compiled = compile_inline(_spec({"$ref": ref}, **schemas))
    assert "a" not in by_key(compiled)
    assert any(warning.endswith(message) for warning in compiled.warnings), compiled.warnings


def test_validate_names_an_unknown_anchor_with_the_manifest_line(tmp_path: Path) -> None:
    (tmp_path / "api.json").write_text(json.dumps(_spec({"$ref": "#Nope"})))
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  api:\n    openapi: api.json\n    base_url: http://127.0.0.1:9\n")
    strict = mcprt_cli("validate", str(manifest), "--strict", env={"MCPRT_CACHE_DIR": str(tmp_path / "cache")})
    assert strict.returncode == 2
    assert f"{manifest}:4:" in strict.stderr
    assert ("api.json#/paths/~1a/post/requestBody/content/application~1json/schema/$ref: $ref '#Nope' does not "
            "resolve: no $anchor or $dynamicAnchor 'Nope' in api.json") in strict.stderr
    assert "Traceback" not in strict.stderr


def test_references_inside_an_id_resolve_against_it_and_cycles_stay_bounded() -> None:
    node = {"$id": "https://s.example.com/node.json", "$anchor": "Node", "type": "object",
            "properties": {"next": {"$ref": "#Node"},  # the anchor inside this `$id`
                           "label": {"$ref": "#/$defs/label"},  # this resource's `$defs`
                           "kind": {"$ref": "#/components/schemas/Kind"}},  # from the document's root, as before
            "$defs": {"label": {"type": "string", "maxLength": 3}}}
    loop = {"$anchor": "Loop", "$ref": "#Loop"}
    compiled = compile_inline(_spec({"type": "object", "properties": {
        "node": {"$ref": "https://s.example.com/node.json"}, "loop": {"$ref": "#Loop"}}},
        Node=node, Kind={"type": "string", "enum": ["a"]}, Loop=loop))
    schema = by_key(compiled)["a"].operation.input_schema
    body = {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"},
                                             "label": {"type": "string", "maxLength": 3},
                                             "kind": {"type": "string", "enum": ["a"]}}}
    assert schema["properties"]["node"] == {"$ref": "#/$defs/Node"}
    assert schema["$defs"]["Node"] == body
    # A schema that is only a reference to itself, by anchor: anything, as the same loop by pointer gives.
    assert schema["properties"]["loop"] == {"$ref": "#/$defs/Loop"} and schema["$defs"]["Loop"] == {}
    assert any("#/components/schemas/Loop: schema refers only to itself" in w for w in compiled.warnings)
    by_pointer = compile_inline(_spec({"type": "object", "properties": {"loop": {"$ref": "#/components/schemas/Loop"}}},
                                      Loop={"$ref": "#/components/schemas/Loop"}))
    assert by_key(by_pointer)["a"].operation.input_schema["$defs"] == {"Loop": {}}


def test_a_dynamic_ref_that_depends_on_the_evaluation_is_any_value_with_a_warning() -> None:
    two = {"A": {"$id": "https://s.example.com/a", "$dynamicAnchor": "item", "type": "string"},
           "B": {"$id": "https://s.example.com/b", "$dynamicAnchor": "item", "type": "integer",
                 "properties": {"x": {"$dynamicRef": "#item"}}}}
    compiled = compile_inline(_spec({"type": "object", "properties": {"x": {"$dynamicRef": "https://s.example.com/b#item"},
                                                                      "y": {"$ref": "https://s.example.com/a#item"}}},
                                    **two))
    schema = by_key(compiled)["a"].operation.input_schema
    assert schema["properties"] == {"x": {}, "y": {"type": "string"}}
    assert any("$dynamicRef 'https://s.example.com/b#item' names a $dynamicAnchor that several schemas define"
               in w for w in compiled.warnings), compiled.warnings


@pytest.mark.parametrize("form", ["json", "yaml"])
@pytest.mark.parametrize("keyword", ["$anchor", "$id"])
@pytest.mark.parametrize(("version", "section"), [("3.1.0", "webhooks"), ("3.0.3", "x-webhooks")])
def test_a_schema_named_inside_webhooks_is_found(form: str, keyword: str, version: str, section: str) -> None:
    """OpenAPI 3.1 documents hold schemas under `webhooks` too (OpenAPI 3.1 §4.8.1); an `$anchor` or `$id`
    there names a schema a path's `$ref` may use. A JSON description's lean parse leaves `webhooks` out
    (no tool is made from it): the names in it must be found all the same. `x-webhooks`, the extension
    that 3.0 descriptions used before 3.1 (Redoc's; GitHub's description has 0.6 MB of it), is the same
    section: found by a later pass, a name in it was not found in a JSON description (the check for a
    left-out section looked for `"webhooks"` only). Neither section's operations become tools."""
    named = {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}
    ref = "#Event" if keyword == "$anchor" else "https://schemas.example.com/event.json"
    named[keyword] = "Event" if keyword == "$anchor" else ref
    spec = {
        "openapi": version, "info": {"title": "hooks", "version": "1"},
        "paths": {"/events": {"post": {"operationId": "sendEvent", "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"$ref": ref}}}}, "responses": {"204": {"description": "sent"}}}}},
        section: {"event": {"post": {"requestBody": {"content": {"application/json": {"schema": named}}},
                                     "responses": {"200": {"description": "ok"}}}}},
    }
    compiled = compile_inline(json.dumps(spec) if form == "json" else _yaml_text(spec), base_url="http://127.0.0.1:9")
    assert compiled.warnings == []
    assert list(by_key(compiled)) == ["sendEvent"]
    schema = by_key(compiled)["sendEvent"].operation.input_schema
    assert schema == {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}


def _yaml_text(spec: dict[str, Any]) -> str:
    from io import StringIO

    from ruamel.yaml import YAML

    out = StringIO()
    YAML(typ="safe", pure=True).dump(spec, out)
    return out.getvalue()
