"""Which local files a running manifest depends on, and whether a source's own files changed.

The manifest, its includes and `.env` come from the loader; spec files and Python modules come from
each running source. A source whose configuration is unchanged is reused by the pool, so when only
one of *its* files changed (a Python module edited in place) the reloader names it `stale` to the pool.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..file_identity import content_digest
from ..observability.log import logger

if TYPE_CHECKING:
    from ..pipeline import Runtime
    from ..sources.base import RunningSource

DOTENV = ".env"  # read beside each manifest (manifest.envvars)
Signature = tuple[int, int] | None  # (mtime_ns, size), None when the file is missing


def manifest_files(runtime: Runtime) -> set[Path]:
    """The manifest itself plus every file the last successful load read, and the `.env` beside each
    manifest (root or included) whether or not it exists: a `.env` created after start-up is read by
    the reload its creation triggers (a desktop client launches mcprt, the user then adds the missing
    credential; only a SIGHUP noticed it)."""
    files: set[Path] = set()
    if runtime.loaded is not None:
        files.update(runtime.loaded.files)
        files.add(runtime.loaded.path)
    elif runtime.manifest_path is not None:
        files.add(Path(runtime.manifest_path))
    files.update(f.parent / DOTENV for f in list(files) if f.name != DOTENV)
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


def declared_manifests(manifest: Path, *, depth: int = 8) -> list[tuple[Path, dict[str, Any]]]:
    """The manifest and the includes it names, down to `depth` levels, that can be read now: each
    (absolute path, its data as written — no schema, no `${VAR}`s). Reads YAML/TOML only: cheap."""
    from ..manifest.loader import read_manifest_file

    read: list[tuple[Path, dict[str, Any]]] = []
    pending = [(_absolute(manifest), 0)]
    seen: set[Path] = set()
    while pending:
        path, level = pending.pop()
        if level > depth or path in seen or not path.is_file():
            continue
        seen.add(path)
        data, _index, _errors = read_manifest_file(path)
        if not isinstance(data, dict):
            continue
        read.append((path, data))
        pending += [(target, level + 1) for target in included_paths(path, data)]
    return read


def included_paths(path: Path, data: dict[str, Any]) -> list[Path]:
    """The files the `include:` list of the manifest at `path` (its `data`) names, as paths."""
    includes = data.get("include")
    return [Path(os.path.normpath(path.parent / entry)) for entry in (includes if isinstance(includes, list) else [])
            if isinstance(entry, str)]


def declared_dependencies(manifest: Path, *, depth: int = 8) -> set[Path]:
    """Local files a manifest (and its readable includes) names, whether or not they exist yet:
    includes, `.env`, local `openapi:` documents, pinned `spec/<source>.*` copies of URL ones, and
    the module files a `python:` source would import from the manifest's folder.

    Read after a failed load, so that creating or fixing any of them is noticed — without watching
    whole folders (a log file written there would otherwise trigger reload after reload)."""
    from ..sources.openapi.pinned import PINNED_SPEC_DIR, PINNED_SPEC_SUFFIXES

    found: set[Path] = set()
    for path, data in declared_manifests(manifest, depth=depth):
        found.add(path.parent / DOTENV)
        found.update(included_paths(path, data))
        sources = data.get("sources")
        for name, source in sources.items() if isinstance(sources, dict) else []:
            if not isinstance(source, dict):
                continue
            spec = source.get("openapi")
            if isinstance(spec, str) and "://" in spec:
                found.update(path.parent / PINNED_SPEC_DIR / f"{name}{suffix}" for suffix in PINNED_SPEC_SUFFIXES)
            elif isinstance(spec, str) and spec:
                found.add(Path(os.path.normpath(path.parent / spec)))
            entries = source.get("python")
            for entry in [entries] if isinstance(entries, str) else entries if isinstance(entries, list) else []:
                if isinstance(entry, str) and entry:
                    stem = path.parent.joinpath(*entry.split(":", 1)[0].strip().split("."))
                    found.update({stem.with_name(stem.name + ".py"), stem / "__init__.py"})
    return found


def signature(path: Path) -> Signature:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


Digest = Callable[[Path], "str | None"]  # path → sha256 of its bytes (None: missing), e.g. a `FileDigests`


def source_contents(runtime: Runtime, digest: Digest = content_digest,
                    known: dict[Path, str | None] | None = None) -> dict[str, dict[Path, str | None]]:
    """Per running source, the content digest of each of its files (taken after each apply): as `known`
    says (what the compile read), else as it is now."""
    known = known or {}
    return {
        name: {path: known[path] if path in known else digest(path) for path in source_files(source)}
        for name, source in runtime.pool.running.items()
    }


def sources_with_changed_files(runtime: Runtime, taken: dict[str, dict[Path, str | None]],
                               digest: Digest = content_digest) -> list[str]:
    """Running sources whose files' content differs from the snapshot `taken` (they must be reopened).

    Compared by content, not by stat: a Kubernetes ConfigMap update re-creates every file of the volume
    (new inode, new mtime) while only one key changed, and reopened every source that reads one.
    A source missing from the snapshot (the snapshot was taken after an edit could have happened,
    or by a compile that failed later) counts as changed when it has local files.
    """
    stale = []
    for name, source in runtime.pool.running.items():
        before = taken.get(name)
        if before is None:  # opened when nobody was looking: its files may be older or newer
            if source_files(source):
                stale.append(name)
        elif any(digest(path) != known for path, known in before.items()):
            stale.append(name)
    return stale


def resolved_paths(paths: set[Path]) -> dict[Path, str]:
    """Each path with every symlink resolved: the file a read through it reaches now. A Kubernetes
    ConfigMap or Secret volume names every key `key -> ..data/key`, `..data -> ..<timestamp>`, and an
    update re-points `..data` at a new folder: two reads that resolved alike read one version."""
    return {path: os.path.realpath(path) for path in paths}


def _absolute(path: Path) -> Path:
    return path if path.is_absolute() else Path.cwd() / path
