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


def test_a_relative_path_is_the_root_manifests_folders_and_a_default_gives_way_to_the_file(tmp_path: Path) -> None:
    manifest = _project(tmp_path, AUTHED.replace("${CI_TOKEN}", "${CI_TOKEN:-fallback-token-0123456789}"))
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "ci").write_text("from-the-file-0123456789\n")
    loaded = load_manifest(manifest, env={"CI_TOKEN_FILE": "secrets/ci"})
    assert _token(loaded.manifest) == "from-the-file-0123456789"


def test_the_variable_and_its_file_both_set_is_an_error_naming_both(tmp_path: Path) -> None:
    """The convention's own rule (`file_env`: "both VAR and VAR_FILE are set (but are exclusive)"). A review: with
    `envFrom: secretRef` kept and `CI_TOKEN_FILE` added, `CI_TOKEN` won silently and no rotation ever applied."""
    manifest = _project(tmp_path)
    (tmp_path / "ci").write_text("from-the-file-0123456789\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest, env={"CI_TOKEN": "from-the-env-0123456789", "CI_TOKEN_FILE": "ci"})
    [error] = caught.value.errors
    assert (error.file, error.line, error.col) == (str(manifest), 4, 22), error
    assert error.message.startswith("both CI_TOKEN and CI_TOKEN_FILE are set, but they are exclusive"), error
    assert "from-the-env" not in str(caught.value) and "from-the-file" not in str(caught.value)


def test_a_FILE_value_that_is_not_a_path_is_never_repeated(tmp_path: Path) -> None:
    """The token put in `CI_TOKEN_FILE` by mistake (a `secretKeyRef` on the wrong name): the error says the
    variable names no readable file without showing its value (a review saw it in the pod's JSON log)."""
    from tests.support.cli import mcprt_process

    _project(tmp_path)
    token = "ghp_R3alS3cretT0kenValue0123456789abcd"
    done = mcprt_process("up", "mcp.yaml", cwd=tmp_path,
                     env={"MCPRT_TRANSPORT": "http", "MCPRT_LOG_FORMAT": "json", "CI_TOKEN_FILE": token,
                          "MCPRT_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 2, done
    assert token not in done.stderr + done.stdout, done
    errors = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert any(r["msg"].startswith("CI_TOKEN is read from CI_TOKEN_FILE, which names no readable file (No such file "
                                   "or directory; its value is not shown") for r in errors), done.stderr
    assert (tmp_path / token) not in load_or_files(tmp_path / "mcp.yaml", {"CI_TOKEN_FILE": token})


def load_or_files(manifest: Path, env: dict[str, str]) -> list[Path]:
    """The files a failed load would have hot reload watch (`ManifestError.partial`), [] without a partial."""
    try:
        return list(load_manifest(manifest, env=env).files)
    except ManifestError as exc:
        return list(exc.partial.files) if exc.partial is not None else []


def test_an_unreadable_file_is_a_warning_where_the_transport_does_not_need_the_value(tmp_path: Path) -> None:
    """`server.auth` over stdio may be unset (a warning saying when it is needed): so may its file be missing."""
    manifest = _project(tmp_path)
    loaded = load_manifest(manifest, env={"CI_TOKEN_FILE": "/nonexistent/ci"}, transport="stdio")
    [warning] = [w for w in loaded.warnings if "CI_TOKEN" in w.message]
    assert warning.severity == "warning" and (warning.line, warning.col) == (4, 22), warning
    assert warning.message == ("CI_TOKEN is read from CI_TOKEN_FILE=/nonexistent/ci, which cannot be read (No such "
                               "file or directory): it is needed to serve over HTTP (server.auth; stdio is never authenticated)"), warning
    with pytest.raises(ManifestError):  # over HTTP it is needed: an error
        load_manifest(manifest, env={"CI_TOKEN_FILE": "/nonexistent/ci"}, transport="http")


def test_an_empty_secret_file_is_named_as_the_empty_thing(tmp_path: Path) -> None:
    """Not "its environment variable is set but empty": CI_TOKEN is not set, the file is empty."""
    manifest = _project(tmp_path)
    (tmp_path / "ci").write_text("")
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest, env={"CI_TOKEN_FILE": str(tmp_path / "ci")})
    [error] = caught.value.errors
    assert error.message == ("a secret must not be empty (the file CI_TOKEN_FILE names is empty); set it, or remove "
                             "this entry"), error


def test_a_relative_FILE_path_is_relative_to_the_dotenv_that_set_it_in_every_manifest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The root's `.env` says `DESC_FILE=secrets/desc`; an included `b/mcp.yaml` uses `${DESC}`: the root's
    `secrets/desc`, not `b/secrets/desc` (a review: one variable named a different file in each manifest)."""
    monkeypatch.delenv("DESC", raising=False)
    monkeypatch.delenv("DESC_FILE", raising=False)
    (tmp_path / "mcp.yaml").write_text("version: 1\ninclude: [b/mcp.yaml]\n")
    (tmp_path / ".env").write_text("DESC_FILE=secrets/desc\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "desc").write_text("root-desc\n")
    (tmp_path / "b" / "secrets").mkdir(parents=True)
    (tmp_path / "b" / "secrets" / "desc").write_text("b-desc\n")
    (tmp_path / "b" / "tools.py").write_text(TOOLS)
    (tmp_path / "b" / "mcp.yaml").write_text(
        'version: 1\nsources:\n  t:\n    python: tools\n    tools:\n      ping:\n        description: "d ${DESC}"\n')
    loaded = load_manifest(tmp_path / "mcp.yaml")
    assert loaded.manifest.sources["t"].tools["ping"].description == "d root-desc"
    # set in b's own `.env`, the path is b's
    (tmp_path / ".env").unlink()
    (tmp_path / "b" / ".env").write_text("DESC_FILE=secrets/desc\n")
    loaded = load_manifest(tmp_path / "mcp.yaml")
    assert loaded.manifest.sources["t"].tools["ping"].description == "d b-desc"


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
