"""Wire bytes: the size of a `tools/call` result as mcprt writes it, the figure `max_result_bytes` bounds.

What reaches the client is the whole result object serialized as JSON (MCP 2025-06-18, "CallToolResult"):
every content block with all its fields (a resource link's `name`, `title`, `description`, `uri`,
`annotations`, `_meta` …), `structuredContent` (counted once where a text block repeats it: see `limited_size`), the result's `_meta`,
the JSON string escaping of each text, and the trailing notes block. A limit counting less (each block's
payload) let a resource link's 1.1 MB description, or 25,000 one-character blocks' framing, past the SDK
client's 1 MiB SSE event limit.

`result_wire_size` is the compact UTF-8 JSON of `ToolResult.to_wire()` with the notes block;
`limited_size`, the figure the limit bounds, is that with a structuredContent a text block repeats
counted once (as its text block). The server
adds `"isError":false,"resultType":"complete"` (at most 38 bytes) and the JSON-RPC envelope (`jsonrpc`,
`id`, `result`: under 50 bytes with a numeric id) around it; those are the documented tolerance.
This is not the "sent bytes" figure of the token statistics (`sent.sent_size`: what the model reads).
"""

from __future__ import annotations

from typing import Any

from .limits import json_size
from .notes import notes_block
from .sent import mirrored_block

# `{"content":[]}`: what the result object costs before any block
_EMPTY = json_size({"content": []})


def result_wire_size(content: list[Any], structured: Any = None, meta: Any = None,
                     notes: list[str] | None = None) -> int:
    """UTF-8 bytes of the compact JSON result object holding `content`, `structured`
    (structuredContent), `meta` (the result's `_meta`) and the notes block of `notes`."""
    blocks = list(content)
    block = notes_block(notes or [])
    if block is not None:
        blocks.append(block)
    size = json_size(blocks) - 2 + _EMPTY
    if structured is not None:
        size += json_size(structured) + len(',"structuredContent":')
    if meta:
        size += json_size(meta) + len(',"_meta":')
    return size


def block_wire_size(block: Any) -> int:
    """UTF-8 bytes a content block adds to the result object (its compact JSON and the comma before it)."""
    return json_size(block) + 1


def limited_size(content: list[Any], structured: Any = None, meta: Any = None,
                 notes: list[str] | None = None) -> int:
    """The figure `max_result_bytes` bounds: `result_wire_size` with a structuredContent that a text block
    repeats (`sent.mirrored_block`) counted once, as its text block; everything else of the result counts.

    One meaning for every source (what the model sees, each thing once): the MCP specification has a tool
    return structured content also "serialized … in a TextContent block" for backwards compatibility
    (MCP 2025-06-18, server/tools "Structured Content"), so a client reads one copy. The wire may then
    reach about twice the limit plus framing; the default limit (100 KB) stays far below the SDK client's
    1 MiB SSE event limit."""
    if structured is not None and mirrored_block(content, structured) is not None:
        return result_wire_size(content, None, meta, notes)
    return result_wire_size(content, structured, meta, notes)
