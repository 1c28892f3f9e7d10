"""Process groups: how a proxied server and everything it started are ended, leaving no orphans.

A server is started in a new session (`start_new_session=True`), so it leads its own process group
and its children (an `npx` wrapper's `node`, a shell's commands) inherit that group. Ending the
group, not just the pid, is what removes grandchildren too — also after the leader has crashed.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import anyio

_POLL = 0.02


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in group `pgid`; on Linux read from /proc, else probed with signal 0."""
    proc = Path("/proc")
    if sys.platform.startswith("linux") and proc.is_dir():
        members: list[int] = []
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid pgrp ..." — comm may contain spaces and parentheses
            fields = stat[stat.rfind(")") + 2 :].split()
            if len(fields) >= 3 and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                members.append(int(entry.name))
        return members
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return []
    return [pgid]


def is_alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie."""
    status = Path(f"/proc/{pid}/stat")
    if status.exists():
        try:
            text = status.read_text()
        except OSError:
            return False
        return text[text.rfind(")") + 2 :].split()[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


async def end_group(pgid: int, grace: float) -> None:
    """SIGTERM the group, wait up to `grace` seconds, then SIGKILL whatever is left."""
    if not group_members(pgid):
        return
    _signal_group(pgid, signal.SIGTERM)
    if await _wait_gone(pgid, grace):
        return
    _signal_group(pgid, signal.SIGKILL)
    await _wait_gone(pgid, 2.0)


async def _wait_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while group_members(pgid):
        if time.monotonic() >= deadline:
            return False
        await anyio.sleep(_POLL * 5)
    return True
