"""Fixtures for the hot-reload tests (helpers live in reload_support.py: conftest names collide)."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

# `tests.support` (the loopback upstream) and the helpers beside this file, however pytest is started.
for _folder in (str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent)):
    if _folder not in sys.path:
        sys.path.insert(0, _folder)

from reload_support import MODULE_V1, LogLines, Project  # noqa: E402

from mcprt.pipeline import Runtime  # noqa: E402
from mcprt.reload import Reloader, reloader_for  # noqa: E402
from mcprt.settings import Settings  # noqa: E402


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project(tmp_path)
    proj.write(proj.module_file.name, MODULE_V1)
    proj.write("mcp.yaml", proj.manifest_text())
    return proj


@pytest.fixture
async def runtime(project: Project, tmp_path: Path) -> AsyncIterator[Runtime]:
    rt = Runtime(project.manifest, Settings(cache_dir=tmp_path / "cache"))
    await rt.start()
    try:
        yield rt
    finally:
        await rt.aclose()


@pytest.fixture
def reloader(runtime: Runtime) -> Reloader:
    """Created right after start, as `watch()` does in the server: it knows the files as opened."""
    return reloader_for(runtime)


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    handler = LogLines()
    logger = logging.getLogger("mcprt")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
