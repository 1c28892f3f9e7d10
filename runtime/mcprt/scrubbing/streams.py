"""The process's text streams scrubbed of configured secrets: whatever is printed reaches the terminal or log clean.

A `python:` source runs its author's code in mcprt's process, and debug prints are the commonest thing in
it: `print(...)` and `print(..., file=sys.stderr)` wrote a key the manifest holds straight into the server
log and, for `mcprt call FILE`, onto the terminal, where `logging` and a `command:` server's stderr (both
log records) were scrubbed. So `sys.stdout` and `sys.stderr` are replaced by `ScrubbingStream`s for the life
of the process (`scrub_standard_streams`), before any such code runs. A command's machine-readable output
is not written through one (`stdout_claim.command_output`): it is scrubbed as values before it is
serialized, where a text scrub would rewrite a number holding a secret's digits.

A stream writes text out as it comes, except a tail of (longest form − 1) bytes of a partial line, so a
secret written in pieces (`print("key", key)` writes each argument apart) is whole when it is searched; a
line end (`\\n`, or `\\r` of a progress line) or `flush()` writes everything.
What it cannot see: bytes written under it (`sys.stdout.buffer.write`, `os.write(1, …)`, a C extension's
`printf`, a child process inheriting the descriptor).
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from .scrubber import SECRETS, Scrubber

MIN_BATCH_CHARS = 64  # a partial line is searched again once this much more than its kept-back tail waits


class ScrubbingStream:
    """A text stream writing to `inner` with every form of every configured secret replaced by
    ``[redacted]`` (thread-safe; see the module). Everything else (`encoding`, `isatty()`, …) is
    `inner`'s, so terminal detection and width still work."""

    def __init__(self, inner: TextIO, scrubber: Scrubber = SECRETS) -> None:
        self.inner = inner
        self._scrubber = scrubber
        # What was written and not yet written out: a list of pieces and their length, joined only when
        # searched (a held string grown by `+` copied it on every one-character write: 25x slower).
        self._chunks: list[str] = []
        self._held = 0
        self._batch = 0  # `_held` at which the pieces are searched again
        self._lock = threading.Lock()
        # Which threads are inside `write`/`flush` now. The lock is held while scrubbing and writing, which
        # allocate, so the garbage collector may run a finalizer there that writes to this stream (a
        # `__del__` that prints, asyncio's "Task was destroyed but it is pending!", the unraisable hook):
        # waiting for the lock would hang that thread, and every later writer, forever. CPython's own
        # buffered streams raise "reentrant call" there; such a write is scrubbed whole and written at once.
        self._inside = threading.local()

    def write(self, text: str) -> int:
        if not self._chunks and not self._scrubber:  # no secret configured: written as it is
            return self.inner.write(text)
        if getattr(self._inside, "on", False):  # a finalizer run by the collector inside our own write
            self.inner.write(self._scrubber.scrub_text(text))
            return len(text)
        self._inside.on = True
        try:
            with self._lock:
                if not self._chunks and text.endswith(("\n", "\r")):  # whole lines (a log line, a print): all go
                    self.inner.write(self._scrubber.scrub_text(text))
                    return len(text)
                self._chunks.append(text)
                self._held += len(text)
                # Searched at a line end, or once enough waits that more than the kept-back tail can go.
                if self._held >= self._batch or "\n" in text or "\r" in text:
                    head, tail = self._scrubber.scrub_settled("".join(self._chunks))
                    self._chunks, self._held = ([tail], len(tail)) if tail else ([], 0)
                    keep = self._scrubber.longest_bytes  # secrets may have been added since
                    self._batch = self._held + max(keep, MIN_BATCH_CHARS)
                    if head:
                        self.inner.write(head)
        finally:
            self._inside.on = False
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def _write_out(self) -> None:
        """Write everything held, scrubbed (a secret split across this point is written in two parts)."""
        if getattr(self._inside, "on", False):  # see `_inside`: what this thread holds is written when it returns
            return
        self._inside.on = True
        try:
            with self._lock:
                held = "".join(self._chunks)
                self._chunks, self._held, self._batch = [], 0, 0
                if held:
                    self.inner.write(self._scrubber.scrub_text(held))
        finally:
            self._inside.on = False

    def flush(self) -> None:
        self._write_out()
        self.inner.flush()

    # io.TextIOBase would define these itself (`isatty()` False, `fileno()` raising): they must be `inner`'s
    def isatty(self) -> bool:
        return self.inner.isatty()

    # Writing beneath this stream (`sys.stdout.buffer.write`, `os.write(sys.stdout.fileno(), …)`) comes
    # after what was written to it before: what it holds is written out (scrubbed) and flushed first.
    @property
    def buffer(self) -> Any:
        self.flush()
        return self.inner.buffer

    def fileno(self) -> int:
        self.flush()
        return self.inner.fileno()

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def scrubbing(stream: TextIO) -> TextIO:
    """`stream` behind a `ScrubbingStream` (itself when it already is one)."""
    return stream if isinstance(stream, ScrubbingStream) or stream is None else ScrubbingStream(stream)  # type: ignore[return-value]


def unscrubbed(stream: TextIO) -> TextIO:
    """The stream beneath `stream` when it is a `ScrubbingStream`, else `stream`: for a writer whose text is
    scrubbed already (mcprt's log lines, by its formatter) or as values before it was serialized (a
    command's JSON, where a text scrub would rewrite a number holding a secret's digits)."""
    return stream.inner if isinstance(stream, ScrubbingStream) else stream


def scrub_standard_streams() -> None:
    """Put `sys.stdout` and `sys.stderr` behind `ScrubbingStream`s (once; idempotent), `sys.stdout` made
    line-buffered first. Call it before any code of the manifest's runs and before loggers and consoles take
    a stream.

    Line-buffered: Python buffers `sys.stdout` in blocks when it is no terminal — a desktop client's pipe, a
    container's log — and over stdio fd 1 is pointed at stderr (`stdout_claim`) under that same buffer. A
    trial's `print` at import and in a call reached the client's log only when the server exited, below every
    later log line, and SIGKILL lost it. Each line now goes out at its end, in order with the log (stderr is
    line-buffered already). mcprt's own machine-readable output is written elsewhere (`command_output`)."""
    _line_buffered(sys.stdout)
    sys.stdout = scrubbing(sys.stdout)
    sys.stderr = scrubbing(sys.stderr)


def _line_buffered(stream: TextIO | None) -> None:
    """Make `stream` (or the stream beneath a ScrubbingStream) flush at each line end, if it can be."""
    reconfigure = getattr(unscrubbed(stream), "reconfigure", None) if stream is not None else None
    if callable(reconfigure):
        try:
            reconfigure(line_buffering=True)
        except (ValueError, OSError, TypeError):  # closed, or a stream that cannot change (a test's capture)
            pass
