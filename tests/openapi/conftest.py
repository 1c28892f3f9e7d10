"""OpenAPI compiler tests: make the helpers and `tests.support` importable."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for path in (str(_HERE), str(_HERE.parents[1])):
    if path not in sys.path:
        sys.path.insert(0, path)
