"""An SDK (`MCPServer`) stdio server whose tools' results the result size limit must shorten without
breaking them: `grid` (`-> list[list[int]]`: the SDK sends one small text block per inner list item
and the wrapped value as structuredContent) and `counts` (`-> dict[str, int]`: an outputSchema of
`additionalProperties: {type: integer}` that the SDK client checks a shortened structuredContent against)."""

from __future__ import annotations

from mcp.server import MCPServer

server = MCPServer("shaped", log_level="CRITICAL")


@server.tool()
def grid(n: int) -> list[list[int]]:
    """`n` rows of the numbers 0–49."""
    return [list(range(50)) for _ in range(n)]


@server.tool()
def counts(n: int) -> dict[str, int]:
    """`n` word counts."""
    return {f"word{i:06d}": i for i in range(n)}


if __name__ == "__main__":
    server.run("stdio")
