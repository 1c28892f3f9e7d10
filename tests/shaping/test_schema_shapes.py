"""`mcprt.schema.shapes`: self-contained JSON Schemas (pydantic's, upstream tools') → checked-shaping shapes."""

from __future__ import annotations

import dataclasses
from typing import Literal, Optional, Union

from pydantic import BaseModel, TypeAdapter

from mcprt.schema.shapes import shape_of


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
