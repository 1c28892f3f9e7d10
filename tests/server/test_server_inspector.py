"""The MCP Inspector's CLI mode (`@modelcontextprotocol/inspector` 2.12.0) lists and calls tools of
`mcprt up` over stdio and HTTP. Skipped when the Inspector (and Node >= 22.19) are not installed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_node_tools import INSTALL_HINT, node_at_least, package_version, tools_folder
from server_support import TOKEN, UpProcess, child_env, demo_manifest, mcprt_http

PACKAGE = "@modelcontextprotocol/inspector"
FOLDER = tools_folder()
NODE = node_at_least(FOLDER, (22, 19)) if FOLDER and package_version(FOLDER, PACKAGE) else None

pytestmark = [pytest.mark.skipif(
    NODE is None,
    reason=f"the MCP Inspector (with Node >= 22.19) is not installed (install it with: {INSTALL_HINT})",
), pytest.mark.xdist_group("test_server_inspector")]  # one started server per run, not one per worker


def inspector(tmp_path: Path, *target_and_options: str) -> subprocess.CompletedProcess[str]:
    assert FOLDER is not None and NODE is not None
    launcher = FOLDER / "node_modules" / PACKAGE / "clients" / "launcher" / "build" / "index.js"
    env = child_env(MCP_CATALOG_PATH=str(tmp_path / "inspector-catalog.json"), HOME=str(tmp_path))
    return subprocess.run([NODE, str(launcher), "--cli", "--format", "json", *target_and_options],
                          capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    manifest = demo_manifest(tmp_path_factory.mktemp("inspected"), auth=True)
    with mcprt_http(manifest, "--no-reload") as up:
        yield up


def test_inspector_over_stdio(tmp_path: Path) -> None:
    manifest = demo_manifest(tmp_path)
    server = [sys.executable, "-m", "mcprt", "up", str(manifest), "--no-reload"]
    listed = inspector(tmp_path, *server, "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr
    assert [t["name"] for t in json.loads(listed.stdout)["result"]["tools"]] == ["add", "fail", "echo"]
    called = inspector(tmp_path, *server, "--method", "tools/call", "--tool-name", "add",
                       "--tool-args-json", '{"a": 2, "b": 3}')
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout)["result"]["content"] == [{"type": "text", "text": "5"}]


def test_inspector_over_http_with_a_bearer_token(served: UpProcess, tmp_path: Path) -> None:
    auth = ["--header", f"Authorization: Bearer {TOKEN}"]
    listed = inspector(tmp_path, served.url, "--transport", "http", *auth, "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)["result"]["tools"]) == 3
    failed = inspector(tmp_path, served.url, "--transport", "http", *auth, "--method", "tools/call",
                       "--tool-name", "fail", "--tool-args-json", '{"message": "nope"}')
    assert failed.returncode == 5  # the Inspector's exit code for an isError result
    assert json.loads(failed.stdout)["result"]["isError"] is True
    refused = inspector(tmp_path, served.url, "--transport", "http", "--method", "tools/list")
    assert refused.returncode != 0
