"""MCP servers as sources: `command:` (a stdio subprocess) and `url:` (streamable HTTP)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from ...errors import McprtError
from ...manifest.model import CommandSource, UrlSource
from ..base import SourceContext
from ..tls_setting import tls_context, tls_files
from .connectors import Connector, HttpConnector, StdioConnector, process_spec
from .source import McpServerSource, Wants

__all__ = ["McpServerSource", "open_command_source", "open_mcp_source", "open_url_source"]


async def open_command_source(ctx: SourceContext) -> McpServerSource:
    """Start the subprocess and list its tools; raise McprtError saying why it failed."""
    config = ctx.config
    if not isinstance(config, CommandSource):
        raise McprtError(f"source '{ctx.name}' is not a command source")
    log = logging.getLogger(f"mcprt.source.{ctx.name}")
    return await _start(ctx, "command", StdioConnector(process_spec(config, ctx.base_dir, may_start_down=ctx.may_start_down),
                                                     ctx.name, log))


async def open_url_source(ctx: SourceContext) -> McpServerSource:
    """Connect to the remote server and list its tools; raise McprtError saying why it failed."""
    config = ctx.config
    if not isinstance(config, UrlSource):
        raise McprtError(f"source '{ctx.name}' is not a url source")
    parts = urlsplit(config.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise McprtError("url must be an http:// or https:// URL of the server's MCP endpoint")
    tls = tls_context(config, ctx.base_dir, parts.scheme == "https", ("url",))
    connector = HttpConnector(config, ctx.name, logging.getLogger(f"mcprt.source.{ctx.name}"), tls,
                              tuple(tls_files(config, ctx.base_dir)))
    return await _start(ctx, "url", connector)


async def open_mcp_source(ctx: SourceContext) -> McpServerSource:
    """Either of the two, by the configuration's model."""
    if isinstance(ctx.config, CommandSource):
        return await open_command_source(ctx)
    return await open_url_source(ctx)


async def _start(ctx: SourceContext, kind: str, connector: Connector) -> McpServerSource:
    config = ctx.config
    assert isinstance(config, (CommandSource, UrlSource))
    source = McpServerSource(ctx.name, kind, connector, float(config.startup_timeout), ctx.on_tools_changed,
                             wants=Wants(resources=config.resources is not False, prompts=config.prompts is not False),
                             on_event=ctx.on_event, sole_client=ctx.sole_client,
                             liveness=(float(config.ping_every), float(config.ping_timeout)),
                             restart_delay=float(config.restart_delay))
    source.open_findings = ctx.warnings  # the first listing's findings are the source's warnings (validate)
    try:
        await source.start(may_start_down=ctx.may_start_down)
    finally:
        source.open_findings = None
    return source
