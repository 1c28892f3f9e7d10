"""`server.auth`'s `${VAR}`s are needed over HTTP only: over stdio (and in `mcprt validate`) an unset one
is a warning naming it, HTTP still refuses to start, and a source's credential is still required.

The README's case: its example manifest with `bearer_tokens: ["${MCPRT_TOKEN}"]` and a Claude Desktop
config that sets only the upstream's token. `mcprt up` runs as a real subprocess, driven over stdio by
the SDK client.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from mcp import Client
from mcp.client.stdio import stdio_client

from server_support import demo_manifest, stdio_params, text_of
from tests.support.served import child_env, launch_command

UNSET = "environment variable MCPRT_TEST_TOKEN is not set"
NEEDED = "it is needed to serve over HTTP"


def _auth_manifest(folder: Path, extra_token: bool = True) -> tuple[Path, str]:
    """The demo manifest with inbound auth (plus a named token); the `file:line:col` of its bearer token."""
    manifest = demo_manifest(folder, auth=True)
    if extra_token:
        text = manifest.read_text().replace(
            '  auth: {bearer_tokens: ["${MCPRT_TEST_TOKEN}"]}',
            '  auth: {bearer_tokens: ["${MCPRT_TEST_TOKEN}"], tokens: {ci: "${MCPRT_TEST_CI_TOKEN}"}}')
        manifest.write_text(text)
    for number, line in enumerate(manifest.read_text().splitlines(), 1):
        if "${MCPRT_TEST_TOKEN}" in line:
            col = line.index('"${MCPRT_TEST_TOKEN}') + 1
            return manifest, f"{manifest.name}:{number}:{col}"
    raise AssertionError("no token line")


def _run(manifest: Path, *args: str, env: dict[str, str] | None = None, command: str = "up") -> subprocess.CompletedProcess[str]:
    argv = launch_command(manifest, *args)
    if command != "up":
        argv[argv.index("up")] = command
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env or child_env(),
                          cwd=manifest.parent, stdin=subprocess.DEVNULL)


async def test_stdio_serves_with_the_auth_variables_unset_and_warns_once_each(tmp_path: Path) -> None:
    manifest, where = _auth_manifest(tmp_path)
    params = stdio_params(manifest)
    params.env = child_env()  # neither MCPRT_TEST_TOKEN nor MCPRT_TEST_CI_TOKEN
    log = tmp_path / "stderr.log"
    with open(log, "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:  # type: ignore[arg-type]
            listed = await client.list_tools()
            assert sorted(tool.name for tool in listed.tools) == ["add", "echo", "fail"]
            result = await client.call_tool("add", {"a": 2, "b": 40})
            assert not result.is_error and text_of(result) == "42"
    stderr = log.read_text()
    assert stderr.count(UNSET) == 1, stderr
    assert f"{where}: warning: {UNSET}: {NEEDED}" in stderr, stderr
    assert stderr.count("environment variable MCPRT_TEST_CI_TOKEN is not set: " + NEEDED) == 1, stderr


def test_http_still_refuses_an_unset_auth_variable_with_its_position(tmp_path: Path) -> None:
    manifest, where = _auth_manifest(tmp_path, extra_token=False)
    for args, env in ((("--transport", "http", "--port", "0"), child_env()),
                      (("--port", "0"), child_env(MCPRT_TRANSPORT="http"))):  # the transport from the environment
        done = _run(manifest, *args, env=env)
        assert done.returncode == 2, done.stderr
        assert f"{where}: {UNSET} (set it, add it to .env beside the manifest, " in done.stderr
        assert "warning" not in done.stderr and "Traceback" not in done.stderr


def test_validate_warns_that_the_variable_is_needed_for_http(tmp_path: Path) -> None:
    manifest, where = _auth_manifest(tmp_path, extra_token=False)
    done = _run(manifest, command="validate")
    assert done.returncode == 0, done.stderr
    assert f"{where}: warning: {UNSET}: {NEEDED}" in done.stderr
    strict = _run(manifest, "--strict", command="validate")
    assert strict.returncode == 2 and f"{where}: {UNSET}: {NEEDED}" in strict.stderr, strict.stderr  # --strict: an error


def test_a_sources_credential_is_still_required_over_stdio(tmp_path: Path) -> None:
    manifest, _ = _auth_manifest(tmp_path, extra_token=False)
    text = manifest.read_text() + (
        "  api:\n    openapi: ./api.json\n    base_url: http://127.0.0.1:9/\n"
        "    auth: {bearer: \"${MCPRT_TEST_UPSTREAM_TOKEN}\"}\n")
    manifest.write_text(text)
    line = next(n for n, l in enumerate(text.splitlines(), 1) if "MCPRT_TEST_UPSTREAM_TOKEN" in l)
    done = _run(manifest)
    assert done.returncode == 2, done.stderr
    assert f"{manifest.name}:{line}:" in done.stderr
    assert "environment variable MCPRT_TEST_UPSTREAM_TOKEN is not set (set it" in done.stderr
    assert "Traceback" not in done.stderr


OAUTH = (
    '  auth:\n'
    '    oauth:\n'
    '      issuer: "${MCPRT_TEST_ISSUER}"\n'
    '      clock_skew: "${MCPRT_TEST_SKEW}"\n'
    '      algorithms: ["${MCPRT_TEST_ALG}", ES256]\n'
    '      introspection: {url: "${MCPRT_TEST_IURL}", client_id: mcprt, client_secret: "${MCPRT_TEST_SECRET}",'
    ' cache: "${MCPRT_TEST_CACHE}"}\n'
)
OAUTH_VARS = ("MCPRT_TEST_ISSUER", "MCPRT_TEST_SKEW", "MCPRT_TEST_ALG", "MCPRT_TEST_IURL", "MCPRT_TEST_SECRET",
              "MCPRT_TEST_CACHE")


def _oauth_manifest(folder: Path, extra: str = "") -> Path:
    """The demo manifest whose `server.auth.oauth` reads every field from a variable: some fields take
    the empty string an unset one leaves (issuer), some refuse it (a duration, an algorithm)."""
    manifest = demo_manifest(folder)
    text = manifest.read_text().replace("sources:\n", OAUTH + extra + "sources:\n")
    manifest.write_text(text)
    return manifest


def _warned_once_each(stderr: str, algorithm_errors: int = 0) -> None:
    """Each unset variable is a warning, and no schema error is reported at an unset value."""
    for name in OAUTH_VARS:
        assert stderr.count(f"environment variable {name} is not set: {NEEDED}") == 1, stderr
    assert "invalid duration" not in stderr and stderr.count("Input should be") == algorithm_errors, stderr


async def test_stdio_serves_with_every_oauth_variable_unset_as_with_the_tokens(tmp_path: Path) -> None:
    """Each `server.auth.oauth` field behaves as `server.auth.tokens` does: its own schema error (an
    empty `clock_skew` is no duration) used to stop stdio instead of the warning."""
    params = stdio_params(_oauth_manifest(tmp_path))
    params.env = child_env()  # none of OAUTH_VARS
    log = tmp_path / "stderr.log"
    with open(log, "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:  # type: ignore[arg-type]
            result = await client.call_tool("add", {"a": 2, "b": 40})
            assert not result.is_error and text_of(result) == "42"
    _warned_once_each(log.read_text())


def test_validate_warns_for_unset_oauth_variables_and_still_reports_the_written_errors(tmp_path: Path) -> None:
    manifest = _oauth_manifest(tmp_path)
    done = _run(manifest, command="validate")
    assert done.returncode == 0, done.stderr
    _warned_once_each(done.stderr)
    # A value written wrong beside the unset ones is still an error, at its own place; the unset ones only warn.
    text = manifest.read_text().replace("ES256]", "HS256]").replace("      issuer:", "      clock_skw: 5s\n      issuer:")
    manifest.write_text(text)
    lines = text.splitlines()
    algorithms = next(n for n, line in enumerate(lines, 1) if "HS256" in line)
    done = _run(manifest, command="validate")
    assert done.returncode == 2, done.stderr
    _warned_once_each(done.stderr, algorithm_errors=1)  # HS256's, not the unset item's
    assert f"{manifest.name}:{algorithms}:{lines[algorithms - 1].index('HS256') + 1}: " \
           "server.auth.oauth.algorithms.1: Input should be" in done.stderr, done.stderr
    assert "unknown key 'clock_skw' (did you mean 'clock_skew'?)" in done.stderr and "2 errors" in done.stderr, \
        done.stderr


def test_http_still_refuses_each_unset_oauth_variable(tmp_path: Path) -> None:
    done = _run(_oauth_manifest(tmp_path), "--transport", "http", "--port", "0")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    for name in OAUTH_VARS:
        assert f"environment variable {name} is not set (set it" in done.stderr, done.stderr
