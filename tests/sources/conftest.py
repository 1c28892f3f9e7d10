"""Fixtures of the source tests: `@modelcontextprotocol/server-everything`, npm-installed once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

EVERYTHING_PACKAGE = "@modelcontextprotocol/server-everything@2026.8.31"


REPO = Path(__file__).resolve().parents[2]
ENTRY = Path("node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js")


@pytest.fixture(scope="session")
def everything_server(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dist/index.js` of @modelcontextprotocol/server-everything.

    Found in `$MCPRT_NODE_TOOLS` or `<repo>/.node-tools` (where CI installs the Node-based tools),
    else npm-installed once into the pytest cache; skipped, saying why, without node and npm.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run @modelcontextprotocol/server-everything")
    for folder in (os.environ.get("MCPRT_NODE_TOOLS"), REPO / ".node-tools"):
        if folder and (Path(folder) / ENTRY).is_file():
            return Path(folder) / ENTRY
    cache = getattr(pytestconfig, "cache", None)
    root = Path(cache.mkdir("server-everything")) if cache is not None else tmp_path_factory.mktemp("everything")
    if not (root / ENTRY).is_file():
        result = subprocess.run(
            [npm, "install", "--prefix", str(root), "--no-audit", "--no-fund", "--loglevel=error", EVERYTHING_PACKAGE],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0 or not (root / ENTRY).is_file():
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            pytest.skip(f"could not npm-install {EVERYTHING_PACKAGE}: {' | '.join(tail)}")
    return root / ENTRY
