"""`mcprt.schema.shapes`: self-contained JSON Schemas (pydantic's, upstream tools') → checked-shaping shapes."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, Optional, Union

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, TypeAdapter

from mcprt.schema.shapes import certainly_of_type, shape_of


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


# `certainly_of_type`: the load-time check of a `fixed`/`default` value skips jsonschema only where
# jsonschema would accept the value too; everything else goes to jsonschema (which words the problem).
_TYPE_CASES = [
    ({"type": "integer"}, 5, True), ({"type": "integer"}, 5.0, True), ({"type": "integer"}, 5.5, False),
    ({"type": "integer"}, True, False), ({"type": "number"}, 3, True), ({"type": "number"}, False, False),
    ({"type": "boolean"}, 3, False), ({"type": "boolean"}, False, True), ({"type": "string"}, "x", True),
    ({"type": "string"}, b"x", False), ({"type": "string", "description": "d", "default": "y"}, "x", True),
    ({"type": ["string", "null"]}, None, True), ({"type": "null"}, 0, False), ({"type": "array"}, [1], True),
    ({"type": "object"}, {"a": 1}, True), ({"type": "object"}, [], False),
    # more than a type (or no type): never decided here
    ({"type": "integer", "maximum": 3}, 2, False), ({"type": "string", "enum": ["x"]}, "x", False),
    ({"type": "string", "pattern": "^x$"}, "x", False), ({"$ref": "#/$defs/x"}, 1, False), ({}, 1, False),
    ({"type": "integr"}, 1, False), (True, 1, False),
]


@pytest.mark.parametrize("schema, value, certain", _TYPE_CASES, ids=repr)
def test_certainly_of_type_says_yes_only_where_jsonschema_accepts(schema: Any, value: Any, certain: bool) -> None:
    assert certainly_of_type(schema, value) is certain
    if certain:
        assert Draft202012Validator(schema).is_valid(value)
    elif isinstance(schema, dict) and set(schema) <= {"type", "description", "default"} and "type" in schema \
            and schema["type"] != "integr":
        assert not Draft202012Validator(schema).is_valid(value)  # a plain type it does not fit: refused by both
