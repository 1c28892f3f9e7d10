""""Sent bytes": the one rule for how much of a tool result reaches the model.

A result's size as the model receives it is what it reads, not the JSON-RPC framing around it:

  - each content block's payload, in UTF-8 bytes: a text block's `text`, an image or audio block's
    base64 `data`, an embedded resource's `text` or `blob`, a resource link's `uri`; any other
    block, its compact JSON;
  - `structuredContent` (compact JSON), unless a text block repeats it (`mirrored_block`): its JSON
    (compact or indented), or, as SDK servers wrap a string return value, `{"result": <the text>}`.

Why a repeated structuredContent is counted once: the MCP specification has a tool returning
structured content also return it serialized in a text block "for backwards compatibility"
(MCP 2025-06-18, server/tools "Structured Content"), and mcprt's shaped JSON results do exactly
that, so a model (or its client) reads one copy or the other, never both. Counting both made an
unpruned tool whose upstream answers compact JSON look twice as large as its upstream body. A
structuredContent no text block repeats is read as well, so it counts.
Why the text itself and not its JSON-string encoding: escaping the quotes of a JSON document inside
a JSON string is transport framing, as the MCP envelope is; `raw_bytes` (the upstream body) is not
measured with its HTTP framing either. So an unpruned, compact JSON body gives sent ≈ raw (saved ≈
0), and the "saved" figures (`raw - sent`) of pruned tools measure what pruning removed.

Every producer of a `ToolResult` (shaping, tool errors, the CLI) takes its `sent_bytes` from
`sent_size`, a proxied result's `raw_bytes` too (the upstream's result measured the same way, so an
unpruned passthrough shows 0 % saved); sinks (metrics, audit, status page, `mcprt record`/`test`) only read it.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from mcprt.contracts import UpstreamResult

from .limits import compact_json, json_size, utf8_length

_PAYLOAD_KEYS = {"text": "text", "image": "data", "audio": "data", "resource_link": "uri"}


def sent_size(content: list[Any], structured: Any = None) -> int:
    """UTF-8 bytes of `content` (MCP content blocks, wire format) as the model reads them, or of
    `structured` (compact JSON) unless a text block repeats it or it is an empty `{}` beside content;
    the rule is the module's. 0 for an empty result."""
    blocks = sum(_block_size(block) for block in content)
    if structured is None or (content and (structured == {} or mirrored_block(content, structured) is not None)):
        # An empty `{}` beside content is the placeholder sent for a tool declaring an outputSchema
        # whose body goes as text: nothing to read, and counting it made "saved" negative.
        return blocks
    return blocks + json_size(structured)


def raw_size(upstream: UpstreamResult) -> int:
    """The "raw" figure of a call: what upstream sent, measured as `sent_size` measures a result, so an
    unshaped result shows raw = sent (0 % saved) whatever the source kind. A proxied server's result:
    `sent_size` of its content and structuredContent (not the JSON-RPC result carrying them); a binary
    body: its base64 length, the form any result sends it in (MCP image/audio `data`, resource `blob`);
    a text or JSON body: its bytes as received (`upstream.raw_bytes`, HTTP framing not counted); a relayed
    result (`raw_measured`, discovery's `call_tool`): the raw figure of the call it relays, as given."""
    if upstream.raw_measured:
        return upstream.raw_bytes
    if upstream.kind == "content":
        return sent_size(upstream.content or [], upstream.structured)
    if upstream.kind == "binary":
        return (upstream.raw_bytes + 2) // 3 * 4
    return upstream.raw_bytes


class Mirror(NamedTuple):
    """The text block that repeats a structuredContent: its `index` in the content, and whether
    structuredContent is the SDK's wrapper of it (`{"result": <the text>}`, `wrapped`) rather than the
    parsed JSON of the text. A wrapper is a copy of the text, not data of its own: pruning leaves it
    alone (the pruned text becomes the structured form) and shortening rebuilds it from the text."""

    index: int
    wrapped: bool


def mirrored_block(content: list[Any], structured: Any) -> Mirror | None:
    """The text block in `content` that repeats `structured` (see the module docstring), or None; a
    block `structured` wraps is preferred over one holding its JSON. Cost: one compact encoding of
    `structured`; a text block is parsed only when it starts like a JSON object and is at least as
    long as that encoding (an indented copy is longer)."""
    if not isinstance(structured, dict):
        return None
    texts = [(index, block["text"]) for index, block in enumerate(content)
             if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str)]
    wrapped = structured.get("result") if len(structured) == 1 else None
    if isinstance(wrapped, str):
        for index, text in texts:
            if text == wrapped:
                return Mirror(index, True)
    encoded = compact_json(structured) if texts else ""
    for index, text in texts:
        if text == encoded:
            return Mirror(index, False)
        if len(text) > len(encoded) and text.lstrip().startswith("{") and _parses_to(text, structured):
            return Mirror(index, False)
    return None


def _parses_to(text: str, value: Any) -> bool:
    try:
        return bool(json.loads(text) == value)
    except ValueError:
        return False


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
