"""`mcprt up` / `mcprt tools` with a plain command line run without Typer (`cli.fast`), exactly as
Typer would run them: the same options, the same parsed values, the same exit codes and messages;
anything else is left to Typer."""

from __future__ import annotations

import importlib
import inspect
import json
import textwrap
import typing
from pathlib import Path
from typing import Any

import pytest
import typer.main

from mcprt.cli import main as cli_main
from mcprt.cli.fast import COMMANDS, parse
from tests.support.cli import mcprt_process

_CLICK = typer.main.get_command(cli_main.app)


def _typer_parse(argv: list[str]) -> dict[str, Any]:
    command = _CLICK.commands[argv[0]]  # type: ignore[attr-defined]
    return dict(command.make_context(argv[0], list(argv[1:])).params)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_fast_table_mirrors_the_typer_declaration(name: str) -> None:
    params = _CLICK.commands[name].params  # type: ignore[attr-defined]
    arguments = [(p.name, p.default) for p in params if p.param_type_name == "argument"]
    flags = {p.opts[0]: p.name for p in params if p.param_type_name == "option" and p.is_flag}
    options = {p.opts[0]: p.name for p in params if p.param_type_name == "option" and not p.is_flag}
    envvars = {p.name: p.envvar for p in params if p.param_type_name == "option" and p.envvar}
    assert all(len(p.opts) == 1 and not p.secondary_opts for p in params if p.param_type_name == "option")
    assert all(p.nargs == 1 for p in params)  # one value each: no list argument, no repeatable option
    command = COMMANDS[name]
    assert [(argument, default) for argument, _, default in command.arguments] == arguments
    assert command.flags == flags
    assert {opt: parameter for opt, (parameter, _) in command.options.items()} == options
    assert command.envvars == envvars
    hints = typing.get_type_hints(getattr(cli_main, name), include_extras=False)
    for parameter, kind in command.options.values():
        assert hints[parameter] == typing.Optional[kind]
    for argument, kind, default in command.arguments:
        assert hints[argument] == (typing.Optional[kind] if default is None else kind)
    signature = inspect.signature(getattr(cli_main, name))
    names = {argument for argument, _, _ in command.arguments} | {*flags.values(), *options.values()}
    assert set(signature.parameters) == names
    # the body `cli.fast` runs takes exactly those parameters (it is called with them by name)
    module, function = command.run.split(":")
    body = getattr(importlib.import_module(f"mcprt.cli.{module}"), function)
    assert set(inspect.signature(body).parameters) == names


ACCEPTED = [
    ["tools"],
    ["tools", "mcp.yaml"],
    ["tools", "mcp.yaml", "--json"],
    ["tools", "--json", "mcp.yaml", "--offline"],
    ["up"],
    ["up", "mcp.yaml", "--transport", "stdio", "--no-reload"],
    ["up", "--transport", "http", "--host", "0.0.0.0", "--port", "8765", "--stateless", "catalog/x/mcp.yaml"],
    ["up", "mcp.yaml", "--metrics-port", "0", "--offline"],
    ["validate"],
    ["validate", "mcp.yaml", "--offline", "--no-exec", "--strict"],
    ["status"],
    ["status", "http://127.0.0.1:8765", "--json"],
    ["status", "--url", "host:8765", "--token", "t0k"],
    ["status", "http://a:1", "--url", "http://b:2"],
    ["status", "--all", "http://127.0.0.1:8765"],
    ["approvals"],
    ["approvals", "list", "--all", "--json", "--url", "http://127.0.0.1:8765"],
    ["approvals", "approve", "ap_x1y2", "--reason", "looks right", "--token", "t0k"],
    ["approvals", "deny", "ap_x1y2", "--url", "host:1"],
    ["pause", "delete_repo", "--url", "http://h:1", "--reason", "incident 42"],
    ["pause", "--source", "github", "--json"],
    ["pause", "--all"],
    ["resume", "delete_repo"],
    ["resume", "--all", "--url", "h:1", "--token", "t0k", "--json"],
]


