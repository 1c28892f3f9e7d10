"""The "certainly valid" shortcut of the argument check (`schema.shortcut`, compiled by fastjsonschema):
it may only say "valid" where jsonschema's 2020-12 validator finds no error, it never changes what
the argument check reports (every problem is still jsonschema's message), and a schema using a keyword
whose meaning fastjsonschema does not share gets no shortcut at all."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from mcprt.schema.shortcut import valid_shortcut
from mcprt.schema.validator import argument_validator

# Property names that test how fastjsonschema names its variables (it keeps only [a-zA-Z0-9]:
# "f-g", "fg" and "f g" share one) and quotes names into its source.
NAMES = ["a", "b", "id", "f-g", "fg", "f g", "é", "", '"', "\\", "{x}", "x\n"]
SCALAR_TYPES = ["string", "integer", "number", "boolean", "null"]
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                         st.sampled_from([0, 1, -1, 1.0, 0.0, 2.5, 2**64, float(2**64)]),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=4),
                         st.sampled_from(NAMES))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(NAMES), inner, max_size=4)), max_leaves=12)
DEFS = ["node", "Item2", "c-d"]  # distinct for fastjsonschema's function names


def _leaf(refs: bool = True) -> st.SearchStrategy[Any]:
    typed = st.fixed_dictionaries({}, optional={
        "type": st.one_of(st.sampled_from(SCALAR_TYPES + ["array", "object"]),
                          st.lists(st.sampled_from(SCALAR_TYPES), min_size=1, max_size=3, unique=True)),
        "minimum": st.integers(-5, 5), "maximum": st.one_of(st.floats(-5, 5), st.just(2**70)),
        "exclusiveMinimum": st.integers(-5, 5), "exclusiveMaximum": st.floats(-5, 5),
        "minLength": st.integers(0, 3), "maxLength": st.integers(0, 6),
        "minItems": st.integers(0, 2), "maxItems": st.integers(0, 4), "uniqueItems": st.booleans(),
        "minProperties": st.integers(0, 2), "maxProperties": st.integers(0, 3),
        "enum": st.lists(json_values, min_size=1, max_size=4), "const": json_values,
        "format": st.sampled_from(["date", "email", "uuid"]), "description": st.text(max_size=5),
        "default": json_scalars, "x-vendor": st.just(1),
    })
    if not refs:
        return st.one_of(typed, st.booleans())
    return st.one_of(typed, st.booleans(), st.sampled_from([{"$ref": f"#/$defs/{d}"} for d in DEFS]))


def _object(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    def build(properties: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries({"type": st.just("object"), "properties": st.just(properties)}, optional={
            # required names outside `properties` with additionalProperties false: fastjsonschema refuses
            # such a schema (no shortcut, tested below), so they are not drawn here
            "required": st.lists(st.sampled_from(sorted(properties)), max_size=3, unique=True) if properties
            else st.just([]),
            "additionalProperties": st.one_of(st.booleans(), inner),
            "propertyNames": st.fixed_dictionaries({"maxLength": st.integers(0, 3)}),
        })

    return st.dictionaries(st.sampled_from(NAMES), inner, max_size=4).flatmap(build)


def _compound(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        _object(inner),
        st.fixed_dictionaries({"type": st.just("array"), "items": inner},
                              optional={"minItems": st.integers(0, 2), "uniqueItems": st.booleans()}),
        st.fixed_dictionaries({"anyOf": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"oneOf": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"allOf": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"not": inner}),
        st.fixed_dictionaries({"if": inner}, optional={"then": inner, "else": inner}),
    )


subschemas = st.recursive(_leaf(), _compound, max_leaves=6)
# Definitions without references: a reference cycle that never descends into the instance (a
# definition whose `not` refers to itself) is unbounded recursion for every validator.
definitions = st.recursive(_leaf(refs=False), _compound, max_leaves=4)


def _with_definitions(body: Any) -> st.SearchStrategy[dict[str, Any]]:
    """`body` with a definition drawn for each name it refers to. An unreferenced definition is
    evaluated by neither validator and always passes the gate (its keywords are the drawn ones), so
    drawing all three for every body only cost time: ~3/4 of each example's generation."""
    text = json.dumps(body)
    named = st.fixed_dictionaries({d: definitions for d in DEFS if json.dumps(f"#/$defs/{d}") in text})
    return named.map(lambda defs: {**body, "$defs": defs} if isinstance(body, dict)
                     else {"allOf": [body], "$defs": defs})


schemas = subschemas.flatmap(_with_definitions)


