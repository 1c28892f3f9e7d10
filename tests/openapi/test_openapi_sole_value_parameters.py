"""A parameter whose schema admits one value is sent by mcprt, not asked of the model.

AWS's JSON-protocol APIs (every AWS service's OpenAPI description, as aws2openapi writes it) select the
operation with a required header `X-Amz-Target` whose schema is a one-value `enum`. Before, mcprt made it an
argument the model had to copy from the schema on every call (`tests/authoring/test_init.py` let it through
by name). Now any path, query or header parameter whose schema admits exactly one value (a one-value `enum`,
a `const`, through `$ref`/`allOf`; required, or optional with that value as its `default`) is set by mcprt
and not exposed, as a manifest's `fixed` argument is, in OpenAPI 2.0, 3.0 and 3.1 alike; an optional
one-value parameter without that default stays an argument (sending it or not is a choice). A real upstream
on 127.0.0.1 checks what arrived; the SDK client calls `mcprt up` over stdio."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.openapi.aws_json_spec import TARGETS, aws_spec
from tests.openapi.openapi_support import by_key, compile_inline
from tests.support.cli import mcprt_cli
from tests.support.served import stdio_up, text_of
from tests.support.upstream import serve_app

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

VERSIONS = ["3.1", "3.0", "2.0"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_one_value_parameter_is_no_argument_and_the_request_carries_it(version: str) -> None:
    ops = by_key(compile_inline(aws_spec(version)))
    schemas = {key: op.operation.input_schema["properties"] for key, op in ops.items()}
    assert set(schemas["GetForecast"]) == {"X-Amz-Date", "City"}
    assert set(schemas["ListForecasts"]) == {"Expand", "MaxResults"}  # `Expand`: optional, no default: a choice
    assert schemas["GetRegion"] == {}
    built = ops["ListForecasts"].plan.build({"MaxResults": 5}, "http://127.0.0.1:9")
    assert ("X-Amz-Target", TARGETS["ListForecasts"]) in built.headers
    assert built.url == "http://127.0.0.1:9/?Version=2024-01-01&Format=json&MaxResults=5"
    assert ops["GetRegion"].plan.build({}, "http://127.0.0.1:9").url == "http://127.0.0.1:9/partitions/aws"
    # what `mcprt diff` and the compile digests see of it: the values sent, apart from the arguments
    assert ops["ListForecasts"].plan.describe()["fixed"] == {
        "header X-Amz-Target": TARGETS["ListForecasts"], "query Version": "2024-01-01", "query Format": "json"}


def test_a_parameter_admitting_more_than_one_value_or_only_null_stays_an_argument() -> None:
    spec = aws_spec("3.1")
    params = spec["paths"]["/#X-Amz-Target=Forecasts_20240101.ListForecasts"]["post"]["parameters"]
    params[1]["schema"] = {"type": "string", "enum": ["2024-01-01", "2023-01-01"]}  # two values
    params[2]["schema"] = {"type": ["string", "null"], "enum": [None]}  # only null: nothing to send
    params[2]["required"] = True
    schema = by_key(compile_inline(spec))["ListForecasts"].operation.input_schema
    assert {"Version", "Format"} <= set(schema["properties"])


def test_a_one_value_cookie_parameter_is_sent_as_the_others_are() -> None:
    # review of carried, problem 9: `in: cookie` was left a required argument the model had to copy
    spec = aws_spec("3.1")
    params = spec["paths"]["/#X-Amz-Target=Forecasts_20240101.ListForecasts"]["post"]["parameters"]
    params.append({"name": "mode", "in": "cookie", "required": True, "schema": {"type": "string", "enum": ["fast"]}})
    listing = by_key(compile_inline(spec))["ListForecasts"]
    assert "mode" not in listing.operation.input_schema["properties"]
    assert ("mode", "fast") in listing.plan.build({}, "http://127.0.0.1:9").cookies
    assert listing.plan.describe()["fixed"]["cookie mode"] == "fast"


@pytest.fixture
def upstream() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def record(request: Request) -> JSONResponse:
        body = await request.body()
        seen.append({"path": request.url.path, "query": request.url.query, "target": request.headers.get("x-amz-target"),
                     "body": json.loads(body) if body else None})
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/{rest:path}", record, methods=["POST"])])
    with serve_app(app) as base:
        yield base, seen


@pytest.mark.parametrize("version", VERSIONS)
async def test_served_the_upstream_gets_the_target_header_the_model_never_gave(
        version: str, tmp_path: Path, upstream: tuple[str, list[dict[str, Any]]]) -> None:
    base, seen = upstream
    (tmp_path / "forecasts.json").write_text(json.dumps(aws_spec(version)), encoding="utf-8")
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(f"version: 1\nsources:\n  forecasts:\n    openapi: forecasts.json\n    base_url: {base}\n",
                        encoding="utf-8")
    async with Client(stdio_up(manifest), mode="legacy") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert not any("Target" in name for tool in tools.values() for name in tool.input_schema["properties"])
        forecast, listing, region = (next(n for n in tools if n.lower().replace("_", "") == key.lower())
                                     for key in ("GetForecast", "ListForecasts", "GetRegion"))
        body = {"City": "Oslo"}
        for name, arguments in ((forecast, body), (listing, {"MaxResults": 5}), (region, {})):
            result = await client.call_tool(name, arguments)
            assert not result.is_error, text_of(result)
        refused = await client.call_tool(listing, {"X-Amz-Target": "Forecasts_20240101.DeleteEverything"})
        assert refused.is_error and "unknown argument" in text_of(refused), text_of(refused)
    assert seen == [
        {"path": "/", "query": "", "target": TARGETS["GetForecast"], "body": {"City": "Oslo"}},
        {"path": "/", "query": "Version=2024-01-01&Format=json&MaxResults=5", "target": TARGETS["ListForecasts"],
         "body": None},
        {"path": "/partitions/aws", "query": "", "target": TARGETS["GetRegion"], "body": None},
    ]


def _pinned(tmp_path: Path, pins: str) -> Path:
    (tmp_path / "forecasts.json").write_text(json.dumps(aws_spec("3.1")), encoding="utf-8")
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  forecasts:\n    openapi: forecasts.json\n"
                        f"    base_url: http://127.0.0.1:9\n    tools:\n{pins}", encoding="utf-8")
    return manifest


def test_a_manifest_that_pinned_the_one_value_itself_still_loads_with_a_warning(tmp_path: Path) -> None:
    # `fixed` was the way to stop asking the model for X-Amz-Target before mcprt sent it (review of carried,
    # problem 7: such a manifest stopped loading on upgrade, and a running server refused its reload)
    manifest = _pinned(tmp_path, f"      ListForecasts:\n        args:\n"
                                 f"          X-Amz-Target: {{fixed: {TARGETS['ListForecasts']}}}\n"
                                 f"          Version: {{default: '2024-01-01'}}\n")
    done = mcprt_cli("validate", str(manifest))
    assert done.returncode == 0, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert (f"mcp.yaml:9:11: warning: tool 'ListForecasts': mcprt now sends 'X-Amz-Target' itself (its schema "
            f"admits only \"{TARGETS['ListForecasts']}\"): this override changes nothing; remove it") in said, said
    assert "mcprt now sends 'Version' itself (its schema admits only \"2024-01-01\")" in said, said


def test_a_manifest_that_pinned_another_value_is_told_mcprt_sends_the_one_value(tmp_path: Path) -> None:
    manifest = _pinned(tmp_path, "      ListForecasts:\n        args:\n          X-Amz-Target: {fixed: Other.Op}\n")
    done = mcprt_cli("validate", str(manifest))
    assert done.returncode == 2, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert (f"mcp.yaml:9:33: tool 'ListForecasts': mcprt now sends 'X-Amz-Target' itself (its schema admits only "
            f"\"{TARGETS['ListForecasts']}\"), so this `fixed` (another value) cannot be sent: remove this "
            "override") in said, said
    assert "Other.Op" not in said and "Traceback" not in said
