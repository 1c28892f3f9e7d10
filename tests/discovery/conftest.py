"""Fixtures for discovery and budget tests: GitHub's real REST description through the real pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcprt.pipeline import Compiled
from tests.discovery.discovery_support import compile_manifest, github_manifest
from tests.support.github_spec import SpecUnavailable, github_spec_path
from tests.support.npm_specs import stripe_spec_path


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


@pytest.fixture(scope="session")
def stripe_discovery(github_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    """Stripe's 452 operations (APIs.guru's full description) in discovery mode."""
    try:
        spec = stripe_spec_path()
    except SpecUnavailable as exc:
        pytest.skip(f"Stripe's description is not available: {exc}")
    folder = tmp_path_factory.mktemp("stripe")
    (folder / "mcp.yaml").write_text(
        "version: 1\nserver:\n  name: stripe\n  expose: discovery\nsources:\n  stripe:\n"
        f"    openapi: {spec}\n    base_url: http://127.0.0.1:9\n"
    )
    return compile_manifest(folder / "mcp.yaml", github_cache)


@pytest.fixture(scope="session")
def kubernetes_discovery(github_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    """The Kubernetes fixture subset (pods, config maps, custom resource definitions) in discovery mode."""
    spec = Path(__file__).resolve().parents[1] / "fixtures" / "specs" / "kubernetes-subset.json"
    folder = tmp_path_factory.mktemp("kubernetes")
    (folder / "mcp.yaml").write_text(
        "version: 1\nserver:\n  name: k8s\n  expose: discovery\nsources:\n  k8s:\n"
        f"    openapi: {spec}\n    base_url: http://127.0.0.1:9\n"
    )
    return compile_manifest(folder / "mcp.yaml", github_cache)
