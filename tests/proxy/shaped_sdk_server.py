"""An SDK (`MCPServer`) stdio server whose tools' results the result size limit must shorten without
breaking them: `grid` (`-> list[list[int]]`: the SDK sends one small text block per inner list item
and the wrapped value as structuredContent) and `counts` (`-> dict[str, int]`: an outputSchema of
`additionalProperties: {type: integer}` that the SDK client checks a shortened structuredContent against) , `ledger` (a wide
object whose required keys come last) and `link` (a resource link whose description, a field beside the payload, is as large as asked)."""

from __future__ import annotations

import json
from typing import Annotated

from mcp.server import MCPServer
from mcp_types import CallToolResult, ResourceLink, TextContent
from pydantic import BaseModel, ConfigDict

server = MCPServer("shaped", log_level="CRITICAL")


@server.tool()
def grid(n: int) -> list[list[int]]:
    """`n` rows of the numbers 0–49."""
    return [list(range(50)) for _ in range(n)]


@server.tool()
def counts(n: int) -> dict[str, int]:
    """`n` word counts."""
    return {f"word{i:06d}": i for i in range(n)}


class Ledger(BaseModel):
    """Entries of any name, and two fields the outputSchema requires."""

    model_config = ConfigDict(extra="allow")
    total: int
    status: str


@server.tool()
def ledger(n: int) -> Annotated[CallToolResult, Ledger]:
    """`n` entries, then the required `total` and `status`: the keys a shortened wide object loses first."""
    data: dict[str, object] = {f"entry{i:05d}": f"line item {i} of the quarterly ledger" for i in range(n)}
    data.update(total=n, status="complete")
    return CallToolResult(content=[TextContent(text=json.dumps(data))], structured_content=data)


@server.tool()
def link(description_bytes: int, meta_bytes: int = 0, uri_bytes: int = 0) -> CallToolResult:
    """One resource link with a `description_bytes`-byte description (a result `_meta` of about
    `meta_bytes`, a URI about `uri_bytes` long), then a short text: fields beside a payload."""
    description = ("This file holds the quarterly figures. " * (description_bytes // 39 + 1))[:description_bytes]
    meta = {"trace": "x" * meta_bytes} if meta_bytes else None
    return CallToolResult(content=[ResourceLink(uri="file:///reports/q3.csv" + "?v=1" * (uri_bytes // 4), name="q3.csv", description=description),
                                   TextContent(text="one report found")], _meta=meta)


if __name__ == "__main__":
    server.run("stdio")
