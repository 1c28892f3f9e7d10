"""Fixtures for recorded cases and `mcprt diff`: the pets API on 127.0.0.1 and a workspace using it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gitops.pets_api import API_KEY, Workspace, make_workspace, pets_app
from tests.support.upstream import serve_app


@pytest.fixture(scope="session")
def pets_upstream() -> Iterator[str]:
    with serve_app(pets_app()) as base:
        yield base


@pytest.fixture
def workspace(tmp_path: Path, pets_upstream: str, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A folder with mcp.yaml + pets.json pointing at the live pets upstream; in-process calls see the same env."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("MCPRT_CACHE_DIR", str(cache))
    monkeypatch.setenv("PETS_KEY", API_KEY)
    return make_workspace(tmp_path / "project", pets_upstream, cache)
