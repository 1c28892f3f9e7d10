"""A `.env` statement that does not parse (found by a new-user trial): python-dotenv's bare
`python-dotenv could not parse statement starting at line 1` came out twice (the settings and the
manifest loader both read the file) with no path. Now: one warning per file and line, naming both,
in mcprt's log format; the statement itself is not echoed (it may hold a secret); the good lines
still count."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.logs import message_of
from tests.support.cli import mcprt_cli

MANIFEST = """\
version: 1
server: {name: dotenv-demo}
sources:
  api:
    openapi: ./api.yaml
    base_url: ${API_BASE}
"""
SPEC = """\
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /ping:
    get:
      operationId: ping
      responses: {"200": {description: ok}}
"""
SECRET = "s3cr3t-value-never-shown"


def project(folder: Path, dotenv: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mcp.yaml").write_text(MANIFEST)
    (folder / "api.yaml").write_text(SPEC)
    (folder / ".env").write_text(dotenv)
    return folder / "mcp.yaml"


def mcprt(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return mcprt_cli(*args, cwd=cwd, env=env)


def test_one_warning_with_file_and_line_when_settings_and_manifest_share_the_file(tmp_path: Path) -> None:
    manifest = project(tmp_path, f"API_BASE=http://127.0.0.1:9\n{{\"TOKEN\": \"{SECRET}\"}}\n")
    done = mcprt(tmp_path, "validate", "mcp.yaml")
    assert done.returncode == 0, done.stderr  # API_BASE from line 1 still counts
    assert "python-dotenv could not parse" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if ".env" in line]
    assert len(lines) == 1, done.stderr
    assert "WARNING mcprt.env: " in lines[0], lines  # its message holds `=`: written as a quoted `msg` (logfmt)
    assert message_of(lines[0], "mcprt.env").startswith(
        f"{manifest.parent.resolve() / '.env'}:2: not a NAME=value statement; ignored"), lines
    assert SECRET not in done.stderr and SECRET not in done.stdout


def test_each_file_named_when_the_working_directory_has_its_own(tmp_path: Path) -> None:
    manifest = project(tmp_path / "project", "API_BASE=http://127.0.0.1:9\n\nthis line is wrong\n")
    (tmp_path / ".env").write_text("MCPRT_LOG_FORMAT=json\n'unterminated\n")
    done = mcprt(tmp_path, "tools", str(manifest))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    messages = sorted(r["msg"] for r in records if r["logger"] == "mcprt.env")
    assert len(messages) == 2, done.stderr
    assert messages[0].startswith(f"{(tmp_path / '.env').resolve()}:2: not a NAME=value statement")
    assert messages[1].startswith(f"{(manifest.parent / '.env').resolve()}:3: not a NAME=value statement")
    assert "python-dotenv could not parse" not in done.stderr


def test_init_and_pin_also_say_which_line_they_ignored(tmp_path: Path) -> None:
    """`mcprt init` and `mcprt pin` read the settings (so the working directory's `.env`) without serving:
    they set up the same quiet logging as validate, so the warning is not lost there."""
    project(tmp_path, f"API_BASE=http://127.0.0.1:9\n{{\"TOKEN\": \"{SECRET}\"}}\n")
    expected = f"{tmp_path.resolve() / '.env'}:2: not a NAME=value statement; ignored"
    init = mcprt(tmp_path, "init", "--openapi", "api.yaml", "--out", "new/mcp.yaml", "--no-input")
    pin = mcprt(tmp_path, "pin", "mcp.yaml")
    for done in (init, pin):
        assert done.returncode == 0, done.stderr
        assert expected in done.stderr and SECRET not in done.stderr + done.stdout, done.stderr
