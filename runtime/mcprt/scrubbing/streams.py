"""The process's text streams scrubbed of configured secrets: whatever is printed reaches the terminal or log clean.

A `python:` source runs its author's code in mcprt's process, and debug prints are the commonest thing in
it: `print(...)` and `print(..., file=sys.stderr)` wrote a key the manifest holds straight into the server
log and, for `mcprt call FILE`, onto the terminal, where `logging` and a `command:` server's stderr (both
log records) were scrubbed. And every command's own output (a tool's description in `mcprt show`, a
diagnostic quoting an import-time exception) is text a secret may hide in. So `sys.stdout` and `sys.stderr`
are replaced by `ScrubbingStream`s for the life of the process (`scrub_standard_streams`), before any such
code runs, and a command's machine-readable output is written through one too (`stdout_claim`).

A stream holds back a partial line until its newline, a `flush()` or `HOLD_CHARS` characters, so a
secret written in pieces (`print("key", key)` writes each argument apart) is whole when it is searched.
What it cannot see: bytes written under it (`sys.stdout.buffer.write`, `os.write(1, …)`, a C extension's
`printf`, a child process inheriting the descriptor).
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from .scrubber import SECRETS, Scrubber

HOLD_CHARS = 65536  # a partial line longer than this is written anyway (a progress bar that never ends a line)


class ScrubbingStream:
    """A text stream writing to `inner` with every form of every configured secret replaced by
    ``[redacted]``, a whole line at a time (thread-safe). Everything else (`encoding`, `isatty()`,
    `fileno()`, `buffer`, …) is `inner`'s, so terminal detection and width still work."""

    def __init__(self, inner: TextIO, scrubber: Scrubber = SECRETS) -> None:
        self.inner = inner
        self._scrubber = scrubber
        self._pending = ""
        self._lock = threading.Lock()
        # Which threads are inside `write`/`flush` now. The lock is held while scrubbing and writing, which
        # allocate, so the garbage collector may run a finalizer there that writes to this stream (a
        # `__del__` that prints, asyncio's "Task was destroyed but it is pending!", the unraisable hook):
        # waiting for the lock would hang that thread, and every later writer, forever. CPython's own
        # buffered streams raise "reentrant call" there; such a write is scrubbed whole and written at once.
        self._inside = threading.local()

    def write(self, text: str) -> int:
        if not self._scrubber and not self._pending:  # no secret configured: written as it is
            return self.inner.write(text)
        if getattr(self._inside, "on", False):  # a finalizer run by the collector inside our own write
            self.inner.write(self._scrubber.scrub_text(text))
            return len(text)
        self._inside.on = True
        try:
            with self._lock:
                held = self._pending + text
                end = held.rfind("\n") + 1
                if len(held) - end > HOLD_CHARS:
                    end = len(held)
                self._pending = held[end:]
                if end:
                    self.inner.write(self._scrubber.scrub_text(held[:end]))
        finally:
            self._inside.on = False
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if getattr(self._inside, "on", False):  # see `_inside`: what this thread holds is written when it returns
            self.inner.flush()
            return
        self._inside.on = True
        try:
            with self._lock:
                held, self._pending = self._pending, ""
                if held:
                    self.inner.write(self._scrubber.scrub_text(held))
        finally:
            self._inside.on = False
        self.inner.flush()

    # io.TextIOBase would define these itself (`isatty()` False, `fileno()` raising): they must be `inner`'s
    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def scrubbing(stream: TextIO) -> TextIO:
    """`stream` behind a `ScrubbingStream` (itself when it already is one)."""
    return stream if isinstance(stream, ScrubbingStream) or stream is None else ScrubbingStream(stream)  # type: ignore[return-value]


def scrub_standard_streams() -> None:
    """Put `sys.stdout` and `sys.stderr` behind `ScrubbingStream`s (once; idempotent). Call it before any
    code of the manifest's runs and before loggers and consoles take a stream."""
    sys.stdout = scrubbing(sys.stdout)
    sys.stderr = scrubbing(sys.stderr)
