"""`mcprt call --url URL TOOL`: call a tool of a running MCP server over streamable HTTP.

The SDK's own client is used, so what is printed is exactly what any MCP client receives (and a
structuredContent that breaks the tool's outputSchema is refused, as a client would refuse it).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from ..errors import McprtError
from .errors import EXIT_FAILED_CHECK, EXIT_OK
from .status_cmd import TOKEN_ENV, checked_url, token_refusal

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


def run_remote_call(url: str, tool: str, arguments: dict[str, Any], headers: dict[str, str],
                    token: str | None = None) -> int:
    """Call `tool` at `url` and print the result; `token` (else `MCPRT_TOKEN`) is sent as a bearer
    token unless `headers` has an Authorization of its own. A refused or failed exchange raises
    McprtError naming the HTTP status and what to do about it."""
    import anyio

    url = checked_url(url, "given")
    token = token or os.environ.get(TOKEN_ENV) or None
    if token and not any(name.lower() == "authorization" for name in headers):
        headers = {**headers, "Authorization": f"Bearer {token}"}
    refusals: list[tuple[int, str]] = []  # (status, detail) of every HTTP error answer, in order

    async def note_refusal(response: Any) -> None:
        if response.status_code >= 400:
            await response.aread()
            refusals.append((response.status_code, _detail(response)))

    async def work() -> int:
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        async with create_mcp_http_client(headers=headers or None) as http:
            # The SDK reports an HTTP error answer only as a generic transport error: keep the status.
            http.event_hooks = {**http.event_hooks, "response": [*http.event_hooks.get("response", []), note_refusal]}
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
        if refusals:
            authorized = any(name.lower() == "authorization" for name in headers)
            raise McprtError(f"calling {tool} at {url} failed: {_refused(*refusals[-1], url, authorized)}") from None
        raise McprtError(f"calling {tool} at {url} failed: {_reason(exc)}") from None


def _detail(response: Any) -> str:
    """The server's own words: mcprt's `{"error": …}`, a JSON-RPC error message, else the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            error = error.get("message")
        if isinstance(error, str):
            return error[:200]
    return response.text.strip()[:200]


def _refused(status: int, detail: str, url: str, authorized: bool) -> str:
    """What an HTTP error answer means to someone calling from the command line."""
    said = f"HTTP {status}" + (f" ({detail})" if detail else "")
    if status == 401:
        return f"{said}: {token_refusal(authorized)}" + ("" if authorized else
                                                        " (or --header 'Authorization: Bearer …')")
    if status == 403:
        return f"{said}: the server refused this client (a token without the needed scope, or a browser Origin)"
    if status == 404:
        return (f"{said}: is {url} the server's MCP endpoint? (`mcprt up` serves it at /mcp unless "
                "server.http.path says otherwise)")
    if status == 421:
        return f"{said}: the server does not accept this Host name (its server.http.allowed_hosts)"
    return said


def _reason(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
