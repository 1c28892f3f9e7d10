"""Manifests named as a path or as `REV:path` (read from git), for `mcprt diff`.

`REV:path` follows `git show`: the path is relative to the repository's top level, or to the current
folder when it starts with `./` or `../`. The manifest's whole folder at REV is extracted (with
`git archive`) into a temporary tree that mirrors the repository, so its relative spec files, pinned
specs, cases and snapshots are those of REV too; spec files outside that folder are fetched one by
one, and an included manifest outside it with its whole folder (its cases lie beside it); the copies
of `MCPRT_INCLUDE_PATHS` folders in the tree may be included as those folders are. The tree mirrors the repository at its absolute path (`<tmp>/rev-N` +
`/home/me/repo`), so a file the manifest names outside the repository (`../specs/api.json`) has a
place in it too: git has no revision of such a file, so it is taken as it is now, as checking REV
out would leave it. Messages name the files as the user knows them (`ManifestRef.shown`): a file of
the repository as `REV:path`, one outside it by its own path, never the temporary copy.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ruamel.yaml.error import YAMLError

from .. import safe_yaml
from ..errors import McprtError
from ..home_paths import expand_home, unexpanded_variables_note
from ..manifest.limits import include_paths


@dataclass(frozen=True)
class ManifestRef:
    label: str  # as the user wrote it
    path: Path  # a readable file (inside `workdir` for a revision)
    mirror: Path | None = None  # for a revision: the temporary tree standing for the file system's root
    top: Path | None = None  # the repository's top level (a revision)
    rev: str = ""
    # for a revision: the tree's copies of the `MCPRT_INCLUDE_PATHS` folders, which its loads may include
    # from as the working tree's manifest may from the originals (given to each load, never process-wide)
    include_roots: tuple[Path, ...] = ()
    # a revision that has no file at this path (the pull request that adds the manifest): `path` is an empty
    # manifest, so everything on the other side is added (`resolve_manifest_ref(absent_ok=True)`)
    absent: bool = False
    # the file this names in the working tree (for a revision: the same path at the top level), to tell
    # whether the two sides of a diff are one manifest
    worktree_file: Path | None = None

    def worktree_folder(self, folder: Path) -> Path:
        """The working-tree folder that `folder` (a manifest's, maybe in the temporary tree) stands for: where
        its `.env` is read, so a revision opens its sources with the variables the working tree has (an
        untracked `.env` is in no revision)."""
        if self.mirror is None:
            return folder
        try:
            return Path(os.sep) / folder.resolve().relative_to(self.mirror.resolve())
        except ValueError:
            return folder

    def shown(self, text: str) -> str:
        """`text` with each path into the temporary tree as the user knows it: a file of the repository
        as `REV:path` (git's spelling, relative to the top level), any other by its real path."""
        if self.mirror is None or self.top is None:
            return text
        inside = f"{self.mirror}{self.top}{os.sep}"
        return text.replace(inside, f"{self.rev}:").replace(str(self.mirror), "")


EMPTY_MANIFEST = "version: 1\nsources: {}\n"  # what a revision without the manifest served: nothing


def resolve_manifest_ref(spec: str, workdir: Path, *, absent_ok: bool = False) -> ManifestRef:
    """A path that exists, else `REV:path` materialized under `workdir`. `absent_ok`: a `REV:path` whose
    revision exists but has no file there is an empty manifest (`ManifestRef.absent`), not an error."""
    given = expand_home(spec)  # `~/proj/mcp.yaml` from a shell-less caller (`home_paths`); no revision starts with ~
    if given.exists():
        return ManifestRef(spec, given, worktree_file=given.resolve())
    note = unexpanded_variables_note(spec)
    if note is not None:  # `$HOME/proj/mcp.yaml` from a shell-less caller: the file is there, not at a revision
        raise McprtError(f"{spec}: no such file; {note}")
    rev, sep, path = spec.partition(":")
    if not sep or not rev or not path:
        raise McprtError(f"{spec}: no such file (to read a manifest from git, write REV:path, e.g. HEAD~1:mcp.yaml)")
    top = _toplevel()
    relative = _repo_relative(path, top)
    _git(top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}",  # an unknown revision is not a missing file
         what=f"{spec}: unknown revision {rev!r} in {top} (`git log --oneline` lists the commits)")
    if absent_ok and not _exists_at(top, rev, relative):
        empty = workdir / f"absent-{abs(hash(spec))}" / PurePosixPath(relative).name
        empty.parent.mkdir(parents=True)
        empty.write_text(EMPTY_MANIFEST)
        return ManifestRef(spec, empty, rev=rev, absent=True, worktree_file=top.resolve() / relative)
    _git(top, "cat-file", "-e", f"{rev}:{relative}", what=f"{spec}: no such file at revision {rev}")
    mirror = workdir / f"rev-{abs(hash(spec))}"
    target = mirror / top.resolve().relative_to(top.resolve().anchor)  # the repository at its own path
    folder = PurePosixPath(relative).parent
    _extract(top, rev, str(folder) if str(folder) != "." else ".", target)
    manifest = target / relative
    roots = tuple(mirror / root.relative_to(root.anchor) for root in include_paths())
    _fetch_outside_files(top, rev, manifest, target, mirror)
    return ManifestRef(spec, manifest, mirror, top.resolve(), rev, roots, worktree_file=top.resolve() / relative)


def _exists_at(top: Path, rev: str, relative: str) -> bool:
    """Whether revision `rev` (known to exist) has a file at `relative` (`git cat-file -e`)."""
    try:
        _git(top, "cat-file", "-e", f"{rev}:{relative}", what="")
    except McprtError:
        return False
    return True


def _toplevel() -> Path:
    out = _git(Path.cwd(), "rev-parse", "--show-toplevel", what="REV:path needs a git repository here")
    return Path(out.decode().strip())


def _repo_relative(path: str, top: Path) -> str:
    if path.startswith(("./", "../")):
        absolute = (Path.cwd() / path).resolve()
        try:
            return absolute.relative_to(top.resolve()).as_posix()
        except ValueError:
            raise McprtError(f"{path} is outside the repository at {top}") from None
    return PurePosixPath(path).as_posix()


def _git(cwd: Path, *args: str, what: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=60, check=False)
    except FileNotFoundError:
        raise McprtError("git is not installed (needed for REV:path)") from None
    except subprocess.TimeoutExpired:
        raise McprtError(f"{what} (git {args[0]} timed out)") from None
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise McprtError(f"{what}" + (f" ({detail[-1]})" if detail else ""))
    return done.stdout


class UnsafeRevisionFile(McprtError):
    """A file of the revision that cannot be extracted safely (a link leading outside the tree)."""


def _extract(top: Path, rev: str, folder: str, target: Path) -> None:
    """`folder` (relative to the top level) at `rev` into `target`, with tarfile's `data` filter (PEP 706):
    McprtError when git cannot give it; UnsafeRevisionFile naming the file when a member would land, or
    a link would point, outside `target` (a symlink to `/etc/passwd` or `../../x`)."""
    data = _git(top, "archive", "--format=tar", rev, "--", folder, what=f"cannot read {folder} at {rev}")
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        try:
            archive.extractall(target, filter="data")
        except tarfile.FilterError as exc:  # the member names its link target: the repository's own text
            where = getattr(exc.tarinfo, "name", folder)
            link = f" (to {exc.tarinfo.linkname})" if getattr(exc.tarinfo, "linkname", "") else ""
            raise UnsafeRevisionFile(f"{rev}:{where}: a link{link} leading outside the repository's files at {rev}; "
                                     "mcprt diff reads a revision only through files inside it") from None
        except tarfile.TarError as exc:
            raise UnsafeRevisionFile(f"cannot read {folder} at {rev}: {exc}") from None


def _config_files(source: Any, folder: Path) -> list[Path]:
    """The local files a raw source entry's kind names in its configuration (e.g. a spec document)."""
    from ..manifest.model import SOURCE_MODELS, source_kind
    from ..sources.kind import kind_of

    kind = source_kind(source)
    if kind is None:
        return []
    config = SOURCE_MODELS[kind].model_construct(**source)  # unvalidated: only its file keys are read
    try:
        return kind_of(config).config_files(config, folder)
    except (TypeError, AttributeError, ValueError):
        return []  # not a valid entry: the compile reports it


def _fetch_outside_files(top: Path, rev: str, manifest: Path, target: Path, mirror: Path, depth: int = 0) -> None:
    """Spec files and included manifests that live outside the extracted folder: from REV when they are in
    the repository, else as they are now (git has no revision of them)."""
    if depth > 8:
        return
    try:
        data: Any = safe_yaml.load(manifest.read_text(encoding="utf-8"))
    except (OSError, YAMLError, UnicodeDecodeError):
        return  # the loader reports what is wrong with it
    if not isinstance(data, dict):
        return
    includes = data.get("include")  # not a list of strings: the loader reports it, at its line
    wanted = [(i, True) for i in includes if isinstance(i, str)] if isinstance(includes, list) else []
    for source in (data.get("sources") or {}).values() if isinstance(data.get("sources"), dict) else ():
        wanted += [(os.path.relpath(path, manifest.parent), False) for path in _config_files(source, manifest.parent)]
    for entry, included in wanted:
        local = Path(os.path.normpath(manifest.parent / entry))
        if local.exists():
            continue
        try:
            relative = local.relative_to(target).as_posix()
        except ValueError:
            relative = None  # outside the repository: nothing git can give
        try:
            if relative is not None and included:  # its whole folder: the cases and specs beside it are its
                _extract(top, rev, PurePosixPath(relative).parent.as_posix(), target)
                if not local.exists():
                    continue
            elif relative is not None:
                body = _git(top, "show", f"{rev}:{relative}", what="")
            else:  # the file itself, where the manifest names it (what REV checked out would read)
                original = Path(os.sep) / local.relative_to(mirror)
                body = original.read_bytes()
                if included and (original.parent / "cases").is_dir():  # its cases, as they are now
                    shutil.copytree(original.parent / "cases", local.parent / "cases", dirs_exist_ok=True)
        except UnsafeRevisionFile:
            raise
        except (McprtError, ValueError, OSError):
            continue  # missing at REV, or not there: the compile names it (`ManifestRef.shown`)
        if not local.exists():
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(body)
        if included:
            _fetch_outside_files(top, rev, local, target, mirror, depth + 1)
