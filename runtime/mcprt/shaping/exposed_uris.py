"""A tool result's resource URIs as a client reads them through mcprt: the answering source's prefix added.

The content blocks (`OfferSet.exposed_content`: `resource_link`, embedded `resource`) and the URIs of that
source's resources in its structuredContent (`OfferSet.exposed_structured`, kept valid against the tool's
outputSchema). A text block repeating the structuredContent (`sent.mirrored_block`: MCP has a tool send its
structured result serialized in a text block too) is its copy, so it is written again from the rewritten
value — compact if it was, else indented — and a model reading the text reads the URIs a client reading
structuredContent does.
"""

from __future__ import annotations

import json
from typing import Any

from ..contracts import ToolResult
from ..offerings.offerset import OfferSet
from .limits import compact_json
from .sent import mirrored_block

# A result larger (sent bytes) is rewritten in a worker thread: the walk is ~35 ms per MB, and a value the
# outputSchema pins costs a full jsonschema walk (seconds for a MB of `anyOf` items; bench/structured_uris.py)
EXPOSE_ON_LOOP_BYTES = 64 * 1024


def expose_result_uris(result: ToolResult, offers: OfferSet, source: str, output_schema: dict[str, Any] | None) -> None:
    """Rewrite `result` (of a tool of `source` declaring `output_schema`, None: none) in place."""
    content = offers.exposed_content(source, result.content)
    structured = result.structured_content
    if isinstance(structured, dict):
        exposed = offers.exposed_structured(source, structured, output_schema)
        if exposed is not structured:
            mirror = mirrored_block(content, structured)
            if mirror is not None:
                block = content[mirror.index]
                content = list(content)
                content[mirror.index] = {**block, "text": _copy_text(block["text"], structured, exposed,
                                                                     mirror.wrapped)}
            result.structured_content = exposed
    result.content = content


def _copy_text(text: str, structured: dict[str, Any], exposed: dict[str, Any], wrapped: bool) -> str:
    if wrapped:  # the SDK's `{"result": <the text>}`: the text is the value itself
        value = exposed.get("result")
        return value if isinstance(value, str) else text
    if text == compact_json(structured):
        return compact_json(exposed)
    return json.dumps(exposed, indent=2, ensure_ascii=False)
