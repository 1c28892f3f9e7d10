"""mcprt: a declarative runtime that compiles one reviewed manifest into a live MCP server."""

__version__ = "0.1.0"
