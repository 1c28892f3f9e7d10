"""`mcprt up` over stdio answers the handshake and the first tools/list before loading the MCP SDK
(server/early.py). What a client sees must be what the SDK server answers: each handshake-era
protocol version is compared against the same server answering through the SDK (an `initialize`
carrying `_meta` is left to the SDK), and the hand-over keeps every request answered exactly once.

Real `mcprt up` subprocesses, driven with raw JSON-RPC lines (the SDK client would hide duplicates
and ordering)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mcprt.server.early import HANDOFF_ID, HANDSHAKE_VERSIONS
from tests.server.server_support import child_env, demo_manifest
from tests.support.mcp_schema import check
from tests.support.raw_stdio import TIMEOUT
from tests.support.raw_stdio import RawStdio as SupportRawStdio

SPECS = Path(__file__).resolve().parent.parent / "fixtures" / "specs"


class RawStdio(SupportRawStdio):
    """`mcprt up --transport stdio --no-reload` by hand, with the test token the demo manifest reads."""

    def __init__(self, manifest: Path, tmp: Path, *, log_level: str = "info", **env: str) -> None:
        super().__init__(manifest, tmp, log_level=log_level, base_env=child_env, **env)


def initialize(version: str, request_id: Any = 1, **extra: Any) -> dict[str, Any]:
    params = {"protocolVersion": version, "capabilities": {"roots": {"listChanged": True}},
              "clientInfo": {"name": "early-test", "version": "1.0"}, **extra}
    return {"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": params}


INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def request(request_id: Any, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def openapi_manifest(folder: Path) -> Path:
    """GitHub's subset (non-ASCII text, $refs, many parameter styles) with instructions."""
    path = folder / "mcp.yaml"
    path.write_text(
        "version: 1\n"
        "server:\n"
        "  name: github-subset\n"
        "  instructions: \"Triage issues — read first, then write.\"\n"
        "sources:\n"
        "  github:\n"
        f"    openapi: {json.dumps(str(SPECS / 'github-subset.json'))}\n"
        "    base_url: http://127.0.0.1:9\n"
    )
    return path


def handshake(manifest: Path, tmp: Path, version: str, *, sdk: bool) -> tuple[dict[str, Any], dict[str, Any], str]:
    """initialize + initialized + tools/list; `sdk=True` makes the SDK answer (initialize with `_meta`)."""
    server = RawStdio(manifest, tmp, log_level="debug")
    try:
        server.send(initialize(version, **({"_meta": {}} if sdk else {})), INITIALIZED, request(2, "tools/list"))
        got = server.responses({1, 2})
    finally:
        assert server.close() == 0
    assert [len(v) for v in got.values()] == [1, 1], got.keys()
    return got[1][0], got[2][0], server.stderr_text()


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
@pytest.mark.parametrize("kind", ["python", "openapi"])
def test_early_answers_equal_the_sdk_servers(tmp_path: Path, kind: str, version: str) -> None:
    manifest = demo_manifest(tmp_path) if kind == "python" else openapi_manifest(tmp_path)
    early_init, early_list, early_log = handshake(manifest, tmp_path, version, sdk=False)
    if kind == "openapi":  # the compile cache is written once the client has its list
        assert list((tmp_path / "cache" / "openapi").glob("*.pickle"))
    sdk_init, sdk_list, sdk_log = handshake(manifest, tmp_path, version, sdk=True)
    assert "answered before loading the MCP SDK" in early_log and "methods=initialize,tools/list" in early_log
    assert "answered before loading the MCP SDK" not in sdk_log
    assert early_init == sdk_init
    assert early_init["result"]["protocolVersion"] == version
    assert early_list == sdk_list
    check(version, "initialize", early_init)  # and what this version defines (eras.py)
    check(version, "tools/list", early_list)
    assert len(early_list["result"]["tools"]) >= 3


