"""Process groups: how a proxied server and everything it started are ended, leaving no orphans.

A server is started in a new session (`start_new_session=True`), so it leads its own process group
and its children (an `npx` wrapper's `node`, a shell's commands) inherit that group. Ending the
group, not just the pid, is what removes grandchildren too — also after the leader has crashed.
"""

from __future__ import annotations

import os
import signal
import subprocess
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


class Reaper:
    """The watcher that ends our servers' groups if mcprt dies without doing it (see reaper.py).

    Started on first use (one per mcprt process); `watch(pgid)` when a server starts, `forget(pgid)`
    once its group has been ended. Only on POSIX; a failure to start it is not fatal (servers then
    rely on the normal shutdown alone).
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._pid = 0

    def _send(self, line: str) -> None:
        if os.name != "posix":
            return
        if self._process is None or self._pid != os.getpid() or self._process.poll() is not None:
            try:
                self._process = subprocess.Popen(
                    [sys.executable, "-I", "-S", str(Path(__file__).with_name("reaper.py"))],
                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    start_new_session=True, close_fds=True,
                )
            except OSError:
                self._process = None
                return
            self._pid = os.getpid()
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(line.encode() + b"\n")
            self._process.stdin.flush()
        except OSError:
            self._process = None

    def watch(self, pgid: int) -> None:
        self._send(f"+{pgid}")

    def forget(self, pgid: int) -> None:
        self._send(f"-{pgid}")


REAPER = Reaper()


async def end_group(pgid: int, grace: float) -> None:
    """SIGTERM the group, wait up to `grace` seconds, then SIGKILL whatever is left."""
    try:
        await _end_group(pgid, grace)
    finally:
        REAPER.forget(pgid)


async def _end_group(pgid: int, grace: float) -> None:
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
