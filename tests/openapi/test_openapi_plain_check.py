"""The compiled argument check (`schema.validator.plain_check`): it may only say "valid" where
jsonschema's 2020-12 validator finds no error, and a value it is unsure of goes to that validator,
so every problem a model reads is still jsonschema's message."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from mcprt.schema.validator import argument_validator, plain_check

SCALAR_TYPES = ["string", "integer", "number", "boolean", "null"]
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["a", "b", "id", "q", "x"]), inner, max_size=4)),
    max_leaves=12)


def _leaf_schema() -> st.SearchStrategy[dict[str, Any]]:
    typed = st.fixed_dictionaries({"type": st.one_of(st.sampled_from(SCALAR_TYPES + ["array", "object"]),
                                                     st.lists(st.sampled_from(SCALAR_TYPES), min_size=1, max_size=3))},
                                  optional={
                                      "minimum": st.integers(-5, 5), "maximum": st.floats(-5, 5),
                                      "exclusiveMinimum": st.integers(-5, 5), "exclusiveMaximum": st.integers(-5, 5),
                                      "minLength": st.integers(0, 3), "maxLength": st.integers(0, 6),
                                      "minItems": st.integers(0, 2), "maxItems": st.integers(0, 4),
                                      "enum": st.lists(json_scalars, min_size=1, max_size=4),
                                      "const": json_scalars, "format": st.sampled_from(["date", "email"]),
                                      "description": st.text(max_size=5),
                                  })
    return typed


schemas = st.recursive(_leaf_schema(), lambda inner: st.one_of(
    st.fixed_dictionaries({"type": st.just("object"),
                           "properties": st.dictionaries(st.sampled_from(["a", "b", "id", "q"]), inner, max_size=3)},
                          optional={"required": st.lists(st.sampled_from(["a", "b", "id", "q"]), max_size=3, unique=True),
                                    "additionalProperties": st.one_of(st.booleans(), inner)}),
    st.fixed_dictionaries({"type": st.just("array"), "items": inner},
                          optional={"minItems": st.integers(0, 2), "maxItems": st.integers(0, 3)}),
), max_leaves=6)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=schemas, instance=json_values)
def test_plainly_valid_means_jsonschema_finds_no_error(schema: dict[str, Any], instance: Any) -> None:
    check = plain_check(schema)
    assert check is not None, schema  # every keyword drawn here is one the check covers
    if check(instance):
        assert list(Draft202012Validator(schema).iter_errors(instance)) == [], (schema, instance)


@settings(max_examples=300, deadline=None)
@given(instance=st.dictionaries(st.sampled_from(["id", "name", "limit", "tags"]), json_values, max_size=4))
def test_errors_are_the_full_validators(instance: dict[str, Any]) -> None:
    schema = {"type": "object", "properties": {"id": {"type": "integer", "minimum": 1}, "name": {"type": "string"},
                                               "limit": {"type": "integer", "maximum": 100},
                                               "tags": {"type": "array", "items": {"type": "string"}}},
              "required": ["id"], "additionalProperties": False}
    mine = [e.message for e in argument_validator(schema).iter_errors(instance)]
    full = [e.message for e in Draft202012Validator(schema).iter_errors(instance)]
    assert mine == full


SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}, "state": {"enum": ["open", "closed"]},
                                           "labels": {"type": "array", "items": {"type": "string"}, "maxItems": 2}},
          "required": ["id"]}


@pytest.mark.parametrize("instance", [
    {"id": 1}, {"id": 2**80, "state": "open"}, {"id": -3, "labels": ["a", "b"]}, {"id": 0, "unknown": [1, {}]},
])
def test_common_arguments_are_recognised_as_valid(instance: dict[str, Any]) -> None:
    check = plain_check(SCHEMA)
    assert check is not None and check(instance)


@pytest.mark.parametrize(("instance", "message"), [
    ({}, "'id' is a required property"),
    ({"id": "1"}, "'1' is not of type 'integer'"),
    ({"id": True}, "True is not of type 'integer'"),
    ({"id": 1, "state": "merged"}, "'merged' is not one of ['open', 'closed']"),
    ({"id": 1, "labels": ["a", 2]}, "2 is not of type 'string'"),
    ({"id": 1, "labels": ["a", "b", "c"]}, "['a', 'b', 'c'] is too long"),
])
def test_bad_arguments_get_jsonschemas_message(instance: dict[str, Any], message: str) -> None:
    check = plain_check(SCHEMA)
    assert check is not None and not check(instance)
    assert [e.message for e in argument_validator(SCHEMA).iter_errors(instance)] == [message]


def test_an_integral_float_is_left_to_jsonschema_which_accepts_it() -> None:
    check = plain_check(SCHEMA)
    assert check is not None and not check({"id": 1.0})  # unsure: the full validator decides
    assert list(argument_validator(SCHEMA).iter_errors({"id": 1.0})) == []


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"q": {"type": "string", "pattern": "^a"}}},
    {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    {"type": "object", "properties": {"x": {"$ref": "#/$defs/x"}}, "$defs": {"x": {"type": "string"}}},
    {"type": "object", "patternProperties": {"^a": {"type": "string"}}},
    {"type": "number", "multipleOf": 0.1},
    {"type": "whatever"},
    False,
])
def test_schemas_with_other_keywords_get_no_plain_check(schema: Any) -> None:
    assert plain_check(schema) is None
