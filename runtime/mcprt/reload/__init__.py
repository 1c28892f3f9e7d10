"""Hot reload: edit mcp.yaml (or a file it uses) while serving; clients never lose a call.

The server (`mcprt up`) runs `watch(runtime, notifier)` beside itself and `reload_now(runtime,
notifier)` on SIGHUP; `/healthz` can show `reload_status(runtime)`. The server's own notifier tells
clients about a new tool list (it listens to `runtime.holder.on_swap`), so nothing here speaks MCP.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING, Any

from .. import lazy_exports

if TYPE_CHECKING:
    from ..pipeline import Runtime
    from .changes import ToolChanges, diff_toolsets
    from .reloader import ReloadOutcome, Reloader
    from .status import ReloadStatus

# Loaded on first use: `mcprt up` takes its baseline (`reload.baseline`, a light module) before the
# first answer, and loads the reloader itself only after it (~0.01 s of imports off that path).
_LAZY = {"ToolChanges": "changes", "diff_toolsets": "changes", "ReloadOutcome": "reloader",
         "Reloader": "reloader", "ReloadStatus": "status"}

__getattr__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "ReloadOutcome",
    "ReloadStatus",
    "Reloader",
    "ToolChanges",
    "diff_toolsets",
    "follow_upstream",
    "reload_now",
    "reload_status",
    "reloader_for",
    "watch",
]

_reloaders: weakref.WeakKeyDictionary[Any, Reloader] = weakref.WeakKeyDictionary()


def reloader_for(runtime: Runtime, notifier: Any | None = None, *, baseline: bool = True) -> Reloader:
    """The one Reloader of a started runtime (created on first use, shared by watch and SIGHUP).

    Create it right after `runtime.start()` (as `watch` does) so that it knows the sources' files
    as they were opened; `baseline=False` says that moment has passed.
    """
    from .reloader import Reloader

    reloader = _reloaders.get(runtime)
    if reloader is None:
        reloader = Reloader(runtime, notifier, baseline=baseline)
        runtime.on_upstream_tools_changed(reloader.on_upstream_tools_changed)
        _reloaders[runtime] = reloader
    elif notifier is not None:
        reloader.notifier = notifier
    return reloader


def reload_status(runtime: Runtime) -> dict[str, Any]:
    """The last reload's outcome for `/healthz`: ok (None before any reload), outcome ("applied", "failed",
    "abandoned"), reason (why abandoned), at, seconds, trigger, errors, warnings (of the set served: the start's
    before any reload), totals (reloads, failures, abandoned)."""
    from .status import ReloadStatus

    reloader = _reloaders.get(runtime)
    served = ReloadStatus(warnings=[str(w) for w in runtime.warnings])  # no reloader: the start's set serves
    return (reloader.status if reloader is not None else served).to_dict()


async def reload_now(runtime: Runtime, notifier: Any | None = None) -> ReloadOutcome:
    """Reload once, now (SIGHUP); waits for a reload in progress first; never raises for a bad manifest."""
    return await reloader_for(runtime, notifier, baseline=False).reload("signal")


async def watch(runtime: Runtime, notifier: Any | None = None, *, quiet_ms: int | None = None,
                force_polling: bool | None = None) -> None:
    """Watch the manifest and every local file it uses; reload on change until cancelled."""
    from .watcher import QUIET_MS, FileWatcher

    reloader = reloader_for(runtime, notifier)
    watcher = FileWatcher(lambda paths: reloader.request("files", paths),
                          quiet_ms=quiet_ms or QUIET_MS, force_polling=force_polling)

    def refresh() -> None:
        watcher.set_files(reloader.watch_set())

    refresh()
    reloader.after_attempt(refresh)
    reloader.catch_up()  # edits made between the baseline (start) and this watcher's start
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(watcher.run(), name="mcprt-reload-watch")
            group.create_task(reloader.serve(), name="mcprt-reload-serve")
    finally:
        reloader.forget_listener(refresh)
        await reloader.aclose()


async def follow_upstream(runtime: Runtime, notifier: Any | None = None) -> None:
    """Without hot reload (`--no-reload`): no file is watched, but a proxied server's
    `tools/list_changed` still rebuilds the tool set and notifies clients, until cancelled.

    `--no-reload` freezes the manifest, not the upstream servers: their tools are theirs to change.
    """
    reloader = reloader_for(runtime, notifier)
    try:
        await reloader.serve()
    finally:
        await reloader.aclose()
