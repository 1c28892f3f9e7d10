"""`mcprt call --url URL TOOL`: call a tool of a running MCP server over streamable HTTP.

The SDK's own client is used, so what is printed is exactly what any MCP client receives (and a
structuredContent that breaks the tool's outputSchema is refused, as a client would refuse it).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ..errors import McprtError
from .errors import EXIT_FAILED_CHECK, EXIT_OK

_TIMEOUT_S = 60.0


def parse_headers(values: list[str]) -> dict[str, str]:
    """`Name: value` (or `Name=value`) strings → headers; McprtError naming a malformed one."""
    headers: dict[str, str] = {}
    for raw in values:
        sep = ":" if ":" in raw else "=" if "=" in raw else None
        name, value = raw.split(sep, 1) if sep else (raw, "")
        if not sep or not name.strip():
            raise McprtError(f"--header {raw!r}: expected 'Name: value', e.g. 'Authorization: Bearer $TOKEN'")
        headers[name.strip()] = value.strip()
    return headers


def run_remote_call(url: str, tool: str, arguments: dict[str, Any], headers: dict[str, str]) -> int:
    import anyio

    async def work() -> int:
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        async with create_mcp_http_client(headers=headers or None) as http:
            async with Client(streamable_http_client(url, http_client=http),  # type: ignore[arg-type]
                              read_timeout_seconds=_TIMEOUT_S) as client:
                result = await client.call_tool(tool, arguments)
        wire = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        sys.stdout.write(json.dumps(wire, indent=2, ensure_ascii=False) + "\n")
        return EXIT_FAILED_CHECK if result.is_error else EXIT_OK

    try:
        return anyio.run(work)
    except McprtError:
        raise
    except Exception as exc:  # noqa: BLE001 - a connection or protocol failure is bad input for a CLI
        raise McprtError(f"calling {tool} at {url} failed: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
