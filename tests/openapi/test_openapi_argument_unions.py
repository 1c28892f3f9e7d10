"""An OpenAPI union argument refused with the problem of the branch the value names, through a real
tool call: `mcprt up` over stdio (the SDK client) against a recording upstream on 127.0.0.1.

A `oneOf` whose branches fix a shared property by `enum`/`const` (referenced components, as with a
`discriminator`, or inline) was described by whichever branch jsonschema's `best_match` picked:
`{"type": "dog"}` (no `bark`) got `pet.type: 'dog' is not one of ['cat']`. Branches that do not fix the
property themselves (the usual OpenAPI form: the `discriminator` alone says which is which) lost their tags
when the compiler dropped `discriminator`; it now writes each branch's tag on it (its `mapping` keys, else
its component's name) and keeps `discriminator.propertyName`, so those are described by their branch too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mcp import Client

from tests.openapi.openapi_support import by_name, compile_inline
from tests.support.catchall import catch_all
from tests.support.served import stdio_up, text_of


def _spec() -> dict[str, Any]:
    cat = {"type": "object", "required": ["type", "meow"],
           "properties": {"type": {"type": "string", "enum": ["cat"]}, "meow": {"type": "integer"}}}
    dog = {"type": "object", "required": ["type", "bark"],
           "properties": {"type": {"type": "string", "const": "dog"}, "bark": {"type": "boolean"}}}
    mapped = {"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
              "discriminator": {"propertyName": "type",
                                "mapping": {"cat": "#/components/schemas/Cat", "dog": "#/components/schemas/Dog"}}}
    tagged = {"oneOf": [
        {"type": "object", "required": ["shape", "r"],
         "properties": {"shape": {"type": "string", "enum": ["circle"]}, "r": {"type": "number"}}},
        {"type": "object", "required": ["shape", "w"],
         "properties": {"shape": {"type": "string", "enum": ["square", "box"]}, "w": {"type": "number"}}},
    ]}
    bird = {"type": "object", "required": ["kind", "wings"],
            "properties": {"kind": {"type": "string"}, "wings": {"type": "integer"}}}
    fish = {"type": "object", "required": ["kind", "fins"],
            "properties": {"kind": {"type": "string"}, "fins": {"type": "integer"}}}
    untagged = {"oneOf": [{"$ref": "#/components/schemas/Bird"}, {"$ref": "#/components/schemas/Fish"}],
                "discriminator": {"propertyName": "kind", "mapping": {"bird": "#/components/schemas/Bird",
                                                                      "parrot": "#/components/schemas/Bird"}}}
    body = {"type": "object", "properties": {"pet": mapped, "figure": tagged, "animal": untagged}}
    return {
        "openapi": "3.1.0", "info": {"title": "pets", "version": "1"},
        "components": {"schemas": {"Cat": cat, "Dog": dog, "Bird": bird, "Fish": fish}},
        "paths": {"/pets": {"post": {
            "operationId": "addPet", "responses": {"200": {"description": "ok"}},
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}}}}},
    }


REFUSED = [
    ({"pet": {"type": "dog"}}, "pet: 'bark' is required"),
    ({"pet": {"type": "cat", "meow": "x"}}, "pet.meow: 'x' is not of type 'integer'"),
    ({"pet": {"type": "cow"}}, "pet.type: 'cow' is not one of 'cat', 'dog'"),
    ({"pet": {"bark": True}}, "pet: 'type' is required (one of 'cat', 'dog')"),
    ({"figure": {"shape": "box"}}, "figure: 'w' is required"),
    ({"figure": {"shape": "circle", "r": "big"}}, "figure.r: 'big' is not of type 'number'"),
    ({"figure": {"shape": "oval"}}, "figure.shape: 'oval' is not one of 'circle', 'square', 'box'"),
    # branches tagged only by the discriminator: by its mapping (two keys for Bird), else by name (Fish)
    ({"animal": {"kind": "Fish", "wings": 2}}, "animal: 'fins' is required"),
    ({"animal": {"kind": "parrot", "fins": 2}}, "animal: 'wings' is required"),
    ({"animal": {"kind": "cow"}}, "animal.kind: 'cow' is not one of 'bird', 'parrot', 'Fish'"),
]


async def test_a_union_argument_is_described_by_the_branch_its_tag_names(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text(json.dumps(_spec()))
    with catch_all() as upstream:
        (tmp_path / "mcp.yaml").write_text(
            f"version: 1\nsources:\n  p:\n    openapi: spec.json\n    base_url: {upstream.base}\n")
        async with Client(stdio_up(tmp_path / "mcp.yaml")) as client:
            [tool] = (await client.list_tools()).tools
            animal = tool.input_schema["properties"]["body"]["properties"]["animal"] \
                if "body" in tool.input_schema["properties"] else tool.input_schema["properties"]["animal"]
            assert animal["discriminator"] == {"propertyName": "kind"}  # listed, so counted in the tools/list bytes
            assert [b["properties"]["kind"] for b in animal["oneOf"]] == [
                {"type": "string", "enum": ["bird", "parrot"]}, {"type": "string", "const": "Fish"}]
            for arguments, problem in REFUSED:
                result = await client.call_tool("addPet", arguments)
                assert result.is_error, arguments
                assert text_of(result).startswith(f"invalid arguments for addPet: {problem}. Arguments"), (
                    arguments, text_of(result))
            done = await client.call_tool("addPet", {"pet": {"type": "dog", "bark": True}})
            assert not done.is_error, text_of(done)
            assert json.loads(upstream.last().body) == {"pet": {"type": "dog", "bark": True}}


def _inherited(cat_tag: dict[str, Any], mapping: dict[str, str] | None = None) -> dict[str, Any]:
    """Pets by allOf inheritance (OpenAPI 3.1 §4.8.25.2): Cat sets the tag inside an `allOf` part."""
    pet = {"type": "object", "required": ["petType"], "properties": {"petType": {"type": "string"}}}
    cat = {"allOf": [{"$ref": "#/components/schemas/Pet"},
                     {"type": "object", "properties": {"petType": cat_tag, "meow": {"type": "boolean"}}}]}
    dog = {"allOf": [{"$ref": "#/components/schemas/Pet"},
                     {"type": "object", "properties": {"bark": {"type": "boolean"}}}]}
    union = {"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
             "discriminator": {"propertyName": "petType", **({"mapping": mapping} if mapping else {})}}
    return {"openapi": "3.1.0", "info": {"title": "pets", "version": "1"},
            "components": {"schemas": {"Pet": pet, "Cat": cat, "Dog": dog}},
            "paths": {"/pets": {"post": {
                "operationId": "addPet", "responses": {"200": {"description": "ok"}},
                "requestBody": {"required": True, "content": {"application/json": {"schema": union}}}}}}}


INHERITED = [  # (Cat's tag, the mapping, arguments the compiled schema must accept, ... must refuse)
    ({"type": "string", "enum": ["cat"]}, None, [{"petType": "cat", "meow": True}, {"petType": "Dog"}],
     [{"petType": "Cat"}]),
    ({"const": "cat"}, None, [{"petType": "cat"}], [{"petType": "Cat"}]),
    # the mapping names Cat `kitty` but Cat fixes `cat`: no tag is added (the union as converted, which
    # cannot tell a cat from a dog: both branches match it)
    ({"enum": ["cat"]}, {"kitty": "#/components/schemas/Cat"}, [], [{"petType": "cat", "meow": True}]),
]


@pytest.mark.parametrize(("tag", "mapping", "accepted", "refused"), INHERITED)
def test_a_tag_fixed_in_an_allof_part_is_not_contradicted(tag: dict[str, Any], mapping: dict[str, str] | None,
                                                          accepted: list[dict[str, Any]],
                                                          refused: list[dict[str, Any]]) -> None:
    """The compiler wrote `const: "Cat"` (the implicit mapping) beside the `enum: ["cat"]` Cat inherits
    through `allOf`: no value matched both, and a valid argument was refused. A branch fixing its tag in an
    `allOf` part keeps it; a mapping contradicting it adds nothing."""
    schema = by_name(compile_inline(_inherited(tag, mapping)))["addPet"].operation.input_schema
    assert '"const": "kitty"' not in json.dumps(schema)  # never beside the `cat` it fixes
    validator = Draft202012Validator(schema)
    for arguments in accepted:
        assert not list(validator.iter_errors({"body": arguments})), (arguments, json.dumps(schema))
    for arguments in refused:
        assert list(validator.iter_errors({"body": arguments})), arguments
