"""A mounted ConfigMap or Secret volume updated as the kubelet does it (AtomicWriter), for the reload tests."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path


def kubelet_swap(root: Path, files: dict[str, str]) -> None:
    """A ConfigMap update as the kubelet's AtomicWriter makes it: the files in a new timestamped folder,
    `..data` re-pointed at it by renaming a fresh symlink over it, each key a symlink through `..data`
    (made once), then the old folder deleted."""
    root.mkdir(exist_ok=True)
    stamp = root / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.time_ns() % 10**9:09d}"
    stamp.mkdir()
    for name, text in files.items():
        (stamp / name).write_text(text, encoding="utf-8")
    data = root / "..data"
    old = os.readlink(data) if data.is_symlink() else None
    os.symlink(stamp.name, root / "..data_tmp")
    os.rename(root / "..data_tmp", data)
    for name in files:
        if not (root / name).is_symlink():
            os.symlink(f"..data/{name}", root / name)
    if old:
        shutil.rmtree(root / old)
