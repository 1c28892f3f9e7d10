"""What every kind of source is at run time: operations plus a lifecycle.

A source is opened once (fetch/compile/import/connect), serves calls, and is closed. On reload a
source whose configuration did not change is kept as it is — same subprocess, same HTTP pool —
so its `fingerprint` must change exactly when its behaviour would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import Diagnostic
from ..manifest.model import SourceBase
from ..settings import Settings
from ..contracts import Operation, SoleClientSlot


@dataclass
class SourceContext:
    """What a source needs from its surroundings to open."""

    name: str
    config: SourceBase
    base_dir: Path  # where its relative paths resolve
    settings: Settings
    defaults: Any  # manifest.defaults
    on_tools_changed: Callable[[str], None] | None = None  # e.g. an upstream MCP server's list_changed
    # Upstream events the server forwards: (source, "resource_updated", uri). (A log message no call
    # explains stays in mcprt's log: it is never broadcast to every client.)
    on_event: Callable[[str, str, Any], None] | None = None
    # mcprt's one client over stdio (the runtime's): proxied servers' messages outside any call go to it
    sole_client: SoleClientSlot = field(default_factory=SoleClientSlot)
    warnings: list[Diagnostic] = field(default_factory=list)  # without a place: put at the source's kind line
    # Findings about one key of the source's configuration: (path below the source, e.g. ("auth", 1), warning
    # or note without a place), each put at that key's line by the pool (`SourcePool`), as SourceConfigError's
    # problems are.
    warnings_at: list[tuple[tuple[str | int, ...], Diagnostic]] = field(default_factory=list)
    # `mcprt up` without `--strict`: a proxied server that cannot be reached at start opens `down` (no
    # tools, retried with backoff) instead of failing the compile; the pool decides whether that is enough
    may_start_down: bool = False


class RunningSource(Protocol):
    """An open source of some kind, as `SourceKind.open` returns it.

    name:        the source's key in the manifest
    kind:        its kind's key (`SourceKind.key`), for logs and diagnostics
    operations:  what it offers now; may change while it runs (an MCP server's list_changed, after
                 which it calls `SourceContext.on_tools_changed(name)` and a rebuild reads it again)
    local_files: every local file it read (documents, modules, scripts); editing one makes hot
                 reload reopen it. Must not raise (a failure counts as no files).
    aclose:      release processes, connections and pools; called once, after the last tool set
                 using it is gone. Must not raise for an already-broken upstream.
    """

    name: str
    kind: str

    @property
    def operations(self) -> list[Operation]: ...

    # Optional: `offerings` (mcprt.offerings.Offerings | None), the resources and prompts it offers.
    # Optional: `left_out` (frozenset[str]), the override keys of operations its `include`/`exclude` left
    # out before `operations` (a kind filtering while it opens, as OpenAPI compiles only those selected).
    # Optional: `async warm_up()`, what its first call would load (a client library, a pool), run by
    # `mcprt up` once it serves and the client's first requests had their turn; must not raise.

    def local_files(self) -> list[Path]:
        """Local files this source reads (for the reload watcher)."""
        ...

    async def aclose(self) -> None: ...
