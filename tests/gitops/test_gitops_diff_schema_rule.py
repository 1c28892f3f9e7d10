"""The one rule of `gitops.schemas`: which schema changes break a call (input) or a reader (output).

The review of the path-by-path schema diff ran these 32 changes through the rule and found it wrong on
many: `anyOf` options compared by position (a reordering "breaking" both ways, an added option always
breaking), `additionalProperties` `false` ↔ `true` breaking both ways and absent ≠ `true`, `integer` →
`number` breaking an input, and every keyword outside the few it walked (`maxLength`, `pattern`,
`minimum`, `const`, `oneOf`, `$ref`, …) silently not breaking. A later review: a keyword the rule does
not understand passed `--fail-on breaking` (now possibly breaking: fail closed), and a changed schema behind
a `$ref` was invisible (local `$ref`s are now inlined before comparing)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mcprt.gitops.inline import inline_refs
from mcprt.gitops.schemas import REFERENCED, UNCLASSIFIED, schema_changes
from tests.support.cli import mcprt_cli

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
    # a `$ref` this rule is given unresolved (no `$defs` here) is not understood: possibly breaking both ways
    ("$ref target change", {"$ref": "#/$defs/A"}, {"$ref": "#/$defs/B"}, True, True),
    ("inline->$ref", {"type": "string"}, {"$ref": "#/$defs/A"}, True, True),
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
    """Unclassified is possibly breaking (fail closed): a reviewer's `--fail-on breaking` let them through."""
    for direction in ("input", "output"):
        [change] = schema_changes({keyword: "A"}, {keyword: "B"}, direction)  # type: ignore[arg-type]
        assert UNCLASSIFIED in change.describe() and change.breaking, change


def test_an_anyof_option_matched_by_content_keeps_its_new_index() -> None:
    before = {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"a": {}}}]}
    after = {"anyOf": [{"type": "object", "properties": {}}, {"type": "null"}]}
    [change] = schema_changes(before, after, "output")
    assert (change.pointer, change.detail, change.breaking) == ("/anyOf/0/properties/a", "removed", True)


def _tree_spec(name_schema: dict[str, Any], query: dict[str, Any], siblings: dict[str, Any] | None = None,
               tree_type: str = "object", tag: bool = False, recursive: bool = True) -> dict[str, Any]:
    """A recursive `Tree` (the compiler keeps it as `$defs` + `$ref` in the inputSchema; `recursive=False`: no
    `kids`, a Tree the compiler inlines where no keyword stands beside its `$ref`) and a plain argument;
    `siblings`: keywords beside the `$ref` of `root` (OpenAPI 3.1 allows them; the inputSchema holds an `allOf`)."""
    kids = {"kids": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}}} if recursive else {}
    tree = {"type": tree_type, "properties": {"name": name_schema, **({"tag": {"type": "string"}} if tag else {}),
                                              **kids}}
    body = {"type": "object", "properties": {"root": {"$ref": "#/components/schemas/Tree", **(siblings or {})},
                                             "q": query}}
    return {"openapi": "3.1.0" if siblings else "3.0.3", "info": {"title": "t", "version": "1"},
            "servers": [{"url": "http://127.0.0.1:9"}],
            "components": {"schemas": {"Tree": tree}},
            "paths": {"/t": {"post": {"operationId": "putTree", "responses": {"200": {"description": "ok"}},
                                      "requestBody": {"content": {"application/json": {"schema": body}}}}}}}


