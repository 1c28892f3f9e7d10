"""A stdio server of one era (argv[1]: `handshake` or `modern`) with one resource template,
`notes://{name}`: `notes://known` reads, any other name does not exist, answered as the server's era says —
-32002 with `data.uri` (MCP 2025-11-25; the handshake server refuses `server/discover`), or -32602 with
`data.uri` (SEP-2164, MCP 2026-07-28; the modern server refuses `initialize`).

The handshake server also supports `resources/subscribe`: `notes://known` is accepted; `notes://gone` is
refused the way an SDK `MCPServer` refuses it in any era (-32602 with `data.uri`), any other name with
-32002 and `data.uri`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.shared.exceptions import MCPError

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: the repository's tests package
from tests.support.stdio_refusing import serve_stdio_refusing  # noqa: E402

ERA = sys.argv[1]
assert ERA in ("handshake", "modern"), ERA


async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
    return types.ListResourcesResult(resources=[types.Resource(name="known", uri="notes://known")])


async def list_templates(ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
    return types.ListResourceTemplatesResult(resource_templates=[
        types.ResourceTemplate(name="note", uri_template="notes://{name}", mime_type="text/plain")])


async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
    uri = str(params.uri)
    if uri == "notes://known":
        return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, text="known note")])
    code = -32002 if ERA == "handshake" else types.INVALID_PARAMS
    raise MCPError(code=code, message=f"no note at {uri}", data={"uri": uri})


async def subscribe(ctx: Any, params: types.SubscribeRequestParams) -> types.EmptyResult:
    uri = str(params.uri)
    if uri == "notes://known":
        return types.EmptyResult()
    code = types.INVALID_PARAMS if uri == "notes://gone" else -32002
    raise MCPError(code=code, message=f"no note at {uri} to subscribe to", data={"uri": uri})


async def unsubscribe(ctx: Any, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
    return types.EmptyResult()


subscriptions: dict[str, Any] = {"on_subscribe_resource": subscribe, "on_unsubscribe_resource": unsubscribe}
server = Server(f"{ERA}-not-found", version="1.0.0", on_list_resources=list_resources,
                on_list_resource_templates=list_templates,
                on_read_resource=read_resource, **(subscriptions if ERA == "handshake" else {}))


async def main() -> None:
    await serve_stdio_refusing(server, "server/discover" if ERA == "handshake" else "initialize")


anyio.run(main)