# One draw serves both properties: drawing the schemas costs ~9/10 of each example (hypothesis generating
# the recursive schemas), so checking both on the same 700 examples spares the 300 a second test drew.
@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=schemas, instance=json_values)
def test_certainly_valid_means_jsonschema_finds_no_error_and_the_check_reports_what_it_reports(
        schema: dict[str, Any], instance: Any) -> None:
    check = valid_shortcut(schema)
    assert check is not None, schema  # every keyword drawn here is one the shortcut covers
    theirs = sorted(e.message for e in Draft202012Validator(schema).iter_errors(instance))
    if check(instance):
        assert theirs == [], (schema, instance)
    assert sorted(e.message for e in argument_validator(schema).iter_errors(instance)) == theirs


SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}, "state": {"enum": ["open", "closed"]},
                                           "labels": {"type": "array", "items": {"type": "string"}, "maxItems": 2}},
          "required": ["id"]}


@pytest.mark.parametrize(("instance", "message"), [
    ({}, "'id' is a required property"),
    ({"id": "1"}, "'1' is not of type 'integer'"),
    ({"id": True}, "True is not of type 'integer'"),
    ({"id": 1, "state": "merged"}, "'merged' is not one of ['open', 'closed']"),
    ({"id": 1, "labels": ["a", 2]}, "2 is not of type 'string'"),
    ({"id": 1, "labels": ["a", "b", "c"]}, "['a', 'b', 'c'] is too long"),
])
def test_bad_arguments_get_jsonschemas_message(instance: dict[str, Any], message: str) -> None:
    check = valid_shortcut(SCHEMA)
    assert check is not None and not check(instance)
    assert [e.message for e in argument_validator(SCHEMA).iter_errors(instance)] == [message]


@pytest.mark.parametrize(("schema", "instance", "valid"), [
    ({"enum": [1]}, True, False),  # true is not 1 (JSON Schema 2020-12 Core §4.2.2)
    ({"enum": [True]}, 1, False),
    ({"const": 0}, False, False),
    ({"const": False}, False, True),
    ({"const": {"a": [1]}}, {"a": [True]}, False),
    ({"const": {"a": [1]}}, {"a": [1.0]}, True),  # 1 and 1.0 are one number
    ({"enum": ["a", 1.0]}, 1, True),
    ({"type": "integer"}, 1.0, True),  # an integral float is an integer (2020-12 Validation §6.1.1)
    ({"type": "integer"}, 1.5, False),
    ({"type": "integer"}, True, False),
    ({"type": "number"}, False, False),
    ({"type": "integer", "minimum": 2**64}, 2**64 + 1, True),  # big ints compared exactly
    ({"type": "integer", "maximum": 2**64}, 2**64 + 1, False),
    ({"enum": [2**70]}, 2**70, True),
    ({"enum": [2**70]}, 2**70 + 1, False),
    ({"uniqueItems": True}, [1, 1.0], False),
    ({"uniqueItems": True}, [0, False], True),
    ({"uniqueItems": True}, [{"a": 1}, {"a": True}], True),
    ({"format": "email"}, "not an email", True),  # format annotates only: no format checker
    ({"format": "date"}, "2026-02-30", True),
    ({"properties": {"a": {"default": 5}}}, {}, True),
    ({"properties": {"x": {"$ref": "#/$defs/s"}}, "$defs": {"s": {"type": "string", "maxLength": 2}}}, {"x": "ab"}, True),
    ({"properties": {"x": {"$ref": "#/$defs/s"}}, "$defs": {"s": {"type": "string", "maxLength": 2}}}, {"x": "abc"}, False),
    ({"$ref": "#/$defs/tree", "$defs": {"tree": {"type": "array", "items": {"$ref": "#/$defs/tree"}}}}, [[[]], []], True),
    ({"$ref": "#/$defs/tree", "$defs": {"tree": {"type": "array", "items": {"$ref": "#/$defs/tree"}}}}, [[[1]]], False),
    ({"$schema": "http://json-schema.org/draft-04/schema#", "exclusiveMinimum": 5}, 5, False),  # read as 2020-12
    ({"properties": {"f-g": {"type": "string"}, "fg": {"type": "integer"}}}, {"f-g": "s", "fg": 1}, True),
    ({"properties": {"f-g": {"type": "string"}, "fg": {"type": "integer"}}}, {"f-g": 1, "fg": 1}, False),
    ({"properties": {"f-g": {"type": "string"}, "fg": {"type": "integer"}}}, {"f-g": "s", "fg": "s"}, False),
])
def test_where_the_drafts_could_differ_it_agrees_with_jsonschema(schema: dict[str, Any], instance: Any,
                                                                 valid: bool) -> None:
    check = valid_shortcut(schema)
    assert check is not None
    assert check(instance) is valid
    assert (list(Draft202012Validator(schema).iter_errors(instance)) == []) is valid


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"q": {"type": "string", "pattern": "^a"}}},  # ECMA-262, time-limited: ours
    {"type": "object", "patternProperties": {"^a": {"type": "string"}}},
    {"type": "number", "multipleOf": 0.1},  # exact decimal arithmetic: ours
    {"prefixItems": [{"type": "string"}]},
    {"type": "array", "items": [{"type": "string"}]},  # the draft-7 tuple form
    {"items": {"type": "string"}, "additionalItems": False},
    {"unevaluatedProperties": False},
    {"unevaluatedItems": False},
    {"dependentRequired": {"a": ["b"]}},
    {"dependentSchemas": {"a": {"required": ["b"]}}},
    {"dependencies": {"a": ["b"]}},
    {"contains": {"type": "string"}, "maxContains": 1},
    {"contentEncoding": "base64"},
    {"contentMediaType": "application/json"},
    {"properties": {"x": {"$ref": "#/$defs/s", "maxLength": 2}}, "$defs": {"s": {"type": "string"}}},  # siblings
    {"properties": {"x": {"$ref": "other.json#/s"}}},
    {"properties": {"x": {"$ref": "#/properties/y"}, "y": {"type": "string"}}},  # only definitions are referred to
    {"$ref": "#"},
    {"properties": {"x": {"$ref": "#s"}}, "$defs": {"s": {"$anchor": "s"}}},
    {"$id": "https://example.com/s", "type": "object"},
    {"$dynamicRef": "#meta"},
    {"type": "object", "nullable": True},  # unknown to both: left to jsonschema rather than guessed
    {"anyOf": []},
    {"type": "whatever"},
    {"required": ["a", "a"]},
    {"type": "object", "required": ["a"], "additionalProperties": False},
    # two targets fastjsonschema would give one function name (it would check both against one of them)
    {"properties": {"x": {"$ref": "#/$defs/a-b"}, "y": {"$ref": "#/$defs/A_b"}},
     "$defs": {"a-b": {"type": "string"}, "A_b": {"type": "integer"}}},
    {"properties": {"x": {"$ref": "#/$defs/\u212a"}, "y": {"$ref": "#/$defs/_"}},  # KELVIN SIGN: not [a-zA-Z]
     "$defs": {"\u212a": {"type": "string"}, "_": {"type": "integer"}}},
    True,
    [],
])
def test_schemas_outside_the_shared_meaning_get_no_shortcut(schema: Any) -> None:
    assert valid_shortcut(schema) is None


