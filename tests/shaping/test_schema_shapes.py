"""`mcprt.schema.shapes`: self-contained JSON Schemas (pydantic's, upstream tools') → checked-shaping shapes."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, Optional, Union

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, TypeAdapter

from mcprt.schema.shapes import certainly_fits, shape_of


def schema(annotation: object) -> dict:
    return TypeAdapter(annotation).json_schema(mode="serialization")


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool = True


@dataclasses.dataclass
class Tree:
    label: str
    children: list[Tree] = dataclasses.field(default_factory=list)
    parent: Optional[Tree] = None


def test_refs_are_inlined_and_only_where_data_is_is_kept() -> None:
    shape = shape_of(schema(list[Union[Cat, Dog]]))
    assert shape == {"type": "array", "items": {"anyOf": [
        {"type": "object", "properties": {"kind": {"type": "string"}, "lives": {"type": "integer"}}},
        {"type": "object", "properties": {"kind": {"type": "string"}, "good": {"type": "boolean"}}}]}}


def test_recursion_becomes_anything_never_a_guess() -> None:
    shape = shape_of(schema(Tree))
    assert shape == {"type": "object", "properties": {
        "label": {"type": "string"},
        "children": {"type": "array", "items": {}},
        "parent": {}}}  # `Tree | None` where Tree is the one being converted: anything


def test_tuples_maps_and_untyped_enums() -> None:
    assert shape_of(schema(tuple[int, str])) == {"type": "array", "items": {"anyOf": [{"type": "integer"},
                                                                                      {"type": "string"}]}}
    assert shape_of(schema(tuple[int, ...])) == {"type": "array", "items": {"type": "integer"}}
    assert shape_of(schema(dict[str, list[int]])) == {
        "type": "object", "additionalProperties": {"type": "array", "items": {"type": "integer"}}}
    assert shape_of({"enum": ["a", 1, None]}) == {"type": ["string", "integer", "null"]}
    assert shape_of({"const": True}) == {"type": "boolean"}


def test_all_of_merges_and_refs_with_siblings_hold_together() -> None:
    document = {
        "$defs": {"Base": {"type": "object", "properties": {"id": {"type": "integer"}}}},
        "allOf": [{"$ref": "#/$defs/Base"}, {"properties": {"name": {"type": "string"}}}],
    }
    assert shape_of(document) == {"type": "object", "properties": {"id": {"type": "integer"},
                                                                   "name": {"type": "string"}}}
    sibling = {"$defs": document["$defs"], "$ref": "#/$defs/Base", "properties": {"extra": {"type": "string"}}}
    assert shape_of(sibling) == {"type": "object", "properties": {"id": {"type": "integer"},
                                                                  "extra": {"type": "string"}}}


def test_what_cannot_be_read_is_anything() -> None:
    assert shape_of({"$ref": "https://example.com/other.json#/Note"}) == {}
    assert shape_of({"$ref": "#/$defs/Missing"}) == {}
    assert shape_of({"anyOf": [{"type": "string"}, {}]}) == {}
    assert shape_of(True) == {}
    assert shape_of("not a schema") is None


# `certainly_fits`: the load-time check of a `fixed`/`default` value skips jsonschema only where
# jsonschema would accept the value too; everything else goes to jsonschema (which words the problem).
_DECIDED_CASES = [  # schemas of type, bounds and annotations only: the same verdict as jsonschema's
    ({"type": "integer"}, 5), ({"type": "integer"}, 5.0), ({"type": "integer"}, 5.5), ({"type": "integer"}, True),
    ({"type": "number"}, 3), ({"type": "number"}, False), ({"type": "boolean"}, 3), ({"type": "boolean"}, False),
    ({"type": "string"}, "x"), ({"type": "string", "description": "d", "default": "y", "title": "T"}, "x"),
    ({"type": ["string", "null"]}, None), ({"type": "null"}, 0), ({"type": "array"}, [1]),
    ({"type": "object"}, {"a": 1}), ({"type": "object"}, []),
    ({"type": "integer", "minimum": 1, "maximum": 50}, 5), ({"type": "integer", "minimum": 1, "maximum": 50}, 0),
    ({"type": "integer", "minimum": 1, "maximum": 50}, 51), ({"type": "integer", "exclusiveMinimum": 1}, 1),
    ({"type": "number", "exclusiveMaximum": 2.5}, 2), ({"type": "number", "exclusiveMaximum": 2.5}, 2.5),
    ({"type": "string", "minLength": 2}, "é"), ({"type": "string", "maxLength": 1}, "😀"),
    ({"type": "string", "maxLength": 1}, "ab"), ({"type": "string", "minimum": 3}, "x"),
    ({"type": "integer", "maxLength": 1}, 12345),
]
_UNDECIDED_CASES = [  # more than a type and bounds, no type, or a bound that is no number: jsonschema's to say
    ({"type": "string", "enum": ["x"]}, "x"), ({"type": "string", "pattern": "^x$"}, "x"),
    ({"type": "integer", "multipleOf": 2}, 4), ({"$ref": "#/$defs/x"}, 1), ({}, 1), ({"type": "integr"}, 1),
    (True, 1), ({"type": "integer", "minimum": True}, 1), ({"type": "integer", "maximum": "3"}, 1),
]


@pytest.mark.parametrize("schema, value", _DECIDED_CASES, ids=repr)
def test_certainly_fits_agrees_with_jsonschema_where_it_decides(schema: Any, value: Any) -> None:
    assert certainly_fits(schema, value) is Draft202012Validator(schema).is_valid(value)


@pytest.mark.parametrize("schema, value", _UNDECIDED_CASES, ids=repr)
def test_certainly_fits_leaves_every_other_schema_to_jsonschema(schema: Any, value: Any) -> None:
    assert certainly_fits(schema, value) is False