def test_diff_compares_referenced_schemas_and_counts_unknown_keywords_as_breaking(tmp_path: Path) -> None:
    """Through `mcprt diff --fail-on breaking`: a field of a `$ref`erenced schema changing type was no change at
    all (both sides `{"$ref": "#/$defs/Tree"}`), and a `not` added to an argument was "unclassified" and exit 0."""
    plain = {"type": "string"}
    sides = {"old": _tree_spec(plain, plain), "ref": _tree_spec({"type": "integer"}, plain),
             "not": _tree_spec(plain, {**plain, "not": {"const": "x"}})}
    for name, spec in sides.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(spec))
        (tmp_path / f"{name}.yaml").write_text(f"version: 1\nsources:\n  t:\n    openapi: {name}.json\n")
    env = {"MCPRT_CACHE_DIR": str(tmp_path / "cache")}
    old = str(tmp_path / "old.yaml")
    by_ref = mcprt_cli("diff", old, str(tmp_path / "ref.yaml"), "--fail-on", "breaking", env=env)
    assert by_ref.returncode == 1, by_ref.stdout + by_ref.stderr
    assert "BREAKING argument schema changed: `root` /properties/name: type string → integer" in by_ref.stdout
    by_keyword = mcprt_cli("diff", old, str(tmp_path / "not.yaml"), "--fail-on", "breaking", env=env)
    assert by_keyword.returncode == 1, by_keyword.stdout + by_keyword.stderr
    assert "BREAKING argument schema changed: `q` /: not" in by_keyword.stdout, by_keyword.stdout
    assert "counts as possibly breaking" in by_keyword.stdout


def test_a_ref_with_siblings_changes_in_the_referenced_schemas_terms(tmp_path: Path) -> None:
    """Through `mcprt diff`: `root: {$ref: Tree, maxProperties: 5}` (an `allOf` of the reference and its siblings)
    reported `/allOf/0/properties/name`, `/allOf/1: maxProperties` and, for Tree's own type, an option
    "removed" and one "added": pointers into no schema a reviewer reads. Now the referenced schema's field, at
    the argument, and every breaking one still caught."""
    plain = {"type": "string"}
    sides = {"old": _tree_spec(plain, plain, {"maxProperties": 5}, tag=True),
             "field": _tree_spec({"type": "integer"}, plain, {"maxProperties": 5}, tag=True),
             "dropped": _tree_spec(plain, plain, {"maxProperties": 5}),
             "sibling": _tree_spec(plain, plain, {"maxProperties": 3}, tag=True),
             "type": _tree_spec(plain, plain, {"maxProperties": 5}, tree_type="array", tag=True),
             "described": _tree_spec({**plain, "description": "its name"}, plain, {"maxProperties": 5}, tag=True)}
    for name, spec in sides.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(spec))
        (tmp_path / f"{name}.yaml").write_text(f"version: 1\nsources:\n  t:\n    openapi: {name}.json\n")
    env = {"MCPRT_CACHE_DIR": str(tmp_path / "cache")}
    expected = {"field": "BREAKING argument schema changed: `root` /properties/name: type string → integer",
                "dropped": "BREAKING argument schema changed: `root` /properties/tag: removed",
                "sibling": "BREAKING argument schema changed: `root` /: maxProperties 5 → 3",
                "type": "BREAKING argument type changed: `root`: object → array",
                "described": "argument schema changed: `root` /properties/name: description (none) → \"its name\""}
    for name, line in expected.items():
        done = mcprt_cli("diff", str(tmp_path / "old.yaml"), str(tmp_path / f"{name}.yaml"), "--fail-on", "breaking",
                         env=env)
        assert done.returncode == (1 if line.startswith("BREAKING") else 0), done.stdout + done.stderr
        assert line in done.stdout and "allOf" not in done.stdout and "x-mcprt" not in done.stdout, done.stdout


def test_a_non_recursive_ref_with_siblings_changes_in_the_referenced_schemas_terms(tmp_path: Path) -> None:
    """The common case: a non-recursive Tree beside `maxProperties` was inlined by the compiler as
    `allOf: [<Tree's body>, {maxProperties: 5}]`, no `$ref` left, so the diff read `/allOf/0/properties/name`."""
    plain = {"type": "string"}
    sides = {"old": _tree_spec(plain, plain, {"maxProperties": 5}, recursive=False),
             "field": _tree_spec({"type": "integer"}, plain, {"maxProperties": 5}, recursive=False),
             "sibling": _tree_spec(plain, plain, {"maxProperties": 3}, recursive=False)}
    for name, spec in sides.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(spec))
        (tmp_path / f"{name}.yaml").write_text(f"version: 1\nsources:\n  t:\n    openapi: {name}.json\n")
    env = {"MCPRT_CACHE_DIR": str(tmp_path / "cache")}
    expected = {"field": "BREAKING argument schema changed: `root` /properties/name: type string → integer",
                "sibling": "BREAKING argument schema changed: `root` /: maxProperties 5 → 3"}
    for name, line in expected.items():
        done = mcprt_cli("diff", str(tmp_path / "old.yaml"), str(tmp_path / f"{name}.yaml"), "--fail-on", "breaking",
                         env=env)
        assert done.returncode == 1, done.stdout + done.stderr
        assert line in done.stdout and "allOf" not in done.stdout and "x-mcprt" not in done.stdout, done.stdout


