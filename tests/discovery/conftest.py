"""Fixtures for discovery and budget tests: GitHub's real REST description through the real pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcprt.pipeline import Compiled
from tests.discovery.discovery_support import compile_manifest, github_manifest
from tests.support.github_spec import SpecUnavailable, github_spec_path


@pytest.fixture(scope="session")
def github_spec() -> Path:
    try:
        return github_spec_path()
    except SpecUnavailable as exc:
        pytest.skip(f"GitHub's REST description is not available: {exc}")


@pytest.fixture(scope="session")
def github_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One compile cache for the session: GitHub's document is compiled once, then reused."""
    return tmp_path_factory.mktemp("github-cache")


@pytest.fixture(scope="session")
def github_discovery(github_spec: Path, github_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    """GitHub's 1,223 operations in discovery mode, compiled by the real OpenAPI source."""
    folder = tmp_path_factory.mktemp("github")
    return compile_manifest(github_manifest(folder, github_spec, server="  expose: discovery\n"), github_cache)
