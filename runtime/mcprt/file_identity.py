"""Whether a file was written since it was last seen, from its stat alone (no read, no hash).

A file's identity is (device, inode, size, mtime, ctime): every write moves mtime and ctime, and
ctime cannot be set back (`os.utime` sets mtime, and moves ctime to now), so an unchanged identity
means an unwritten file — once its last write is more than a file-time tick behind. File times move
in coarse ticks (a few ms), so two same-size writes in one tick leave the identity as it was: an
identity is only trusted ("settled") when the last write is over a second old. Used by the API
description loader (its digest records, its compile's re-read) and by hot reload's baseline (a file
whose identity is unchanged is not hashed again: GitHub's 13 MB description), and `FileDigests` (a
file's content digest, hashed again only when its identity changed: hot reload, source fingerprints).
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path

Identity = tuple[int, ...]  # () when not settled: never equal to a file's identity

SETTLE_NS = 1_000_000_000


def identity(info: os.stat_result) -> Identity:
    """What changes whenever a file's content is written: (st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)."""
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def settled_identity(before: os.stat_result, after: os.stat_result) -> Identity:
    """The identity of a file read between `before` and `after`, or `()` (not to be trusted: read the
    file again next time) when it was written while being read, or within the last second."""
    settled = time.time_ns() - max(after.st_mtime_ns, after.st_ctime_ns) > SETTLE_NS
    return identity(after) if settled and identity(before) == identity(after) else ()


MAX_HASHED_BYTES = 256 * 1024 * 1024
"""A file larger than this (bytes) is not read to be hashed: no input mcprt reads may be that large (the API
description limit is 64,000,000 by default), and reading a 1 GB file to learn that it changed cost seconds before its
loader refused it. Its "digest" is its stat (device, inode, size, mtime): a write changes it."""


def content_digest(path: Path) -> str | None:
    """sha256 of a regular file's bytes (None when it is missing, unreadable, or not a regular file): "did the
    content change". A FIFO, a device (`/dev/zero`) or a folder is never read — opened without blocking and refused
    by its `fstat`, so a pipe without a writer or an endless device cannot hold the caller (the loaders refuse such
    a file with its own message: a digest must not read it first)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                return None
            if status.st_size > MAX_HASHED_BYTES:  # over every input limit: refused by its loader, its stat tells
                return f"stat:{status.st_dev}:{status.st_ino}:{status.st_size}:{status.st_mtime_ns}"
            return hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError:
            return None


class FileDigests:
    """`content_digest` that hashes a file again only when its stat changed: each digest is kept with
    the file's settled identity (`mcprt.file_identity`: device, inode, size, mtime, ctime) as it was
    hashed, and a file whose identity is still that one is unwritten since — its digest is the kept
    one, for the cost of a stat. A file written within the last second is hashed every time (two
    same-size writes in one file-time tick look alike). Safe from the reloader's worker threads
    (one dict assignment per digest)."""

    def __init__(self) -> None:
        self._kept: dict[Path, tuple[Identity, str]] = {}

    def keep(self, path: Path, identity: Identity, digest: str | None) -> None:
        """Take `digest` as `path`'s content while its identity is `identity` (a compile read it:
        `sources.openapi.loader.ReadDigests`); nothing is kept for an unsettled identity."""
        if identity and digest is not None:
            self._kept[path] = (identity, digest)

    def __call__(self, path: Path) -> str | None:
        """sha256 of `path`'s bytes (None: missing or unreadable), as `content_digest`."""
        try:
            before = os.stat(path)
        except OSError:
            return None
        kept = self._kept.get(path)
        if kept is not None and kept[0] == identity(before):
            return kept[1]
        digest = content_digest(path)
        try:
            after = os.stat(path)
        except OSError:
            return digest
        self.keep(path, settled_identity(before, after), digest)
        return digest
