"""Fixtures for the observability tests (helpers live in observability_support.py)."""

from __future__ import annotations

import sys
from pathlib import Path

for _folder in (str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent)):
    if _folder not in sys.path:
        sys.path.insert(0, _folder)
