"""A request body property whose schema admits one value is sent by mcprt, not asked of the model.

The rule of `tests/openapi/test_openapi_sole_value_parameters.py` (`inputs.sent_value`), for body properties:
a JSON body property with `const` or a one-value `enum` (OpenAPI 3.0 and 3.1), and Swagger 2.0's `in: formData`
parameters, such as the AWS query protocol's `Action`/`Version` (each a one-value enum, on every operation of
EC2, SQS, SNS, IAM…). A required one is no argument and is sent whenever the body is, also inside a required
object (filled into the object the model gives; an object left with nothing to give is sent whole); an optional
one is sent only when its `default` is that value, and otherwise stays an argument (sending it is a choice). A
real upstream on 127.0.0.1 checks the bytes that arrived; the SDK client calls `mcprt up` over stdio; the CLI
validates manifests that pinned such a property with `fixed`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from mcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.openapi.openapi_support import by_key, compile_inline
from tests.support.cli import mcprt_cli
from tests.support.served import stdio_up, text_of
from tests.support.upstream import serve_app

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

OK_2 = {"200": {"description": "Success", "schema": {"type": "object"}}}
OK_3 = {"200": {"description": "Success", "content": {"application/json": {"schema": {"type": "object"}}}}}


def query_protocol_spec() -> dict[str, Any]:
    """An AWS query-protocol API as Swagger 2.0 (the shape of EC2's): every operation a POST of a form whose
    `Action` and `Version` fields are one-value enums."""
    def form(name: str, required: bool, **schema: Any) -> dict[str, Any]:
        return {"name": name, "in": "formData", "required": required, **schema}

    def operation(action: str, *fields: dict[str, Any]) -> dict[str, Any]:
        return {"operationId": action, "summary": f"The {action} action.", "responses": OK_2,
                "parameters": [form("Action", True, type="string", enum=[action]),
                               form("Version", True, type="string", enum=["2016-11-15"]), *fields]}

    return {"swagger": "2.0", "info": {"title": "Things", "version": "2016-11-15"}, "host": "things.example",
            "consumes": ["application/x-www-form-urlencoded"], "produces": ["application/json"],
            "paths": {"/#Action=DescribeThings": {"post": operation(
                          "DescribeThings", form("Name", False, type="string"),
                          form("Mode", False, type="string", enum=["dry"]),  # optional, no default: a choice
                          form("Format", False, type="string", enum=["json"], default="json"))},
                      "/#Action=DeleteThing": {"post": operation("DeleteThing", form("ThingId", True, type="string"))}}}


def json_body_spec(version: str) -> dict[str, Any]:
    """A JSON body in OpenAPI `version` ("3.0" or "3.1") with each kind of one-value property: `const` (3.1) or a
    one-value `enum`, through `$ref`, optional with and without that default, inside a required object (some of
    it left to the model, and all of it one value) and inside an optional object (left as it is)."""
    def one(value: Any) -> dict[str, Any]:
        return {"const": value} if version == "3.1" else {"type": "string", "enum": [value]}

    body = {"type": "object", "required": ["kind", "name", "config", "marker", "apiVersion"], "properties": {
        "kind": one("Widget"),
        "apiVersion": {"$ref": "#/components/schemas/ApiVersion"},
        "name": {"type": "string"},
        "style": {"type": "string", "enum": ["round"]},
        "format": {"type": "string", "enum": ["json"], "default": "json"},
        "config": {"type": "object", "required": ["mode", "size"],
                   "properties": {"mode": one("fast"), "size": {"type": "integer"}}},
        "marker": {"type": "object", "required": ["v"], "properties": {"v": one("1")}},
        "extra": {"type": "object", "required": ["v"], "properties": {"v": one("1"), "note": {"type": "string"}}},
    }}
    return {"openapi": "3.1.0" if version == "3.1" else "3.0.3", "info": {"title": "Widgets", "version": "1"},
            "servers": [{"url": "https://widgets.example"}],
            "components": {"schemas": {"ApiVersion": {"type": "string", "enum": ["v2"]}}},
            "paths": {"/widgets": {"post": {"operationId": "CreateWidget", "responses": OK_3, "requestBody": {
                "required": True, "content": {"application/json": {"schema": body}}}}}}}


def test_query_protocol_action_and_version_are_no_arguments_and_the_form_carries_them() -> None:
    ops = by_key(compile_inline(query_protocol_spec()))
    describe, delete = ops["DescribeThings"], ops["DeleteThing"]
    assert set(describe.operation.input_schema["properties"]) == {"Name", "Mode"}
    assert delete.operation.input_schema["properties"] == {"ThingId": {"type": "string"}}
    assert delete.operation.input_schema["required"] == ["ThingId"]
    built = describe.plan.build({"Name": "a b"}, "http://127.0.0.1:9")
    assert built.body == b"Action=DescribeThings&Version=2016-11-15&Format=json&Name=a+b"
    assert describe.plan.describe()["fixed"] == {
        "body Action": "DescribeThings", "body Version": "2016-11-15", "body Format": "json"}
    assert describe.operation.sent_values == {"Action": "DescribeThings", "Version": "2016-11-15", "Format": "json"}
    # a required body with every field given by mcprt is still sent when the model gives nothing
    spec = query_protocol_spec()
    spec["paths"]["/#Action=DeleteThing"]["post"]["parameters"].pop()
    assert by_key(compile_inline(spec))["DeleteThing"].plan.build({}, "http://x").body == \
        b"Action=DeleteThing&Version=2016-11-15"


@pytest.mark.parametrize("version", ["3.1", "3.0"])
def test_json_body_one_value_properties_are_sent_also_inside_a_required_object(version: str) -> None:
    create = by_key(compile_inline(json_body_spec(version)))["CreateWidget"]
    schema = create.operation.input_schema
    assert set(schema["properties"]) == {"name", "style", "config", "extra"}
    assert schema["required"] == ["name", "config"]
    assert schema["properties"]["config"]["properties"] == {"size": {"type": "integer"}}
    assert schema["properties"]["config"]["required"] == ["size"]
    assert "v" in schema["properties"]["extra"]["properties"]  # an optional object is left as it is
    built = create.plan.build({"name": "w", "config": {"size": 3}}, "http://127.0.0.1:9")
    assert json.loads(built.body) == {"kind": "Widget", "apiVersion": "v2", "format": "json",
                                      "marker": {"v": "1"}, "name": "w", "config": {"size": 3, "mode": "fast"}}
    assert create.plan.describe()["fixed"] == {"body kind": "Widget", "body apiVersion": "v2", "body format": "json",
                                               "body marker": {"v": "1"}, "body config.mode": "fast"}


def test_a_body_property_admitting_two_values_or_only_null_stays_an_argument() -> None:
    spec = json_body_spec("3.1")
    props = spec["paths"]["/widgets"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    props["kind"] = {"type": "string", "enum": ["Widget", "Gadget"]}
    props["apiVersion"] = {"type": ["string", "null"], "enum": [None]}
    schema = by_key(compile_inline(spec))["CreateWidget"].operation.input_schema
    assert {"kind", "apiVersion"} <= set(schema["properties"])
    assert {"kind", "apiVersion"} <= set(schema["required"])


@pytest.fixture
def upstream() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def record(request: Request) -> JSONResponse:
        body = (await request.body()).decode()
        kind = request.headers.get("content-type", "")
        seen.append({"path": request.url.path,
                     "body": json.loads(body) if "json" in kind else dict(parse_qsl(body, keep_blank_values=True))})
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/{rest:path}", record, methods=["POST"])])
    with serve_app(app) as base:
        yield base, seen


def _manifest(tmp_path: Path, spec: dict[str, Any], base: str, tools: str = "") -> Path:
    (tmp_path / "api.json").write_text(json.dumps(spec), encoding="utf-8")
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(f"version: 1\nsources:\n  api:\n    openapi: api.json\n    base_url: {base}\n{tools}",
                        encoding="utf-8")
    return manifest


async def test_served_the_upstream_gets_the_one_values_the_model_never_gave(
        tmp_path: Path, upstream: tuple[str, list[dict[str, Any]]]) -> None:
    base, seen = upstream
    (tmp_path / "things").mkdir()
    (tmp_path / "widgets").mkdir()
    things = _manifest(tmp_path / "things", query_protocol_spec(), base)
    widgets = _manifest(tmp_path / "widgets", json_body_spec("3.1"), base)
    async with Client(stdio_up(things), mode="legacy") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert not any({"Action", "Version"} & set(tool.input_schema["properties"]) for tool in tools.values())
        delete = next(n for n in tools if n.lower().replace("_", "") == "deletething")
        result = await client.call_tool(delete, {"ThingId": "t-1"})
        assert not result.is_error, text_of(result)
        refused = await client.call_tool(delete, {"ThingId": "t-1", "Action": "TerminateEverything"})
        assert refused.is_error and "unknown argument" in text_of(refused), text_of(refused)
    async with Client(stdio_up(widgets), mode="legacy") as client:
        (name,) = [tool.name for tool in (await client.list_tools()).tools]
        result = await client.call_tool(name, {"name": "w", "config": {"size": 3}})
        assert not result.is_error, text_of(result)
    assert seen == [
        {"path": "/", "body": {"Action": "DeleteThing", "Version": "2016-11-15", "ThingId": "t-1"}},
        {"path": "/widgets", "body": {"kind": "Widget", "apiVersion": "v2", "format": "json", "marker": {"v": "1"},
                                      "name": "w", "config": {"size": 3, "mode": "fast"}}},
    ]


def test_a_manifest_that_pinned_action_itself_still_loads_with_a_warning(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, query_protocol_spec(), "http://127.0.0.1:9",
                         "    tools:\n      DeleteThing:\n        args:\n          Action: {fixed: DeleteThing}\n")
    done = mcprt_cli("validate", str(manifest))
    assert done.returncode == 0, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert ("mcp.yaml:9:11: warning: tool 'DeleteThing': mcprt now sends 'Action' itself (its schema admits only "
            "\"DeleteThing\"): this override changes nothing; remove it") in said, said


def test_a_manifest_that_pinned_another_action_is_told_mcprt_sends_the_one_value(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, query_protocol_spec(), "http://127.0.0.1:9",
                         "    tools:\n      DeleteThing:\n        args:\n          Action: {fixed: TerminateAll}\n")
    done = mcprt_cli("validate", str(manifest))
    assert done.returncode == 2, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert ("mcp.yaml:9:27: tool 'DeleteThing': mcprt now sends 'Action' itself (its schema admits only "
            "\"DeleteThing\"), so this `fixed` (another value) cannot be sent: remove this override") in said, said
    assert "TerminateAll" not in said and "Traceback" not in said
