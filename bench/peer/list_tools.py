"""Runs in the peer's venv: FastMCP.from_openapi on a spec, list tools in memory, print the
tools/list JSON on stdout. The benchmark measures this whole process (imports included), as it
does for `mcprt tools --json`.

    bench/.venv-peer/bin/python bench/peer/list_tools.py SPEC.json
"""

from __future__ import annotations

import asyncio
import json
import sys

import httpx2
from fastmcp import FastMCP


async def main(spec_path: str) -> None:
    with open(spec_path, "rb") as handle:
        spec = json.load(handle)
    client = httpx2.AsyncClient(base_url="http://127.0.0.1:9")
    server = FastMCP.from_openapi(spec, client=client, name="peer")
    tools = await server.list_tools()
    wire = [tool.to_mcp_tool().model_dump(by_alias=True, exclude_none=True, mode="json") for tool in tools]
    sys.stdout.write(json.dumps({"tools": wire}, separators=(",", ":"), ensure_ascii=False))
    await client.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