def test_inlining_is_recursion_safe_and_bounded() -> None:
    tree = {"$ref": "#/$defs/T", "$defs": {"T": {"type": "object", "properties": {"kids": {"items": {"$ref": "#/$defs/T"}}}}}}
    assert inline_refs(tree) == {"type": "object", "properties": {"kids": {"items": {"$ref": "#/$defs/T"}}}}
    # a $ref with sibling keywords holds both (2020-12 §10.2.1): an allOf (annotations alone are merged)
    assert inline_refs({"$ref": "#/$defs/S", "maxLength": 3, "$defs": {"S": {"type": "string"}}}) == \
        {"allOf": [{"type": "string", REFERENCED: "#/$defs/S"}, {"maxLength": 3}]}
    assert inline_refs({"$ref": "#/$defs/S", "type": "integer", "$defs": {"S": {"type": "string"}}}) == \
        {"allOf": [{"type": "string", REFERENCED: "#/$defs/S"}, {"type": "integer"}]}
    # each definition used twice by the next doubles per level: past the bound, the schema as written
    chain: dict[str, Any] = {"$defs": {"d40": {"type": "string"}}, "$ref": "#/$defs/d0"}
    for i in range(40):
        chain["$defs"][f"d{i}"] = {"properties": {"a": {"$ref": f"#/$defs/d{i + 1}"}, "b": {"$ref": f"#/$defs/d{i + 1}"}}}
    assert inline_refs(chain) is chain
    dangling = {"properties": {"a": {"$ref": "#/$defs/Missing"}, "b": {"$ref": "https://x.example/s.json"}}}
    assert inline_refs(dangling) == dangling
    assert not schema_changes(inline_refs(copy.deepcopy(tree)), inline_refs(tree), "input")


def _query_spec(parameter: dict[str, Any]) -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "http://127.0.0.1:9"}],
            "paths": {"/q": {"get": {"operationId": "find", "parameters": [parameter],
                                     "responses": {"200": {"description": "ok"}}}}}}


