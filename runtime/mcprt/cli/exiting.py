"""Ending the process without waiting for abandoned work.

A sync Python tool past its timeout keeps running in its worker thread (Python cannot stop a thread):
the server abandons it and serves on, but at exit the interpreter joins every non-daemon thread, so
`mcprt call` on a tool that timed out after 2 s still sat there until the function returned. After a
command has said all it has to say, such threads are left: stdout and stderr are flushed, logging is
shut down (its handlers flushed) and the process ends with the command's exit code.
"""

from __future__ import annotations

import logging
import os
import sys
import threading


def exit_leaving_abandoned(code: object) -> None:
    """Return when nothing abandoned runs (the ordinary exit goes on); otherwise end the process now
    with `code` (SystemExit's: an int, None for 0, or a message printed to stderr, exit 1)."""
    if threading.current_thread() is not threading.main_thread():
        return  # not the process's own run (the CLI run inside a test worker): ending the process is not ours
    calls = sys.modules.get("mcprt.sources.python.worker_calls")  # not loaded: no Python tool ran
    if calls is None or not calls.abandoned_running():
        return
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that left, a closed stream: nothing more to write
            pass
    logging.shutdown()
    os._exit(code or 0)
