"""Splitting a proxied server's stdout into lines in linear time, with a size cap per message.

Appending each chunk to one bytes buffer and splitting it again re-copies everything received so far
for every chunk: one 40 MB line cost 17 s of CPU (#13). Here a partial line is kept as a list of
chunks and joined once, when its newline arrives. A line longer than the cap is not kept: its bytes
are dropped as they come until its newline, and only its beginning (enough to find the JSON-RPC `id`
it answers) is handed back, so that one call fails and the server keeps serving.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from ...settings import env_limit

DEFAULT_MAX_MESSAGE_BYTES = 16_000_000
_HEAD = 4096  # bytes kept of an oversized line: where its `id` is
_ID = re.compile(rb'"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)')


def max_message_bytes() -> int:
    """The cap on one message from a proxied server (`MCPRT_MAX_MESSAGE_BYTES`, default 16 MB)."""
    return int(env_limit("MCPRT_MAX_MESSAGE_BYTES", DEFAULT_MAX_MESSAGE_BYTES))


@dataclass(frozen=True, slots=True)
class Oversized:
    """A line over the cap: its size so far and the JSON-RPC id found at its start, if any."""

    size: int
    request_id: int | str | None


def request_id_of(head: bytes) -> int | str | None:
    match = _ID.search(head)
    if match is None:
        return None
    raw = match.group(1)
    if raw.startswith(b'"'):
        return raw[1:-1].decode("utf-8", errors="replace")
    return int(raw)


class LineSplitter:
    """Feed chunks; get complete lines (bytes, without the newline) or `Oversized` markers."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit if limit is not None else max_message_bytes()
        self._parts: list[bytes] = []
        self._size = 0
        self._dropping: bytes | None = None  # the head of an oversized line being skipped

    def feed(self, chunk: bytes) -> Iterator[bytes | Oversized]:
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if self._dropping is None:
                if self._size + len(piece) > self.limit:
                    head = b"".join(self._parts)[:_HEAD]
                    self._dropping, self._parts = (head + piece[: _HEAD - len(head)]), []
                else:
                    self._parts.append(piece)
            self._size += len(piece)
            if end < 0:
                return
            if self._dropping is not None:
                yield Oversized(self._size, request_id_of(self._dropping))
            else:
                yield b"".join(self._parts)
            self._parts, self._size, self._dropping = [], 0, None
            start = end + 1

    def rest(self) -> bytes:
        """What is left after the last newline (at end of stream)."""
        return b"" if self._dropping is not None else b"".join(self._parts)
