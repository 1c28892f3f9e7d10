"""The `command:` and `url:` source kinds: tools proxied from an MCP server (stdio or streamable HTTP)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ...manifest.model import CommandSource, SourceBase, UrlSource
from ..base import RunningSource, SourceContext
from ..kind import SourceKind


class _ProxyKind(SourceKind):
    """What both MCP-server kinds share: per-item `resources:`/`prompts:` overrides (rename, describe,
    hide) are applied by the builder, so editing them keeps the running server; only switching a
    whole family on or off (`false`) changes what the source must list, and reopens it."""

    build_only: ClassVar[frozenset[str]] = SourceKind.build_only | {"resources", "prompts"}

    def fingerprint(self, config: SourceBase, base_dir: Path, defaults: Any) -> str:
        switches = {name: getattr(config, name, None) is not False for name in ("resources", "prompts")}
        return super().fingerprint(config, base_dir, defaults) + "".join("1" if on else "0" for on in switches.values())


class CommandKind(_ProxyKind):
    """An MCP server started as a subprocess. Its tools have names only: `operations` globs filter.

    The builder filters, so editing `include`/`exclude` never restarts the subprocess.
    """

    key: ClassVar[str] = "command"
    model: ClassVar[type[SourceBase]] = CommandSource

    async def open(self, ctx: SourceContext) -> RunningSource:
        from . import open_command_source

        return await open_command_source(ctx)


class UrlKind(_ProxyKind):
    """A remote MCP server over streamable HTTP; filtered like `command:`, without reconnecting."""

    key: ClassVar[str] = "url"
    model: ClassVar[type[SourceBase]] = UrlSource

    async def open(self, ctx: SourceContext) -> RunningSource:
        from . import open_url_source

        return await open_url_source(ctx)


COMMAND = CommandKind()
URL = UrlKind()
