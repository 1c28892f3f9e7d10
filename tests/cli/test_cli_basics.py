"""The command line's own behaviour: help with examples, version, schema, exit codes, --debug.

Help texts run through Typer's runner (the real app, fast); exit codes, stderr and environment through
the real entry point `python -m mcprt` runs, in this process (`tests.support.cli.mcprt_cli`), and in a
subprocess where the test runs its own code around it (`mcprt_process` with `code`).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import mcprt
from mcprt.cli.main import app
from tests.support.cli import mcprt_cli, mcprt_process

COMMANDS = sorted(command.name or command.callback.__name__ for command in app.registered_commands)


def test_the_expected_commands_exist() -> None:
    assert {"validate", "schema", "tools", "call", "up", "test", "record", "diff", "catalog"} <= set(COMMANDS)


def test_top_level_help_lists_commands_and_an_example() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert "Exit codes" in result.stdout
    for name in COMMANDS:
        assert name in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_has_an_example(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.stdout
    assert f"mcprt {command}" in " ".join(result.stdout.split())  # the example uses the command


def test_version() -> None:
    result = mcprt_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"mcprt {mcprt.__version__}"


def test_schema_prints_json_on_stdout_only() -> None:
    result = mcprt_cli("schema")
    assert result.returncode == 0
    assert result.stderr == ""
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "sources" in schema["properties"]


def test_validate_a_missing_file(tmp_path: Path) -> None:
    result = mcprt_cli("validate", "absent.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: absent.yaml does not exist (looked for {tmp_path.resolve() / 'absent.yaml'}). Create one with "
        "`mcprt init --openapi SPEC --out absent.yaml` (from an API description) or `mcprt catalog init NAME` "
        "(a ready-made one)"]
    assert result.stdout == ""


def test_validate_a_good_manifest_exits_0(tmp_path: Path) -> None:
    (tmp_path / "cli_case_greetings.py").write_text(textwrap.dedent('''
        def greet(name: str) -> str:
            """Say hello to someone."""
            return f"hello {name}"
    '''))
    (tmp_path / "mcp.yaml").write_text(
        "version: 1\nsources:\n  hello:\n    python: cli_case_greetings:greet\n"
    )
    result = mcprt_cli("validate", cwd=tmp_path)  # ./mcp.yaml by default
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "mcp.yaml: ok — 1 tool from 1 source," in result.stderr


def test_validate_an_empty_source_list_is_fine(tmp_path: Path) -> None:
    (tmp_path / "mcp.toml").write_text("version = 1\n")
    result = mcprt_cli("validate", "mcp.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ok — 0 tools from 0 sources" in result.stderr


def test_an_invalid_setting_is_bad_input_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "mcp.yaml").write_text("version: 1\n")
    result = mcprt_cli("validate", cwd=tmp_path, env={"MCPRT_PORT": "eighty"})
    assert result.returncode == 2
    assert "invalid setting MCPRT_PORT" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


_EXPLODING = textwrap.dedent('''
    import sys
    from mcprt.cli.errors import guarded
    from mcprt.cli.main import app
    from mcprt.errors import McprtError

    @app.command()
    def explode() -> None:
        """A command with a bug in it."""
        with guarded():
            raise RuntimeError("kaboom")

    @app.command()
    def refuse() -> None:
        """A command that fails on purpose, as mcprt does for bad input."""
        with guarded():
            raise McprtError("the spec at ./api.json is not OpenAPI")

    sys.argv[0] = "mcprt"
    app()
''')


def test_an_internal_error_is_one_line_without_debug() -> None:
    result = mcprt_process("explode", code=_EXPLODING)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == "internal error: RuntimeError: kaboom (run with --debug for the traceback)"


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback_of_an_internal_error(how: str) -> None:
    args, env = (["--debug", "explode"], None) if how == "flag" else (["explode"], {"MCPRT_DEBUG": "1"})
    result = mcprt_process(*args, code=_EXPLODING, env=env)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert ", in explode\nRuntimeError: kaboom\n" in result.stderr
    assert result.stderr.splitlines()[-1] == "internal error: RuntimeError: kaboom"


@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_a_deliberate_error_is_one_line_and_exit_2(debug: list[str]) -> None:
    result = mcprt_process(*debug, "refuse", code=_EXPLODING)
    assert result.returncode == 2
    assert result.stderr == "error: the spec at ./api.json is not OpenAPI\n"


def test_debug_shows_no_traceback_for_bad_input(tmp_path: Path) -> None:
    (tmp_path / "mcp.yaml").write_text("version: 3\n")
    result = mcprt_cli("--debug", "validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "mcp.yaml:1:10: version: unsupported manifest version 3" in result.stderr


def test_an_unknown_command_is_a_usage_error() -> None:
    result = mcprt_cli("frobnicate")
    assert result.returncode == 2
    assert "No such command" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_no_python_type_labels(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0
    for label in ("<bool>", "<str>", "<int>", "<path>", "<list[str]>"):
        assert label not in result.stdout, (label, result.stdout)


def test_tools_says_which_total_is_which(tmp_path: Path) -> None:
    (tmp_path / "tools_totals.py").write_text(
        'def a_rather_long_function_name_for_wrapping(x: int) -> int:\n    """Return x."""\n    return x\n')
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  calc: {python: tools_totals}\n")
    result = mcprt_cli("tools", str(tmp_path / "mcp.yaml"), env={"COLUMNS": "60"})
    assert result.returncode == 0, result.stderr
    assert "the bytes column (each tool's definition) sums to" in " ".join(result.stdout.split())
    assert "bytes of tools/list" in result.stdout
    assert "a_rather_long_function_name_for_wrapping" in result.stdout  # never broken mid-word
