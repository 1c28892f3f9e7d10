"""`${VAR}` interpolation: from `.env` beside the manifest and from the process (which wins)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import anyio
import pytest
from mcp import Client

from mcprt.errors import ManifestError
from mcprt.manifest.loader import load_manifest

from tests.support.cli import mcprt_cli
from tests.support.served import child_env, stdio_up

VAR = "MCPRT_TEST_ENV_BASE_URL"
OTHER = "MCPRT_TEST_ENV_OTHER"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (VAR, OTHER):
        monkeypatch.delenv(name, raising=False)


def write_manifest(folder: Path, base_url: str, **extra: str) -> Path:
    lines = ["version: 1", "sources:", "  api:", "    openapi: spec.json", f'    base_url: "{base_url}"']
    lines += [f'    {key}: "{value}"' for key, value in extra.items()]
    path = folder / "mcp.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def base_url(path: Path) -> str | None:
    return load_manifest(path).manifest.sources["api"].base_url  # type: ignore[union-attr]


def test_a_variable_from_dotenv_beside_the_manifest(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, f"${{{VAR}}}/v1")
    (tmp_path / ".env").write_text(f"{VAR}=http://127.0.0.1:9001\n")
    loaded = load_manifest(path)
    assert loaded.manifest.sources["api"].base_url == "http://127.0.0.1:9001/v1"  # type: ignore[union-attr]
    assert tmp_path / ".env" in loaded.files  # watched for reload
    assert ("sources", "api", "base_url") in loaded.env_paths


def test_the_process_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_manifest(tmp_path, f"${{{VAR}}}")
    (tmp_path / ".env").write_text(f"{VAR}=http://127.0.0.1:9001\n")
    monkeypatch.setenv(VAR, "http://127.0.0.1:9002")
    assert base_url(path) == "http://127.0.0.1:9002"


def test_dotenv_is_read_beside_the_manifest_not_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest_dir = tmp_path / "project"
    manifest_dir.mkdir()
    path = write_manifest(manifest_dir, f"${{{VAR}}}")
    (tmp_path / ".env").write_text(f"{VAR}=http://from-the-cwd\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ManifestError, match=f"environment variable {VAR} is not set"):
        load_manifest(path)


def test_a_default_applies_when_the_variable_is_unset_or_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_manifest(tmp_path, f"${{{VAR}:-http://127.0.0.1:9003}}")
    assert base_url(path) == "http://127.0.0.1:9003"
    monkeypatch.setenv(VAR, "")
    assert base_url(path) == "http://127.0.0.1:9003"  # `:-` as in the shell: empty counts as unset
    monkeypatch.setenv(VAR, "http://127.0.0.1:9004")
    assert base_url(path) == "http://127.0.0.1:9004"


def test_an_empty_variable_without_a_default_is_used_as_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_manifest(tmp_path, f"http://127.0.0.1${{{VAR}}}/v1")
    monkeypatch.setenv(VAR, "")
    assert base_url(path) == "http://127.0.0.1/v1"


def test_double_dollar_escapes_a_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, "substituted")
    path = write_manifest(tmp_path, f"http://127.0.0.1/$${{{VAR}}}/${{{VAR}}}")
    assert base_url(path) == f"http://127.0.0.1/${{{VAR}}}/substituted"


def test_several_references_in_one_string(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, "127.0.0.1")
    monkeypatch.setenv(OTHER, "9005")
    path = write_manifest(tmp_path, f"http://${{{VAR}}}:${{{OTHER}}}/api")
    assert base_url(path) == "http://127.0.0.1:9005/api"


def test_every_missing_variable_is_reported_at_its_line(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, f"${{{VAR}}}", prefix=f"${{{OTHER}}}")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    found = {(d.line, d.col, d.message.split(" is not set")[0]) for d in caught.value.errors}
    assert found == {(5, 15, f"environment variable {VAR}"), (6, 13, f"environment variable {OTHER}")}
    assert all(f"${{{VAR}:-default}}" in d.message or f"${{{OTHER}:-default}}" in d.message
               for d in caught.value.errors)


def test_variables_work_in_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, "http://127.0.0.1:9006")
    path = tmp_path / "mcp.toml"
    path.write_text(f'version = 1\n[sources.api]\nopenapi = "spec.json"\nbase_url = "${{{VAR}}}"\n')
    assert base_url(path) == "http://127.0.0.1:9006"
    path.write_text(f'version = 1\n[sources.api]\nopenapi = "spec.json"\nbase_url = "${{{OTHER}}}"\n')
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    [diagnostic] = caught.value.errors
    assert (diagnostic.line, diagnostic.col) == (4, 12)
    assert OTHER in diagnostic.message


def test_a_value_from_the_environment_is_never_echoed_in_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A variable may hold a secret: when its value is invalid the message says so without showing it."""
    secret = "sk-live-0123456789abcdef"
    monkeypatch.setenv(VAR, secret)
    path = tmp_path / "mcp.yaml"
    path.write_text(
        "version: 1\n"
        f'server: {{http: {{port: "${{{VAR}}}"}}}}\n'
        "sources:\n"
        "  api:\n"
        "    openapi: spec.json\n"
        f'    timeout: "${{{VAR}}}"\n'
        "    tools:\n"
        f'      t: {{name: "bad name ${{{VAR}}}"}}\n'
    )
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    text = str(caught.value)
    assert secret not in text
    assert {(d.line, d.col) for d in caught.value.errors} == {(2, 23), (6, 14), (8, 17)}
    assert "server.http.port: expected an integer, got a string (the value from the environment)" in text
    assert "sources.api.timeout: invalid duration (the value from the environment)" in text


