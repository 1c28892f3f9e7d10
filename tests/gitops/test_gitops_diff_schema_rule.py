"""The one rule of `gitops.schemas`: which schema changes break a call (input) or a reader (output).

The review of the path-by-path schema diff ran these 32 changes through the rule and found it wrong on
many: `anyOf` options compared by position (a reordering "breaking" both ways, an added option always
breaking), `additionalProperties` `false` ↔ `true` breaking both ways and absent ≠ `true`, `integer` →
`number` breaking an input, and every keyword outside the few it walked (`maxLength`, `pattern`,
`minimum`, `const`, `oneOf`, `$ref`, …) silently not breaking."""

from __future__ import annotations

from typing import Any

import pytest

from mcprt.gitops.schemas import UNCLASSIFIED, schema_changes

OBJ_A = {"type": "object", "properties": {"a": {}}}

# (name, before, after, breaking as input, breaking as output)
CASES: list[tuple[str, Any, Any, bool, bool]] = [
    ("nullable union str->[str,null]", {"type": "string"}, {"type": ["string", "null"]}, False, True),
    ("integer->number", {"type": "integer"}, {"type": "number"}, False, True),
    ("number->integer", {"type": "number"}, {"type": "integer"}, True, False),
    ("oas nullable added", {"type": "string"}, {"type": "string", "nullable": True}, False, True),
    ("enum add value", {"type": "string", "enum": ["a"]}, {"type": "string", "enum": ["a", "b"]}, False, True),
    ("enum remove value", {"type": "string", "enum": ["a", "b"]}, {"type": "string", "enum": ["a"]}, True, False),
    ("const added", {"type": "string"}, {"type": "string", "const": "a"}, True, False),
    ("required added (prop in both)", OBJ_A, {**OBJ_A, "required": ["a"]}, True, False),
    ("required dropped", {**OBJ_A, "required": ["a"]}, OBJ_A, False, True),
    ("required name w/o properties", {"type": "object"}, {"type": "object", "required": ["a"]}, True, False),
    ("addlProps absent->false", {"type": "object"}, {"type": "object", "additionalProperties": False}, True, False),
    ("addlProps false->true", {"type": "object", "additionalProperties": False},
     {"type": "object", "additionalProperties": True}, False, True),
    ("addlProps true->false", {"type": "object", "additionalProperties": True},
     {"type": "object", "additionalProperties": False}, True, False),
    ("addlProps absent->true", {"type": "object"}, {"type": "object", "additionalProperties": True}, False, False),
    ("addlProps false->absent", {"type": "object", "additionalProperties": False}, {"type": "object"}, False, True),
    ("items absent->string", {"type": "array"}, {"type": "array", "items": {"type": "string"}}, True, False),
    ("items string->absent", {"type": "array", "items": {"type": "string"}}, {"type": "array"}, False, True),
    ("anyOf add option", {"anyOf": [{"type": "string"}]}, {"anyOf": [{"type": "string"}, {"type": "integer"}]},
     False, True),
    ("anyOf drop option", {"anyOf": [{"type": "string"}, {"type": "integer"}]}, {"anyOf": [{"type": "string"}]},
     True, False),
    ("anyOf reorder", {"anyOf": [{"type": "string"}, {"type": "integer"}]},
     {"anyOf": [{"type": "integer"}, {"type": "string"}]}, False, False),
    ("anyOf add null opt (obj)", {"anyOf": [{"type": "object", "properties": {"a": {}}}, {"type": "string"}]},
     {"anyOf": [{"type": "object", "properties": {"a": {}}}, {"type": "string"}, {"type": "null"}]}, False, True),
    ("oneOf add option", {"oneOf": [{"type": "string"}]}, {"oneOf": [{"type": "string"}, {"type": "integer"}]},
     False, True),
    ("maxLength added", {"type": "string"}, {"type": "string", "maxLength": 3}, True, False),
    ("pattern added", {"type": "string"}, {"type": "string", "pattern": "^a$"}, True, False),
    ("minimum added", {"type": "integer"}, {"type": "integer", "minimum": 1}, True, False),
    ("property added optional, addl false", {"type": "object", "properties": {}, "additionalProperties": False},
     {"type": "object", "properties": {"b": {}}, "additionalProperties": False}, False, True),
    ("property removed, addl open", {"type": "object", "properties": {"a": {"type": "string"}}},
     {"type": "object", "properties": {}}, True, True),
    ("$ref target change", {"$ref": "#/$defs/A"}, {"$ref": "#/$defs/B"}, False, False),
    ("inline->$ref", {"type": "string"}, {"$ref": "#/$defs/A"}, False, True),
    ("type removed entirely", {"type": "string"}, {}, False, True),
    ("true->false schema", True, False, True, False),
    ("false->true schema", False, True, False, True),
]


