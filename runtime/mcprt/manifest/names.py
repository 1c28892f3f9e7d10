"""The file names a manifest is looked for under, in order (`mcprt up` with no FILE, a folder given as
FILE, pytest collecting a folder). Its own module, free of imports, so the command line's `--help` can
name them without loading the manifest machinery."""

from __future__ import annotations

DEFAULT_NAMES = ("mcp.yaml", "mcp.yml", "mcp.toml")


def search_order() -> str:
    """The default as `--help` and the README say it: `./mcp.yaml, ./mcp.yml, then ./mcp.toml`."""
    paths = [f"./{name}" for name in DEFAULT_NAMES]
    return ", ".join(paths[:-1]) + f", then {paths[-1]}"
