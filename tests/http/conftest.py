"""Fixtures for the HTTP executor tests: a real starlette upstream on 127.0.0.1."""

from __future__ import annotations

import sys
from pathlib import Path

# `tests.support` is importable under `python -m pytest` (cwd on sys.path); make plain `pytest` agree.
_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)
