"""`~/…` paths given without a shell (trial desktop F6): an agent host passes its config's `args` to `mcprt` as
written, so `mcprt validate '~/proj/mcp.yaml'` said the file did not exist (`looked for /~/proj/mcp.yaml`) and
offered `init` to create it, while a manifest's own `openapi: ~/…` was expanded. Every command taking a manifest
or spec path expands a leading `~` now (`mcprt.home_paths`); `$VAR` is not expanded, and a file that exists under
the expanded name is named instead of an `init` offered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.test_stdio_host_launch import MCPRT, host_env
from tests.support.cli import mcprt_cli, mcprt_process
from tests.support.raw_stdio import TIMEOUT

ADD = '''
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b
'''

SPEC = {"openapi": "3.1.0", "info": {"title": "Items", "version": "1"}, "servers": [{"url": "http://127.0.0.1:9"}],
        "paths": {"/items": {"get": {"operationId": "listItems", "responses": {"200": {"description": "ok"}}}}}}

ECHO_SERVER = '''
from mcp.server.mcpserver import MCPServer

server = MCPServer("echo")


@server.tool()
def echo(text: str) -> str:
    """Say it back."""
    return text


server.run()
'''


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home folder holding `proj/mcp.yaml` (a Python tool `add` and an OpenAPI source whose spec is `~/specs/…`)."""
    (tmp_path / "proj").mkdir()
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "items.json").write_text(json.dumps(SPEC))
    (tmp_path / "proj" / "addtools.py").write_text(ADD)
    (tmp_path / "proj" / "mcp.yaml").write_text(
        "version: 1\nserver: {name: home}\nsources:\n  py:\n    python: addtools\n"
        "  items:\n    openapi: ~/specs/items.json\n")
    return tmp_path


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return mcprt_cli(*args, cwd=Path("/"), env={"HOME": str(home), "MCPRT_CACHE_DIR": str(home / "cache")})


@pytest.mark.parametrize("args", [
    ("validate", "~/proj/mcp.yaml"),
    ("validate", "~/proj"),  # a folder: its mcp.yaml
    ("tools", "~/proj/mcp.yaml", "--json"),
    ("call", "~/proj/mcp.yaml", "add", "--args", '{"a": 1, "b": 2}'),
    ("show", "~/proj/mcp.yaml", "add"),
    ("pin", "~/proj/mcp.yaml"),
    ("diff", "~/proj/mcp.yaml", "~/proj/mcp.yaml"),
    ("hook", "validate", "~/proj/mcp.yaml"),
], ids=lambda args: args[0] if args[0] != "validate" or args[1].endswith(".yaml") else "validate-folder")
def test_every_command_taking_a_manifest_expands_a_leading_tilde(home: Path, args: tuple[str, ...]) -> None:
    run = _run(home, *args)
    assert run.returncode == 0, run
    assert "does not exist" not in run.stderr + run.stdout and "/~/" not in run.stderr + run.stdout, run
    if args[0] == "call":
        assert json.loads(run.stdout)["content"][0]["text"] == "3", run


def test_record_and_test_find_the_manifest_and_its_cases_under_a_tilde_path(home: Path) -> None:
    recorded = _run(home, "record", "~/proj/mcp.yaml", "add", "--args", '{"a": 2, "b": 2}', "--name", "two")
    assert recorded.returncode == 0, recorded
    assert list((home / "proj").rglob("two*")), "the case was not written beside the manifest"
    replayed = _run(home, "test", "~/proj/mcp.yaml")
    assert replayed.returncode == 0, replayed
    assert "two" in replayed.stdout + replayed.stderr, replayed


def test_init_expands_a_tilde_in_its_spec_and_out(home: Path) -> None:
    run = _run(home, "init", "--openapi", "~/specs/items.json", "--out", "~/new/mcp.yaml", "--no-input")
    assert run.returncode == 0, run
    assert (home / "new" / "mcp.yaml").is_file() and not Path("/~").exists()
    assert _run(home, "validate", "~/new/mcp.yaml").returncode == 0


def test_up_over_stdio_serves_a_tilde_manifest_as_a_host_launches_it(home: Path) -> None:
    """The host's own launch: the venv's `mcprt` by path, cwd `/`, HOME and a bare PATH, `~/proj/mcp.yaml` as written."""
    requests = [
        {"jsonrpc": "2.0", "id": 0, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "h", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}},
    ]
    (home / "requests.jsonl").write_text("".join(json.dumps(r) + "\n" for r in requests))
    with open(home / "requests.jsonl", "rb") as stdin:
        done = subprocess.run([MCPRT, "up", "~/proj/mcp.yaml"], cwd="/", env=host_env(home), stdin=stdin,
                              capture_output=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr.decode()
    answers = {a["id"]: a for a in map(json.loads, done.stdout.decode().splitlines())}
    assert answers[1]["result"]["content"][0]["text"] == "3", done


def test_a_missing_tilde_path_names_the_expanded_file_and_an_init_that_writes_it(home: Path) -> None:
    run = _run(home, "validate", "~/nope/mcp.yaml")
    assert run.returncode == 2
    wanted = home / "nope" / "mcp.yaml"
    assert run.stderr.splitlines() == [
        f"error: {wanted} does not exist (looked for {wanted}). Create one with `mcprt init --openapi SPEC --out "
        f"{wanted}` (from an API description) or `mcprt catalog init NAME` (a ready-made one)"], run


def test_a_variable_in_a_path_is_not_expanded_and_the_file_it_names_is_not_offered_to_init(home: Path) -> None:
    run = _run(home, "validate", "$HOME/proj/mcp.yaml")
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        "error: $HOME/proj/mcp.yaml does not exist; mcprt does not expand environment variables in a path it is given "
        f"(a host passes its args without a shell): write the path out, {home}/proj/mcp.yaml"], run
    assert "init" not in run.stderr


