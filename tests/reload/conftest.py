"""Fixtures for hot-reload tests: a manifest folder with a Python module as its source of tools.

A `python:` source needs no network and opens in milliseconds, so what is measured and asserted is
the reload machinery itself. Every module gets a name unique to its test (imports are process-wide).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from mcprt.pipeline import Runtime  # noqa: E402
from mcprt.reload import Reloader, reloader_for  # noqa: E402
from mcprt.settings import Settings  # noqa: E402

MODULE_V1 = '''
def search(query: str) -> dict:
    """Search the notes."""
    return {"items": [{"title": "note about " + query, "body": "long text", "id": 7}], "total": 1}


def count() -> int:
    """How many notes there are."""
    return 3
'''


class Project:
    """A manifest folder on disk, edited the ways editors and people edit files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.module = f"notes_{uuid.uuid4().hex[:8]}"
        self.manifest = root / "mcp.yaml"

    @property
    def module_file(self) -> Path:
        return self.root / f"{self.module}.py"

    def manifest_text(self, tools: str = "", extra: str = "") -> str:
        """A manifest with one python source; `tools` is YAML indented under `tools:`."""
        body = f"version: 1\nsources:\n  notes:\n    python: {self.module}\n"
        if tools:
            body += "    tools:\n" + "".join(f"      {line}\n" for line in tools.strip("\n").splitlines())
        return body + extra

    def write(self, path: Path | str, text: str) -> Path:
        """Save in place (truncate + write), like most editors."""
        target = self.root / path
        target.write_text(text, encoding="utf-8")
        return target

    def save_atomically(self, path: Path | str, text: str) -> Path:
        """Write a temporary file and rename it over the original, like vim, JetBrains and git do."""
        target = self.root / path
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:6]}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
        return target


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


class LogLines(logging.Handler):
    """Collects the `mcprt` logger's messages (its own handler: setup_logging may stop propagation)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]

    def fields(self, message: str) -> list[dict]:
        return [getattr(r, "fields", {}) for r in self.records if r.getMessage() == message]


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


async def wait_for(predicate: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll `predicate` until true; fail with `what` after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)
