"""`mcprt test` — not built yet; a clear "not yet" beats a broken command."""

from __future__ import annotations

from typing import Any

from .errors import NotYet


def run_test(*args: Any, **kwargs: Any) -> int:
    raise NotYet("`mcprt test` is not built yet")
