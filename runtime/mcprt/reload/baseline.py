"""Hot reload's baseline: each watched file's content as the running tool set was compiled from it.

`mcprt up` records it right after the compile, before its first answer, and the reloader (loaded
after that answer) starts from it: an edit made in between still reads as a change and is reloaded.
Recording costs a few stats and hashes of small files. An API description is not hashed again: its
digest is the one the compile read it with (`sources.openapi.loader.digests_recorded`: sha256 of the
file's bytes, the algorithm and bytes `files.content_digest` hashes), resolved only when the
reloader is created. Each digest is kept with the file's stat as it was hashed or read
(`files.FileDigests`), so the reloader's catch-up after the first answer (and every later look) hashes
only the files whose stat changed since. This module imports no more than `files` does, so it stays off
the start path's cost.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..file_identity import FileDigests
from .files import watched_files

if TYPE_CHECKING:
    from ..pipeline import Runtime


class KnownDigests(Protocol):
    """Digests a compile already computed, by path (`sources.openapi.loader.ReadDigests`)."""

    def __contains__(self, path: object) -> bool: ...

    def get(self, path: Path) -> str | None: ...

    def identity(self, path: Path) -> tuple[int, ...]: ...


@dataclass
class Baseline:
    """Watched files as compiled: `hashed` at record time, the rest `known` to the compile; `hashes`
    keeps each digest with the stat it was taken at (the reloader goes on with it)."""

    hashed: dict[Path, str | None] = field(default_factory=dict)
    known: dict[Path, KnownDigests] = field(default_factory=dict)
    hashes: FileDigests = field(default_factory=FileDigests)

    def digests(self) -> dict[Path, str | None]:
        """Path → sha256 hex (None: missing), resolving the compile's digests now."""
        found = dict(self.hashed)
        for path, digests in self.known.items():
            found[path] = digest = digests.get(path)
            self.hashes.keep(path, digests.identity(path), digest)
        return found


_recorded: weakref.WeakKeyDictionary[Any, Baseline] = weakref.WeakKeyDictionary()


def record_baseline(runtime: Runtime, known: KnownDigests | None = None) -> Baseline:
    """Take the baseline of a just-started `runtime` and keep it for its reloader (`take_baseline`).

    Call it right after `runtime.start()`: a file's content as of now stands for the compiled one
    (as the reloader's own baseline always did), except those in `known`, whose compiled digest is exact."""
    baseline = Baseline()
    for path in watched_files(runtime):
        if known is not None and path in known:
            baseline.known[path] = known
        else:
            baseline.hashed[path] = baseline.hashes(path)
    _recorded[runtime] = baseline
    return baseline


def take_baseline(runtime: Runtime) -> Baseline | None:
    """The baseline recorded for `runtime` (once; None when none was recorded)."""
    return _recorded.pop(runtime, None)
