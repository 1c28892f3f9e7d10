"""Which changed files concern a manifest, from its text alone: what the pre-commit hooks (`mcprt hook`) decide
before running `mcprt validate` or `mcprt test`. Beside `files.py`, whose `declared_dependencies` it widens: the
running server knows its files exactly (`watched_files`), a hook must know them without compiling anything.

pre-commit selects a hook's files with a static `files:` pattern, but what a manifest reads is named inside
it: `openapi: tickets-api.yaml` (as `mcprt init` writes), `python:` modules and the helpers they import,
a `command:` server's script, `include:`d manifests, `.env`, recorded cases and snapshots. So the hooks run
on every commit (`always_run`) with the staged files, and this module answers from the manifests' text
alone — YAML/TOML read, nothing compiled, no code imported — whether any of them is one the manifest
reads. Where the text cannot tell exactly (a module's own imports, a description's `$ref`s, a script's
files) it answers for the whole folder tree of that kind of file: a needless run costs a check, a missed
one a broken commit.

A manifest's scope (`ManifestScope`), for it and each manifest it includes:
- the file itself, its `include:`s, the `.env` beside it, its local `openapi:` documents and the pinned
  `spec/<source>.*` copies of URL ones, its `python:` entry modules (`reload.files.declared_dependencies`,
  what a reload waits for after a failed load);
- everything under its `cases/` (cases and `__snapshots__/`) and `spec/` folders;
- with a `python:` source, every `.py` file under its folder (a module imports its helpers from there,
  `sources.python.importing`);
- with a `command:` source, the files its command line names (as the source watches them,
  `sources.mcp.connectors`) and the files of the same kind under each one's folder (a script's modules);
- with a local `openapi:` document that has a `$ref` to another file, the `.json`/`.yaml`/`.yml` files
  under the document's folder and the manifest's (where such a `$ref` may lead, `sources.openapi.reach`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..sources.command_line import command_argv, command_files
from .files import declared_dependencies, declared_manifests

MANIFEST_NAMES = ("mcp.yaml", "mcp.yml", "mcp.toml")
_DESCRIPTION_SUFFIXES = frozenset({".json", ".yaml", ".yml"})
# a `$ref` whose value does not start with `#` (JSON `"$ref": "x.json"`, YAML `$ref: ./x.yaml` or quoted)
_FILE_REF = re.compile(rb"""\$ref['"]?\s*:\s*(?:['"](?![#'"])|[^\s'"#])""")
_REF_SCAN_LIMIT = 64 * 1024 * 1024  # a description larger than this is assumed to have one (not read)


@dataclass
class ManifestScope:
    """The files a manifest reads (`files`) and the folder trees it may read from (`trees`: folder →
    the file suffixes that count there, None for any file)."""

    manifest: Path
    files: set[Path] = field(default_factory=set)
    trees: dict[Path, frozenset[str] | None] = field(default_factory=dict)

    def add_tree(self, folder: Path, suffixes: Iterable[str] | None = None) -> None:
        kept = self.trees.get(folder, frozenset())
        if kept is None or suffixes is None:
            self.trees[folder] = None
        else:
            self.trees[folder] = kept | frozenset(suffixes)

    def concerns(self, path: Path) -> bool:
        """Whether a change of `path` can change what checking the manifest finds."""
        path = _absolute(path)
        if path in self.files:
            return True
        for folder, suffixes in self.trees.items():
            if path.is_relative_to(folder) and (suffixes is None or path.suffix.lower() in suffixes):
                return True
        return False


def manifest_scope(manifest: Path) -> ManifestScope:
    """What `manifest` (and each manifest it includes) reads, from their text alone (see the module)."""
    manifest = _absolute(manifest)
    scope = ManifestScope(manifest, {manifest} | {_absolute(p) for p in declared_dependencies(manifest)})
    for path, data in declared_manifests(manifest):
        path = _absolute(path)
        folder = path.parent
        scope.files.add(path)
        scope.add_tree(folder / "cases")
        scope.add_tree(folder / "spec")
        sources = data.get("sources")
        for source in sources.values() if isinstance(sources, dict) else []:
            if isinstance(source, dict):
                _source_scope(scope, folder, source)
    return scope


def _source_scope(scope: ManifestScope, folder: Path, source: dict[str, Any]) -> None:
    if source.get("python"):
        scope.add_tree(folder, {".py"})
    command = source.get("command")
    if command:
        cwd = folder / source["cwd"] if isinstance(source.get("cwd"), str) else folder
        for named in command_files(_argv(command, source.get("args")), cwd):
            scope.files.add(named)
            scope.add_tree(named.parent, {named.suffix.lower()} if named.suffix else None)
    spec = source.get("openapi")
    if isinstance(spec, str) and spec and "://" not in spec:
        document = _absolute(Path(os.path.normpath(folder / spec)))
        if _has_file_ref(document):
            scope.add_tree(document.parent, _DESCRIPTION_SUFFIXES)
            scope.add_tree(folder, _DESCRIPTION_SUFFIXES)


def _argv(command: Any, args: Any) -> list[str]:
    """The command line as the source would run it; none when the text is not one (the schema says why)."""
    if not isinstance(command, (str, list)):
        return []
    try:
        return command_argv(command, args if isinstance(args, list) else ())
    except ValueError:  # an unclosed quote
        return []


def _has_file_ref(document: Path) -> bool:
    """Whether an API description has a `$ref` to another document (a missing or huge file: True)."""
    try:
        if document.stat().st_size > _REF_SCAN_LIMIT:
            return True
        return _FILE_REF.search(document.read_bytes()) is not None
    except OSError:
        return True


def affected(manifests: Iterable[Path], changed: Iterable[Path]) -> dict[Path, list[Path]]:
    """For each manifest a change concerns: the changed files (absolute) that concern it, in order."""
    paths = [_absolute(p) for p in changed]
    found: dict[Path, list[Path]] = {}
    for manifest in manifests:
        scope = manifest_scope(manifest)
        hits = [p for p in paths if scope.concerns(p)]
        if hits:
            found[manifest] = hits
    return found


def _absolute(path: Path) -> Path:
    """`path` absolute with its symbolic links resolved, as `command_files` gives them: a scope and the
    changed paths compared with it must spell one file alike (a repository under a linked folder)."""
    return Path(os.path.realpath(path))