@pytest.mark.parametrize(("before", "after", "as_input", "as_output"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_the_reviewers_cases(before: Any, after: Any, as_input: bool, as_output: bool) -> None:
    for direction, expected in (("input", as_input), ("output", as_output)):
        changes = schema_changes(before, after, direction)  # type: ignore[arg-type]
        assert any(c.breaking for c in changes) == expected, (direction, changes)


@pytest.mark.parametrize(("before", "after", "as_input", "as_output"), [
    # a bound tightened narrows, loosened widens; a changed pattern or format does both
    ({"maxLength": 10}, {"maxLength": 5}, True, False),
    ({"maxLength": 5}, {"maxLength": 10}, False, True),
    ({"minItems": 1}, {"minItems": 2}, True, False),
    ({"maximum": 3}, {}, False, True),
    ({"pattern": "^a"}, {"pattern": "^b"}, True, True),
    ({"format": "date"}, {"format": "uri"}, True, True),
    ({}, {"uniqueItems": True}, True, False),
    # allOf: every subschema must hold, so one added narrows
    ({"allOf": [{"type": "string"}]}, {"allOf": [{"type": "string"}, {"minLength": 1}]}, True, False),
    # an option changed in place is compared deeper, not removed and added
    ({"anyOf": [{"type": "object", "properties": {"a": {}}}]}, {"anyOf": [{"type": "object", "properties": {}}]},
     True, True),
    # annotations never break
    ({"description": "a"}, {"description": "b", "examples": [1]}, False, False),
])
def test_keywords_beyond_the_walked_ones(before: Any, after: Any, as_input: bool, as_output: bool) -> None:
    for direction, expected in (("input", as_input), ("output", as_output)):
        changes = schema_changes(before, after, direction)  # type: ignore[arg-type]
        assert changes and any(c.breaking for c in changes) == expected, (direction, changes)
        assert not any(UNCLASSIFIED in c.detail for c in changes), changes


@pytest.mark.parametrize(("before", "after"), [
    ({"type": "object"}, {"type": "object", "additionalProperties": True}),  # absent is `true`
    ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
    (True, {}),
])
def test_the_same_meaning_written_otherwise_is_no_change(before: Any, after: Any) -> None:
    assert schema_changes(before, after, "input") == schema_changes(before, after, "output") == []


@pytest.mark.parametrize("keyword", ["$ref", "not", "if", "dependentRequired", "propertyNames", "x-vendor"])
def test_a_keyword_the_rule_does_not_understand_is_reported_unclassified(keyword: str) -> None:
    for direction in ("input", "output"):
        [change] = schema_changes({keyword: "A"}, {keyword: "B"}, direction)  # type: ignore[arg-type]
        assert UNCLASSIFIED in change.describe() and not change.breaking, change


def test_an_anyof_option_matched_by_content_keeps_its_new_index() -> None:
    before = {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"a": {}}}]}
    after = {"anyOf": [{"type": "object", "properties": {}}, {"type": "null"}]}
    [change] = schema_changes(before, after, "output")
    assert (change.pointer, change.detail, change.breaking) == ("/anyOf/0/properties/a", "removed", True)
