"""`mcprt tools --json` prints the tools/list result as valid JSON, as the server's wire carries it,
for the values a description can hold that JSON writers disagree on."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import mcprt_cli
from tests.support.served import launch_command

MANIFEST = "version: 1\nsources:\n  api:\n    openapi: {spec}\n    base_url: http://127.0.0.1:9\n"


def _tools(tmp_path: Path, spec_name: str, spec_text: str) -> tuple[str, dict]:
    (tmp_path / spec_name).write_text(spec_text, encoding="utf-8")
    (tmp_path / "mcp.yaml").write_text(MANIFEST.format(spec=spec_name))
    result = mcprt_cli("tools", "mcp.yaml", "--json", cwd=tmp_path, env={"MCPRT_CACHE_DIR": str(tmp_path / "c")})
    assert result.returncode == 0, result.stderr
    return result.stdout, json.loads(result.stdout)  # strict: NaN or Infinity would not parse as JSON here


def _param_schema(listing: dict) -> dict:
    (tool,) = listing["tools"]
    return tool["inputSchema"]["properties"]["x"]


_YAML = """openapi: 3.0.3
info: {{title: t, version: "1"}}
paths:
  /x:
    get:
      operationId: get_x
      parameters:
        - {{name: x, in: query, schema: {schema}}}
      responses: {{"200": {{description: ok}}}}
"""


def test_non_finite_numbers_are_null_and_tiny_ones_exact(tmp_path: Path) -> None:
    text, listing = _tools(tmp_path, "api.yaml", _YAML.format(schema="{type: number, default: .nan, "
                                                                     "minimum: 1.0e-7, maximum: .inf}"))
    assert _param_schema(listing) == {"type": "number", "default": None, "minimum": 1e-07, "maximum": None}
    assert '"minimum":1e-7' in text


def test_an_integer_beyond_64_bits_is_written_exactly(tmp_path: Path) -> None:
    _, listing = _tools(tmp_path, "api.yaml", _YAML.format(schema=f"{{type: integer, maximum: {2**70}}}"))
    assert _param_schema(listing)["maximum"] == 2**70


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff"])
def test_a_lone_surrogate_is_written_as_its_escape(tmp_path: Path, escape: str) -> None:
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/x": {"get": {"operationId": "get_x", "responses": {"200": {"description": "ok"}},
                                     "parameters": [{"name": "x", "in": "query", "schema": {"type": "string"},
                                                     "description": f"odd {escape} text"}]}}}}
    text, listing = _tools(tmp_path, "api.json", json.dumps(spec).replace("\\\\u", "\\u"))
    assert escape in text
    assert _param_schema(listing)["description"] == json.loads(f'"odd {escape} text"')


def test_the_stdio_server_lists_the_same_text(tmp_path: Path) -> None:
    """`mcprt up` answers the first tools/list itself (server/early.py): the same JSON for the same
    odd values, a lone surrogate included (it used to end the start with an internal error)."""
    spec = json.dumps({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
                       "paths": {"/x": {"get": {"operationId": "get_x", "responses": {"200": {"description": "ok"}},
                                                "parameters": [{"name": "x", "in": "query", "description": "a \\udfff b",
                                                                "schema": {"type": "number", "minimum": 1e-7}}]}}}})
    text, listing = _tools(tmp_path, "api.json", spec.replace("\\\\u", "\\u"))
    handshake = [{"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
                 {"jsonrpc": "2.0", "method": "notifications/initialized"},
                 {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCPRT_")} | {"MCPRT_CACHE_DIR": str(tmp_path / "c")}
    process = subprocess.Popen(launch_command(Path("mcp.yaml"), "--no-reload"), cwd=tmp_path, env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in handshake))
        process.stdin.flush()
        answers = {}
        while 2 not in answers:
            line = process.stdout.readline()  # bounded by the process: it exits if it cannot serve
            assert line, "the server ended before answering tools/list"
            message = json.loads(line)
            answers[message.get("id")] = message
        assert answers[2]["result"] == listing
        # the budget check (`validate`; `up` warns with it) measures such a listing too: it ended both
        checked = mcprt_cli("validate", "mcp.yaml", cwd=tmp_path, env=env)
        assert checked.returncode == 0 and "Traceback" not in checked.stderr, checked.stderr
        assert b"\\udfff" in line  # escaped: UTF-8 cannot carry it
    finally:
        process.kill()
        process.wait(timeout=60)
