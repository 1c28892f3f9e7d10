"""Fixtures of the HTTP executor tests; the upstream app and helpers live in http_support.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.http.http_support import Recorder, Upstream, build_app  # noqa: F401
from tests.support.upstream import serve_app


@pytest.fixture(scope="session")
def _upstream_server() -> Iterator[Upstream]:
    recorder = Recorder()
    with serve_app(build_app(recorder)) as base:
        yield Upstream(base, recorder)


@pytest.fixture
def upstream(_upstream_server: Upstream) -> Upstream:
    """The shared upstream, its recorder reset for this test."""
    _upstream_server.recorder.reset()
    return _upstream_server