@pytest.mark.parametrize("value", ["notaurl-sk-live-0123456789", "ftp://sk-live-0123456789@x", "https://",
                                   "http://u:sk-live-0123456789@127.0.0.1:9500", "http://h:sk-live-0123456789"])
def test_a_base_url_from_the_environment_that_is_no_http_url_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """Checked after substitution, reported at the reference's line, naming the variable, never its value."""
    monkeypatch.setenv(VAR, value)
    path = write_manifest(tmp_path, f"${{{VAR}}}/v1")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    [diagnostic] = caught.value.errors
    assert (diagnostic.line, diagnostic.col) == (5, 15)
    assert diagnostic.message.startswith("sources.api.base_url: ")
    assert f"(from ${{{VAR}}})" in diagnostic.message
    assert "sk-live" not in diagnostic.message and "notaurl" not in diagnostic.message


def test_an_unset_variable_is_a_diagnostic_of_its_own_code(tmp_path: Path) -> None:
    """The CLI adds "or pass --offline" to this error only: it found it by its words ("is not set ("),
    so any rewording lost the hint and any look-alike got it. The diagnostic says what it is now."""
    from mcprt.manifest.envvars import UNSET_VARIABLE

    path = write_manifest(tmp_path, f"${{{VAR}}}")
    path.write_text(path.read_text() + 'server: {auth: {bearer_tokens: ["${' + OTHER + '}"]}}\n')
    with pytest.raises(ManifestError) as caught:
        load_manifest(path, transport="stdio")
    (unset,) = [d for d in caught.value.diagnostics if d.code == UNSET_VARIABLE]
    assert unset.message.startswith(f"environment variable {VAR} is not set (") and unset.severity == "error"
    assert (unset.line, unset.col) == (5, 15)
    # needed only over HTTP: a warning, not this error (no hint: the manifest checks fine without it)
    (unused,) = [d for d in caught.value.diagnostics if OTHER in d.message]
    assert unused.severity == "warning" and unused.code == ""


KID_TOOLS = 'def hello(name: str) -> str:\n    """Say hello."""\n    return "hi " + name\n'
KID = """\
version: 1
defaults: {timeout: "${KID_TIMEOUT}"}
sources:
  kid:
    python: kidtools
    tools:
      hello: {description: "${KID_TITLE} / ${SHARED} / $${KID_TITLE}"}
"""


def included_project(folder: Path) -> Path:
    """A root manifest including pkg/child.yaml, each with its own `.env`: the child's names its `${VAR}`s
    (one, SHARED, also set by the root's `.env`)."""
    (folder / "pkg").mkdir(parents=True)
    (folder / "pkg" / "kidtools.py").write_text(KID_TOOLS)
    (folder / "pkg" / "child.yaml").write_text(KID)
    (folder / "pkg" / ".env").write_text("KID_TITLE=from the kid env\nKID_TIMEOUT=7s\nSHARED=kid\n")
    (folder / ".env").write_text("SHARED=root\n")
    (folder / "mcp.yaml").write_text("version: 1\ninclude: [pkg/child.yaml]\nsources: {}\n")
    return folder / "mcp.yaml"


