"""Fixtures of the hostile-input tests: the reflecting upstream on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile.hostile_support import echo_app
from tests.support.upstream import serve_app


@pytest.fixture(scope="module")
def echo_upstream() -> Iterator[str]:
    with serve_app(echo_app()) as base:
        yield base
