"""Fixtures of the source tests: `@modelcontextprotocol/server-everything`, npm-installed once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

EVERYTHING_PACKAGE = "@modelcontextprotocol/server-everything@2026.8.31"


ENTRY = Path("node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js")


@pytest.fixture(scope="session")
def everything_server(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dist/index.js` of @modelcontextprotocol/server-everything.

    From `$MCPRT_NODE_TOOLS` or `<repo>/.node-tools`, npm-installed there once (under a lock shared by
    the test workers); skipped, saying why, without node and npm (in CI a skip fails the run).
    """
    from tests.support.node_tools import node_tools_folder

    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run @modelcontextprotocol/server-everything")
    folder = node_tools_folder()  # one locked install shared by every test worker
    if folder is None or not (folder / ENTRY).is_file():
        pytest.skip(f"could not npm-install {EVERYTHING_PACKAGE} into .node-tools")
    return folder / ENTRY
