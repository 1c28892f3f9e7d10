"""stdout kept for what mcprt itself writes there; anything else written to it goes to stderr.

mcprt's stdout is machine-readable: the JSON-RPC stream of `mcprt up` over stdio, the JSON of
`mcprt tools --json` and `mcprt call`. A `python:` source runs its author's code in this process — the
module at import, threads that module starts, the functions, C extensions writing to fd 1 — and one
`print` there would corrupt that stream (the SDK: "Failed to parse JSONRPC message"). So before such
code runs, fd 1 is duplicated for mcprt (`claim_stdout`) and fd 1 itself is pointed at stderr, which
catches every writer: `print`, `sys.stdout`, `os.write(1, …)`, C's `printf`. mcprt then writes its
output to the duplicate, as written: each command scrubs its data as values before it serializes them
(a text scrub of the JSON would rewrite a number holding a secret's digits, `424299` → `[redacted]99`).
The SDK's `stdio_server()` does the same while it owns stdout.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO

from .scrubbing.streams import unscrubbed

_claimed: int | None = None  # the duplicate of the original fd 1, once claimed
_output: TextIO | None = None  # a text stream on it, for commands


def claim_stdout() -> int | None:
    """The descriptor of the original stdout, fd 1 pointing at stderr from now on (for the rest of the
    process: a thread a module started may print at any time). Claimed once; later calls return the same
    descriptor. None when there is no fd 1 to claim."""
    global _claimed
    if _claimed is not None:
        return _claimed
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
        private = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no usable fd 1 (closed, a stream without a descriptor)
        return None
    try:
        os.dup2(2, 1)
    except OSError:
        os.close(private)
        return None
    _claimed = private
    return private


def release_stdout() -> None:
    """Point fd 1 back at the original stdout (for a caller that claimed it only for a while, e.g. a test
    serving stdio in its own process)."""
    global _claimed, _output
    if _claimed is None:
        return
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stdout.flush()
    with contextlib.suppress(OSError):
        os.dup2(_claimed, 1)
    os.close(_claimed)
    _claimed = None
    _output = None


@contextlib.contextmanager
def claimed_stdout() -> Iterator[int]:
    """`claim_stdout()` for a block: the descriptor to write the protocol to (1 when none could be
    claimed); released at the end only when this block made the claim."""
    owner = _claimed is None
    private = claim_stdout()
    try:
        yield 1 if private is None else private
    finally:
        if owner and private is not None:
            release_stdout()


def command_output() -> TextIO:
    """Where a command writes its machine-readable output (`tools --json`, `call`): the original stdout,
    claimed first when `sys.stdout` writes to fd 1 — call it before any user code runs. When `sys.stdout`
    is something else (a test capturing it), that: there is no descriptor to protect."""
    global _output
    try:
        writes_fd1 = sys.stdout is not None and sys.stdout.fileno() == 1
    except (OSError, ValueError, AttributeError):
        writes_fd1 = False
    if not writes_fd1 and _claimed is None:
        return unscrubbed(sys.stdout)
    private = claim_stdout()
    if private is None:
        return unscrubbed(sys.stdout)
    if _output is None:
        _output = open(private, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 — lives as long as the claim
    return _output

