"""The `command:` and `url:` source kinds: tools proxied from an MCP server (stdio or streamable HTTP)."""

from __future__ import annotations

from typing import ClassVar

from ...manifest.model import CommandSource, SourceBase, UrlSource
from ..base import RunningSource, SourceContext
from ..kind import SourceKind


class CommandKind(SourceKind):
    """An MCP server started as a subprocess. Its tools have names only: `operations` globs filter.

    The builder filters, so editing `include`/`exclude` never restarts the subprocess.
    """

    key: ClassVar[str] = "command"
    model: ClassVar[type[SourceBase]] = CommandSource

    async def open(self, ctx: SourceContext) -> RunningSource:
        from . import open_command_source

        return await open_command_source(ctx)


class UrlKind(SourceKind):
    """A remote MCP server over streamable HTTP; filtered like `command:`, without reconnecting."""

    key: ClassVar[str] = "url"
    model: ClassVar[type[SourceBase]] = UrlSource

    async def open(self, ctx: SourceContext) -> RunningSource:
        from . import open_url_source

        return await open_url_source(ctx)


COMMAND = CommandKind()
URL = UrlKind()
