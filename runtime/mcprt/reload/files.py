"""Which local files a running manifest depends on, and whether a source's own files changed.

The manifest, its includes and `.env` come from the loader; spec files and Python modules come from
each running source. A source whose configuration is unchanged is reused by the pool, so when only
one of *its* files changed (a Python module edited in place) the reloader names it `stale` to the pool.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..observability.log import logger

if TYPE_CHECKING:
    from ..pipeline import Runtime
    from ..sources.base import RunningSource

Signature = tuple[int, int] | None  # (mtime_ns, size), None when the file is missing


def manifest_files(runtime: Runtime) -> set[Path]:
    """The manifest itself plus every file the last successful load read."""
    files: set[Path] = set()
    if runtime.loaded is not None:
        files.update(runtime.loaded.files)
        files.add(runtime.loaded.path)
    elif runtime.manifest_path is not None:
        files.add(Path(runtime.manifest_path))
    return {_absolute(f) for f in files}


def source_files(source: RunningSource) -> list[Path]:
    """A source's local files; a source that cannot say contributes none (it must not stop reloads)."""
    try:
        return [_absolute(Path(f)) for f in source.local_files()]
    except Exception as exc:  # a source bug must not take the watcher down
        logger.debug("source %s: local_files() failed: %s", getattr(source, "name", "?"), exc)
        return []


def watched_files(runtime: Runtime) -> set[Path]:
    """Everything whose change should trigger a reload."""
    files = manifest_files(runtime)
    for source in runtime.pool.running.values():
        files.update(source_files(source))
    return files


def declared_includes(manifest: Path, *, depth: int = 8) -> set[Path]:
    """Include targets a manifest (and its readable includes) names, whether or not they exist yet.

    Read after a failed load, so that creating the include a manifest already names is noticed.
    """
    from ..manifest.loader import read_manifest_file

    found: set[Path] = set()
    pending = [(_absolute(manifest), 0)]
    while pending:
        path, level = pending.pop()
        if level > depth or not path.is_file():
            continue
        data, _index, errors = read_manifest_file(path)
        includes = data.get("include") if isinstance(data, dict) and not errors else None
        for entry in includes if isinstance(includes, list) else []:
            if isinstance(entry, str):
                target = Path(os.path.normpath(path.parent / entry))
                if target not in found:
                    found.add(target)
                    pending.append((target, level + 1))
    return found


def signature(path: Path) -> Signature:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def source_signatures(runtime: Runtime) -> dict[str, dict[Path, Signature]]:
    """Per running source, the signature of each of its files now (taken after each apply)."""
    return {
        name: {path: signature(path) for path in source_files(source)}
        for name, source in runtime.pool.running.items()
    }


def sources_with_changed_files(runtime: Runtime, taken: dict[str, dict[Path, Signature]]) -> list[str]:
    """Running sources whose files differ from the snapshot `taken` (they must be reopened).

    A source missing from the snapshot (the snapshot was taken after an edit could have happened,
    or by a compile that failed later) counts as changed when it has local files.
    """
    stale = []
    for name, source in runtime.pool.running.items():
        before = taken.get(name)
        if before is None:  # opened when nobody was looking: its files may be older or newer
            if source_files(source):
                stale.append(name)
        elif any(signature(path) != sig for path, sig in before.items()):
            stale.append(name)
    return stale


def _absolute(path: Path) -> Path:
    return path if path.is_absolute() else Path.cwd() / path
