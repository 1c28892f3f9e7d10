"""An SDK (`MCPServer`) stdio server whose tools' results the result size limit must shorten without
breaking them: `grid` (`-> list[list[int]]`: the SDK sends one small text block per inner list item
and the wrapped value as structuredContent) and `counts` (`-> dict[str, int]`: an outputSchema of
`additionalProperties: {type: integer}` that the SDK client checks a shortened structuredContent against) , `ledger` (a wide
object whose required keys come last), `link` (a resource link whose description or name, fields beside
the payload, is as large as asked), `embedded` (an embedded resource with a long URI and text), `pair`
(structuredContent repeated in a text block with a `_meta`) and `bigreq` (a large required key)."""

from __future__ import annotations

import json
from typing import Annotated

from mcp.server import MCPServer
from mcp_types import CallToolResult, EmbeddedResource, ResourceLink, TextContent, TextResourceContents
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
def link(description_bytes: int, meta_bytes: int = 0, uri_bytes: int = 0, name_bytes: int = 0) -> CallToolResult:
    """One resource link with a `description_bytes`-byte description (a result `_meta` of about
    `meta_bytes`, a URI about `uri_bytes` long, a name about `name_bytes` long), then a short text:
    fields beside a payload."""
    description = ("This file holds the quarterly figures. " * (description_bytes // 39 + 1))[:description_bytes]
    meta = {"trace": "x" * meta_bytes} if meta_bytes else None
    name = "q3" + "_" * name_bytes + ".csv"
    return CallToolResult(content=[ResourceLink(uri="file:///reports/q3.csv" + "?v=1" * (uri_bytes // 4), name=name, description=description),
                                   TextContent(text="one report found")], _meta=meta)


@server.tool()
def embedded(uri_bytes: int, text_bytes: int) -> CallToolResult:
    """One embedded resource whose URI is about `uri_bytes` long and whose text is `text_bytes` long, then a
    short text."""
    uri = "file:///notes/q3.txt" + "?v=1" * (uri_bytes // 4)
    text = ("Quarterly notes line.\n" * (text_bytes // 22 + 1))[:text_bytes]
    return CallToolResult(content=[EmbeddedResource(type="resource", resource=TextResourceContents(uri=uri, text=text)),
                                   TextContent(text="one note found")])


@server.tool()
def pair(n: int, meta_bytes: int = 0) -> CallToolResult:
    """`n` keys as structuredContent and repeated as JSON in a text block whose own `_meta` is about
    `meta_bytes` (fields beside the payload of the block that stands for structuredContent)."""
    data = {f"k{i:05d}": "v" * 20 for i in range(n)}
    meta = {"x": "m" * meta_bytes} if meta_bytes else None
    return CallToolResult(content=[TextContent(text=json.dumps(data), _meta=meta)], structured_content=data)


class Big(BaseModel):
    """Entries of any name, then `total` and a `blob` the outputSchema requires."""

    model_config = ConfigDict(extra="allow")
    total: int
    blob: str


@server.tool()
def bigreq(n: int, blob_bytes: int) -> Annotated[CallToolResult, Big]:
    """`n` entries, then the required `total` and a `blob_bytes`-byte `blob`: a large required key that
    shortening drops and `conform` puts back."""
    data: dict[str, object] = {f"e{i:05d}": "line item" for i in range(n)}
    data.update(total=n, blob="b" * blob_bytes)
    return CallToolResult(content=[TextContent(text=json.dumps(data))], structured_content=data)


if __name__ == "__main__":
    server.run("stdio")
