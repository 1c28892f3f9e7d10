"""Fixtures for the shaping tests: realistic upstream payloads, fresh per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# `shaping_payloads` sits beside this file; make it importable however pytest is started.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from shaping_payloads import github_issues, github_validation_error  # noqa: E402


@pytest.fixture
def issues() -> list[dict]:
    return github_issues()


@pytest.fixture
def validation_error() -> dict:
    return github_validation_error()
