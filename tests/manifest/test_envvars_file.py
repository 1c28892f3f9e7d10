"""`${VAR}` from the file `VAR_FILE` names: a credential mounted from a Kubernetes Secret, rotated live.

A Kubernetes trial (report fault 4): `${VAR}` read only the environment and `.env`; the shipped Deployment's
`envFrom: secretRef` put every credential in the environment, which beats `.env`, so rotating one needed a pod
restart. Now `VAR_FILE` (the official Docker images' convention) names a file holding the value, watched like the
manifest: the kubelet's swap of the mounted Secret reloads, and the new credential applies without a restart.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcprt.errors import ManifestError
from mcprt.manifest.loader import load_manifest
from tests.support.kubelet import kubelet_swap
from tests.support.served import child_env, http_client, mcprt_http, text_of
from tests.support.upstream import serve_app

OLD_TOKEN = "ci-token-old-0123456789abcdef"
NEW_TOKEN = "ci-token-new-fedcba9876543210"
AUTHED = 'version: 1\nserver:\n  auth:\n    tokens: {ci-bot: "${CI_TOKEN}"}\nsources:\n  t: {python: tools}\n'
TOOLS = 'def ping() -> str:\n    """Ping."""\n    return "pong"\n'


def _project(folder: Path, manifest: str = AUTHED) -> Path:
    (folder / "tools.py").write_text(TOOLS)
    (folder / "mcp.yaml").write_text(manifest)
    return folder / "mcp.yaml"


def _token(loaded_manifest: object) -> str:
    auth = loaded_manifest.server.auth  # type: ignore[attr-defined]
    return next(iter(auth.tokens.values())).get_secret_value()


@pytest.mark.parametrize(("content", "value"), [
    ("s3cret-token-value\n", "s3cret-token-value"),  # `echo`'s newline
    ("s3cret-token-value", "s3cret-token-value"),  # `kubectl create secret --from-literal`: none
    ("s3cret-token-value\r\n", "s3cret-token-value"),
    ("s3cret-token-value\n\n", "s3cret-token-value\n"),  # one newline only: the value's own is kept
])
def test_a_variable_is_read_from_the_file_its_FILE_variable_names(tmp_path: Path, content: str, value: str) -> None:
    manifest = _project(tmp_path)
    secret = tmp_path / "mounted" / "CI_TOKEN"
    secret.parent.mkdir()
    secret.write_bytes(content.encode())
    loaded = load_manifest(manifest, env={"CI_TOKEN_FILE": str(secret)})
    assert _token(loaded.manifest) == value
    assert secret in loaded.files  # watched by hot reload (reload.files.manifest_files)


def test_a_relative_path_is_the_manifests_folders_and_a_default_gives_way_to_the_file(tmp_path: Path) -> None:
    manifest = _project(tmp_path, AUTHED.replace("${CI_TOKEN}", "${CI_TOKEN:-fallback-token-0123456789}"))
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "ci").write_text("from-the-file-0123456789\n")
    loaded = load_manifest(manifest, env={"CI_TOKEN_FILE": "secrets/ci"})
    assert _token(loaded.manifest) == "from-the-file-0123456789"


def test_the_variable_itself_wins_over_its_file(tmp_path: Path) -> None:
    """Set in the environment or `.env`, `VAR` is used as before; `VAR_FILE` is read only when it is unset."""
    manifest = _project(tmp_path)
    (tmp_path / "ci").write_text("from-the-file-0123456789\n")
    loaded = load_manifest(manifest, env={"CI_TOKEN": "from-the-env-0123456789", "CI_TOKEN_FILE": "ci"})
    assert _token(loaded.manifest) == "from-the-env-0123456789"
    assert (tmp_path / "ci") not in loaded.files


@pytest.mark.parametrize("make", ["missing", "folder", "binary"])
def test_a_file_that_cannot_be_read_is_an_error_at_the_line_naming_the_variable_not_the_content(
        tmp_path: Path, make: str) -> None:
    manifest = _project(tmp_path)
    secret = tmp_path / "ci"
    if make == "folder":
        secret.mkdir()
    elif make == "binary":
        secret.write_bytes(b"\xff\xfe-very-secret-bytes")
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest, env={"CI_TOKEN_FILE": str(secret)})
    [error] = caught.value.errors
    reason = {"missing": "No such file or directory", "folder": "Is a directory", "binary": "not UTF-8 text"}[make]
    assert (error.file, error.line, error.col) == (str(manifest), 4, 22), error
    assert error.message.startswith(f"CI_TOKEN is read from CI_TOKEN_FILE={secret}, which "), error
    assert reason in error.message, error
    assert "very-secret" not in str(caught.value)


def test_the_cli_says_a_missing_secret_file_at_its_line_exit_2(tmp_path: Path) -> None:
    from tests.support.cli import mcprt_cli

    _project(tmp_path)
    done = mcprt_cli("validate", "mcp.yaml", cwd=tmp_path,
                     env={"MCPRT_TRANSPORT": "http", "CI_TOKEN_FILE": "/var/run/secrets/mcprt/CI_TOKEN"})
    assert done.returncode == 2, done
    assert ("mcp.yaml:4:22: CI_TOKEN is read from CI_TOKEN_FILE=/var/run/secrets/mcprt/CI_TOKEN, which cannot be "
            "read (No such file or directory)") in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


WHOAMI_SPEC = """openapi: 3.0.3
info: {title: Who, version: "1"}
servers: [{url: "UPSTREAM"}]
paths:
  /whoami:
    get:
      operationId: whoami
      summary: Which credential the call carried.
      responses: {"200": {description: ok}}
  /echo:
    get:
      operationId: echo
      summary: The Authorization header the call carried, echoed back.
      responses: {"200": {description: ok}}
