"""One bad element no longer sinks a whole description: what cannot be compiled is skipped with a
warning naming its JSON pointer, the rest compiles, and `mcprt validate --strict` makes such warnings
errors. (Modelled on a public description in the APIs.guru collection, `brainbi.net`, whose query
parameter has the empty string as its `name`.)"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from openapi_support import by_key, compile_inline

from mcprt.errors import SpecError
from mcprt.manifest.model import Defaults, OpenAPISource
from mcprt.sources.openapi.compiler import PendingShapes, compile_document, effective_policy
from mcprt.sources.openapi.loader import document_from_bytes
from tests.support.catchall import CatchAll, catch_all
from tests.support.cli import mcprt_cli

_OK = {"200": {"description": "ok"}}

SPEC = {
    "openapi": "3.0.0",
    "info": {"title": "brainbi-like", "version": "1"},
    "paths": {
        "/reports": {
            "get": {
                "operationId": "listReports",
                "parameters": [
                    {"name": "", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": _OK,
            }
        },
        "/reports/{id}": {
            "get": {
                "operationId": "getReport",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": _OK,
            }
        },
    },
}

# Every other element kind that used to fail the whole document, each next to one good operation.
OTHERS = {
    "openapi": "3.0.0",
    "info": {"title": "others", "version": "1"},
    "paths": {
        "/good": {"get": {"operationId": "good", "responses": _OK}},
        "/required-nameless": {"get": {"operationId": "requiredNameless", "responses": _OK,
                                       "parameters": [{"in": "header", "required": True}]}},
        "/no-in": {"get": {"operationId": "noIn", "responses": _OK,
                           "parameters": [{"name": "x"}, {"name": "y", "in": "query"}]}},
        "/not-object": {"get": "nope"},
        "/dangling-param": {"get": {"operationId": "danglingParam", "responses": _OK,
                                    "parameters": [{"$ref": "#/components/parameters/missing"}]}},
        "/dangling-schema": {"post": {"operationId": "danglingSchema", "responses": _OK, "requestBody": {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Missing"}}}}}},
        "/params-not-array": {"get": {"operationId": "paramsNotArray", "responses": _OK, "parameters": {}}},
        "/dangling-item": {"$ref": "#/components/pathItems/missing"},
    },
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[CatchAll]:
    with catch_all() as server:
        yield server


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory, upstream: CatchAll) -> Path:
    folder = tmp_path_factory.mktemp("skipping")
    (folder / "api.json").write_text(json.dumps(SPEC))
    path = folder / "mcp.yaml"
    path.write_text(f"version: 1\nserver: {{name: b}}\nsources:\n  b: {{openapi: api.json, base_url: '{upstream.base}'}}\n")
    return path


POINTER = "api.json#/paths/~1reports/get/parameters/0: a parameter needs a non-empty `name` string; parameter skipped"


def test_an_unnamed_parameter_is_skipped_and_every_tool_still_works(manifest: Path, upstream: CatchAll) -> None:
    listed = mcprt_cli("tools", str(manifest), "--json")
    assert listed.returncode == 0, listed.stderr
    tools = {t["name"]: t for t in json.loads(listed.stdout)["tools"]}
    assert sorted(tools) == ["getReport", "listReports"]
    assert list(tools["listReports"]["inputSchema"]["properties"]) == ["limit"]
    assert POINTER in listed.stderr
    upstream.clear()
    called = mcprt_cli("call", str(manifest), "listReports", "--args", '{"limit": 3}')
    assert called.returncode == 0, called.stdout + called.stderr
    assert upstream.last().path == "/reports" and upstream.last().query == "limit=3"


def test_validate_warns_and_strict_makes_it_an_error(manifest: Path) -> None:
    relaxed = mcprt_cli("validate", str(manifest))
    assert relaxed.returncode == 0, relaxed.stderr
    # The warning names the spec file once, in its pointer: it read `source 'b': api.json: api.json#/…`
    # before 2026-11-30 (the source prefixed the name to a text that already had it); changed deliberately.
    assert f"warning: source 'b': {POINTER}" in relaxed.stderr
    assert "api.json: api.json" not in relaxed.stderr
    strict = mcprt_cli("validate", str(manifest), "--strict")
    assert strict.returncode == 2
    assert f"mcp.yaml:4:" in strict.stderr and f": source 'b': {POINTER}" in strict.stderr
    assert "api.json: api.json" not in strict.stderr
    assert "warning: source" not in strict.stderr
    assert "1 warning treated as errors (--strict)" in strict.stderr


def test_each_bad_element_kind_skips_only_itself() -> None:
    compiled = compile_inline(OTHERS)
    assert sorted(by_key(compiled)) == ["danglingParam", "good", "noIn"]
    assert list(by_key(compiled)["noIn"].operation.input_schema["properties"]) == ["y"]
    assert by_key(compiled)["danglingParam"].operation.input_schema["properties"] == {}
    expected = [
        "#/paths/~1required-nameless/get/parameters/0: a parameter needs a non-empty `name` string, and this one "
        "is required; operation skipped",
        "#/paths/~1no-in/get/parameters/0: a parameter needs an `in` string; parameter skipped",
        "#/paths/~1not-object/get: an operation must be an object, got string; operation skipped",
        "#/paths/~1dangling-param/get/parameters/0/$ref: $ref '#/components/parameters/missing' does not resolve; "
        "parameter skipped",
        "#/paths/~1dangling-schema/post/requestBody/content/application~1json/schema/$ref: $ref "
        "'#/components/schemas/Missing' does not resolve; operation skipped",
        "#/paths/~1params-not-array/get/parameters: `parameters` must be an array, got object; operation skipped",
        "#/paths/~1dangling-item/$ref: $ref '#/components/pathItems/missing' does not resolve; path item skipped",
    ]
    text = "\n".join(compiled.warnings)
    for fragment in expected:
        assert fragment in text, text


def test_swagger_2_skips_the_same_way() -> None:
    spec = {
        "swagger": "2.0", "info": {"title": "s", "version": "1"}, "host": "h",
        "paths": {
            "/a": {"get": {"operationId": "a", "responses": _OK,
                           "parameters": [{"name": "", "in": "query", "type": "string"},
                                          {"name": "q", "in": "query", "type": "string"}]}},
            "/b": {"get": {"operationId": "b", "responses": _OK,
                           "parameters": [{"in": "path", "type": "string", "required": True}]}},
        },
    }
    compiled = compile_inline(spec)
    assert sorted(by_key(compiled)) == ["a"]
    assert list(by_key(compiled)["a"].operation.input_schema["properties"]) == ["q"]


def test_a_document_where_nothing_compiles_is_still_an_error() -> None:
    spec = {"openapi": "3.0.0", "info": {"title": "t", "version": "1"},
            "paths": {"/a": {"get": "nope"}, "/b": {"post": {"parameters": [{"in": "path"}]}}}}
    with pytest.raises(SpecError) as info:
        compile_inline(spec)
    assert info.value.pointer == "/paths/~1a/get"


@pytest.mark.parametrize("include", [{"operations": ["wanted"]}, {"tags": ["nothing-such"]}])
def test_a_left_out_operations_problem_never_becomes_the_documents_error(include: dict[str, list[str]]) -> None:
    """When nothing compiled, the first skipped element was raised as the document's error: with `include`
    selecting only a broken operation, that was the broken operation *left out* (first in the document), not
    the selected one; with `include` selecting nothing, a left-out operation's problem instead of the note and
    "the include/exclude filters select no operation"."""
    spec = {"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "servers": [{"url": "http://127.0.0.1:9"}],
            "paths": {"/a": {"get": {"operationId": "leftOut", "parameters": [{"$ref": "#/nowhere"}],
                                     "responses": _OK}},
                      "/b": {"get": {"operationId": "fine", "responses": _OK},
                             "post": {"operationId": "wanted", "parameters": [{"in": "path"}], "responses": _OK}}}}
    if "operations" in include:
        with pytest.raises(SpecError) as info:
            compile_inline(spec, include=include)
        assert info.value.pointer.startswith("/paths/~1b/post"), info.value
        return
    compiled = compile_inline(spec, include=include)
    assert not compiled.operations and "inline.json: the include/exclude filters select no operation" in \
        compiled.warnings, compiled.warnings
    assert [n for n in compiled.notes if "2 operations that `include`/`exclude` leave out" in n], compiled.notes


def test_a_warning_from_a_referenced_file_names_that_file_only(tmp_path: Path) -> None:
    # The same kind as above: the source used to prefix its own spec file to every warning, so one
    # raised in a file a `$ref` led to read `api.json: common.json#/…` (two files, one of them wrong).
    spec = {**SPEC, "paths": {"/things": {"post": {"operationId": "addThing", "responses": _OK, "requestBody": {
        "content": {"application/json": {"schema": {"$ref": "common.json#/Thing"}}}}}}}}
    (tmp_path / "api.json").write_text(json.dumps(spec))
    (tmp_path / "common.json").write_text(json.dumps({"Thing": {"type": "weird"}}))
    (tmp_path / "mcp.yaml").write_text("version: 1\nserver: {name: b}\nsources:\n  b: {openapi: api.json}\n")
    checked = mcprt_cli("validate", str(tmp_path / "mcp.yaml"))
    assert checked.returncode == 0, checked.stderr
    named = re.search(r"warning: source 'b': (.+)#/Thing: unknown type 'weird'; ignored", checked.stderr)
    assert named is not None, checked.stderr
    assert Path(named.group(1)).name == "common.json" and "api.json" not in named.group(1), checked.stderr


# A response schema's `$ref` that does not resolve — the trial's `#/components/schemas/Itme`, directly
# and one level down in a component — used to be dropped in silence: no outputSchema, and a prune with
# a typo (`ownr: nme`) passed `validate --strict`. It is reported like a request body's, at its pointer;
# only the response schema is left out (the tool still works).
DANGLING_RESPONSES = {
    "openapi": "3.1.0",
    "info": {"title": "inventory", "version": "1"},
    "paths": {
        "/items/{itemId}": {"get": {
            "operationId": "getItem",
            "parameters": [{"name": "itemId", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Itme"}}}}}}},
        "/items": {"post": {"operationId": "createItem", "responses": _OK, "requestBody": {"content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Iten"}}}}}},
        "/users": {"get": {"operationId": "listUsers", "responses": {"200": {"description": "ok", "content": {
            "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}}}}}}},
    },
    "components": {"schemas": {
        "Item": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
        "User": {"type": "object", "properties": {"team": {"$ref": "#/components/schemas/Teem"}}},
    }},
}
DANGLING_WARNINGS = [
    "#/paths/~1items~1{itemId}/get/responses/200/content/application~1json/schema/$ref: $ref "
    "'#/components/schemas/Itme' does not resolve (did you mean '#/components/schemas/Item'?); "
    "response schema left out",
    "#/components/schemas/User/properties/team/$ref: $ref '#/components/schemas/Teem' does not resolve; "
    "response schema left out",
    # the same hint for a request body's (whose operation is skipped, as before)
    "#/paths/~1items/post/requestBody/content/application~1json/schema/$ref: $ref '#/components/schemas/Iten' "
    "does not resolve (did you mean '#/components/schemas/Item'?); operation skipped",
]


def test_a_dangling_response_ref_is_reported_at_its_pointer_and_the_tool_kept(
        caplog: pytest.LogCaptureFixture) -> None:
    compiled = compile_inline(DANGLING_RESPONSES)
    assert sorted(by_key(compiled)) == ["getItem", "listUsers"]
    assert by_key(compiled)["getItem"].operation.response_schema is None
    text = "\n".join(compiled.warnings)
    for fragment in DANGLING_WARNINGS:
        assert fragment in text, text
    # The deferred path (`mcprt up` over stdio fills shapes after the first tools/list) reports the same,
    # into the warnings the compile-cache entry keeps.
    config = OpenAPISource(openapi="inline")
    doc = document_from_bytes(json.dumps(DANGLING_RESPONSES).encode(), "inline.json")
    pending = PendingShapes()
    deferred = compile_document(doc, config, effective_policy(config, Defaults()), pending=pending)
    pending.fill()
    assert [w for w in deferred.warnings if "response schema" in w] == [
        w for w in compiled.warnings if "response schema" in w]
    # The running source copied the warnings when it opened, before this fill: the fill says its new
    # ones itself (the same cold `mcprt up` run shows them), once.
    logged = [r.getMessage() for r in caplog.records if r.name == "mcprt.source.openapi"]
    assert logged == [w for w in deferred.warnings if "response schema" in w], logged
    pending.fill()
    assert len([r for r in caplog.records if r.name == "mcprt.source.openapi"]) == len(logged)


def test_validate_strict_refuses_a_dangling_response_ref_under_a_prune(tmp_path: Path) -> None:
    (tmp_path / "api.json").write_text(json.dumps(DANGLING_RESPONSES))
    (tmp_path / "mcp.yaml").write_text("version: 1\nserver: {name: b}\nsources:\n  b:\n    openapi: api.json\n"
                                       "    tools:\n      getItem: {prune: '{id: id, name: name, ownr: nme}'}\n")
    strict = mcprt_cli("validate", str(tmp_path / "mcp.yaml"), "--strict")
    assert strict.returncode == 2, strict.stderr
    assert ("'#/components/schemas/Itme' does not resolve (did you mean '#/components/schemas/Item'?); response "
            "schema left out") in strict.stderr


@pytest.mark.parametrize("version", ["3.0.3", "2.0"])
def test_problems_of_operations_include_leaves_out_are_one_note_not_warnings(tmp_path: Path, version: str) -> None:
    """Found trying `include` on a description with broken `$ref`s elsewhere: every left-out operation's
    broken parameter `$ref` (and its unreadable required parameter) was a warning, hiding the served ones'
    and failing `validate --strict`. Now: the served operations' problems are warnings; the left-out ones
    are counted in one note."""
    swagger = version == "2.0"
    nope = {"$ref": "#/parameters/Nope" if swagger else "#/components/parameters/Nope"}
    unnamed = {"name": "", "in": "path", "required": True, "type": "string"} if swagger else \
        {"name": "", "in": "path", "required": True, "schema": {"type": "string"}}

    def op(op_id: str, *params: dict[str, object]) -> dict[str, object]:
        return {"operationId": op_id, "tags": [op_id], "parameters": list(params), "responses": _OK}

    spec = {"info": {"title": "t", "version": "1"},
            **({"swagger": "2.0", "host": "127.0.0.1:9"} if swagger else
               {"openapi": version, "servers": [{"url": "http://127.0.0.1:9"}]}),
            "paths": {"/good": {"get": op("good"), "post": op("goodButOne", nope)},
                      "/b1": {"get": op("bad1", nope)}, "/b2": {"get": op("bad2", nope)},
                      "/b3/{x}": {"get": op("unreadable", unnamed)}}}
    (tmp_path / "s.json").write_text(json.dumps(spec))
    env = {"MCPRT_CACHE_DIR": str(tmp_path / "cache")}
    for include, warned in (("{operations: [good, goodButOne]}", ["good"]), ("{tags: [good]}", [])):
        manifest = tmp_path / "mcp.yaml"
        manifest.write_text(f"version: 1\nsources:\n  t:\n    openapi: s.json\n    include: {include}\n")
        done = mcprt_cli("validate", str(manifest), env=env)
        assert done.returncode == 0, done.stderr
        warnings = [line for line in done.stderr.splitlines() if "warning:" in line]
        assert len(warnings) == len(warned) and all("/paths/~1good/post/parameters/0" in w for w in warnings), \
            done.stderr
        assert "bad1" not in done.stderr and "~1b1" not in done.stderr and "~1b3" not in done.stderr, done.stderr
        left_out = 3 + (not warned)  # bad1, bad2, unreadable (skipped while reading), and goodButOne when left out
        assert f"mcp.yaml:4:14: note: source 't': s.json: {left_out} operations that `include`/`exclude` leave " \
               "out have problems (such as a `$ref` that does not resolve), not shown: they are not served" \
               in done.stderr, done.stderr
        strict = mcprt_cli("validate", "--strict", str(manifest), env=env)
        assert strict.returncode == (2 if warned else 0), strict.stderr
    everything = tmp_path / "all.yaml"  # nothing left out: every problem is a warning, as before
    everything.write_text("version: 1\nsources:\n  t:\n    openapi: s.json\n")
    done = mcprt_cli("validate", str(everything), env=env)
    assert done.returncode == 0 and "note:" not in done.stderr, done.stderr
    assert sum("warning:" in line for line in done.stderr.splitlines()) == 4, done.stderr
