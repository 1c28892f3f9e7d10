"""Read a response body as it streams in, never holding more than the limit.

Decompression is done here rather than by the HTTP client (aiohttp runs with `auto_decompress=False`)
because a compressed chunk can expand a thousand times: inflating with a bounded output size keeps
memory at the limit even for a gzip bomb. `read_chunks` works on any stream of raw chunks; `read_capped`
reads an httpx response (token requests), the executor feeds it aiohttp's.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ToolCallError

if TYPE_CHECKING:
    import httpx

ACCEPT_ENCODING = "gzip, deflate"


@dataclass(slots=True)
class Body:
    data: bytes  # at most `limit` bytes, decoded
    received: int  # decoded bytes seen (the cut chunk counts whole)
    truncated: bool


class _Inflater:
    """gzip/deflate decoding whose output per call is bounded."""

    def __init__(self, encoding: str) -> None:
        self._raw_deflate_fallback = encoding == "deflate"
        # 32 + MAX_WBITS detects a gzip or zlib header by itself.
        self._z = zlib.decompressobj(zlib.MAX_WBITS | 32)
        self._started = False

    def inflate(self, data: bytes, max_out: int) -> bytes:
        try:
            out = self._z.decompress(data, max_out)
        except zlib.error:
            if not (self._raw_deflate_fallback and not self._started):
                raise
            # Some servers send "deflate" without the zlib header (raw deflate).
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._z.decompress(data, max_out)
        self._started = True
        return out

    @property
    def complete(self) -> bool:
        """Whether the compressed stream reached its end (nothing was sent, or its final block was read: for
        gzip, its CRC-32 and length trailer too, RFC 1952 §2.2, which zlib checks)."""
        return not self._started or self._z.eof

    @property
    def name(self) -> str:
        return "deflate" if self._raw_deflate_fallback else "gzip"

    def pending(self, max_out: int) -> bytes:
        """Output still held back by an earlier bound."""
        tail = self._z.unconsumed_tail
        return self._z.decompress(tail, max_out) if tail else b""


def _inflater_for(content_encodings: Iterable[str], target: str) -> _Inflater | None:
    """The inflater for the `Content-Encoding` header values (each may list several, RFC 9110 §8.4)."""
    encodings = [e.strip().lower() for value in content_encodings for e in value.split(",")]
    encodings = [e for e in encodings if e and e != "identity"]
    if not encodings:
        return None
    if len(encodings) == 1 and encodings[0] in ("gzip", "x-gzip", "deflate"):
        return _Inflater(encodings[0])
    raise ToolCallError(f"upstream sent a body encoded as {', '.join(encodings)}, which mcprt cannot decode ({target})")


class _Collector:
    """Keeps the first `limit` bytes; says when it is full."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()
        self.received = 0
        self.truncated = False

    @property
    def room(self) -> int:
        return self.limit - len(self.buffer)

    def add(self, chunk: bytes) -> bool:
        """Append `chunk` (cut to the room left); True once the limit was passed."""
        self.received += len(chunk)
        if len(chunk) > self.room:
            self.buffer += chunk[: self.room]
            self.truncated = True
        else:
            self.buffer += chunk
        return self.truncated


async def read_capped(response: httpx.Response, limit: int, target: str) -> Body:
    """`read_chunks` of an httpx response, which is closed afterwards (the rest is never read)."""
    try:
        return await read_chunks(response.aiter_raw(), response.headers.get_list("content-encoding"), limit, target)
    finally:
        await response.aclose()


async def read_chunks(chunks: AsyncIterable[bytes], content_encodings: Iterable[str], limit: int,
                      target: str) -> Body:
    """Up to `limit` decoded bytes of a body arriving as raw `chunks`, encoded as the
    `Content-Encoding` values say; stops reading once the limit is passed (the caller closes the
    connection). Raises ToolCallError for an encoding mcprt cannot decode or a corrupt body."""
    collector = _Collector(limit)
    try:
        inflater = _inflater_for(content_encodings, target)
        async for raw in chunks:
            if inflater is None:
                if collector.add(raw):
                    break
                continue
            # One byte more than the room: enough to know the body is longer than the limit.
            chunk = inflater.inflate(raw, collector.room + 1)
            while chunk and not collector.add(chunk):
                chunk = inflater.pending(collector.room + 1)
            if collector.truncated:
                break
    except zlib.error:
        raise ToolCallError(f"upstream sent a compressed body that could not be decompressed ({target})") from None
    if inflater is not None and not collector.truncated and not inflater.complete:
        # The connection ended where the compressed stream had not (a proxy or upstream stopping mid-body, the
        # Content-Length matching what was sent): what was decoded is a prefix — 989 of 2,000 CSV rows, the last
        # cut mid-field — and passed on as the answer it reads as the whole. Said as a cut chunked body is.
        raise ToolCallError(
            f"upstream's {inflater.name}-compressed body ended before its compressed stream did (after "
            f"{collector.received:,} decoded bytes): the response is incomplete and was not used; the upstream or "
            f"a proxy stopped sending mid-body, and repeating the call may get it whole ({target})")
    return Body(bytes(collector.buffer), collector.received, collector.truncated)
