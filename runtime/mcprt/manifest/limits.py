"""Limits on what a manifest (and a file it names) may cost to read: manifests come from pull requests.

- size: a manifest over `MCPRT_MAX_MANIFEST_BYTES` (default 1 MB) is refused before parsing; an
  OpenAPI document over `MCPRT_MAX_SPEC_BYTES` (default 64 MB) likewise;
- regular files only: `/dev/zero`, a FIFO or a directory is refused instead of read forever;
- nodes and depth: YAML aliases let 530 bytes describe billions of nodes ("billion laughs"); the
  plain data built from a manifest may hold at most `MCPRT_MAX_MANIFEST_NODES` (default 100,000)
  values, nested at most `MAX_DEPTH` (64) deep — counted while building, so the expansion stops at
  the limit instead of after it; a YAML OpenAPI document may expand to one value per character of
  its text plus `MCPRT_SPEC_ALIAS_ALLOWANCE` (default 1,000,000), counted by the OpenAPI loader;
- includes: an included manifest must be inside the including manifest's folder tree, or inside a
  folder listed in `MCPRT_INCLUDE_PATHS` (os.pathsep-separated), or one its load was given (`extra`:
  a revision's copies of those folders, for that load only).

Each limit is read from the environment when used, so a test or an operator can change it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from collections.abc import Sequence
from typing import BinaryIO
from ..settings import env_limit

DEFAULT_MAX_MANIFEST_BYTES = 1_000_000
DEFAULT_MAX_SPEC_BYTES = 64_000_000
DEFAULT_MAX_MANIFEST_NODES = 100_000
# Values a YAML API description may expand to beyond one per character of its text (which no document
# without aliases reaches): aliases repeat a value by reference, and the OpenAPI loader copies each, so
# nine levels of nine aliases (400 bytes) would be 387 million values.
DEFAULT_SPEC_ALIAS_ALLOWANCE = 1_000_000
MAX_DEPTH = 64


class LimitExceeded(Exception):
    """A limit was hit; the message says which, and how to raise it."""


def setting(name: str, default: int) -> int:
    """An integer limit from `MCPRT_<NAME>` (a bad or missing value gives the default)."""
    return int(env_limit(f"MCPRT_{name}", default))


def max_manifest_bytes() -> int:
    return setting("MAX_MANIFEST_BYTES", DEFAULT_MAX_MANIFEST_BYTES)


def max_spec_bytes() -> int:
    return setting("MAX_SPEC_BYTES", DEFAULT_MAX_SPEC_BYTES)


def max_manifest_nodes() -> int:
    return setting("MAX_MANIFEST_NODES", DEFAULT_MAX_MANIFEST_NODES)


def spec_alias_allowance() -> int:
    """Values (a count) a YAML API description may expand to past one per character of its text."""
    return setting("SPEC_ALIAS_ALLOWANCE", DEFAULT_SPEC_ALIAS_ALLOWANCE)


def read_capped(path: Path, limit: int, what: str, setting_name: str) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    Raises FileNotFoundError, OSError, or LimitExceeded (not a regular file; too big — checked on
    the open file, and again while reading, so a file growing under us cannot get past it).
    """
    with open_regular(path, what) as handle:
        info = os.fstat(handle.fileno())
        if info.st_size > limit:
            raise LimitExceeded(f"{what} is {info.st_size:,} bytes, over the limit of {limit:,} "
                                f"(raise it with MCPRT_{setting_name})")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise LimitExceeded(f"{what} is over the limit of {limit:,} bytes (raise it with MCPRT_{setting_name})")
    return data


def open_regular(path: Path, what: str) -> BinaryIO:
    """`path` opened for reading, if it is a regular file; LimitExceeded if it is not.

    Opened non-blocking, so a FIFO cannot make the open itself wait for a writer forever.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise LimitExceeded(f"{what} must be a regular file (this is a device, a pipe or a folder)")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class NodeBudget:
    """Counts the values built from one parsed document; raises LimitExceeded past the limit."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit if limit is not None else max_manifest_nodes()
        self.used = 0
        self.where = (0, 0)  # 0-based line, col of the container being built (for the error)

    def spend(self, depth: int) -> None:
        self.used += 1
        if self.used > self.limit:
            raise LimitExceeded(f"the manifest expands to more than {self.limit:,} values (YAML aliases "
                                "repeat what they refer to); raise the limit with MCPRT_MAX_MANIFEST_NODES")
        if depth > MAX_DEPTH:
            raise LimitExceeded(f"the manifest nests deeper than {MAX_DEPTH} levels")


def include_paths() -> list[Path]:
    """The folders of `MCPRT_INCLUDE_PATHS`, resolved."""
    return [Path(p).resolve() for p in os.environ.get("MCPRT_INCLUDE_PATHS", "").split(os.pathsep) if p]


def include_allowed(child: Path, including_dir: Path, extra: Sequence[Path] = ()) -> bool:
    """Whether an included manifest (resolved) lies inside the including manifest's folder tree, a
    folder of `MCPRT_INCLUDE_PATHS`, or a folder of `extra` (given by the one load asking: e.g. the copies
    of those folders in a revision's tree, `gitops.revisions.ManifestRef.include_roots`)."""
    roots = [including_dir.resolve(), *include_paths(), *(root.resolve() for root in extra)]
    return any(child == root or child.is_relative_to(root) for root in roots)
