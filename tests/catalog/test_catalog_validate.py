"""Every shipped manifest passes `mcprt validate --offline` (as in CI: no network, no secrets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import mcprt_cli
from tests.support.served import child_env

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((REPO / "catalog").glob("*/mcp.yaml"))


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.parent.name)
def test_shipped_manifest_validates_offline(manifest: Path, tmp_path: Path) -> None:
    env = child_env(MCPRT_CACHE_DIR=str(tmp_path))  # an empty cache: nothing fetched earlier helps
    done = mcprt_cli("validate", str(manifest), "--offline", env=env)
    assert done.returncode == 0, done.stderr
    assert ": ok — " in done.stderr and "written literally" not in done.stderr


def test_without_offline_a_missing_secret_is_still_an_error(tmp_path: Path) -> None:
    env = child_env(MCPRT_CACHE_DIR=str(tmp_path))
    env.pop("GITHUB_TOKEN", None)
    done = mcprt_cli("validate", str(REPO / "catalog/github/mcp.yaml"), env=env, drop=("GITHUB_TOKEN",))
    assert done.returncode == 2
    assert "environment variable GITHUB_TOKEN is not set" in done.stderr


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.parent.name)
def test_shipped_manifest_validates_strictly(manifest: Path, tmp_path: Path) -> None:
    """`validate --strict` (warnings fail): every prune/template look-up is documented or vouched for, every
    operation's auth configured or named unenforced (docs/catalog-entries.md: every entry passes)."""
    env = child_env(MCPRT_CACHE_DIR=str(tmp_path))
    done = mcprt_cli("validate", str(manifest), "--offline", "--strict", env=env)
    assert done.returncode == 0, done.stderr
