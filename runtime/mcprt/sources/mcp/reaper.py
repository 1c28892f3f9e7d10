"""Ends the process groups of proxied servers when mcprt dies, however it dies.

mcprt starts this script once (`python -I -S reaper.py`, its own session) with a pipe on its stdin
and writes `+PGID` when it starts a server (each leads its own process group) and `-PGID` when it
has ended one. When the pipe reaches end of file — mcprt exited, crashed or was killed with
SIGKILL, so the kernel closed its end — every group still listed gets SIGTERM, then SIGKILL after
a short grace: a server that ignores stdin EOF and SIGTERM, and every process it started
(grandchildren included), go with mcprt instead of running on as orphans.

It imports nothing of mcprt (about 15 ms and a few MB to start) and must stay so.
"""

import os
import signal
import sys
import time

GRACE = 1.0


def _members(pgids: set[int]) -> set[int]:
    alive = set()
    for pgid in pgids:
        try:
            os.killpg(pgid, 0)
            alive.add(pgid)
        except (ProcessLookupError, PermissionError):
            pass
    return alive


def _end(pgids: set[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pgid in _members(pgids):
            try:
                os.killpg(pgid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + GRACE
        while _members(pgids) and time.monotonic() < deadline:
            time.sleep(0.05)


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is mcprt's to handle; we wait for its exit
    groups: set[int] = set()
    for line in sys.stdin:
        line = line.strip()
        if len(line) > 1 and line[1:].isdigit():
            (groups.add if line[0] == "+" else groups.discard)(int(line[1:]))
    _end(groups)
    return 0


if __name__ == "__main__":
    sys.exit(main())
