"""Documents: external refs, servers, security, filters, naming, 3.1 schemas, and bad documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openapi_support import SPECS, by_key, by_name, compile_inline, compile_spec

from mcprt.errors import SpecError
from mcprt.manifest.model import Defaults, DescriptionPolicy, OpenAPISource, OperationFilter
from mcprt.sources.openapi import compile_openapi, load_document, missing_auth

# --- $ref across files --------------------------------------------------------------------------


def test_swagger2_relative_external_refs() -> None:
    ops = by_key(compile_spec("oai/petstore-separate/spec/swagger.json"))
    find = ops["findPets"]
    assert find.plan.build({"tags": ["a", "b c"], "limit": 3}).url == (
        "http://petstore.swagger.wordnik.com/api/pets?tags=a,b%20c&limit=3"  # csv: joined
    )
    add = ops["addPet"].operation.input_schema
    # NewPet.json = allOf [Pet.json, {required: [name], properties: {description}}]: merged and flattened
    assert list(add["properties"]) == ["id", "name", "tag", "description"]
    assert add["required"] == ["id", "name"]
    assert ops["find pet by id"].operation.name == "find_pet_by_id"


def test_openapi3_path_item_and_schema_in_parent_folders() -> None:
    compiled = compile_spec("openapi-core/parent-reference/openapi.yaml")
    assert [op.operation.key for op in compiled.operations] == ["GET /books"]
    assert compiled.operations[0].operation.name == "get_books"


def test_dangling_external_ref_names_document_and_pointer(tmp_path: Path) -> None:
    spec = {
        "openapi": "3.0.0",
        "info": {"title": "t", "version": "1"},
        "paths": {"/a": {"post": {"requestBody": {"content": {"application/json": {
            "schema": {"$ref": "missing.json#/Thing"}}}}}}},
    }
    (tmp_path / "api.json").write_text(json.dumps(spec))
    doc = load_document("api.json", tmp_path, None)
    with pytest.raises(SpecError) as info:
        compile_openapi(doc, OpenAPISource(openapi="api.json"), Defaults())
    assert info.value.document == "api.json"
    assert info.value.pointer == "/paths/~1a/post/requestBody/content/application~1json/schema/$ref"
    assert "missing.json" in info.value.message


# --- servers ------------------------------------------------------------------------------------------


def test_server_variables_defaults_and_overrides() -> None:
    ops = by_key(compile_spec("readme/3.0/server-variables.json"))
    assert ops["POST /global"].base_url == "https://demo.example.com:443/v2"
    assert ops["POST /operation"].base_url == "https://httpbin.com/anything/demo"
    assert ops["PUT /path"].base_url == "https://httpbin.com/anything/common/demo"
    overridden = by_key(compile_spec("readme/3.0/server-variables.json", server_variables={"name": "acme"}))
    assert overridden["POST /global"].base_url == "https://acme.example.com:443/v2"
    forced = by_key(compile_spec("readme/3.0/server-variables.json", base_url="http://127.0.0.1:8080/api/"))
    assert {op.base_url for op in forced.values()} == {"http://127.0.0.1:8080/api"}
    assert forced["POST /operation"].plan.build({}).url == "http://127.0.0.1:8080/api/operation"


def test_path_and_operation_level_servers() -> None:
    compiled = compile_spec("readme/3.0/server-path-level.json")
    ops = by_key(compiled)
    assert ops["GET /operation-server-variables"].base_url == "https://operation.example.com/v3"
    assert ops["GET /path-item-ref-server"].base_url == "https://path-item-ref.example.com"
    assert ops["GET /empty-path-item-servers"].base_url == "https://demo.example.com:443/v2"
    # A relative server of a local file cannot be resolved: no base URL, a warning, a clear call error.
    assert ops["GET /relative-path-server"].base_url is None
    assert any("relative to a local file" in w for w in compiled.warnings)
    with pytest.raises(Exception, match="base_url"):
        ops["GET /relative-path-server"].plan.build({})


def test_server_variable_without_value_warns() -> None:
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://{tenant}.example.com", "variables": {"tenant": {"enum": ["a"]}}}],
        "paths": {"/x": {"get": {"operationId": "x"}}},
    }
    compiled = compile_inline(spec)
    assert compiled.operations[0].base_url is None
    assert any("`tenant`" in w and "server_variables" in w for w in compiled.warnings)
    assert compile_inline(spec, server_variables={"tenant": "a"}).operations[0].base_url == "https://a.example.com"


def test_swagger2_host_base_path_schemes() -> None:
    compiled = compile_spec("readme/2.0/petstore.json")
    assert {op.base_url for op in compiled.operations} == {"http://petstore.swagger.io/v2"}


# --- security -------------------------------------------------------------------------------------------


def test_security_requirements_and_missing_auth() -> None:
    compiled = compile_spec("readme/2.0/petstore.json")
    ops = by_key(compiled)
    assert ops["getPetById"].security == (("api_key",),)
    assert ops["addPet"].security == (("petstore_auth",),)
    assert ops["placeOrder"].security == ()
    schemes = compiled.security_schemes
    assert (schemes["api_key"].type, schemes["api_key"].location, schemes["api_key"].param_name) == (
        "apiKey", "header", "api_key"
    )
    assert schemes["petstore_auth"].type == "oauth2"
    config = OpenAPISource(openapi="x")
    missing = missing_auth(compiled, config)
    assert any(m.startswith("operation `getPetById` needs auth `api_key` (API key in header `api_key`)")
               for m in missing)
    assert not any("placeOrder" in m for m in missing)
    with_key = OpenAPISource.model_validate(
        {"openapi": "x", "auth": {"api_key": {"name": "api_key", "in": "header", "value": "k"}}}
    )
    still = missing_auth(compiled, with_key)
    assert not any("getPetById" in m for m in still) and any("addPet" in m for m in still)
    bearer = OpenAPISource.model_validate({"openapi": "x", "auth": {"bearer": "t"}})
    assert not any("addPet" in m for m in missing_auth(compiled, bearer))
    header = OpenAPISource.model_validate({"openapi": "x", "headers": {"API_KEY": "k"}})
    assert not any("getPetById" in m for m in missing_auth(compiled, header))


def test_every_security_scheme_kind_of_openapi_31() -> None:
    compiled = compile_spec("readme/3.1/security.json")
    kinds = {(s.type, s.scheme or s.location) for s in compiled.security_schemes.values()}
    assert ("http", "basic") in kinds and ("http", "bearer") in kinds
    assert {("apiKey", "header"), ("apiKey", "query"), ("apiKey", "cookie")} <= kinds
    basic = OpenAPISource.model_validate({"openapi": "x", "auth": {"basic": {"username": "u", "password": "p"}}})
    needing_basic = [op for op in compiled.operations if op.security == (("basic",),)]
    assert needing_basic
    assert not any(op.operation.key in m for op in needing_basic for m in missing_auth(compiled, basic))


def test_api_key_parameters_are_left_to_auth() -> None:
    compiled = compile_spec("readme/3.1/security.json")
    for op in compiled.operations:
        for scheme in compiled.security_schemes.values():
            if scheme.type == "apiKey" and scheme.location == "query":
                assert scheme.param_name not in op.operation.input_schema["properties"]


# --- filters and names ----------------------------------------------------------------------------------


def test_include_exclude_filters() -> None:
    def keys(**config: object) -> list[str]:
        return [op.operation.key for op in compile_spec("github-subset.json", **config).operations]

    everything = keys()
    assert len(everything) == 79
    issues = keys(include=OperationFilter(tags=["ISSUES"]))
    assert issues and all(k.startswith("issues/") for k in issues)
    listing = keys(include=OperationFilter(operations=["issues/list-*"], methods=["get"]))
    assert len(listing) > 5 and all(k.startswith("issues/list-") for k in listing)
    assert keys(include=OperationFilter(operations=["issues/list-*"], methods=["POST"])) == []
    assert set(listing) <= set(issues)
    by_tool_name = keys(include=OperationFilter(operations=["issues_create"]))
    assert by_tool_name == ["issues/create"]
    paths = keys(include=OperationFilter(paths=["/repos/*/labels*"]))
    assert paths and all("/labels" in k or k.startswith(("issues/", "repos/")) for k in paths)
    no_delete = keys(exclude=OperationFilter(methods=["DELETE"]))
    assert len(no_delete) < len(everything)
    assert keys(include=OperationFilter(deprecated=True)) == [
        k for k in everything if by_key(compile_spec("github-subset.json"))[k].deprecated
    ]
    # Names are given before filtering: a tool keeps its name.
    full = {op.operation.key: op.operation.name for op in compile_spec("github-subset.json").operations}
    some = compile_spec("github-subset.json", include=OperationFilter(tags=["issues"]))
    assert all(full[op.operation.key] == op.operation.name for op in some.operations)


def test_names_keys_and_aliases() -> None:
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://x.test"}],
        "paths": {
            "/pets/{petId}": {"get": {"parameters": [{"name": "petId", "in": "path", "required": True}]}},
            "/a": {"get": {"operationId": "dup"}, "post": {"operationId": "dup!"}},
            "/long": {"get": {"operationId": "x" * 80}},
        },
    }
    compiled = compile_inline(spec)
    ops = compiled.operations
    assert ops[0].operation.key == "GET /pets/{petId}" and ops[0].operation.name == "get_pets_petId"
    assert ops[0].operation.aliases == ("get_pets_petId",)
    assert [op.operation.name for op in ops[1:3]] == ["dup", "dup_2"]
    assert ops[1].operation.aliases == ("GET /a",)
    assert len(ops[3].operation.name) == 64
    assert ops[3].operation.name == compile_inline(spec).operations[3].operation.name  # stable


def test_annotations_from_methods() -> None:
    ops = by_key(compile_spec("readme/2.0/petstore.json"))
    assert ops["getPetById"].operation.annotations == {"readOnlyHint": True}
    assert ops["deletePet"].operation.annotations["destructiveHint"] is True
    assert ops["updatePet"].operation.annotations == {"readOnlyHint": False, "idempotentHint": True}
    assert ops["addPet"].operation.annotations == {"readOnlyHint": False}


# --- schemas ---------------------------------------------------------------------------------------------


def test_openapi_31_types_const_and_null() -> None:
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://x.test"}],
        "paths": {"/t": {"post": {"operationId": "t", "requestBody": {"content": {"application/json": {"schema": {
            "type": "object",
            "properties": {
                "a": {"type": ["string", "null"], "examples": ["x"], "x-internal": True},
                "b": {"const": "fixed"},
                "c": {"type": "integer", "exclusiveMinimum": 0},
                "d": {"type": "string", "contentMediaType": "image/png"},
                "e": {"type": "string", "readOnly": True},
                "f": {"title": "F", "type": "string"},
                "g": {"title": "Something else", "type": "string"},
            },
            "required": ["a", "e"],
        }}}}}}},
    }
    schema = compile_inline(spec).operations[0].operation.input_schema
    props = schema["properties"]
    assert props["a"] == {"type": ["string", "null"]}
    assert props["b"] == {"const": "fixed"}
    assert props["c"] == {"type": "integer", "exclusiveMinimum": 0}
    assert props["d"]["type"] == "string" and "data: URL" in props["d"]["description"]
    assert "e" not in props and schema.get("required") is None  # readOnly left out of request bodies
    assert props["f"] == {"type": "string"}  # a title repeating the name goes
    assert props["g"] == {"type": "string", "title": "Something else"}


def test_openapi_30_nullable_enum_and_exclusive_bounds() -> None:
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://x.test"}],
        "paths": {"/t": {"get": {"operationId": "t", "parameters": [
            {"name": "s", "in": "query", "schema": {"type": "string", "enum": ["a", "b"], "nullable": True,
                                                   "default": "a", "example": "b"}},
            {"name": "n", "in": "query", "schema": {"type": "number", "minimum": 0, "exclusiveMinimum": True}},
            {"name": "r", "in": "query", "schema": {"allOf": [{"$ref": "#/components/schemas/R"}],
                                                   "nullable": True}},
        ]}}},
        "components": {"schemas": {"R": {"type": "object", "properties": {"x": {"type": "integer"}}}}},
    }
    props = compile_inline(spec).operations[0].operation.input_schema["properties"]
    assert props["s"] == {"type": ["string", "null"], "enum": ["a", "b", None], "default": "a"}
    assert props["n"] == {"type": "number", "exclusiveMinimum": 0}
    assert props["r"] == {"type": ["object", "null"], "properties": {"x": {"type": "integer"}}}


def test_description_policies() -> None:
    def description(style: str, max_chars: int = 400) -> str:
        doc = load_document("github-subset.json", SPECS, None)
        config = OpenAPISource(openapi="x", descriptions=DescriptionPolicy(style=style, max_chars=max_chars))
        return by_key(compile_openapi(doc, config, Defaults()))["issues/create"].operation.description

    assert description("summary") == "Create an issue."
    brief = description("brief")
    assert brief.startswith("Create an issue. Any user with pull access") and "\n" not in brief
    assert description("brief", 60) == "Create an issue."
    full = description("full")
    assert "secondary rate limiting" in full and "\n\n" in full and "](" not in full


def test_yaml_document_compiles() -> None:
    compiled = compile_spec("readme/3.0/uspto.yaml")
    ops = by_key(compiled)
    assert ops["list-searchable-fields"].base_url == "https://developer.uspto.gov/ds-api"
    form = ops["perform-search"].plan.build({"dataset": "oa_citations", "version": "v1", "criteria": "*:*"})
    assert form.url == "https://developer.uspto.gov/ds-api/oa_citations/v1/records"
    assert form.body == b"criteria=%2A%3A%2A" and form.content_type == "application/x-www-form-urlencoded"


# --- bad documents ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "pointer", "message"),
    [
        ("bad.json", '{"openapi": "3.0.0", "paths": {', "", "invalid JSON at line 1, column 32"),
        ("bad.yaml", "openapi: 3.0.0\npaths:\n  /a: [unclosed\n", "", "invalid YAML at line"),
        ("nopaths.json", '{"openapi": "3.0.0", "info": {"title": "t", "version": "1"}}', "", "no `paths`"),
        ("paths.json", '{"openapi": "3.0.0", "paths": []}', "/paths", "`paths` must be an object"),
        ("op.json", '{"openapi": "3.0.0", "paths": {"/a": {"get": "nope"}}}', "/paths/~1a/get",
         "an operation must be an object"),
        ("params.json", '{"openapi": "3.0.0", "paths": {"/a": {"get": {"parameters": {}}}}}',
         "/paths/~1a/get/parameters", "`parameters` must be an array"),
        ("dangling.json",
         '{"openapi": "3.0.0", "paths": {"/a": {"get": {"parameters": [{"$ref": "#/components/parameters/x"}],'
         ' "requestBody": {"$ref": "#/components/requestBodies/y"}}}}}',
         "/paths/~1a/get/parameters/0/$ref", "$ref '#/components/parameters/x' does not resolve"),
        ("schema.json",
         '{"openapi": "3.0.0", "paths": {"/a": {"post": {"requestBody": {"content": {"application/json": '
         '{"schema": {"$ref": "#/components/schemas/Nope"}}}}}}}}',
         "/paths/~1a/post/requestBody/content/application~1json/schema/$ref", "does not resolve"),
        ("version.json", '{"openapi": "4.0.0", "paths": {}}', "/openapi", "unsupported OpenAPI version"),
        ("neither.json", '{"paths": {}}', "", "not an OpenAPI or Swagger document"),
        ("list.json", "[1, 2]", "", "must be an object"),
        ("swagger.json", '{"swagger": "2.0", "info": {}}', "", "no `paths`"),
        ("noname.json",
         '{"openapi": "3.0.0", "paths": {"/a": {"get": {"parameters": [{"in": "query", "required": true}]}}}}',
         "/paths/~1a/get/parameters/0", "needs a non-empty `name` string, and this one is required"),
    ],
)
def test_bad_documents_give_clear_spec_errors(
    tmp_path: Path, name: str, content: str, pointer: str, message: str
) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(SpecError) as info:
        doc = load_document(name, tmp_path, None)
        compile_openapi(doc, OpenAPISource(openapi=name), Defaults())
    error = info.value
    assert error.document == name
    assert error.pointer == pointer
    assert message in error.message
    assert str(error).startswith(f"{name}#{pointer}: " if pointer else f"{name}: ")


def test_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read"):
        load_document("nope.yaml", tmp_path, None)


def test_odd_but_legal_documents_degrade_with_warnings() -> None:
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://x.test"}],
        "paths": {
            "x-extension": {},
            "/a/{undeclared}": {"get": {"operationId": "a", "parameters": [
                {"name": "odd", "in": "matrix", "schema": {"type": "string"}},
                {"name": "gone", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "Accept", "in": "header", "schema": {"type": "string"}},
                {"name": "t", "in": "query", "schema": {"type": "strange", "format": "x"}},
                {"name": "anchored", "in": "query", "schema": {"$ref": "#anchor"}},
            ]}},
        },
        # Until 2026-11-30 `#anchor` was not resolved: it warned "(an anchor) is not supported" and accepted any
        # value. It now names this schema (JSON Schema 2020-12 §8.2.2; an unknown anchor is a dangling `$ref`,
        # tests/openapi/test_openapi_anchors.py).
        "components": {"schemas": {"Anchored": {"$anchor": "anchor", "type": "integer"}}},
    }
    compiled = compile_inline(spec)
    op = compiled.operations[0]
    assert list(op.operation.input_schema["properties"]) == ["undeclared", "t", "anchored"]
    assert op.operation.input_schema["properties"]["anchored"] == {"type": "integer"}
    assert op.operation.input_schema["required"] == ["undeclared"]
    assert op.plan.build({"undeclared": "u"}).url == "https://x.test/a/u"
    text = "\n".join(compiled.warnings)
    for fragment in ("unknown location `matrix`", "`gone` is not in the path", "`undeclared` has no parameter",
                     "unknown type 'strange'"):
        assert fragment in text
    assert "anchor" not in text


def test_path_level_parameters_merge_and_operation_wins() -> None:
    ops = by_name(compile_spec("readme/3.0/parameters-common.json"))
    post = ops["post_anything_id"]
    assert list(post.operation.input_schema["properties"]) == ["id", "limit", "x-extra-id"]
    built = post.plan.build({"id": 7, "limit": 5, "x-extra-id": "e"})
    assert (built.url, built.headers) == ("https://httpbin.org/anything/7?limit=5", [("x-extra-id", "e")])
    override = ops["get_anything_id_override"].operation.input_schema["properties"]["id"]
    assert override == {"type": "string", "description": "A comma-separated list of IDs"}
    twice = ops["get_anything_id_action_id"].plan.build({"id": 1.5, "action": "lists"})
    assert twice.url == "https://httpbin.org/anything/1.5/lists/1.5"


def test_a_description_without_operations_is_a_warning_not_a_silent_ok(tmp_path: Path) -> None:
    """Found by a security reviewer's trial: `paths: {}` validated as "ok — 0 tools" with nothing said."""
    from tests.support.cli import mcprt_cli

    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  a:\n    openapi: api.json\n"
                                       "    base_url: http://127.0.0.1:9\n")
    for paths in ({}, {"/pets": {"parameters": []}}):  # no path, or a path item without an operation
        spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths}
        (tmp_path / "api.json").write_text(json.dumps(spec))
        run = mcprt_cli("validate", "--strict", "mcp.yaml", cwd=tmp_path)
        assert run.returncode != 0, run.stderr
        assert "api.json: the description has no operations (nothing under `paths`), so this source serves no " \
               "tools" in run.stderr
