"""Each command imports only what it uses: the operator commands (`status`, `approvals`, `pause`,
`resume`) and `call --url` are clients of a running server and never load the manifest, compiler or
server stack; the operator commands and `validate` run without Typer, pydantic (client commands) or
httpx's own command line (`mcprt.import_httpx`). A regression guard for start-up CPU (the figures
are in bench/cli_startup.py; no timing here): the real command line in a subprocess, against a real
`mcprt up --transport http`, listing `sys.modules` at exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import mcprt_process
from tests.support.served import UpProcess, mcprt_http

MANIFEST = """\
version: 1
sources:
  tools:
    python: op_tools
    tools:
      echo:
        args:
          text: {default: hello}
          times: {default: 2}
policy: {}
"""
TOOLS = '''\
from typing import Annotated

from pydantic import Field

__all__ = ["echo"]


def echo(text: str, times: Annotated[int, Field(ge=1, le=3)] = 1) -> str:
    """Say it back."""
    return text * times
'''
_RUN_AND_LIST = """
import sys
from mcprt.__main__ import main
try:
    main()
finally:
    sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n")
"""
# What a client of a running server never needs (a module or any of its submodules); Typer's
# `--help` names the manifest's default file names (`mcprt.manifest.names`, free of imports).
SERVER_STACK = ("mcprt.manifest.loader", "mcprt.manifest.model", "mcprt.settings", "mcprt.pipeline", "mcprt.sources",
                "mcprt.toolset", "mcprt.server", "mcprt.outbound", "jinja2", "jsonschema", "ruamel")
# The operator commands are plain HTTP clients (the MCP SDK's client, for `call --url`, loads its
# own server modules with it: uvicorn, starlette).
OPERATOR = (*SERVER_STACK, "mcprt.manifest", "typer", "click", "pydantic", "pydantic_core", "mcp", "uvicorn",
            "httpx._main", "pygments")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    folder = tmp_path_factory.mktemp("imports")
    (folder / "mcp.yaml").write_text(MANIFEST)
    (folder / "op_tools.py").write_text(TOOLS)
    with mcprt_http(folder / "mcp.yaml", "--no-reload") as up:
        yield up


def imported(*args: str, cwd: Path | None = None) -> tuple[int, set[str], str]:
    """Run `mcprt ARGS`: (exit code, the modules loaded at exit, stdout)."""
    done = mcprt_process(*args, cwd=cwd, code=_RUN_AND_LIST)
    line = next(line for line in done.stderr.splitlines() if line.startswith("MODULES "))
    return done.returncode, set(line.split()[1:]), done.stdout


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == name or m.startswith(name + ".") for name in names))


def operator_command_is_lean(served: UpProcess, *args: str) -> None:
    code, modules, out = imported(*args, "--url", served.base)
    assert code == 0, out
    assert loaded(modules, OPERATOR) == []
    assert ("rich" in modules) is False  # plain lines and JSON need no rich
    assert "httpx" in modules  # it did talk to the server through httpx, without httpx's CLI


@pytest.mark.parametrize("args", [("status", "--json"), ("approvals", "list"), ("approvals", "list", "--json", "--all")],
                         ids=" ".join)
def test_an_operator_command_loads_no_server_stack_no_typer_and_no_pydantic(served: UpProcess,
                                                                          args: tuple[str, ...]) -> None:
    operator_command_is_lean(served, *args)


def test_pause_and_resume_load_no_server_stack_no_typer_and_no_pydantic(served: UpProcess) -> None:
    """One test, so the shared server is never left paused for another."""
    try:
        operator_command_is_lean(served, "pause", "echo", "--reason", "checking")
    finally:
        operator_command_is_lean(served, "resume", "echo")


def test_status_loads_rich_for_its_tables_and_nothing_of_the_server_stack(served: UpProcess) -> None:
    code, modules, out = imported("status", served.url)
    assert code == 0 and "Tools" in out
    assert loaded(modules, OPERATOR) == []


def test_call_url_loads_the_sdk_client_but_not_mcprts_compiler_or_server(served: UpProcess) -> None:
    code, modules, out = imported("call", "--url", served.url, "echo", "--args", '{"text": "hi", "times": 1}')
    assert code == 0 and '"text": "hi"' in out
    assert loaded(modules, SERVER_STACK) == []


def test_validate_of_a_python_manifest_loads_no_other_source_kind_no_server_and_no_typer(tmp_path: Path) -> None:
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    (tmp_path / "op_tools.py").write_text(TOOLS)
    code, modules, _ = imported("validate", "mcp.yaml", cwd=tmp_path)
    assert code == 0
    other_kinds = ("mcprt.sources.openapi", "mcprt.sources.mcp")  # every kind there is besides python:
    # jsonschema: the `default` fits the argument's plain type and bounds (`schema.shapes.certainly_fits`)
    assert loaded(modules, (*other_kinds, "mcprt.server", "mcprt.outbound", "mcp", "typer", "click", "httpx",
                            "aiohttp", "uvicorn", "starlette", "jsonschema")) == []


def test_up_over_stdio_of_a_python_manifest_never_loads_the_openapi_compiler(tmp_path: Path) -> None:
    """`mcprt up` takes the compile cache's and the loader's switches for every manifest
    (`sources.openapi.cache`, `.loader`); the package's names load with their submodules only
    (`mcprt.lazy_exports`), so a manifest without an OpenAPI source never imports the compiler."""
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    (tmp_path / "op_tools.py").write_text(TOOLS)
    handshake = "\n".join(json.dumps(m) for m in (
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})) + "\n"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MCPRT_")}
    environment["MCPRT_CACHE_DIR"] = str(tmp_path / "cache")
    (tmp_path / "requests.jsonl").write_text(handshake)  # a file: a pipe closed before the start ends it
    with open(tmp_path / "requests.jsonl") as requests:
        done = subprocess.run([sys.executable, "-c", _RUN_AND_LIST, "up", "mcp.yaml", "--transport", "stdio",
                               "--no-reload"], stdin=requests, cwd=tmp_path, env=environment, capture_output=True,
                              text=True, timeout=120)
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["id"] for a in answers] == [1, 2] and answers[1]["result"]["tools"][0]["name"] == "echo", done.stderr
    line = next(line for line in done.stderr.splitlines() if line.startswith("MODULES "))
    assert loaded(set(line.split()[1:]), ("mcprt.sources.openapi.compiler", "mcprt.sources.mcp")) == []
