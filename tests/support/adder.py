"""The smallest served manifest: one Python source with one tool (`add`), for tests about the HTTP
endpoint itself rather than what it serves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.served import UpProcess, mcprt_http

TOOLS = '''
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b
'''


def adder_manifest(folder: Path) -> Path:
    """Write `adder.py` and an `mcp.yaml` serving it into `folder`; returns the manifest's path."""
    (folder / "adder.py").write_text(TOOLS)
    manifest = folder / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  adder: {python: adder}\n")
    return manifest


def adder_up(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[UpProcess]:
    """`mcprt up` (HTTP, stateful, no reload) of the adder manifest, for a module-scoped fixture."""
    with mcprt_http(adder_manifest(tmp_path_factory.mktemp(name)), "--no-reload") as served:
        yield served
