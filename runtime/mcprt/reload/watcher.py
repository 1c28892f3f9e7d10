"""Watch a changing set of files through their folders, and report each quiet burst of changes once.

Folders, not files, are watched: an editor that saves by writing a temporary file and renaming it
over the original (or a file deleted and recreated) replaces the inode a file watch would follow.
Only the named files count, never the rest of a folder: a log file beside the manifest must not
trigger reloads (it did, in a loop, while the manifest was broken).
One watcher per folder, so adding a folder (a new include) never blinds the others for a moment.
The burst handling is watchfiles' own: changes are yielded once no new change arrived for
`quiet_ms` (capped at `max_wait_ms` for a file that never stops changing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os.path
from collections.abc import Callable, Iterable
from pathlib import Path

from watchfiles import Change, awatch

from ..observability.log import log_event

QUIET_MS = 50
MAX_WAIT_MS = 800


CATCH_UP_S = 0.3  # after arming a new folder's watch, how long until the one-off look at its files


class FileWatcher:
    """Calls `on_change(paths)` from the event loop after a burst of changes to files of interest."""

    def __init__(
        self,
        on_change: Callable[[set[Path]], None],
        *,
        quiet_ms: int = QUIET_MS,
        max_wait_ms: int = MAX_WAIT_MS,
        force_polling: bool | None = None,
    ) -> None:
        self.on_change = on_change
        self.quiet_ms = quiet_ms
        self.max_wait_ms = max_wait_ms
        self.force_polling = force_polling
        self._interesting: frozenset[str] = frozenset()
        self._wanted: set[Path] = set()
        self._folders: dict[Path, tuple[asyncio.Task[None], asyncio.Event]] = {}
        self._running = False

    @property
    def files(self) -> frozenset[str]:
        return self._interesting

    @property
    def folders(self) -> list[Path]:
        return sorted(self._folders)

    def set_files(self, files: Iterable[Path]) -> None:
        """Watch exactly these files from now on (folders are added/removed as needed). Files that
        do not exist yet count too: creating one is a change (a module a manifest names, say)."""
        interesting: set[str] = set()
        folders: set[Path] = set()
        for file in files:
            for form in _forms(file):
                interesting.add(str(form))
                folders.add(form.parent)
        self._interesting = frozenset(interesting)
        self._wanted = folders
        if self._running:
            self._sync_folders()

    async def run(self) -> None:
        """Watch until cancelled."""
        self._running = True
        self._sync_folders()
        try:
            await asyncio.Event().wait()  # the folder tasks do the work
        finally:
            self._running = False
            await self._stop_all()

    def _sync_folders(self) -> None:
        wanted = {f for f in self._wanted if f.is_dir()}
        for folder in list(self._folders):
            if folder not in wanted:
                task, stop = self._folders.pop(folder)
                stop.set()
        initial = not self._folders
        added = wanted - set(self._folders)
        for folder in added:
            stop = asyncio.Event()
            task = asyncio.create_task(self._watch_folder(folder, stop), name=f"mcprt-watch:{folder}")
            self._folders[folder] = (task, stop)
        if added and not initial:
            # A file may land in a newly watched folder before its watch is armed; look once more
            # shortly after. A reload that finds nothing changed notifies no one, so this is safe.
            asyncio.get_running_loop().call_later(CATCH_UP_S, self._catch_up, added)

    def _catch_up(self, folders: set[Path]) -> None:
        present = {
            Path(name) for name in self._interesting if Path(name).parent in folders and Path(name).exists()
        }
        if present:
            self.on_change(present)

    async def _stop_all(self) -> None:
        folders, self._folders = self._folders, {}
        for task, stop in folders.values():
            stop.set()
            task.cancel()
        for task, _ in folders.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _watch_folder(self, folder: Path, stop: asyncio.Event) -> None:
        polling = self.force_polling
        while not stop.is_set():
            try:
                async for changes in awatch(
                    folder,
                    watch_filter=self._is_interesting,
                    debounce=self.max_wait_ms,
                    step=self.quiet_ms,
                    stop_event=stop,
                    recursive=False,
                    force_polling=polling,
                ):
                    self.on_change({Path(path) for _, path in changes})
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # e.g. the inotify watch limit: polling still works
                if polling:
                    log_event("cannot watch folder; hot reload will miss its changes", logging.ERROR,
                              folder=str(folder), error=str(exc))
                    return
                log_event("native file watching failed; polling instead", logging.WARNING,
                          folder=str(folder), error=str(exc))
                polling = True

    def _is_interesting(self, change: Change, path: str) -> bool:
        return path in self._interesting


def _forms(file: Path) -> set[Path]:
    """The path as written and as resolved (a symlinked manifest changes through either)."""
    absolute = file if file.is_absolute() else Path.cwd() / file
    forms = {Path(os.path.normpath(absolute))}
    with contextlib.suppress(OSError, RuntimeError):
        forms.add(absolute.resolve())
    return forms
