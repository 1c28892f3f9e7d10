"""Whether a file was written since it was last seen, from its stat alone (no read, no hash).

A file's identity is (device, inode, size, mtime, ctime): every write moves mtime and ctime, and
ctime cannot be set back (`os.utime` sets mtime, and moves ctime to now), so an unchanged identity
means an unwritten file — once its last write is more than a file-time tick behind. File times move
in coarse ticks (a few ms), so two same-size writes in one tick leave the identity as it was: an
identity is only trusted ("settled") when the last write is over a second old. Used by the API
description loader (its digest records, its compile's re-read) and by hot reload's baseline (a file
whose identity is unchanged is not hashed again: GitHub's 13 MB description).
"""

from __future__ import annotations

import os
import time

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