def test_diff_sees_an_argument_named_definitions(tmp_path: Path) -> None:
    """Through `mcprt diff --fail-on breaking`: the inlining dropped `definitions` wherever it stood, so a query
    argument of that name changing type was "no tool changes", exit 0 (the rule on main said breaking)."""
    for name, kind in (("old", "string"), ("new", "integer")):
        spec = _query_spec({"name": "definitions", "in": "query", "schema": {"type": kind}})
        (tmp_path / f"{name}.json").write_text(json.dumps(spec))
        (tmp_path / f"{name}.yaml").write_text(f"version: 1\nsources:\n  t:\n    openapi: {name}.json\n")
    result = mcprt_cli("diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"), "--fail-on", "breaking",
                       env={"MCPRT_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BREAKING argument type changed: `definitions`" in result.stdout, result.stdout


# Names and data that look like definitions or references: kept exactly, only schema positions are walked.
LOOKALIKES: dict[str, Any] = {
    "properties": {
        "definitions": {"type": "string"},
        "$defs": {"$ref": "#/$defs/S"},
        "data": {"enum": [{"$ref": "#/$defs/S"}], "const": {"definitions": 1}, "default": {"$defs": {"x": 1}},
                 "examples": [{"$ref": "#/$defs/S", "$defs": 2}], "x-vendor": {"$ref": "#/nowhere"}},
    },
    "patternProperties": {"^definitions$": {"$ref": "#/$defs/S"}},
    "$defs": {"S": {"type": "string"}},
}


def test_inlining_walks_schema_positions_only() -> None:
    assert inline_refs(LOOKALIKES) == {
        "properties": {"definitions": {"type": "string"}, "$defs": {"type": "string"},
                       "data": LOOKALIKES["properties"]["data"]},
        "patternProperties": {"^definitions$": {"type": "string"}},
    }
    # a nested `$defs` is a map of schemas, walked and kept: only the root's definitions are left out
    nested = {"$defs": {"S": {"type": "string"}},
              "properties": {"a": {"$defs": {"T": {"$ref": "#/$defs/S"}}, "type": "object"}}}
    assert inline_refs(nested) == {"properties": {"a": {"$defs": {"T": {"type": "string"}}, "type": "object"}}}


def test_a_ref_with_siblings_keeps_its_meaning() -> None:
    """`{"$ref": Closed-with-a, "additionalProperties": false}` admits only `{}` (the sibling sees no properties
    beside it); merged into the target it admitted `{"a": …}`: siblings stand beside the target in an allOf."""
    target = {"type": "object", "properties": {"a": {"type": "string"}}}
    for sibling in ({"additionalProperties": False}, {"unevaluatedProperties": False}, {"required": ["b"]}):
        schema = {"$ref": "#/$defs/T", **sibling, "$defs": {"T": target}}
        assert inline_refs(schema) == {"allOf": [{**target, REFERENCED: "#/$defs/T"}, sibling]}, sibling
    # annotations assert nothing: merged, the use site's own winning
    described = {"$ref": "#/$defs/T", "description": "here", "$defs": {"T": {**target, "description": "there"}}}
    assert inline_refs(described) == {**target, "description": "here"}
    # a change behind the sibling's `allOf` is still seen, and breaking
    before = {"properties": {"p": {"$ref": "#/$defs/T", "additionalProperties": False}}, "$defs": {"T": target}}
    after = copy.deepcopy(before)
    after["$defs"]["T"]["properties"]["a"]["type"] = "integer"
    assert any(c.breaking for c in schema_changes(inline_refs(before), inline_refs(after), "input"))


@pytest.mark.parametrize("ref", ["#/properties/a/enum", "#/$defs/Missing", "#/$defs/N", "#anchor",
                                 "https://x.example/s.json"])
def test_a_ref_to_no_local_schema_is_compared_as_written(ref: str) -> None:
    """A `$ref` naming data (a list, a number), nothing, an anchor or another document was dropped with its
    target (a list is no schema) or kept while the root's `$defs` were dropped: a change to what it named was
    invisible. Compared as written, a `$defs` change counts as possibly breaking."""
    before = {"properties": {"a": {"enum": ["x"]}, "b": {"$ref": ref}}, "$defs": {"N": 5, "S": {"type": "string"}}}
    assert inline_refs(before) is before
    after = copy.deepcopy(before)
    after["$defs"]["N"] = 6
    changes = schema_changes(inline_refs(before), inline_refs(after), "input")
    assert [c.what for c in changes] == ["$defs"] and changes[0].breaking, changes


def test_only_a_ref_and_its_siblings_are_read_in_the_referenced_schemas_terms() -> None:
    """Two references in an `allOf` are two schemas, and a user's key spelled like mcprt's mark is no mark:
    both were compared as "a `$ref` and its siblings" (the second schema's changes worded as the first's)."""
    a, b = {"type": "object", "properties": {"x": {"type": "string"}}}, {"type": "object", "required": ["x"]}
    before = {"allOf": [{"$ref": "#/$defs/A"}, {"$ref": "#/$defs/B"}], "$defs": {"A": a, "B": b}}
    assert inline_refs(before) == {"allOf": [a, b]}
    after = copy.deepcopy(before)
    after["$defs"]["B"]["required"] = ["x", "y"]
    assert [c.pointer for c in schema_changes(inline_refs(before), inline_refs(after), "input")] == ["/allOf/1/properties/y"]
    forged = {"allOf": [{**a, REFERENCED: "#/$defs/A"}, {"maxProperties": 5}]}
    assert inline_refs(forged) == {"allOf": [a, {"maxProperties": 5}]}
    changed = copy.deepcopy(forged)
    changed["allOf"][0]["properties"]["x"]["type"] = "integer"
    assert [c.pointer for c in schema_changes(inline_refs(forged), inline_refs(changed), "input")] == \
        ["/allOf/0/properties/x"]
