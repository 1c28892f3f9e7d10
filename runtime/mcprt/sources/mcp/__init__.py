"""MCP servers as sources: `command:` (a stdio subprocess) and `url:` (streamable HTTP)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from ...errors import McprtError
from ...manifest.model import CommandSource, UrlSource
from ..base import SourceContext
from .connectors import Connector, HttpConnector, StdioConnector, process_spec
from .source import McpServerSource, Wants

__all__ = ["McpServerSource", "open_mcp_source"]


async def open_mcp_source(ctx: SourceContext) -> McpServerSource:
    """Start (or connect to) the server and list its tools; raise McprtError saying why it failed."""
    config = ctx.config
    connector: Connector
    if isinstance(config, CommandSource):
        log = logging.getLogger(f"mcprt.source.{ctx.name}")
        connector = StdioConnector(process_spec(config, ctx.base_dir), log)
        kind = "command"
    elif isinstance(config, UrlSource):
        parts = urlsplit(config.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise McprtError("url must be an http:// or https:// URL of the server's MCP endpoint")
        connector = HttpConnector(config)
        kind = "url"
    else:
        raise McprtError(f"source '{ctx.name}' is not an MCP server source")
    source = McpServerSource(ctx.name, kind, connector, float(config.startup_timeout), ctx.on_tools_changed,
                             wants=Wants(resources=config.resources is not False, prompts=config.prompts is not False),
                             on_event=ctx.on_event)
    await source.start()
    return source