def test_an_ecma_pattern_is_still_evaluated_with_ecma_meaning() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string", "pattern": "^\\d+$"}}}
    assert valid_shortcut(schema) is None
    # Python's re: \d matches ARABIC-INDIC DIGIT THREE; ECMA-262 (u flag): \d is [0-9] only
    assert [e.message for e in argument_validator(schema).iter_errors({"q": "\u0663"})] == [
        "'\u0663' does not match '^\\\\d+$'"]


def test_anything_raised_while_checking_means_undecided() -> None:
    schema = {"properties": {"n": {"enum": [math.inf, 1]}}}  # a YAML description can carry .inf
    check = valid_shortcut(schema)
    assert check is not None and check({"n": 1}) is False  # the generated source names `inf`: undecided
    assert list(argument_validator(schema).iter_errors({"n": 1})) == []


def test_the_arguments_are_not_changed() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer", "default": 5},
                                               "b": {"type": "array", "items": {"default": 1}}}}
    instance: dict[str, Any] = {"b": []}
    assert list(argument_validator(schema).iter_errors(instance)) == [] and instance == {"b": []}


def test_a_remote_reference_is_never_fetched() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.5)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/schema.json"
        assert valid_shortcut({"properties": {"x": {"$ref": url}}}) is None
        list(argument_validator({"properties": {"x": {"$ref": url}}}).iter_errors({"x": 1}))
        with pytest.raises(TimeoutError):
            listener.accept()


def test_commands_that_do_not_call_tools_do_not_import_fastjsonschema(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text('{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/x": {"get": {'
                    '"operationId": "getX", "responses": {"200": {"description": "ok"}}}}}}')
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(f"version: 1\nsources:\n  t:\n    openapi: {spec}\n    base_url: http://127.0.0.1:9\n")
    probe = ("import sys\nfrom mcprt.cli.main import app\nimport mcprt.toolset.invoke\n"
             "try:\n    app(['tools', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
             # into a file: `tools` claims stdout for its own output, so a print after it lands on stderr
             "open(sys.argv[2], 'w').write(str('fastjsonschema' in sys.modules))")
    imported = tmp_path / "imported.txt"
    done = subprocess.run([sys.executable, "-c", probe, str(manifest), str(imported)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert "getX" in done.stdout, done.stderr
    assert imported.read_text() == "False", done.stderr
