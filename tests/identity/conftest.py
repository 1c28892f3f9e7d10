"""The identity tests' authorization server: oidc-provider (tests/support/oidc.py), one per test module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.oidc import AuthServer, auth_server, oidc_provider_modules


@pytest.fixture(scope="module")
def modules() -> Path:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("node and npm are needed to run the authorization server (oidc-provider)")
    found = oidc_provider_modules()
    assert found is not None, "npm install oidc-provider failed"
    return found


@pytest.fixture(scope="module")
def idp(modules: Path) -> Iterator[AuthServer]:
    with auth_server(modules) as server:
        yield server
