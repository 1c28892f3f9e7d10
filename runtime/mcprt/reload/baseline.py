"""Hot reload's baseline: each watched file's content as the running tool set was compiled from it.

`mcprt up` records it right after the compile, before its first answer, and the reloader (loaded
after that answer) starts from it: an edit made in between still reads as a change and is reloaded.
Recording costs a few stats and hashes of small files. An API description is not hashed again: its
digest is the one the compile read it with (`sources.openapi.loader.digests_recorded`: sha256 of the
file's bytes, the algorithm and bytes `files.content_digest` hashes), resolved only when the
reloader is created. This module imports no more than `files` does, so it stays off the start path's cost.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .files import content_digest, watched_files

if TYPE_CHECKING:
    from ..pipeline import Runtime


class KnownDigests(Protocol):
    """Digests a compile already computed, by path (`sources.openapi.loader.ReadDigests`)."""

    def __contains__(self, path: object) -> bool: ...

    def get(self, path: Path) -> str | None: ...


@dataclass
class Baseline:
    """Watched files as compiled: `hashed` at record time, the rest `known` to the compile."""

    hashed: dict[Path, str | None] = field(default_factory=dict)
    known: dict[Path, KnownDigests] = field(default_factory=dict)

    def digests(self) -> dict[Path, str | None]:
        """Path → sha256 hex (None: missing), resolving the compile's digests now."""
        found = dict(self.hashed)
        for path, digests in self.known.items():
            found[path] = digests.get(path)
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
            baseline.hashed[path] = content_digest(path)
    _recorded[runtime] = baseline
    return baseline


def take_baseline(runtime: Runtime) -> dict[Path, str | None] | None:
    """The digests recorded for `runtime` (once; None when none was recorded)."""
    baseline = _recorded.pop(runtime, None)
    return None if baseline is None else baseline.digests()
