"""`.env` values expand `${VAR}` by the manifest's rule, not python-dotenv's (`mcprt.envfile`).

The i18n trial's faults: `KEY=${VAULT_KEY}` with VAULT_KEY unset reached the upstream as `X-Api-Key: ""` (an empty
credential, while the README promises an unset variable is "never an empty string sent upstream"), and
`SQ='東京 "quoted" ${NOPE}'` lost its `${NOPE}` inside single quotes. Now an unset reference leaves the `.env`
variable unset, so the manifest line using it is the error (exit 2, `file:line:col`, the `.env`'s place named);
single quotes are literal; `$${` escapes; `${VAR:-default}` works as in the manifest.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from mcprt.envfile import read_env_file

from tests.support.cli import mcprt_cli, mcprt_process
from tests.support.i18n_upstream import i18n_app, write_project
from tests.support.served import child_env, http_client, mcprt_http, stdio_up, text_of
from tests.support.upstream import serve_app

UNSET = "MCPRT_TEST_DOTENV_UNSET"  # never set: the fixture below makes sure
SET = "MCPRT_TEST_DOTENV_SET"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UNSET, raising=False)
    monkeypatch.setenv(SET, "from-process")


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with serve_app(i18n_app()) as url:
        yield url


def keyed_project(folder: Path, upstream: str, dotenv: str) -> Path:
    """The trial's `envt/mcp2.yaml`: the upstream's `X-Api-Key` header from `${KEY}`, KEY from `.env`."""
    (folder / ".env").write_text(dotenv, encoding="utf-8")
    return write_project(folder, upstream, '    headers: {X-Api-Key: "${KEY}"}\n')


# (the `.env` as the user wrote it, where the unset reference is: line:col)
UNSET_FORMS = [
    (f"KEY=${{{UNSET}}}\n", "1:5"),  # the trial's `KEY=${VAULT_KEY}`
    (f'KEY="${{{UNSET}}}"\n', "1:6"),
    (f"KEY=prefix-${{{UNSET}}}-suffix\n", "1:12"),
    (f'GREETING="Grüß Gott"\n\n  KEY="東京 \\"q\\" ${{{UNSET}}}"\n', "3:17"),  # after escapes and CJK: columns in characters
    (f"export KEY=${{{UNSET}}}\n", "1:12"),
    (f"A=${{{UNSET}}}\nKEY=${{A}}\n", "1:3"),  # through another variable of the file: the first cause is named
    (f"KEY=fine\nKEY=${{{UNSET}}}\n", "2:5"),  # a later line's fault undoes the earlier value
]


@pytest.mark.parametrize(("dotenv", "place"), UNSET_FORMS)
def test_an_unset_reference_in_dotenv_is_an_error_at_the_manifest_line_naming_the_dotenv_place(
        tmp_path: Path, upstream: str, dotenv: str, place: str) -> None:
    keyed_project(tmp_path, upstream, dotenv)
    done = mcprt_cli("validate", "mcp.yaml", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert (f"mcp.yaml:7:26: environment variable KEY is not set: {(tmp_path / '.env').resolve()}:{place} sets it "
            f"from ${{{UNSET}}}, which is not set") in done.stderr
    assert "Traceback" not in done.stderr


def test_mcprt_up_refuses_to_start_rather_than_send_an_empty_key(tmp_path: Path, upstream: str) -> None:
    manifest = keyed_project(tmp_path, upstream, f"KEY=${{{UNSET}}}\n")
    done = mcprt_process("up", str(manifest), "--transport", "http", "--port", "0", cwd=tmp_path, forked=True,
                         timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "environment variable KEY is not set" in done.stderr and "Traceback" not in done.stderr


# (the `.env` line, the X-Api-Key the upstream receives)
SENT_FORMS = [
    (f"KEY=${{{UNSET}:-}}\n", ""),  # an explicit empty default is the author's choice, as in the manifest
    (f"KEY=${{{UNSET}:-fallback-key}}\n", "fallback-key"),
    (f"KEY=${{{SET}}}\n", "from-process"),
    (f"{SET}=from-file\nKEY=${{{SET}}}\n", "from-process"),  # the process environment wins, as in the manifest
    ("PART=abc\nKEY=${PART}-${PART}\n", "abc-abc"),  # an earlier line of the same file
    (f"KEY='${{{UNSET}}}'\n", f"${{{UNSET}}}"),  # single quotes: literal, as in a shell and docker compose
    (f"KEY=$${{{UNSET}}}\n", f"${{{UNSET}}}"),  # `$${` writes a literal `${`, as in the manifest
    ("KEY=$PLAIN\n", "$PLAIN"),  # no braces: literal
]


@pytest.mark.parametrize(("dotenv", "sent"), SENT_FORMS)
def test_what_the_upstream_receives_through_mcprt_up(tmp_path: Path, upstream: str, dotenv: str,
                                                     sent: str | None) -> None:
    """Over streamable HTTP, the SDK client calling through `mcprt up` to a real upstream that echoes headers."""
    manifest = keyed_project(tmp_path, upstream, dotenv)
    with mcprt_http(manifest, "--no-reload", env=child_env(**{SET: "from-process"})) as up:
        echoed = anyio.run(_echo_headers, up.url)
    assert echoed.get("x-api-key") == sent


async def _echo_headers(url: str) -> dict[str, str]:
    async with http_client(url) as client:
        result = await client.call_tool("echo", {"id": "1"})
    assert not result.is_error, text_of(result)
    # a credential's value is scrubbed from results: the upstream sends it reversed as well, a form nobody scrubs
    return {name: value[::-1] for name, value in json.loads(text_of(result))["reversed_headers"].items()}


def test_the_trials_instructions_over_stdio(tmp_path: Path) -> None:
    """The trial's `envt` over stdio (SDK `initialize`): double quotes keep spaces and non-ASCII, single quotes keep
    `"` and `${…}` as written; a `${…}` naming no variable is kept with a warning at its place."""
    (tmp_path / ".env").write_text(
        'GREETING="Grüß Gott"\n'
        f"SQ='東京 \"quoted\" ${{{UNSET}}}'\n"
        "BARE=b\n"
        "ODD=${1X}\n", encoding="utf-8")
    (tmp_path / "mcp.yaml").write_text(
        "version: 1\nserver:\n  name: envt\n  instructions: \"G=[${GREETING}] SQ=[${SQ}] BARE=[${BARE}] "
        "ODD=[${ODD}]\"\nsources: {}\n", encoding="utf-8")

    async def instructions() -> str | None:
        async with Client(stdio_up(tmp_path / "mcp.yaml", env=child_env())) as client:
            return client.instructions

    assert anyio.run(instructions) == f'G=[Grüß Gott] SQ=[東京 "quoted" ${{{UNSET}}}] BARE=[b] ODD=[${{1X}}]'


def test_a_reference_naming_no_variable_is_kept_with_a_warning_at_its_place(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=1\nODD=x ${1X}\n")
    (tmp_path / "mcp.yaml").write_text('version: 1\nserver: {name: s, instructions: "${ODD}"}\nsources: {}\n')
    done = mcprt_cli("validate", "mcp.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{(tmp_path / '.env').resolve()}:2:7: ${{1X}} names no variable" in done.stderr


def test_read_env_file_keeps_why_a_variable_is_unset(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"OK=1\nKEY=${{{UNSET}}}\n")
    values = read_env_file(tmp_path / ".env", {})
    assert dict(values) == {"OK": "1"}
    why = values.unresolved["KEY"]
    assert (why.line, why.col, why.missing) == (2, 5, UNSET)


def test_a_reload_applies_the_same_rule(tmp_path: Path, upstream: str) -> None:
    """`mcprt up` serving with a good key; `.env` then edited to reference an unset variable: the reload is refused
    (logged with the place) and the upstream keeps getting the last good key, never an empty one."""
    manifest = keyed_project(tmp_path, upstream, "KEY=first-key\n")
    with mcprt_http(manifest, env=child_env()) as up:
        assert anyio.run(_echo_headers, up.url)["x-api-key"] == "first-key"
        mark = up.log_mark()
        time.sleep(0.05)
        (tmp_path / ".env").write_text(f"KEY=${{{UNSET}}}\n")
        deadline = time.monotonic() + 30
        while "environment variable KEY is not set" not in up.log_since(mark):
            assert time.monotonic() < deadline, up.log_since(mark)
            time.sleep(0.05)
        assert f".env:1:5 sets it from ${{{UNSET}}}" in up.log_since(mark)
        assert anyio.run(_echo_headers, up.url)["x-api-key"] == "first-key"


# a module that logs at import (`validate` and `call` both import it): a line in the log format that took effect
PY_TOOL = ('import logging\nlogging.getLogger(__name__).warning("imported")\n\n\n'
           'def hello(name: str) -> str:\n    """Say hello."""\n    return f"hello {name}"\n')


@pytest.mark.parametrize(("dotenv", "json_logs", "warned"), [
    (f"MCPRT_LOG_FORMAT=${{{UNSET}}}\n", False, f".env:1:18 sets it from ${{{UNSET}}}, which is not set"),
    (f"MCPRT_LOG_FORMAT=${{{UNSET}:-json}}\n", True, None),
    (f"MCPRT_LOG_FORMAT=${{{SET}:-json}}\n", None, None),  # "from-process": refused by both commands alike
    ("MCPRT_LOG_FORMAT='json'\n", True, None),
])
def test_the_operators_dotenv_settings_follow_the_same_rule_in_every_command(
        tmp_path: Path, dotenv: str, json_logs: bool | None, warned: str | None) -> None:
    """Review of fixi1, problem 6: the working directory's `.env` was read by `envfile` for the manifest and by
    pydantic-settings for `MCPRT_*`, so `MCPRT_LOG_FORMAT=${UNSET}` was unset for one and "" for the other:
    `mcprt validate` said ok, `mcprt call` refused the setting. One reader now: an unset reference leaves the setting
    at its default with a warning at its place, in `validate` and `call` alike."""
    (tmp_path / "tools.py").write_text(PY_TOOL)
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  py:\n    python: tools\n")
    (tmp_path / ".env").write_text(dotenv)
    env = {SET: "from-process"}
    checked = mcprt_cli("validate", "mcp.yaml", cwd=tmp_path, env=env)
    called = mcprt_cli("call", "mcp.yaml", "hello", "--args", '{"name": "x"}', cwd=tmp_path, env=env)
    if json_logs is None:
        for run in (checked, called):
            assert run.returncode == 2 and "invalid setting MCPRT_LOG_FORMAT" in run.stderr
        return
    assert checked.returncode == 0, checked.stderr
    assert called.returncode == 0 and "hello x" in called.stdout, called.stderr
    for run in (checked, called):
        said = [line for line in run.stderr.splitlines() if "imported" in line]
        assert len(said) == 1, run.stderr
        assert said[0].startswith("{") == json_logs, run.stderr
        if warned is not None:
            assert f"setting MCPRT_LOG_FORMAT left unset, its default applies: {tmp_path / '.env'}" in run.stderr
            assert warned in run.stderr


def test_the_environment_beats_the_operators_dotenv(tmp_path: Path) -> None:
    (tmp_path / "tools.py").write_text(PY_TOOL)
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  py:\n    python: tools\n")
    (tmp_path / ".env").write_text("MCPRT_LOG_FORMAT=text\n")
    run = mcprt_cli("validate", "mcp.yaml", cwd=tmp_path, env={"MCPRT_LOG_FORMAT": "json"})
    said = [line for line in run.stderr.splitlines() if "imported" in line]
    assert run.returncode == 0 and len(said) == 1 and said[0].startswith("{"), run.stderr