"""


def _upstream_app() -> Starlette:
    """A real upstream that says which of the two tokens a request carried (401 for any other)."""

    async def whoami(request: Request) -> JSONResponse:
        given = request.headers.get("authorization", "")
        known = {f"Bearer {OLD_TOKEN}": "old", f"Bearer {NEW_TOKEN}": "new"}
        if given not in known:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return JSONResponse({"caller": known[given]})

    async def echo(request: Request) -> JSONResponse:  # an upstream that leaks the credential into its answer
        return JSONResponse({"authorization": request.headers.get("authorization", "")})

    return Starlette(routes=[Route("/whoami", whoami), Route("/echo", echo)])


async def _caller(url: str, tool: str = "whoami") -> str:
    async with http_client(url) as client:
        return text_of(await client.call_tool(tool, {}))


async def test_a_rotated_secret_file_applies_live_and_is_never_logged(tmp_path: Path) -> None:
    """The Deployment's Secret volume: the kubelet swaps `..data` to a folder with the new upstream token. The
    server reloads (no restart) and the next call carries the new token; neither token is in its log. An
    emptied Secret key is refused (an empty credential) and the last good token keeps serving."""
    config = tmp_path / "config"
    config.mkdir()
    secrets = tmp_path / "secrets"
    kubelet_swap(secrets, {"UP_TOKEN": OLD_TOKEN + "\n"})
    with serve_app(_upstream_app()) as upstream:
        (config / "api.yaml").write_text(WHOAMI_SPEC.replace("UPSTREAM", upstream))
        (config / "mcp.yaml").write_text('version: 1\nsources:\n  api:\n    openapi: api.yaml\n'
                                         '    auth: {bearer: "${UP_TOKEN}"}\n')
        env = child_env(UP_TOKEN_FILE=str(secrets / "UP_TOKEN"), MCPRT_CACHE_DIR=str(tmp_path / "cache"),
                        MCPRT_LOG_FORMAT="json", MCPRT_ALLOW_UNAUTHENTICATED="1")
        with mcprt_http(config / "mcp.yaml", env=env) as up:
            assert '{"caller":"old"}' == await _caller(up.url)
            kubelet_swap(secrets, {"UP_TOKEN": NEW_TOKEN + "\n"})
            up.wait_log("reload applied", timeout=30)
            assert '{"caller":"new"}' == await _caller(up.url)
            echoed = await _caller(up.url, "echo")  # scrubbed as a credential from the environment is
            assert NEW_TOKEN not in echoed and "Bearer" in echoed, echoed
            kubelet_swap(secrets, {"UP_TOKEN": ""})
            up.wait_log("reload failed", timeout=30)
            assert '{"caller":"new"}' == await _caller(up.url)
            log = up.log()
    assert OLD_TOKEN not in log and NEW_TOKEN not in log
    applied = [json.loads(line) for line in log.splitlines() if '"reload applied"' in line]
    assert applied and "UP_TOKEN" in applied[0].get("files", ""), applied


def test_the_FILE_variable_may_come_from_dotenv_beside_the_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`.env` may name the file as the environment may (both are where `${VAR}`s come from)."""
    monkeypatch.delenv("CI_TOKEN", raising=False)
    monkeypatch.delenv("CI_TOKEN_FILE", raising=False)
    manifest = _project(tmp_path)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "ci").write_text("from-dotenv-file-0123456789\n")
    (tmp_path / ".env").write_text("CI_TOKEN_FILE=run/ci\n")
    loaded = load_manifest(manifest)
    assert _token(loaded.manifest) == "from-dotenv-file-0123456789"
    assert tmp_path / "run" / "ci" in [p.resolve() for p in loaded.files]
