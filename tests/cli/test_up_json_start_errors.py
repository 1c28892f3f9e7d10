"""Under `MCPRT_LOG_FORMAT=json` (the Docker image's setting) every line `mcprt up` writes when it cannot
start is one JSON object: a diagnostic's `file`, `line`, `col` and message as fields, exit 2 kept, no
traceback. Commands a person runs (`validate`) keep plain `file:line:col: message` text.

Found by the last pass: the serving lines were JSON, but `mcprt up bad.yaml` printed
`/tmp/bad.yaml:5:5: sources.a: unknown key 'bogus' (…)` and `1 error` as bare text (over HTTP after a JSON
"closing sources" line), as did every other failure to start."""

from __future__ import annotations

import json
import socket
import subprocess
import textwrap
from pathlib import Path

import logfmtkv
import pytest

from tests.support.cli import mcprt_process
from tests.support.served import child_env, launch_command

SPEC = """\
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /x:
    get:
      operationId: getX
      responses: {'200': {description: ok}}
"""


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _manifest(folder: Path, body: str, spec: str = SPEC) -> Path:
    (folder / "spec.yaml").write_text(spec)
    path = folder / "mcp.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def _up(manifest: Path, *args: str, fmt: str = "json", **env: str) -> tuple[int, list[dict], str]:
    """`mcprt up MANIFEST ARGS` with stdin closed: (exit code, its stderr as JSON records, the raw stderr).
    Fails on a stderr line that is not one JSON object."""
    # a fork of the suite's warm zygote where it can be (tests/support/zygote.py): the real `python -m mcprt up`
    # code path and streams without ~1.5 s of imports, which these start failures are not about
    done = subprocess.run(launch_command(manifest, *args), env=child_env(MCPRT_LOG_FORMAT=fmt, **env),
                          cwd=manifest.parent, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120)
    assert done.stdout == "", done.stdout  # stdout belongs to the stdio transport
    if fmt != "json":
        return done.returncode, [], done.stderr
    records = []
    for line in done.stderr.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}\nin:\n{done.stderr}") from None
        assert isinstance(record, dict) and record["logger"] == "mcprt" and record["ts"].endswith("Z"), record
        records.append(record)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, records, done.stderr


def _errors(records: list[dict]) -> list[dict]:
    return [r for r in records if r["level"] == "error"]


BOGUS = """\
    version: 1
    sources:
      a:
        openapi: ./spec.yaml
        bogus: 1
    """


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_manifest_error_is_a_json_line_with_its_place(tmp_path: Path, transport: str) -> None:
    manifest = _manifest(tmp_path, BOGUS)
    code, records, _ = _up(manifest, "--transport", transport, "--port", "0")
    assert code == 2
    first, summary = _errors(records)
    assert first["msg"].startswith("sources.a: unknown key 'bogus'"), first
    assert (first["file"], first["line"], first["col"]) == (str(manifest), 5, 5), first
    assert summary["msg"] == "1 error" and summary["errors"] == 1, summary


def test_a_spec_it_cannot_read_is_json_after_closing_sources(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, """\
        version: 1
        sources:
          a:
            openapi: ./spec.yaml
        """, spec="openapi: [\n")
    code, records, _ = _up(manifest, "--transport", "http", "--port", "0")
    assert code == 2
    spec_error = _errors(records)[0]
    assert "./spec.yaml: invalid YAML" in spec_error["msg"], spec_error
    assert (spec_error["file"], spec_error["line"], spec_error["col"]) == (str(manifest), 4, 14), spec_error
    assert records[-1]["msg"] == "1 error", records


def test_an_unset_variable_is_a_json_line(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, """\
        version: 1
        sources:
          a:
            openapi: ./spec.yaml
            base_url: http://127.0.0.1:1
            auth: {bearer: "${S9A_UNSET_TOKEN}"}
        """)
    code, records, _ = _up(manifest)
    assert code == 2
    error = _errors(records)[0]
    assert error["msg"].startswith("environment variable S9A_UNSET_TOKEN is not set"), error
    assert (error["line"], error["col"]) == (6, 20), error


def test_a_missing_manifest_is_a_json_line(tmp_path: Path) -> None:
    code, records, _ = _up(tmp_path / "absent.yaml")
    assert code == 2
    (error,) = records
    assert error["level"] == "error" and "absent.yaml does not exist" in error["msg"], error


def test_a_busy_port_is_a_json_line(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, """\
        version: 1
        sources:
          a:
            openapi: ./spec.yaml
            base_url: http://127.0.0.1:1
        """)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, records, _ = _up(manifest, "--transport", "http", "--port", str(port))
    assert code == 2
    (error,) = records
    assert error["level"] == "error" and f"port {port} on 127.0.0.1 is in use" in error["msg"], error


def test_a_bad_setting_is_a_json_line_and_a_bad_log_format_is_text(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, BOGUS)
    code, records, _ = _up(manifest, MCPRT_PORT="eighty")
    assert code == 2
    (error,) = records
    assert error["msg"].startswith("invalid setting MCPRT_PORT: ") and error["setting"] == "MCPRT_PORT", error
    # the format itself refused: there is no JSON to speak, the lines are the usual text
    code, _, text = _up(manifest, fmt="yaml", MCPRT_PORT="eighty")
    assert code == 2
    assert text.splitlines() == [
        "error: invalid setting MCPRT_LOG_FORMAT: Input should be 'text' or 'json'",
        "error: invalid setting MCPRT_PORT: Input should be a valid integer, unable to parse string as an integer",
    ], text