def test_diff_and_init_name_the_file_a_variable_would_make(home: Path) -> None:
    """Only `validate` named the file `$HOME/…` would make; `diff` read it as a missing `REV:path`, `init --openapi`
    as `cannot read /cwd/$HOME/…`."""
    diffed = _run(home, "diff", "$HOME/proj/mcp.yaml", "~/proj/mcp.yaml")
    assert diffed.returncode == 2
    assert diffed.stderr.splitlines() == [
        "error: $HOME/proj/mcp.yaml: no such file; mcprt does not expand environment variables in a path it is given "
        f"(a host passes its args without a shell): write the path out, {home}/proj/mcp.yaml"], diffed
    made = _run(home, "init", "--openapi", "$HOME/specs/items.json", "--out", str(home / "new.yaml"), "--no-input")
    assert made.returncode == 2
    assert made.stderr.splitlines() == [
        "error: $HOME/specs/items.json: no such file; mcprt does not expand environment variables in a path it is "
        f"given (a host passes its args without a shell): write the path out, {home}/specs/items.json"], made
    assert not (home / "new.yaml").exists()


@pytest.mark.parametrize("args", [
    ("init", "--openapi", "~/specs/items.json", "--out", "~nosuch_mcprt/x.yaml", "--no-input"),
    ("validate", "~nosuch_mcprt/proj/mcp.yaml"),
    ("up", "~nosuch_mcprt/proj/mcp.yaml"),
], ids=["init-out", "validate", "up"])
def test_a_tilde_naming_no_user_is_refused_not_read_as_a_folder(home: Path, tmp_path_factory: pytest.TempPathFactory,
                                                                 args: tuple[str, ...]) -> None:
    """`init --out '~nosuch/x.yaml'` wrote `./~nosuch/x.yaml` in the working folder, and `validate` offered an
    `init` to write there: a `~user` with no such user is an error saying so, and nothing is written."""
    cwd = tmp_path_factory.mktemp("cwd")
    run = mcprt_process(*args, cwd=cwd, env={"HOME": str(home), "MCPRT_CACHE_DIR": str(home / "cache")})
    assert run.returncode == 2, run
    given = next(arg for arg in args if arg.startswith("~nosuch"))
    assert run.stderr.splitlines() == [
        f"error: {given}: cannot expand ~nosuch_mcprt (no user 'nosuch_mcprt' here): write the path out"], run
    assert list(cwd.iterdir()) == []


def test_a_manifest_expands_a_tilde_in_include_and_command_and_refuses_an_unknown_user(home: Path) -> None:
    """`openapi: ~/…` was expanded while `include: [~/…]` was read as `./~/…` ("included manifest not found") and
    a `command: ~/bin/…` was looked for under the manifest's folder."""
    (home / "bin").mkdir()
    server = home / "bin" / "echo-server"
    server.write_text(f"#!{sys.executable}\n{ECHO_SERVER}")
    server.chmod(0o755)
    (home / "team").mkdir()
    (home / "team" / "mcp.yaml").write_text(
        "version: 1\ninclude: [\"~/proj/mcp.yaml\"]\nsources:\n  echo:\n    command: ~/bin/echo-server\n")
    env = {"HOME": str(home), "MCPRT_CACHE_DIR": str(home / "cache"), "MCPRT_INCLUDE_PATHS": str(home / "proj")}
    run = mcprt_cli("tools", "~/team/mcp.yaml", "--json", cwd=Path("/"), env=env)
    assert run.returncode == 0, run
    assert {tool["name"] for tool in json.loads(run.stdout)["tools"]} >= {"add", "echo"}, run  # include, command
    (home / "team" / "bad.yaml").write_text(
        "version: 1\ninclude: [\"~nosuch_mcprt/proj/mcp.yaml\"]\nsources: {}\n")
    bad = mcprt_cli("validate", "~/team/bad.yaml", cwd=Path("/"), env=env)
    assert bad.returncode == 2
    assert (f"{home}/team/bad.yaml:2:11: include ~nosuch_mcprt/proj/mcp.yaml: cannot expand ~nosuch_mcprt (no user "
            "'nosuch_mcprt' here): write the path out") in bad.stderr, bad
    (home / "team" / "bad_spec.yaml").write_text("version: 1\nsources:\n  items:\n    openapi: ~nosuch_mcprt/x.json\n")
    bad = mcprt_cli("validate", "~/team/bad_spec.yaml", cwd=Path("/"), env=env)
    assert bad.returncode == 2
    assert (f"{home}/team/bad_spec.yaml:4:14: ~nosuch_mcprt/x.json: cannot expand ~nosuch_mcprt (no user "
            "'nosuch_mcprt' here): write the path out") in bad.stderr, bad
