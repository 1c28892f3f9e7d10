"""Helpers for discovery tests: real manifests on disk, built into tool sets by mcprt's own builder."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from mcprt.discovery import attach_discovery
from mcprt.manifest.loader import LoadedManifest, load_manifest
from mcprt.pipeline import Compiled, Runtime
from mcprt.settings import Settings
from mcprt.toolset.build import build_toolset
from mcprt.contracts import Operation
from mcprt.toolset.toolset import ToolSet


def write_manifest(folder: Path, text: str) -> Path:
    path = folder / "mcp.yaml"
    path.write_text(text)
    return path


def loaded_for(sources: Sequence[str], *, server: str = "  expose: discovery\n", extra: str = "") -> LoadedManifest:
    """A manifest whose sources are OpenAPI sources named `sources` (documents need not exist to build)."""
    folder = Path(tempfile.mkdtemp(prefix="mcprt-discovery-"))
    lines = ["version: 1", "server:", server.rstrip("\n"), "sources:"]
    for name in sources:
        lines += [f"  {name}:", f"    openapi: {name}.json"]
    return load_manifest(write_manifest(folder, "\n".join(lines) + "\n" + extra))


def toolset_of(operations: Mapping[str, Sequence[Operation]], *, loaded: LoadedManifest | None = None) -> ToolSet:
    """Operations by source → the ToolSet the pipeline would serve (overrides applied, meta-tools attached)."""
    loaded = loaded or loaded_for(list(operations))
    built = build_toolset(loaded, operations)
    assert built.ok, built.diagnostics
    return attach_discovery(loaded, built.toolset) if any(t.expose == "discovery" for t in built.toolset) \
        else built.toolset


def compile_manifest(path: Path, cache_dir: Path) -> Compiled:
    """Compile a manifest once with the real pipeline; sources are closed afterwards (no calls needed)."""
    async def work() -> Compiled:
        runtime = Runtime(path, Settings(cache_dir=cache_dir))
        try:
            return await runtime.compile()
        finally:
            await runtime.aclose()

    return asyncio.run(work())


def github_manifest(folder: Path, spec: Path, *, server: str = "", tools: str = "") -> Path:
    """A manifest with GitHub as its one OpenAPI source; `server`/`tools` are YAML lines to add."""
    path = folder / "mcp.yaml"
    path.write_text(
        "version: 1\n"
        "server:\n"
        "  name: github\n"
        f"{server}"
        "sources:\n"
        "  github:\n"
        f"    openapi: {spec}\n"
        "    base_url: http://127.0.0.1:9\n"  # never called: these tests list, search, describe and measure
        + (f"    tools:\n{tools}" if tools else "")
    )
    return path
