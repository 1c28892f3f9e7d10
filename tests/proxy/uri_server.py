"""An SDK (`MCPServer`) server whose tools answer structuredContent naming its own resources, for
tests/proxy/test_proxy_structured_uris.py: the resource `docs://readme` (listed) and the template
`files://{name}`; `where` answers their URIs among strings that are no URI of its resources (a web URL, a
sentence starting with one, an unknown scheme, an object key that is a URI); `pinned` answers the same under
an outputSchema whose `pattern` pins `uri` to `docs://…` and whose `Literal` pins `fixed`; `listed` answers a
list of them beside a resource link; `many` answers `count` of them. Reading a resource says which server served it. Run as
`uri_server.py` (stdio)."""

from __future__ import annotations

from typing import Literal

from mcp.server import MCPServer
from mcp_types import CallToolResult, ResourceLink, TextContent
from pydantic import BaseModel, Field

server = MCPServer("uris", log_level="CRITICAL")


@server.resource("docs://readme")
def readme() -> str:
    """The readme."""
    return "readme (uris)"


@server.resource("files://{name}")
def file(name: str) -> str:
    """A file by name."""
    return f"file {name} (uris)"


class Where(BaseModel):
    uri: str
    file: str
    web: str
    sentence: str
    unknown: str
    by_uri: dict[str, str]
    nested: list[dict[str, str]]


@server.tool()
def where() -> Where:
    """Names its resources in structuredContent."""
    return Where(uri="docs://readme", file="files://a.txt", web="https://example.com/docs://readme",
                 sentence="docs://readme is the readme", unknown="other://readme",
                 by_uri={"docs://readme": "files://b.txt"}, nested=[{"link": "files://c.txt"}])


class Pinned(BaseModel):
    uri: str = Field(pattern=r"^docs://")
    file: str
    fixed: Literal["files://fixed.txt"]


@server.tool()
def pinned() -> Pinned:
    """Names its resources where its outputSchema pins some."""
    return Pinned(uri="docs://readme", file="files://a.txt", fixed="files://fixed.txt")


@server.tool()
def listed() -> CallToolResult:
    """A list of resource URIs, with a link, the text a compact copy of the structured content."""
    return CallToolResult(content=[ResourceLink(type="resource_link", uri="docs://readme", name="readme"),
                                   TextContent(type="text", text='{"uris":["docs://readme","files://x.txt"]}')],
                          structured_content={"uris": ["docs://readme", "files://x.txt"]})


class Many(BaseModel):
    uris: list[str]


@server.tool()
def many(count: int) -> Many:
    """`count` URIs of its template (a large result: mcprt rewrites it off its event loop)."""
    return Many(uris=[f"files://f{i:05}.txt" for i in range(count)])


if __name__ == "__main__":
    server.run("stdio")
