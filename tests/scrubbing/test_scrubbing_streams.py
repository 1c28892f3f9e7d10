"""`scrubbing.streams.ScrubbingStream`, the process's `sys.stdout`/`sys.stderr`: what it writes and when, on a
real stream, and in a real process where the garbage collector writes to it from inside its own write."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
KEY = "sk-live-SUPERSECRET-1234567890"


@pytest.mark.parametrize("kind", ["finalizers", "tasks"])
def test_a_finalizer_writing_inside_a_write_does_not_hang_the_process(kind: str) -> None:
    """Review of scrubfix, problem 1: the stream held a non-reentrant lock while scrubbing and writing; a
    collection there ran a `__del__` that prints (or asyncio's "Task was destroyed but it is pending!" logged
    to stderr), which waited for that lock in the same thread: the process hung after 45 lines (131 log
    lines) and never wrote again. Now every write returns, and the finalizers' lines are scrubbed too."""
    rounds = 2000
    run = subprocess.run([sys.executable, str(HERE / "finalizer_writes.py"), kind, str(rounds)],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"finished {rounds}" in run.stderr, run.stderr[-2000:]
    finalizer_lines = "finalizer says bye [redacted]" if kind == "finalizers" else "Task was destroyed but it is pending"
    assert finalizer_lines in run.stderr, run.stderr[-2000:]
    assert "SUPERSECRET" not in run.stderr
