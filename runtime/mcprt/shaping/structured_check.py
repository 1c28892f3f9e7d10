"""The operator's word when an upstream's result breaks the outputSchema mcprt derived for its tool.

The check itself is `schema.structured_check.StructuredCheck` (one place for result validation, shared with
the proxied-server check in `sources.mcp.source`); `shaping.result` sends `{}` beside the whole result as
text and a note, and logs it here.
"""

from __future__ import annotations

import logging

_log = logging.getLogger("mcprt")


def log_mismatch(tool: str, problem: str) -> None:
    """One log line per such result: the operator's sign that an API breaks its own description."""
    where = problem.split(": ", 1)[0]  # the path only
    _log.warning("tool %s: the upstream's result does not match its documented response schema at %s; "
                 "sent as text with an empty structuredContent", tool, where)