def _cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return mcprt_cli(*args, cwd=cwd, env=env)


def test_an_included_manifest_reads_the_dotenv_beside_it_under_the_roots(tmp_path: Path) -> None:
    """Only the top manifest's `.env` was read: an included manifest's own `${VAR}`s were unset errors.
    Now its `.env` supplies them, the root's `.env` and the process environment winning (`mcprt validate`)."""
    path = included_project(tmp_path)
    done = _cli(tmp_path, "validate", "mcp.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = load_manifest(path)
    assert tmp_path / "pkg" / ".env" in loaded.files  # watched for reload
    tool = loaded.manifest.sources["kid"].tools["hello"]  # type: ignore[union-attr]
    assert tool.description == "from the kid env / root / ${KID_TITLE}"
    assert loaded.source_defaults["kid"].timeout == 7


def test_an_included_manifests_variables_served_by_mcprt_up(tmp_path: Path) -> None:
    """Through `mcprt up` (stdio, the SDK client): the process environment beats both `.env` files."""
    included_project(tmp_path)
    assert served_description(tmp_path / "mcp.yaml", SHARED="process") == "from the kid env / process / ${KID_TITLE}"


def served_description(manifest: Path, **env: str) -> str:
    """The description of the one tool `mcprt up manifest` serves over stdio (the SDK client), with `env`."""

    async def listed() -> str:
        async with Client(stdio_up(manifest, env=child_env(**env))) as client:
            return (await client.list_tools()).tools[0].description or ""

    return anyio.run(listed)


def nested_project(folder: Path) -> Path:
    """mcp.yaml includes b/mcp.yaml, which includes c/mcp.yaml; c's tool uses ${U} (set only in b/.env),
    ${NEAR} (set in every .env: the root's wins) and ${MID} (set in b/.env and c/.env: b's wins)."""
    (folder / "b" / "c").mkdir(parents=True)
    (folder / "b" / "c" / "kidtools.py").write_text(KID_TOOLS)
    (folder / "b" / "c" / "mcp.yaml").write_text(
        'version: 1\nsources:\n  kid:\n    python: kidtools\n    tools:\n'
        '      hello: {description: "${U} / ${NEAR} / ${MID} / ${OWN}"}\n')
    (folder / "b" / "c" / ".env").write_text("NEAR=c\nMID=c\nOWN=c\n")
    (folder / "b" / "mcp.yaml").write_text("version: 1\ninclude: [c/mcp.yaml]\nsources: {}\n")
    (folder / "b" / ".env").write_text("U=from b\nNEAR=b\nMID=b\n")
    (folder / ".env").write_text("NEAR=root\n")
    (folder / "mcp.yaml").write_text("version: 1\ninclude: [b/mcp.yaml]\nsources: {}\n")
    return folder / "mcp.yaml"


@pytest.mark.parametrize("manifest", ["mcp.yaml", "b/mcp.yaml"])
def test_a_nested_include_reads_the_dotenv_of_each_manifest_down_its_include_chain(tmp_path: Path,
                                                                                  manifest: str) -> None:
    """Only the root's environment was under an included `.env`: c (included by b) said `U is not set`
    at the root though b/.env sets it and `mcprt validate b/mcp.yaml` worked. Now each folder's variables
    are its own `.env` under its includer's, down the chain: the nearer to the root wins."""
    nested_project(tmp_path)
    done = _cli(tmp_path, "validate", manifest)
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = load_manifest(tmp_path / manifest)
    tool = loaded.manifest.sources["kid"].tools["hello"]  # type: ignore[union-attr]
    near = "root" if manifest == "mcp.yaml" else "b"
    assert tool.description == f"from b / {near} / b / c"
    assert tmp_path / "b" / "c" / ".env" in loaded.files and tmp_path / "b" / ".env" in loaded.files


def test_a_nested_includes_variables_served_by_mcprt_up(tmp_path: Path) -> None:
    """Through `mcprt up` (stdio, the SDK client): the process environment beats every `.env` of the chain."""
    nested_project(tmp_path)
    assert served_description(tmp_path / "mcp.yaml", MID="process") == "from b / root / process / c"
