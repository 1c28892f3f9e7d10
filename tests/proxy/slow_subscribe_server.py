"""A handshake-era stdio server whose `resources/subscribe` of `notes://slow` answers only once the file
`<folder>/gate` exists (argv[1]: the folder), and which writes each subscribe and unsubscribe it receives, one
line each, to `<folder>/upstream.log`: a test can close a session while the subscribe is in flight and then
see what mcprt tells the upstream."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: the repository's tests package
from tests.support.stdio_refusing import serve_stdio_refusing  # noqa: E402

FOLDER = Path(sys.argv[1])


def _log(line: str) -> None:
    with open(FOLDER / "upstream.log", "a", encoding="utf-8") as log:
        log.write(line + "\n")


async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
    return types.ListResourcesResult(resources=[types.Resource(name="slow", uri="notes://slow")])


async def list_templates(ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
    return types.ListResourceTemplatesResult(resource_templates=[])


async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
    return types.ReadResourceResult(contents=[types.TextResourceContents(uri=str(params.uri), text="slow note")])


async def subscribe(ctx: Any, params: types.SubscribeRequestParams) -> types.EmptyResult:
    _log(f"subscribe {params.uri}")
    while not (FOLDER / "gate").exists():
        await anyio.sleep(0.05)
    return types.EmptyResult()


async def unsubscribe(ctx: Any, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
    _log(f"unsubscribe {params.uri}")
    return types.EmptyResult()


server = Server("slow-subscribe", version="1.0.0", on_list_resources=list_resources,
                on_list_resource_templates=list_templates, on_read_resource=read_resource,
                on_subscribe_resource=subscribe, on_unsubscribe_resource=unsubscribe)


async def main() -> None:
    await serve_stdio_refusing(server, "server/discover")


anyio.run(main)
