"""-32602 Invalid params names the field and what was expected, over streamable HTTP and stdio.

Found by a pentest trial: `tools/call` with `"arguments": ["x"]`, `"arguments": "x"`, `"name": 5`,
`"name": null` or no `name`, `"_meta": "x"`, `"_meta": {"progressToken": {"a": 1}}`, `resources/read`
with `"uri": 5` and `logging/setLevel` with `"level": "nope"` each got `-32602 "Invalid request
parameters"` with `data: ""` (the SDK's answer to any params that fail the method's schema): nothing said
which field was wrong. Raw JSON-RPC against a real `mcprt up`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.adder import adder_up
from tests.support.raw_stdio import RawStdio
from tests.support.served import UpProcess

ACCEPT = {"content-type": "application/json", "accept": "application/json, text/event-stream"}

# (method, params, the message after "Invalid params for METHOD: ")
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("tools/call", {"name": "add", "arguments": ["x"]}, "params.arguments: expected an object, got an array"),
    ("tools/call", {"name": "add", "arguments": "x"}, "params.arguments: expected an object, got a string"),
    ("tools/call", {"name": 5, "arguments": {}}, "params.name: expected a string, got an integer"),
    ("tools/call", {"name": None, "arguments": {}}, "params.name: expected a string, got null"),
    ("tools/call", {"arguments": {}}, "params.name: missing (it is required)"),
    ("tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}, "_meta": "x"},
     "params._meta: expected an object, got a string"),
    ("tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}, "_meta": {"progressToken": {"a": 1}}},
     "params._meta.progressToken: expected a string or an integer, got an object"),
    ("resources/read", {"uri": 5}, "params.uri: expected a string, got an integer"),
    ("logging/setLevel", {"level": "nope"},
     "params.level: Input should be 'alert', 'critical', 'debug', 'emergency', 'error', 'info', 'notice' or 'warning'"),
]


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    yield from adder_up(tmp_path_factory, "params")


def _session(up: UpProcess) -> dict[str, str]:
    opened = httpx.post(up.url, headers=ACCEPT, timeout=60, json={
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
    headers = {**ACCEPT, "mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
    httpx.post(up.url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, timeout=60)
    return headers


def _check(answer: dict[str, Any], rid: Any, method: str, said: str) -> None:
    assert answer["id"] == rid and answer["error"]["code"] == -32602, answer
    assert answer["error"]["message"] == f"Invalid params for {method}: {said}", answer
    field, _, problem = said.partition(": ")
    assert answer["error"]["data"]["errors"] == [{"field": field, "problem": problem}], answer


def test_invalid_params_over_http_name_the_field(up: UpProcess) -> None:
    headers = _session(up)
    for rid, (method, params, said) in enumerate(CASES, start=10):
        response = httpx.post(up.url, headers=headers, timeout=60,
                              json={"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        text = response.text
        answer = json.loads(text[text.index("{"):text.rindex("}") + 1])
        _check(answer, rid, method, said)
    served = httpx.post(up.url, headers=headers, timeout=60, json={
        "jsonrpc": "2.0", "id": 99, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}})
    assert '"text":"3"' in served.text.replace(" ", "")  # the session keeps serving


def test_invalid_params_over_stdio_name_the_field(tmp_path: Path) -> None:
    manifest = tmp_path / "mcp.yaml"
    (tmp_path / "adder.py").write_text('def add(a: int, b: int) -> int:\n    """Add."""\n    return a + b\n')
    manifest.write_text("version: 1\nsources:\n  adder: {python: adder}\n")
    served = RawStdio(manifest, tmp_path)
    try:
        served.send({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
        served.read_until("init")
        served.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        for rid, (method, params, said) in enumerate(CASES, start=10):
            served.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
            _check(served.read_until(rid), rid, method, said)
    finally:
        served.close()
