"""Fixtures of the source tests: `@modelcontextprotocol/server-everything`, npm-installed once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

EVERYTHING_PACKAGE = "@modelcontextprotocol/server-everything@2026.8.31"


@pytest.fixture(scope="session")
def everything_server(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dist/index.js` of @modelcontextprotocol/server-everything, npm-installed once into the pytest cache."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run @modelcontextprotocol/server-everything")
    override = os.environ.get("MCPRT_TEST_NPM_DIR")
    cache = getattr(pytestconfig, "cache", None)
    if override:
        root = Path(override)
    elif cache is not None:
        root = Path(cache.mkdir("server-everything"))
    else:
        root = tmp_path_factory.mktemp("server-everything")
    entry = root / "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
    if not entry.is_file():
        result = subprocess.run(
            [npm, "install", "--prefix", str(root), "--no-audit", "--no-fund", "--loglevel=error", EVERYTHING_PACKAGE],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0 or not entry.is_file():
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            pytest.skip(f"could not npm-install {EVERYTHING_PACKAGE}: {' | '.join(tail)}")
    return entry
