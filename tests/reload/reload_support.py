"""Helpers for the hot-reload tests: a manifest folder with a Python module as its source of tools.

A `python:` source needs no network and opens in milliseconds, so what is measured and asserted is
the reload machinery itself. Every module gets a name unique to its test (imports are process-wide).
(A uniquely named module: every test folder has a `conftest`.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path

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


async def wait_for(predicate: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll `predicate` until true; fail with `what` after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)

