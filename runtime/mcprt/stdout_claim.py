"""stdout kept for what mcprt itself writes there; anything else written to it goes to stderr.

mcprt's stdout is machine-readable: the JSON-RPC stream of `mcprt up` over stdio, the JSON of
`mcprt tools --json` and `mcprt call`. A `python:` source runs its author's code in this process — the
module at import, threads that module starts, the functions, C extensions writing to fd 1 — and one
`print` there would corrupt that stream (the SDK: "Failed to parse JSONRPC message"). So before such
code runs, fd 1 is duplicated for mcprt (`claim_stdout`) and fd 1 itself is pointed at stderr, which
catches every writer: `print`, `sys.stdout`, `os.write(1, …)`, C's `printf`. mcprt then writes its
output to the duplicate. The SDK's `stdio_server()` does the same while it owns stdout.

What Python code prints (`print`, `sys.stdout.write`) is scrubbed of the configured secrets, as every log
line is: claimed, it lands in mcprt's log (stderr); `mcprt up` over HTTP leaves stdout to it, which a
container's log collects as well. A function's `print(f"using key {API_KEY}")` wrote the key there, where a
proxied server's stderr line saying the same is scrubbed. `scrub_printed` (claiming calls it) makes
`sys.stdout` a `_ScrubbedLines`, which writes each complete line scrubbed. Bytes written below Python's
text layer (`sys.stdout.buffer`, `os.write(1, …)`, C code) and what code writes to stderr itself pass as
written.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

from .scrubbing import SECRETS

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
    scrub_printed()
    return private


def scrub_printed() -> None:
    """From now on `sys.stdout` writes what Python code prints a line at a time, scrubbed of configured secrets
    (`_ScrubbedLines`; the module docstring). Call it before any user code runs; again, it does nothing."""
    if sys.stdout is not None and not isinstance(sys.stdout, _ScrubbedLines):
        sys.stdout = _ScrubbedLines(sys.stdout)


def release_stdout() -> None:
    """Point fd 1 back at the original stdout (for a caller that claimed it only for a while, e.g. a test
    serving stdio in its own process)."""
    global _claimed, _output
    if _claimed is None:
        return
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stdout.flush()
    if isinstance(sys.stdout, _ScrubbedLines):
        sys.stdout = sys.stdout.inner
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
        return sys.stdout
    private = claim_stdout()
    if private is None:
        return sys.stdout
    if _output is None:
        _output = open(private, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 — lives as long as the claim
    return _output


_MAX_PENDING = 64 * 1024  # chars of an unfinished line held at most: output that never ends a line is not kept whole


class _ScrubbedLines(io.TextIOBase):
    """`sys.stdout` once `scrub_printed` ran: text goes to `inner` (the original `sys.stdout`: fd 1, pointed at
    stderr when claimed) a complete line at a time, scrubbed of configured secrets (`SECRETS.scrub_text`) — a
    line, not each write, because `print` writes its arguments one by one and a secret must be whole to be
    found. An unfinished line goes out on `flush()` (the interpreter flushes `sys.stdout` at exit) or past
    `_MAX_PENDING` characters. Thread-safe: one lock around the pending text. Every other attribute
    (`encoding`, `buffer`, `fileno`, `isatty`) is `inner`'s."""

    def __init__(self, inner: TextIO) -> None:
        super().__init__()
        self.inner = inner
        self._pending = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            if "\n" in text:
                lines, _, self._pending = self._pending.rpartition("\n")
                self.inner.write(SECRETS.scrub_text(lines + "\n"))
            if len(self._pending) > _MAX_PENDING:
                self.inner.write(SECRETS.scrub_text(self._pending))
                self._pending = ""
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self.inner.write(SECRETS.scrub_text(self._pending))
                self._pending = ""
        self.inner.flush()

    def close(self) -> None:
        # when the wrapper is collected (after `release_stdout`, at exit): a stdout its reader closed must not
        # add an "Exception ignored" line of the wrapper's own to the interpreter's
        with contextlib.suppress(OSError, ValueError):
            super().close()

    def fileno(self) -> int:
        return self.inner.fileno()

    def isatty(self) -> bool:
        return self.inner.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.inner.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.inner.errors

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
