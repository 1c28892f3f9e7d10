"""`mcprt up` — not built yet; a clear "not yet" beats a broken command."""

from __future__ import annotations

from typing import Any

from .errors import NotYet


def run_up(*args: Any, **kwargs: Any) -> int:
    raise NotYet("`mcprt up` is not built yet")
