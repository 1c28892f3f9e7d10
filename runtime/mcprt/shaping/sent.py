""""Sent bytes": the one rule for how much of a tool result reaches the model.

A result's size as the model receives it is what it reads, not the JSON-RPC framing around it:

  - each content block's payload, in UTF-8 bytes: a text block's `text`, an image or audio block's
    base64 `data`, an embedded resource's `text` or `blob`, a resource link's `uri`; any other
    block, its compact JSON;
  - `structuredContent` (compact JSON) only when the result has no content blocks.

Why structuredContent is not added to the content: the MCP specification has a tool returning
structured content also return it serialized in a text block "for backwards compatibility"
(MCP 2025-06-18, server/tools "Structured Content"), and mcprt's shaped JSON results do exactly
that, so a model (or its client) reads one copy or the other, never both. Counting both made an
unpruned tool whose upstream answers compact JSON look twice as large as its upstream body.
Why the text itself and not its JSON-string encoding: escaping the quotes of a JSON document inside
a JSON string is transport framing, as the MCP envelope is; `raw_bytes` (the upstream body) is not
measured with its HTTP framing either. So an unpruned, compact JSON body gives sent ≈ raw (saved ≈
0), and the "saved" figures (`raw - sent`) of pruned tools measure what pruning removed.

Every producer of a `ToolResult` (shaping, tool errors, the CLI) takes its `sent_bytes` from
`sent_size`; sinks (metrics, audit, status page, `mcprt record`/`test`) only read it.
"""

from __future__ import annotations

from typing import Any

from .limits import json_size, utf8_length

_PAYLOAD_KEYS = {"text": "text", "image": "data", "audio": "data", "resource_link": "uri"}


def sent_size(content: list[Any], structured: Any = None) -> int:
    """UTF-8 bytes of `content` (MCP content blocks, wire format) as the model reads them, or of
    `structured` (compact JSON) when there are no content blocks; the rule is the module's. 0 for
    an empty result."""
    if not content:
        return 0 if structured is None else json_size(structured)
    return sum(_block_size(block) for block in content)


def _block_size(block: Any) -> int:
    if not isinstance(block, dict):
        return json_size(block)
    kind = block.get("type")
    if kind == "resource":
        resource = block.get("resource")
        payload = resource.get("text", resource.get("blob")) if isinstance(resource, dict) else None
    else:
        key = _PAYLOAD_KEYS.get(kind) if isinstance(kind, str) else None
        payload = block.get(key) if key is not None else None
    if isinstance(payload, str):
        return utf8_length(payload)
    return json_size(block)
