"""The official MCP conformance suite (`@modelcontextprotocol/conformance`) against `mcprt up`.

Only the scenarios that apply to any tools server run; the others expect the SDKs' own fixture
tools, prompts and resources. Skipped (with the install command) when the suite is not installed.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import pytest
from server_node_tools import INSTALL_HINT, node_at_least, package_version, tools_folder
from server_support import UpProcess, demo_manifest, mcprt_http

PACKAGE = "@modelcontextprotocol/conformance"
SCENARIOS = [
    "server-initialize",
    "ping",
    "tools-list",
    "logging-set-level",
    "server-sse-multiple-streams",
    "dns-rebinding-protection",
]

FOLDER = tools_folder()
VERSION = package_version(FOLDER, PACKAGE) if FOLDER else None
# 0.1.12 runs on Node 20; later releases need Node 22 (they call fs.globSync at start).
NODE = node_at_least(FOLDER, (20,) if VERSION == "0.1.12" else (22,)) if VERSION else None

pytestmark = [pytest.mark.skipif(
    NODE is None,
    reason=f"the MCP conformance suite is not installed (install it with: {INSTALL_HINT})",
), pytest.mark.xdist_group("test_server_conformance")]  # one started server per run, not one per worker


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    with mcprt_http(demo_manifest(tmp_path_factory.mktemp("conformance")), "--no-reload") as up:
        yield up


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_conformance_scenario(served: UpProcess, scenario: str) -> None:
    assert FOLDER is not None and NODE is not None
    cli = FOLDER / "node_modules" / PACKAGE / "dist" / "index.js"
    url = served.url.replace("127.0.0.1", "localhost")  # dns-rebinding-protection needs a localhost URL
    done = subprocess.run(
        [NODE, str(cli), "server", "--url", url, "--scenario", scenario],
        capture_output=True, text=True, timeout=120, cwd=FOLDER,
    )
    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    summary = re.search(r"Passed: (\d+)/(\d+), (\d+) failed", output)
    assert done.returncode == 0 and summary is not None and summary.group(3) == "0", output
    assert int(summary.group(1)) == int(summary.group(2)) > 0, output