def test_policy_errors_are_json_lines(tmp_path: Path) -> None:
    """A rule the manifest cannot hold, and shared state (for the rate limits) that cannot be reached."""
    manifest = _manifest(tmp_path, """\
        version: 1
        sources:
          a:
            openapi: ./spec.yaml
            base_url: http://127.0.0.1:1
        policy:
          rate_limits:
            - {match: {tools: ["*"]}, per: principal, limit: 60/fortnight}
        """)
    code, records, _ = _up(manifest)
    assert code == 2
    error = _errors(records)[0]
    assert error["msg"].startswith("policy.rate_limits.0.limit: invalid rate '60/fortnight'"), error
    assert (error["line"], error["col"]) == (8, 54), error

    state = f"redis://127.0.0.1:{_closed_port()}/0"
    manifest.write_text(manifest.read_text().replace("60/fortnight", "60/min") + f"server: {{state: '{state}'}}\n")
    # the start-up wait for it is the documented setting's 1 s, not its default 60 s (waited out for nothing here)
    code, records, _ = _up(manifest, "--transport", "http", "--port", "0", MCPRT_STATE_WAIT="1")
    assert code == 2
    (error,) = _errors(records)
    assert error["msg"].startswith(f"cannot reach the shared state at {state}"), error


def test_start_warnings_are_json_lines(tmp_path: Path) -> None:
    """The server starts (and ends: stdin is closed); its manifest warnings are JSON with their place."""
    manifest = _manifest(tmp_path, """\
        version: 1
        sources:
          a:
            openapi: ./spec.yaml
            base_url: http://127.0.0.1:1
            auth: {bearer: "literal-secret-abc"}
        """)
    code, records, raw = _up(manifest, "--no-reload")
    assert code == 0, raw
    warning = next(r for r in records if r["level"] == "warning")
    assert warning["msg"].startswith("a secret is written literally in the manifest"), warning
    assert (warning["file"], warning["line"], warning["col"]) == (str(manifest), 6, 20), warning
    assert "literal-secret-abc" not in raw


# a key holding a space, `=`, quotes and a line break: its diagnostic quotes it
FORGING = BOGUS.replace("bogus: 1", '"x=1 \\"q\\"\\nlevel=debug": 1')


def test_text_format_and_validate_keep_plain_lines(tmp_path: Path) -> None:
    """Text lines are logfmt records as every text log line is: a diagnostic whose message has `=`, quotes or
    a line break is the quoted field `msg="…"` (it was written bare, escaped only: a logfmt reader such as
    Loki's took `x=1` and `level=debug` for fields of the line and its quotes unbalanced the rest)."""
    manifest = _manifest(tmp_path, FORGING)
    code, _, text = _up(manifest, fmt="text")
    assert code == 2
    lines = text.splitlines()
    assert len(lines) == 2 and lines[-1] == "1 error", text
    record = logfmtkv.parse(lines[0], strict=True)  # a go-logfmt compatible reader: no lenient reading past errors
    assert list(record) == ["msg"], record
    assert record["msg"].startswith(f"{manifest}:5:5: sources.a: unknown key 'x=1 \"q\"\nlevel=debug' (allowed:"), record
    validate = mcprt_process("validate", str(manifest), cwd=tmp_path, env={"MCPRT_LOG_FORMAT": "json"}, forked=True,
                             timeout=120)
    assert validate.returncode == 2
    assert validate.stderr.splitlines()[0].startswith(f"{manifest}:5:5: sources.a: unknown key"), validate.stderr


def test_an_internal_error_is_one_json_line_its_traceback_a_field_under_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """A bug while `up` starts: one JSON line (exit 1) saying so; with --debug the traceback is its
    `traceback` field, never bare lines among the JSON."""
    from mcprt.cli.errors import guarded, set_debug

    from mcprt.observability import log

    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("MCPRT_LOG_FORMAT", "json")
    monkeypatch.delenv("MCPRT_DEBUG", raising=False)
    # as in a process whose logging is not set up yet: an earlier in-process test of this worker may have
    # called setup_logging("…", "text"), and the format it was told wins over the environment (log_format)
    monkeypatch.setattr(log, "_FORMAT", None)
    try:
        for debug in (False, True):
            set_debug(debug)
            with pytest.raises(SystemExit) as ended, guarded(serving=True):
                raise RuntimeError("a bug")
            assert ended.value.code == 1
            (line,) = capsys.readouterr().err.splitlines()
            record = json.loads(line)
            assert record["level"] == "error" and record["msg"].startswith("internal error: RuntimeError: a bug")
            assert ("traceback" in record) is debug and ("--debug" in record["msg"]) is not debug, record
            if debug:
                assert 'raise RuntimeError("a bug")' in record["traceback"]
    finally:
        set_debug(False)
