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
from collections.abc import Callable
from typing import Any

from ..offerings.offerset import OfferSet
from .limits import compact_json
from .sent import mirrored_block

# An upstream result larger (raw bytes) is shaped in a worker thread when its URIs are rewritten: the walk is
# ~35 ms per MB, and a value the outputSchema pins costs a full jsonschema walk (seconds for a MB of `anyOf`
# items; bench/structured_uris.py)
EXPOSE_ON_LOOP_BYTES = 64 * 1024

# (content blocks, structuredContent) -> the same with the URIs a client reads through mcprt
Exposer = Callable[[list[dict[str, Any]], "dict[str, Any] | None"],
                   "tuple[list[dict[str, Any]], dict[str, Any] | None]"]


def uri_exposer(offers: OfferSet, source: str, output_schema: dict[str, Any] | None) -> Exposer | None:
    """The rewrite of a result's content blocks and structuredContent (of a tool of `source` declaring
    `output_schema`, None: none) for `shaping.result.shape_result` to run before the result size limit — so
    the prefix a URI gains is counted in `max_result_bytes` and in the sent bytes (review of proxyleft #5: a
    5,000-URI result rewritten after the limit of 50,000 bytes was sent as 95,320). None when `source` has no
    prefix: nothing to rewrite."""
    offers_of = offers.sources.get(source)
    if offers_of is None or not offers_of.scheme:
        return None

    def expose(content: list[dict[str, Any]], structured: dict[str, Any] | None
               ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        return expose_uris(content, structured, offers, source, output_schema)

    return expose


def expose_uris(content: list[dict[str, Any]], structured: dict[str, Any] | None, offers: OfferSet, source: str,
                output_schema: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """`content` and `structured` (of a tool of `source` declaring `output_schema`) with the URIs a client
    reads through mcprt; the same objects when nothing changes."""
    content = offers.exposed_content(source, content)
    if isinstance(structured, dict):
        exposed = offers.exposed_structured(source, structured, output_schema)
        if exposed is not structured:
            mirror = mirrored_block(content, structured)
            if mirror is not None:
                block = content[mirror.index]
                content = list(content)
                content[mirror.index] = {**block, "text": _copy_text(block["text"], structured, exposed,
                                                                     mirror.wrapped)}
            structured = exposed
    return content, structured


def _copy_text(text: str, structured: dict[str, Any], exposed: dict[str, Any], wrapped: bool) -> str:
    if wrapped:  # the SDK's `{"result": <the text>}`: the text is the value itself
        value = exposed.get("result")
        return value if isinstance(value, str) else text
    if text == compact_json(structured):
        return compact_json(exposed)
    return json.dumps(exposed, indent=2, ensure_ascii=False)
