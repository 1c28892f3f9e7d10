"""The release number: defined once (`mcprt.__version__`, which pyproject reads), said alike by every place an
operator reads it, and announced by an upgrade section of its own in the README.

The upgrade trial: 138 commits of breaking changes after 0.2.0 still said `0.2.0` in `--version`, the start banner
and `/status.json`, so a mixed fleet could not be told apart, and the new notes went into "Upgrading from 0.1.0 to
0.2.0", a section its readers had already applied. Tests compare with `mcprt.__version__`, never a literal, so a bump
is one line (and its README section).
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

import mcprt
from tests.support.cli import mcprt_cli
from tests.support.served import http_client, mcprt_http

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_version_is_defined_in_one_place() -> None:
    pyproject = (README.parent / "pyproject.toml").read_text()
    assert 'version = {attr = "mcprt.__version__"}' in pyproject and 'dynamic = ["version"]' in pyproject
    assert re.fullmatch(r"\d+\.\d+\.\d+", mcprt.__version__)
    assert mcprt_cli("--version").stdout.strip() == f"mcprt {mcprt.__version__}"


def test_the_readme_has_an_upgrade_section_for_this_release_first() -> None:
    """The newest "Upgrading from A to B" section is this release's, and B follows A: the notes of a release are never
    appended to a section an operator of the previous one already read."""
    found = re.findall(r"^### Upgrading from (\d+\.\d+\.\d+) to (\d+\.\d+\.\d+)$", README.read_text(), re.M)
    assert found and found[0][1] == mcprt.__version__, found
    releases = [tuple(map(int, v.split("."))) for pair in found for v in pair]
    assert all(a > b for a, b in zip(releases[1::2], releases[0::2])), found  # each section's target is newer
    assert [pair[1] for pair in found[1:]] == [pair[0] for pair in found[:-1]], found  # the sections chain


async def test_the_banner_server_info_and_status_json_say_the_release(tmp_path: Path) -> None:
    (tmp_path / "tools.py").write_text("def ping() -> str:\n    \"\"\"Answer pong.\"\"\"\n    return 'pong'\n")
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nserver:\n  name: release\nsources:\n  t:\n    python: tools\n")
    with mcprt_http(manifest) as up:
        assert f"mcprt {mcprt.__version__}: serving 'release'" in up.log()
        async with http_client(up.url) as client:
            assert client.server_info.version == mcprt.__version__  # `initialize`'s serverInfo
        status = httpx.get(f"{up.base}/status.json", timeout=10).json()
    assert status["server"]["version"] == mcprt.__version__, status["server"]
