"""A `python:` module beside the manifest whose top-level name is taken — by the standard library, or by a package mcprt
itself imports, directly or through its dependencies (`mcp`, `pydantic`, `httpx`, `starlette`, …, derived from the
installed metadata) — is refused by `validate` and `up` at the source's line, before any client connects.

A desktop trial's `mcp.py` ("my MCP tools") passed `validate`; `mcprt up` answered `initialize` and `tools/list`,
then died on the first call: `No module named 'mcp.server'; 'mcp' is not a package` — the manifest's folder is
first on sys.path, so the user's file shadowed the MCP SDK, loaded only after the handshake.
"""

from __future__ import annotations

import json
import re
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

from mcprt.sources.python.importing import mcprt_import_names
from tests.support.cli import cli_env, mcprt_cli
from tests.support.served import up_command

pytestmark = pytest.mark.xdist_group("test_sources_python_module_names")

MODULE = '''
def mcpt() -> str:
    """A tool."""
    return "ok"
'''


def _folder(tmp_path: Path, module: str) -> Path:
    (tmp_path / f"{module}.py").write_text(MODULE)
    (tmp_path / "m.yaml").write_text(f"version: 1\nsources:\n  m:\n    python: {module}\n")
    return tmp_path / "m.yaml"


# direct dependencies (mcp, pydantic, httpx, starlette, jmespath), and ones only reached through them (anyio, idna,
# annotated_types), none written out in mcprt's code
@pytest.mark.parametrize("module", ["mcp", "pydantic", "httpx", "starlette", "jmespath", "anyio", "idna",
                                    "annotated_types"])
def test_validate_refuses_a_module_named_like_a_package_mcprt_imports(tmp_path: Path, module: str) -> None:
    manifest = _folder(tmp_path, module)
    result = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"m.yaml:4:13: source 'm': '{module}': the module name '{module}' is taken by the package" in output
    assert "which mcprt itself imports; rename the file" in output and "Traceback" not in output


def test_up_refuses_it_before_the_handshake(tmp_path: Path) -> None:
    manifest = _folder(tmp_path, "mcp")
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                             "clientInfo": {"name": "desktop", "version": "1"}}}
    requests = tmp_path / "requests.jsonl"  # a file, not a pipe: a pipe closed while starting ends the start (exit 0)
    requests.write_text(json.dumps(initialize) + "\n")
    with requests.open() as stdin:
        done = subprocess.run(up_command(manifest), stdin=stdin, capture_output=True, text=True,
                              cwd="/", env=cli_env(), timeout=120)
    assert done.returncode == 2, done.stderr
    assert "m.yaml:4:13: source 'm': 'mcp': the module name 'mcp' is taken by the package 'mcp'" in done.stderr
    assert "internal error" not in done.stderr
    assert done.stdout == ""  # no handshake answered for a server that cannot serve


def test_every_import_name_of_mcprts_requirements_is_taken() -> None:
    """The names come from the installed metadata: each import name the standard library's own index
    (`packages_distributions`) gives a distribution mcprt requires directly is taken."""
    names = mcprt_import_names()

    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    required = {canonical(re.match(r"[A-Za-z0-9._-]+", r).group(0))  # type: ignore[union-attr]
                for r in metadata.requires("mcprt") or [] if "extra ==" not in r}
    provided = {top for top, distributions in metadata.packages_distributions().items()
                if any(canonical(d) in required for d in distributions) and top.isidentifier()
                and not top.startswith("_")}
    assert {"mcp", "pydantic", "httpx", "starlette", "jinja2", "ruamel"} <= provided
    assert provided <= set(names), provided - set(names)


def test_a_name_nothing_installed_takes_is_served(tmp_path: Path) -> None:
    manifest = _folder(tmp_path, "acme_tools_fixfm2")
    result = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("helper", ["mcp.py", "anyio.py", "httpx/__init__.py"])
def test_a_helper_the_manifest_does_not_name_is_refused_too(tmp_path: Path, helper: str) -> None:
    """The manifest's folder is first on sys.path whatever it names: a helper `mcp.py` (just `X = 1`) broke `up` on
    the first call (`'mcp' is not a package`), an `anyio.py` the tool imports was silently the real package."""
    manifest = _folder(tmp_path, "tools")
    (tmp_path / helper).parent.mkdir(exist_ok=True)
    (tmp_path / helper).write_text("X = 1\n")
    result = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    name = helper.split("/")[0]
    top = name.removesuffix(".py")
    assert (f"m.yaml:4:13: source 'm': '{name}' is named like the package '{mcprt_import_names()[top]}', which mcprt "
            "itself imports: the manifest's folder comes first on sys.path, so mcprt and your code would load the "
            "file instead of the package; rename it") in output
    assert "Traceback" not in output


def test_a_helper_named_like_nothing_installed_is_fine(tmp_path: Path) -> None:
    manifest = _folder(tmp_path, "tools")
    (tmp_path / "acme_helpers_fixfm2.py").write_text("X = 1\n")
    (tmp_path / "data").mkdir()  # a folder that is no package
    result = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
