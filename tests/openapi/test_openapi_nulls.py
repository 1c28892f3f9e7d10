"""Explicit `null` is data, not "not given": it reaches JSON bodies wherever the schema allows it.

The rule (see `sources/openapi/plan.py`): JSON bodies carry null (flattened properties and whole
bodies); parameters and form/multipart/text bodies have no wire form for it, so an optional one is
left out and a required one is refused by name. The issue's examples run through the real CLI
(`mcprt call`) against a recording upstream on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openapi_support import by_name, compile_inline

from mcprt.errors import ToolCallError
from tests.support.catchall import CatchAll, catch_all
from tests.support.cli import mcprt_cli

_OK = {"200": {"description": "ok"}}

SPEC_30 = {
    "openapi": "3.0.3",
    "info": {"title": "nulls 3.0", "version": "1"},
    "paths": {
        "/items": {
            "post": {
                "operationId": "createItem",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": ["name", "note"],
                    "properties": {
                        "name": {"type": "string"},
                        "note": {"type": "string", "nullable": True},
                        "price": {"type": "number", "nullable": True},
                    },
                }}}},
                "responses": _OK,
            }
        },
    },
}

SPEC_31 = {
    "openapi": "3.1.0",
    "info": {"title": "nulls 3.1", "version": "1"},
    "paths": {
        "/items/{id}": {
            "patch": {
                "operationId": "patchItem",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"content": {"application/merge-patch+json": {"schema": {
                    "type": "object",
                    "properties": {"note": {"type": ["string", "null"]}, "size": {"type": "integer"}},
                }}}},
                "responses": _OK,
            }
        },
        "/counter": {
            "put": {
                "operationId": "setCounter",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"type": ["integer", "null"]}}}},
                "responses": _OK,
            }
        },
        "/search": {
            "get": {
                "operationId": "search",
                "parameters": [
                    {"name": "q", "in": "query", "required": True, "schema": {"type": ["string", "null"]}},
                    {"name": "page", "in": "query", "schema": {"type": ["integer", "null"]}},
                    {"name": "X-Trace", "in": "header", "schema": {"type": ["string", "null"]}},
                    {"name": "session", "in": "cookie", "schema": {"type": ["string", "null"]}},
                ],
                "responses": _OK,
            }
        },
        "/forms": {
            "post": {
                "operationId": "postForm",
                "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object",
                    "properties": {"a": {"type": ["string", "null"]}, "b": {"type": "string"}},
                }}}},
                "responses": _OK,
            }
        },
    },
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[CatchAll]:
    with catch_all() as server:
        yield server


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory, upstream: CatchAll) -> Path:
    folder = tmp_path_factory.mktemp("nulls")
    (folder / "v30.json").write_text(json.dumps(SPEC_30))
    (folder / "v31.json").write_text(json.dumps(SPEC_31))
    path = folder / "mcp.yaml"
    path.write_text(
        "version: 1\nserver: {name: nulls}\nsources:\n"
        f"  v30: {{openapi: v30.json, base_url: '{upstream.base}'}}\n"
        f"  v31: {{openapi: v31.json, base_url: '{upstream.base}'}}\n"
    )
    return path


def _call(manifest: Path, upstream: CatchAll, tool: str, arguments: dict) -> bytes:
    upstream.clear()
    done = mcprt_cli("call", str(manifest), tool, "--args", json.dumps(arguments))
    assert done.returncode == 0, done.stdout + done.stderr
    return upstream.last().body


def test_a_required_nullable_property_given_null_is_sent_as_null(manifest: Path, upstream: CatchAll) -> None:
    body = _call(manifest, upstream, "createItem", {"name": "a", "note": None, "price": None})
    assert json.loads(body) == {"name": "a", "note": None, "price": None}


def test_merge_patch_null_clears_a_field(manifest: Path, upstream: CatchAll) -> None:
    body = _call(manifest, upstream, "patchItem", {"id": "7", "note": None})
    assert json.loads(body) == {"note": None}
    assert upstream.last().path == "/items/7"
    assert upstream.last().headers["content-type"] == "application/merge-patch+json"


def test_a_required_whole_body_can_be_null(manifest: Path, upstream: CatchAll) -> None:
    assert _call(manifest, upstream, "setCounter", {"body": None}) == b"null"


def test_a_null_where_the_schema_forbids_it_is_refused_before_sending(manifest: Path, upstream: CatchAll) -> None:
    upstream.clear()
    done = mcprt_cli("call", str(manifest), "patchItem", "--args", json.dumps({"id": "7", "size": None}))
    assert done.returncode == 1
    assert "size" in done.stdout and "null is not of type 'integer'" in done.stdout
    assert upstream.seen == []


# Beyond the examples: every other location, built straight from the compiled plan.

def test_parameters_have_no_null_optional_ones_are_left_out() -> None:
    search = by_name(compile_inline(SPEC_31))["search"]
    built = search.plan.build({"q": "x", "page": None, "X-Trace": None, "session": None}, "http://h")
    assert built.url == "http://h/search?q=x"
    assert built.headers == [] and built.cookies == []


def test_a_required_parameter_given_null_is_refused_by_name() -> None:
    search = by_name(compile_inline(SPEC_31))["search"]
    with pytest.raises(ToolCallError, match="`q` is null, but query parameter `q` is required"):
        search.plan.build({"q": None}, "http://h")
    patch = by_name(compile_inline(SPEC_31))["patchItem"]
    with pytest.raises(ToolCallError, match="`id` is null, but path parameter `id`"):
        patch.plan.build({"id": None}, "http://h")


def test_form_bodies_leave_null_fields_out() -> None:
    form = by_name(compile_inline(SPEC_31))["postForm"]
    assert form.plan.build({"a": None, "b": "x"}, "http://h").body == b"b=x"
    assert form.plan.build({"a": None}, "http://h").body is None  # nothing left: an optional body is not sent


def test_an_optional_json_body_not_given_is_not_sent_but_null_inside_objects_is_kept() -> None:
    patch = by_name(compile_inline(SPEC_31))["patchItem"]
    assert patch.plan.build({"id": "1"}, "http://h").body is None
    create = by_name(compile_inline(SPEC_30))["createItem"]
    assert json.loads(create.plan.build({"name": "a", "note": "n"}, "http://h").body) == {"name": "a", "note": "n"}