def test_the_sdk_takes_over_with_every_request_answered_once(tmp_path: Path) -> None:
    """Everything pipelined at once: the early phase answers initialize, ping and tools/list, the
    SDK the rest; the replayed initialize's answer never reaches the client."""
    server = RawStdio(demo_manifest(tmp_path), tmp_path)
    try:
        server.send(initialize("2025-06-18"), INITIALIZED, request(2, "ping"), request(3, "tools/list"),
                    request(4, "tools/call", {"name": "add", "arguments": {"a": 2, "b": 3}}),
                    request("five", "tools/call", {"name": "no_such_tool", "arguments": {}}),
                    request(6, "tools/list"), request(7, "ping"))
        got = server.responses({1, 2, 3, 4, "five", 6, 7})
        assert set(got) == {1, 2, 3, 4, "five", 6, 7}, f"unexpected messages: {set(got) - {1, 2, 3, 4, 'five', 6, 7}}"
        assert all(len(v) == 1 for v in got.values()), {k: len(v) for k, v in got.items()}
        assert got[2][0]["result"] == {} and got[7][0]["result"] == {}
        assert got[3][0]["result"] == got[6][0]["result"]  # early and SDK listings are the same
        assert got[4][0]["result"]["content"][0]["text"] == "5"
        assert got["five"][0]["result"]["isError"] is True
        # the session the SDK holds is the initialized one: a later request is served too
        server.send(request(8, "tools/call", {"name": "echo", "arguments": {"text": "still here"}}))
        assert server.read()["result"]["content"][0]["text"] == "still here"
    finally:
        assert server.close() == 0
    assert HANDOFF_ID not in server.stderr_text()


@pytest.mark.parametrize("first", [
    request(1, "ping"),  # before initialize: the SDK decides
    initialize("1999-01-01"),  # a version this module does not negotiate
    initialize("2025-06-18", extra_field=True),  # params beyond the known ones
])
def test_what_the_early_phase_does_not_know_is_the_sdks(tmp_path: Path, first: dict[str, Any]) -> None:
    manifest = demo_manifest(tmp_path)
    early = RawStdio(manifest, tmp_path, log_level="debug")
    try:
        early.send(first)
        answer = early.read()
    finally:
        assert early.close() == 0
    assert "answered before loading the MCP SDK" not in early.stderr_text()
    assert answer["id"] == 1
    if first["method"] == "initialize" and isinstance(first["params"], dict):
        requested = first["params"]["protocolVersion"]
        expected = requested if requested in HANDSHAKE_VERSIONS else "2025-11-25"  # the SDK's negotiation
        assert answer["result"]["protocolVersion"] == expected


def test_a_client_that_leaves_during_the_handshake_ends_the_server_cleanly(tmp_path: Path) -> None:
    server = RawStdio(demo_manifest(tmp_path), tmp_path)
    server.send(initialize("2025-11-25"))
    assert server.read()["result"]["serverInfo"]["name"] == "demo-server"
    assert server.close() == 0


def test_the_handshake_era_versions_are_the_sdks() -> None:
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

    assert HANDSHAKE_VERSIONS == HANDSHAKE_PROTOCOL_VERSIONS


def test_the_early_path_does_not_import_the_sdk() -> None:
    """What `mcprt up` over stdio imports before it answers: no MCP SDK, no serving extras."""
    code = ("import sys\n"
            "import mcprt.cli.main, mcprt.cli.up_cmd, mcprt.pipeline, mcprt.server.early, mcprt.server.stdio\n"
            "import mcprt.server.options, mcprt.sources.openapi.binding, mcprt.sources.openapi.compiler\n"
            "import mcprt.observability.tracing, mcprt.observability.log\n"
            "heavy = ('mcp', 'mcp_types', 'starlette', 'uvicorn', 'httpx', 'prometheus_client', 'opentelemetry',\n"
            "         'redis', 'joserfc', 'aiohttp', 'jsonschema', 'referencing', 'fastjsonschema')\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, check=True)
    assert out.stdout.strip() == "[]"


def test_the_stdio_start_path_imports_nothing_only_errors_need() -> None:
    """`mcprt up`/`mcprt tools` without Typer (cli.fast): difflib is only for a typo's "did you mean",
    tomllib only for a TOML manifest; neither is imported on the way to the first tools/list."""
    code = ("import sys\n"
            "import mcprt.cli.fast, mcprt.cli.up_cmd, mcprt.cli.tools_cmd, mcprt.pipeline, mcprt.server.early\n"
            "import mcprt.server.stdio, mcprt.server.options, mcprt.sources.openapi.binding\n"
            "import mcprt.sources.openapi.compiler, mcprt.sources.openapi.cache, mcprt.settings, mcprt.manifest.loader\n"
            "import mcprt.observability.tracing, mcprt.observability.log, mcprt.toolset.build, mcprt.offerings.build\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'difflib', 'tomllib'}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, check=True)
    assert out.stdout.strip() == "[]"
