"""Every document of the corpus compiles into valid, compact, well-named tools."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_support import CORPUS, SPECS, compile_spec

from mcprt.contracts import OperationMeta
from mcprt.schema.ecma_regex import ecma_error
from mcprt.sources.openapi import CompiledOpenAPI

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ARG = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_COMPILED: dict[str, CompiledOpenAPI] = {}
# JSON Schema's `regex` format is ECMA-262 (Validation §7.3.8), checked as JavaScript clients compile
# it (the `u` flag) — not as Python's `re`, which rejects valid `\p{L}` and accepts invalid `(?i)`.
_ECMA = FormatChecker()  # every format check-schema uses, with `regex` replaced below
_ECMA.checks("regex")(lambda value: not isinstance(value, str) or ecma_error(value) is None)
_META = Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=_ECMA)


def check_schema(schema: dict[str, Any]) -> None:
    """The schema is valid JSON Schema 2020-12, its patterns valid ECMA-262 in Unicode mode."""
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _META.iter_errors(schema)]
    assert errors == []


def compiled(location: str) -> CompiledOpenAPI:
    if location not in _COMPILED:
        _COMPILED[location] = compile_spec(location)
    return _COMPILED[location]


def refs_in(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.add(node["$ref"])
        for value in node.values():
            refs_in(value, found)
    elif isinstance(node, list):
        for value in node:
            refs_in(value, found)
    return found


def keys_in(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        found.update(node)
        for key, value in node.items():
            if key not in ("properties", "enum", "default", "const", "$defs", "patternProperties"):
                keys_in(value, found)
            elif key in ("properties", "$defs", "patternProperties") and isinstance(value, dict):
                for sub in value.values():
                    keys_in(sub, found)
    elif isinstance(node, list):
        for value in node:
            keys_in(value, found)
    return found


def test_the_corpus_is_what_the_readme_lists() -> None:
    readme = (SPECS / "README.md").read_text()
    assert len(CORPUS) >= 40
    for location in CORPUS:
        assert location in readme, f"{location} is not listed in tests/fixtures/specs/README.md"
    for path in SPECS.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".yaml"):
            assert path.stat().st_size < 1_000_000, path


@pytest.mark.parametrize("location", CORPUS)
def test_document_compiles_to_valid_tools(location: str) -> None:
    result = compiled(location)
    names = [op.operation.name for op in result.operations]
    assert len(names) == len(set(names)), "tool names must be unique"
    for op in result.operations:
        tool = op.operation
        assert _NAME.match(tool.name), tool.name
        assert tool.invoke is None
        schema = tool.input_schema
        assert schema["type"] == "object"
        check_schema(schema)
        # Every $ref points into this schema's own $defs, and every $defs entry is used.
        defs = schema.get("$defs", {})
        refs = refs_in(schema, set())
        assert all(r.startswith("#/$defs/") and r[len("#/$defs/"):] in defs for r in refs), refs
        assert {f"#/$defs/{name}" for name in defs} <= refs
        for arg in schema["properties"]:
            assert _ARG.match(arg), arg
        assert set(schema.get("required", [])) <= set(schema["properties"])
        # Compact by design: no examples, no extensions, no OpenAPI-only keywords.
        keys = keys_in(schema, set())
        assert not {k for k in keys if k.startswith("x-")}
        assert not keys & {"example", "examples", "nullable", "readOnly", "xml", "externalDocs"}
        assert tool.description and len(tool.description) <= 400
        assert op.plan.method == op.method
        assert f"{op.method} {op.path}" in (tool.key, *tool.aliases)
        assert (tool.meta.method, tool.meta.path) == (op.method, op.path)
        # Sample arguments validate against the schema and build a request without error.
        json.dumps(schema)


@pytest.mark.parametrize("location", CORPUS)
def test_every_operation_builds_a_request_from_minimal_arguments(location: str) -> None:
    result = compiled(location)
    for op in result.operations:
        args = {name: _sample(schema) for name, schema in op.operation.input_schema["properties"].items()
                if name in op.operation.input_schema.get("required", [])}
        request = op.plan.build(args, base_url="https://api.test")
        assert request.url.startswith("https://api.test/")
        assert request.method == op.method


def _sample(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return "x"
    for key in ("oneOf", "anyOf", "allOf"):
        if schema.get(key):
            return _sample(schema[key][0])
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type", "string")
    kind = kind[0] if isinstance(kind, list) else kind
    return {"integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}, "null": None}.get(kind, "x")


def test_circular_schemas_use_defs_only_where_recursive() -> None:
    ops = {op.operation.name: op.operation for op in compiled("readme/3.0/schema-circular.json").operations}
    schema = ops["post_not-quite-circular"].input_schema
    # ZoneRules is recursive; ZoneOffset, used twice inside it, is hoisted as it is smaller so (the rule
    # for shared parts holds inside recursive definitions too: see the next test)
    assert list(schema["$defs"]) == ["ZoneOffset", "ZoneRules"]
    assert schema["properties"]["rules"] == {"$ref": "#/$defs/ZoneRules"}
    rules = schema["$defs"]["ZoneRules"]["properties"]["transitions"]["items"]["properties"]
    assert rules["offsetBefore"] == rules["offsetAfter"] == {"$ref": "#/$defs/ZoneOffset"}
    assert schema["$defs"]["ZoneOffset"]["properties"]["rules"] == {"$ref": "#/$defs/ZoneRules"}
    # A tool without recursion gets no $defs at all.
    assert "$defs" not in ops["put_nestedTest"].input_schema


def test_shared_parts_of_a_recursive_definition_are_hoisted_too() -> None:
    """Found by the APIs.guru sweep (docs/corpus.md): hoisting counted a tool's schema but not the recursive
    `$defs` bodies it reaches, so DocuSign's recursive `envelope` repeated the recipients' tabs fifteen times
    (18.7 MB per tool, 254 MB of tools/list). Person, used three times inside recursive Folder, is written once."""
    schema = compiled("kinds/recursive-shared.json").operations[0].operation.input_schema
    check_schema(schema)
    assert sorted(schema["$defs"]) == ["Folder", "Person"]
    folder = schema["$defs"]["Folder"]["properties"]
    assert folder["owner"] == folder["creator"] == folder["editor"] == {"$ref": "#/$defs/Person"}
    assert folder["children"] == {"type": "array", "items": {"$ref": "#/$defs/Folder"}}
    assert schema["properties"]["owner"] == {"$ref": "#/$defs/Person"}
    assert json.dumps(schema).count("field11") == 1


def test_swagger2_circular_definitions() -> None:
    result = compiled("readme/2.0/schema-circular.json")
    schema = result.operations[0].operation.input_schema
    assert schema["$defs"], schema
    check_schema(schema)


def test_kubernetes_recursive_json_schema_props() -> None:
    ops = {op.operation.key: op.operation for op in compiled("kubernetes-subset.json").operations}
    schema = ops["createApiextensionsV1CustomResourceDefinition"].input_schema
    assert "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps" in schema["$defs"]
    # Only the definitions this tool reaches are present.
    assert len(schema["$defs"]) == 1
    pods = ops["listCoreV1NamespacedPod"].input_schema
    assert "$defs" not in pods


def test_shared_sub_schemas_are_hoisted_when_smaller() -> None:
    ops = {op.operation.name: op.operation for op in compiled("github-subset.json").operations}
    schema = ops["repos_create-org-ruleset"].input_schema
    text = json.dumps(schema)
    assert "#/$defs/repository-ruleset-conditions" in text
    body = schema["$defs"]["repository-ruleset-conditions"]
    assert body["properties"]["ref_name"]["properties"]["include"]["type"] == "array"


def test_github_subset_is_compact() -> None:
    result = compiled("github-subset.json")
    ops = {op.operation.name: op.operation for op in result.operations}
    issue = ops["issues_create"]
    assert issue.description.startswith("Create an issue. Any user with pull access")
    assert "](" not in issue.description and "http" not in issue.description
    assert issue.input_schema["properties"]["repo"] == {
        "type": "string",
        "description": "The name of the repository without the `.git` extension.",
    }
    assert issue.input_schema["required"] == ["owner", "repo", "title"]
    # 3.0 nullable becomes a null type or option.
    assert issue.input_schema["properties"]["assignee"]["type"] == ["string", "null"]
    assert {"type": "null"} in issue.input_schema["properties"]["milestone"]["oneOf"]
    assert issue.annotations == {"readOnlyHint": False}
    assert issue.title == "Create an issue"
    assert issue.meta == OperationMeta(
        summary="Create an issue",
        tags=("issues",),
        method="POST",
        path="/repos/{owner}/{repo}/issues",
        operation_id="issues/create",
    )
