"""Every listing mcprt answers (`tools/list`, `resources/list`, `resources/templates/list`, `prompts/list`) is
one page: it never sends `nextCursor`, so any `cursor` a client sends is one mcprt never issued."""

from __future__ import annotations

from typing import Any

import mcp_types as types
from mcp.shared.exceptions import MCPError


def refuse_cursor(params: Any) -> None:
    """Raise `invalid_cursor` when a list request's params (`PaginatedRequestParams` or None) carry a cursor."""
    cursor = getattr(params, "cursor", None)
    if cursor is not None:
        raise invalid_cursor(cursor)


def invalid_cursor(cursor: str) -> MCPError:
    """The error for a `cursor` mcprt did not issue: -32602 Invalid params (MCP 2025-03-26 and later,
    server/utilities/pagination: "Invalid cursors SHOULD result in an error with code -32602").

    Answering the first page instead would hand a paginating client the whole list a second time.
    """
    shown = cursor if len(cursor) <= 40 else cursor[:40] + "…"
    return MCPError(code=types.INVALID_PARAMS,
                    message=f"invalid cursor {shown!r}: this server lists everything in one page and issued no "
                            "cursor; list again without one")
