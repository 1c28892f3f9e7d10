"""Big descriptions in the shape of Microsoft Graph: many operations reaching one recursive entity graph.

`SchemaConverter.finish` works out what a set of recursive definitions contributes (their counts, their
hoisted rewrite, the `$defs` each body names) once and shares it between the tools reaching that set
(docs/corpus.md, "Microsoft Graph"). These tests hold it to the plain definition — every tool's schema is
the one it gets when compiled alone, by a converter that has seen no other tool — on synthetic specs that
make the shared work and the per-tool corrections matter: a part used once in the entity graph and once
more in a tool's own body is hoisted in that tool only, and what such a part holds is counted once.
Outputs are asserted, never times (timing lives in bench/scale.py).
"""

from __future__ import annotations

import json
from typing import Any

from mcprt.manifest.model import OperationFilter

from openapi_support import compile_inline
from test_openapi_corpus import check_schema


def _props(prefix: str, count: int) -> dict[str, Any]:
    return {f"{prefix}{i}": {"type": "string", "description": f"The {prefix} number {i} of this record."}
            for i in range(count)}


def graph_spec(entities: int, operations: int) -> dict[str, Any]:
    """`entities` definitions in one cycle (each names the next), each holding `Person` twice and `Big` once;
    `Note` (holding `Detail`) only in the first. Operation k creates entity k % entities; every tenth also
    takes a `Note` beside it, and every seventh a `Person`."""
    schemas: dict[str, Any] = {
        "Person": {"type": "object", "properties": _props("person_field", 6)},
        "Big": {"type": "object", "properties": _props("big_field", 12)},
        "Detail": {"type": "object", "properties": _props("detail_field", 8)},
        "Note": {"type": "object", "properties": {"text": {"type": "string"},
                                                  "detail": {"$ref": "#/components/schemas/Detail"}}},
    }
    for i in range(entities):
        schemas[f"Entity{i}"] = {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "next": {"$ref": f"#/components/schemas/Entity{(i + 1) % entities}"},
                "owner": {"$ref": "#/components/schemas/Person"},
                "editors": {"type": "array", "items": {"$ref": "#/components/schemas/Person"}},
                "big": {"$ref": "#/components/schemas/Big"},
                **({"note": {"$ref": "#/components/schemas/Note"}} if i == 0 else {}),
            },
        }
    paths: dict[str, Any] = {}
    for k in range(operations):
        body: dict[str, Any] = {"$ref": f"#/components/schemas/Entity{k % entities}"}
        if k % 10 == 0 or k % 7 == 0:
            extra = {"note": {"$ref": "#/components/schemas/Note"}} if k % 10 == 0 else {}
            if k % 7 == 0:
                extra["person"] = {"$ref": "#/components/schemas/Person"}
            body = {"type": "object", "properties": {"entity": body, **extra}}
        paths[f"/op{k}"] = {"post": {"operationId": f"op{k}", "requestBody": {
            "content": {"application/json": {"schema": body}}}, "responses": {"204": {"description": "done"}}}}
    return {"openapi": "3.0.3", "info": {"title": "entity graph", "version": "1"},
            "servers": [{"url": "https://api.example.com"}], "paths": paths, "components": {"schemas": schemas}}


def _schemas(spec: dict[str, Any], **config: Any) -> dict[str, dict[str, Any]]:
    return {op.operation.key: op.operation.input_schema for op in compile_inline(spec, **config).operations}


def test_a_tool_gets_the_same_schema_whichever_tools_were_compiled_before_it() -> None:
    """The shared work is keyed by what it depends on: a tool compiled after 69 others that reached the same
    entity graph from elsewhere gets the schema it gets after the first operation alone (which fixes, as in
    every compile, where the converter meets the cycle first)."""
    spec = graph_spec(entities=6, operations=70)
    together = _schemas(spec)
    assert len(together) == 70
    for key, schema in together.items():
        alone = _schemas(spec, include=OperationFilter(operations=["op0", key]))
        assert json.dumps(schema) == json.dumps(alone[key]), key
        check_schema(schema)


def test_a_part_used_once_in_the_graph_and_once_in_the_body_is_hoisted_in_that_tool_only() -> None:
    together = _schemas(graph_spec(entities=6, operations=70))
    plain, with_note, with_person = together["op1"], together["op10"], together["op7"]
    for schema in (plain, with_note, with_person):
        assert "Entity0" in schema["$defs"]  # every entry reaches the cycle, and Entity0 holds the only Note
        entity = schema["$defs"]["Entity0"]["properties"]
        assert entity["owner"] == entity["editors"]["items"] == {"$ref": "#/$defs/Person"}
        assert json.dumps(schema).count("big_field11") == 1  # Big, in every entity, written once
        assert json.dumps(schema).count("person_field5") == 1
        # Detail occurs once, inside Note, however many walks went through Note: never hoisted
        assert json.dumps(schema).count("detail_field7") == 1
        assert "Detail" not in schema["$defs"]
    # op1 reaches the one Note in the cycle only: written in place
    assert "Note" not in plain["$defs"]
    assert plain["$defs"]["Entity0"]["properties"]["note"]["properties"]["text"] == {"type": "string"}
    # op10 takes a Note beside its entity: two uses, hoisted, also inside the cycle's Entity0
    assert with_note["properties"]["note"] == {"$ref": "#/$defs/Note"}
    assert with_note["$defs"]["Entity0"]["properties"]["note"] == {"$ref": "#/$defs/Note"}
    assert with_note["$defs"]["Note"]["properties"]["detail"]["properties"].keys() == _props("detail_field", 8).keys()
    # op7 takes a Person beside its entity: hoisted already, the same reference
    assert with_person["properties"]["person"] == {"$ref": "#/$defs/Person"}


def test_tools_entering_the_graph_at_the_same_entity_get_the_same_schema() -> None:
    together = _schemas(graph_spec(entities=6, operations=70))
    for first, later in (("op1", "op13"), ("op2", "op8"), ("op3", "op9"), ("op5", "op11")):
        assert together[first] == together[later], (first, later)