@pytest.mark.parametrize("argv", ACCEPTED, ids=" ".join)
def test_accepted_forms_parse_as_typer_parses_them(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MCPRT_TOKEN", raising=False)
    parsed = parse(argv)
    assert parsed is not None
    assert parsed == (argv[0], _typer_parse(argv))


@pytest.mark.parametrize("token", ["from-env", ""])
def test_the_token_variable_counts_as_typer_reads_it(token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`approvals`, `pause`, `resume` take --token from MCPRT_TOKEN (an empty one is none); `status`
    reads it itself, later."""
    monkeypatch.setenv("MCPRT_TOKEN", token)
    for argv in (["approvals"], ["pause", "--all"], ["resume", "x", "--token", "given"], ["status", "h:1"]):
        assert parse(argv) == (argv[0], _typer_parse(argv)), argv


@pytest.mark.parametrize("argv", [
    [], ["schema"], ["call", "--url", "http://h:1/mcp", "echo"], ["--debug", "tools"],
    ["validate", "a.yaml", "b.yaml"], ["status", "a", "b"], ["approvals", "approve", "x", "y"],
    ["pause", "a", "--all", "b"], ["resume", "--reason", "x"], ["approvals", "--token=t"], ["status", "--url", "-"],
    ["approvals", "list", "--all", "--all"], ["validate", "--help"], ["tools", "--help"], ["up", "-h"],
    ["tools", "a.yaml", "b.yaml"], ["tools", "--json", "--json"], ["tools", "--verbose"], ["up", "--port=8765"],
    ["up", "--port", "x"], ["up", "--port", "-1"], ["up", "--port"], ["up", "--host", "--no-reload"],
    ["tools", "--"], ["tools", "-"], ["tools", ""], ["up", "--port", "８７"],
], ids=lambda argv: " ".join(argv) or "(none)")
def test_other_forms_are_left_to_typer(argv: list[str]) -> None:
    assert parse(argv) is None


_RUN_MAIN = textwrap.dedent("""
    import sys
    from mcprt.__main__ import main
    try:
        main()
    finally:
        print("typer loaded:", "typer" in sys.modules, file=sys.stderr)
""")


def test_tools_runs_without_typer_and_prints_the_list(tmp_path: Path) -> None:
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/pets": {"get": {"operationId": "listPets", "summary": "List pets",
                                        "responses": {"200": {"description": "ok"}}}}}}
    (tmp_path / "api.json").write_text(json.dumps(spec))
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  api:\n    openapi: api.json\n"
                                       "    base_url: http://127.0.0.1:9\n")
    env = {"MCPRT_CACHE_DIR": str(tmp_path / "cache")}
    fast = mcprt_process("tools", "mcp.yaml", "--json", cwd=tmp_path, env=env, code=_RUN_MAIN)
    assert fast.returncode == 0, fast.stderr
    assert "typer loaded: False" in fast.stderr
    assert [t["name"] for t in json.loads(fast.stdout)["tools"]] == ["listPets"]
    typer_run = mcprt_process("--debug", "tools", "mcp.yaml", "--json", cwd=tmp_path, env=env, code=_RUN_MAIN)
    assert "typer loaded: True" in typer_run.stderr
    assert typer_run.returncode == 0 and typer_run.stdout == fast.stdout


@pytest.mark.parametrize("command", ["tools", "up"])
def test_a_bad_manifest_exits_2_with_its_position_and_no_traceback(command: str, tmp_path: Path) -> None:
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  api:\n    openapi: absent.json\n")
    args = [command, "mcp.yaml"] + (["--no-reload"] if command == "up" else [])
    fast = mcprt_process(*args, cwd=tmp_path, env={"MCPRT_CACHE_DIR": str(tmp_path / "cache")}, code=_RUN_MAIN)
    assert fast.returncode == 2
    assert "typer loaded: False" in fast.stderr
    assert "Traceback" not in fast.stderr
    diagnostics = [line for line in fast.stderr.splitlines() if line.startswith("mcp.yaml:") or line == "1 error"]
    assert diagnostics[0].startswith("mcp.yaml:4:14: absent.json: cannot read") and diagnostics[1:] == ["1 error"]
    typer_run = mcprt_process("--debug", *args, cwd=tmp_path, env={"MCPRT_CACHE_DIR": str(tmp_path / "cache")},
                              code=_RUN_MAIN)
    assert typer_run.returncode == 2
    assert [line for line in typer_run.stderr.splitlines() if line.startswith("mcp.yaml:") or line == "1 error"] \
        == diagnostics


def test_mcprt_debug_still_shows_tracebacks_on_the_fast_path(tmp_path: Path) -> None:
    """An internal error: one line and exit 1; with MCPRT_DEBUG=1 the traceback too (as under Typer)."""
    code = _RUN_MAIN.replace("from mcprt.__main__ import main",
                             "from mcprt.__main__ import main\nimport mcprt.cli.tools_cmd as t\n"
                             "t.run_tools = lambda *a: 1 / 0")
    plain = mcprt_process("tools", cwd=tmp_path, code=code)
    assert plain.returncode == 1
    assert "internal error: ZeroDivisionError" in plain.stderr and "Traceback" not in plain.stderr
    debug = mcprt_process("tools", cwd=tmp_path, code=code, env={"MCPRT_DEBUG": "1"})
    assert debug.returncode == 1 and "Traceback" in debug.stderr
