"""A proxied server's results are checked against its tools' own outputSchema (MCP 2025-06-18 and 2025-11-25
server/tools "Output Schema": a server MUST send structured results that conform, a client SHOULD check).

A real SDK server (`output_schema_server.py`) declares a strict outputSchema and breaks it on demand; the SDK
client calls it through `mcprt up` over stdio and streamable HTTP. Before: mcprt's own SDK client refused such a
result with jsonschema's message, which quoted the offending value (`'sk-live-…' is not of type 'number'`, a
secret the server echoed reached the model) and named no path; a `structuredContent: null` said outright
passed, and the calling client then crashed ("has an output schema but did not return structured content").
Now each is a tool error naming the server, the tool and the first problem by path and types, counted as an
upstream fault; a conforming result passes byte for byte."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client, StdioServerParameters

from tests.support.served import child_env, http_client, mcprt_http, stdio_up, text_of
from tests.support.zygote import script_command, script_command_yaml

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

SERVER = Path(__file__).with_name("output_schema_server.py")
SECRET_LOOKING = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"  # output_schema_server.SECRET_LOOKING
PRUNE = "{id: id, temps: readings[].t}"

# kind → the first problem, by path and types only
VIOLATIONS = {
    "wrong_type": "$.celsius: string, expected number",
    "missing": "$.city: missing (required)",
    "extra": "$.api_key: not allowed (additionalProperties: false)",
    "nested": "$.hourly[1]: string, expected integer",
    "keyed": "$.by_station.*: string, expected integer",  # a map's key is data: never named
    "absent": "no structuredContent",
    "null": "no structuredContent",
}


def _manifest(folder: Path, *, audit: bool = False) -> Path:
    manifest = folder / "mcp.yaml"
    observability = "server: {observability: {audit: audit.jsonl}}\n" if audit else ""
    manifest.write_text(f"version: 1\n{observability}sources:\n  weather:\n    command: {script_command_yaml(SERVER)}\n"
                        f"    tools:\n      lenient: {{name: station, prune: '{PRUNE}'}}\n", encoding="utf-8")
    return manifest


def _wire(result: Any) -> str:
    return result.model_dump_json(by_alias=True, exclude_none=True)


async def _direct(*kinds: str) -> list[str]:
    """The server's own answers to `forecast` of each of `kinds`, read from one start of it without mcprt (and
    without the SDK client's check of them)."""
    command = script_command(SERVER)
    params = StdioServerParameters(command=command[0], args=command[1:], env=child_env())
    async with Client(params, mode="legacy") as client:
        await client.list_tools()

        async def unchecked(name: str, result: Any) -> None:
            return None

        client.session.validate_tool_result = unchecked  # type: ignore[method-assign]
        return [_wire(await client.call_tool("forecast", {"kind": kind})) for kind in kinds]


async def _check_through(client: Client) -> None:
    """What `client`, talking to `mcprt up`, gets of each kind of answer (its own outputSchema check included:
    a result it refused would raise here)."""
    listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    direct_valid, direct_formatted = await _direct("valid", "format")
    valid = await client.call_tool("forecast", {"kind": "valid"})
    assert _wire(valid) == direct_valid  # passed on untouched: content, structuredContent, _meta
    # `format` is an annotation (JSON Schema 2020-12's default; the SDK clients assert none): passed on as sent
    formatted = await client.call_tool("forecast", {"kind": "format"})
    assert _wire(formatted) == direct_formatted
    for kind, problem in VIOLATIONS.items():
        result = await client.call_tool("forecast", {"kind": kind})
        text = text_of(result)
        assert result.is_error and result.structured_content is None, (kind, _wire(result))
        assert text == (f"forecast: server 'weather' returned a result that does not conform to the outputSchema of "
                        f"its tool 'forecast' ({problem}), so it was not passed on. This is the server's fault, not "
                        "the arguments': calling again with the same arguments will likely fail the same way"), text
        assert SECRET_LOOKING not in _wire(result) and "sk-live" not in text
    # a pruned tool declares the upstream's outputSchema projected through its prune, as an OpenAPI tool does
    # (a shape has no `required`: a field the prune reads may be missing, so its value may be null)
    assert listed["station"].output_schema == {
        "type": "object",
        "properties": {"id": {"type": ["integer", "null"]},
                       "temps": {"type": ["array", "null"], "items": {"type": ["number", "null"]}}},
    }
    station = await client.call_tool("station", {"n": 3})  # the SDK client checks it against that schema
    assert not station.is_error and station.structured_content == {"id": 7, "temps": [0.0, 1.0, 2.0]}


async def test_over_stdio_a_result_that_breaks_its_output_schema_is_a_tool_error_naming_the_problem(
        tmp_path: Path) -> None:
    async with Client(stdio_up(_manifest(tmp_path)), mode="legacy") as client:
        await _check_through(client)


def _audit_records(path: Path, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count or time.monotonic() > deadline:
            return [json.loads(line) for line in lines]
        time.sleep(0.05)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Any]:
    with mcprt_http(_manifest(tmp_path, audit=True), "--no-reload") as up:
        yield up


async def test_over_http_the_tool_error_is_counted_as_an_upstream_fault(served: Any, tmp_path: Path) -> None:
    async with http_client(served.url) as client:
        await _check_through(client)
    metrics = httpx.get(f"{served.base}/metrics", timeout=10).text
    failed = len(VIOLATIONS)
    assert (f'mcprt_tool_calls_total{{outcome="upstream_error",source="weather",tool="forecast"}} {failed}.0'
            in metrics), metrics
    assert 'mcprt_tool_calls_total{outcome="ok",source="weather",tool="forecast"} 2.0' in metrics  # valid, format
    records = [r for r in _audit_records(tmp_path / "audit.jsonl", failed + 3) if r.get("tool") == "forecast"]
    assert [r.get("outcome") for r in records] == ["ok", "ok"] + ["upstream_error"] * failed, records
    assert SECRET_LOOKING not in (tmp_path / "audit.jsonl").read_text()
    log = served.log()
    assert log.count("source weather: tool forecast returned a result its outputSchema refuses") == failed
    assert SECRET_LOOKING not in log and "Traceback" not in log
