"""The result size limit (`max_result_bytes`) over a whole result: every content block and structuredContent.

A proxied MCP result can carry several blocks of any type and a structuredContent beside them; bounding
only its text blocks let the rest go out whole (a 7 MiB structuredContent past a 100 KB limit, past the
SDK client's 1 MiB SSE event limit). The size bounded is `sent.sent_size`: each block's payload, plus
structuredContent unless a text block repeats it (then that pair is shortened together and stays a pair).

Over the limit, in this order:
  1. Blocks that cannot be shortened (image and audio data, a resource's base64 `blob`, a resource link,
     an unknown type) are kept in order while they fit in the limit less what the shortenable parts are
     owed (their size, at most half the limit); a block past that is left out, and a note says which.
  2. The budget left is shared among the shortenable parts, smallest first (one that fits an equal share
     of what is left stays whole, so the largest shrink most): text blocks
     (JSON ones shortened by structure, other text at a line or word boundary, with `limits`' markers),
     embedded resources' `text`, and a structuredContent no text block repeats. structuredContent is
     shortened with no marker item in its arrays (a string among objects would break the tool's
     outputSchema, which clients check it against; the note counts what was dropped), and a repeated
     one is rebuilt from its shortened text block (`{"result": <text>}`, or the shortened JSON value).
The notes block `shape_result` appends is not counted, as everywhere in shaping.
"""

from __future__ import annotations

import json
from typing import Any

from .limits import compact_json, json_size, shorten_text, shorten_to_fit, utf8_length
from .sent import mirrored_block, sent_size

_STRUCTURED = -1  # the part index of structuredContent


def fit_result(blocks: list[dict], structured: dict | None, limit: int,
               notes: list[str]) -> tuple[list[dict], dict | None]:
    """`blocks` (MCP content blocks, wire format) and `structured` with `sent_size` at most `limit`
    bytes (UTF-8; see the module docstring for how), plus a note per change in `notes`. Unchanged
    when already within the limit; inputs are never mutated."""
    if sent_size(blocks, structured) <= limit:
        return blocks, structured
    mirror = mirrored_block(blocks, structured) if structured is not None else None
    wrapped = mirror is not None and structured == {"result": blocks[mirror]["text"]}
    shortenable = {index: _text_size(block) for index, block in enumerate(blocks) if _text_size(block) is not None}
    if structured is not None and mirror is None:
        shortenable[_STRUCTURED] = json_size(structured)
    owed = min(sum(shortenable.values()), limit // 2)
    kept: list[dict | None] = list(blocks)
    used = 0
    left_out: dict[tuple[str, str], list[int]] = {}  # type → [blocks, bytes]: one note, however many blocks
    for index, block in enumerate(blocks):
        if index in shortenable:
            continue
        size = sent_size([block])
        if used + size > limit - owed:
            kept[index] = None
            counts = left_out.setdefault((str(block.get("type")), _mime(block)), [0, 0])
            counts[0], counts[1] = counts[0] + 1, counts[1] + size
            continue
        used += size
    if left_out:
        listed = ", ".join(f"{n} {kind} block{'s' if n != 1 else ''}{mime}, {size:,} bytes"
                           for (kind, mime), (n, size) in left_out.items())
        notes.append(f"left out: {listed}; they did not fit the result limit of {limit} bytes")
    details: list[str] = []
    for index, share in _water_fill(shortenable, limit - used).items():
        if index == _STRUCTURED:
            structured = _shorten_value(structured, share, details, "structuredContent")
        else:
            kept[index], value = _shorten_block(blocks[index], share, details, index == mirror, wrapped)
            if index == mirror:
                structured = value
    if details:
        notes.append(f"result shortened to fit {limit} bytes (all content blocks and "
                     f"structuredContent together): " + "; ".join(details))
    return [block for block in kept if block is not None], structured


def _water_fill(sizes: dict[int, int], budget: int) -> dict[int, int]:
    """The parts that must shrink, each with its share of `budget`: smallest first, a part that fits an
    equal share of what is left keeps its size, so small parts stay whole and the largest shrink most."""
    shares: dict[int, int] = {}
    ordered = sorted(sizes.items(), key=lambda item: item[1])
    for position, (index, size) in enumerate(ordered):
        share = max(budget, 0) // (len(ordered) - position)
        if size <= share:
            budget -= size
        else:
            shares[index] = share
            budget -= share
    return shares


def _text_size(block: dict) -> int | None:
    """UTF-8 size of a block's shortenable text (a text block's, an embedded resource's), else None."""
    if block.get("type") == "text" and isinstance(block.get("text"), str):
        return utf8_length(block["text"])
    resource = block.get("resource") if block.get("type") == "resource" else None
    if isinstance(resource, dict) and isinstance(resource.get("text"), str):
        return utf8_length(resource["text"])
    return None


def _shorten_block(block: dict, share: int, details: list[str], as_pair: bool, wrapped: bool) -> tuple[dict, Any]:
    """The block with its text shortened to `share` bytes, and (for a block repeated as structuredContent,
    `as_pair`; `wrapped`: as `{"result": <text>}`) the structuredContent that repeats the shortened text."""
    if block.get("type") == "resource":
        resource = block["resource"]
        details.append(f"the text of embedded resource {resource.get('uri', '')} was shortened")
        return {**block, "resource": {**resource, "text": shorten_text(resource["text"], share)}}, None
    text = block["text"]
    value = None if wrapped else _parse_object_or_array(text)
    if value is not None:
        # A JSON text stays JSON; a pair's text is the compact JSON of its structuredContent.
        value = _shorten_value(value, share, details, "a JSON text block", item_markers=not as_pair)
        return {**block, "text": compact_json(value)}, value
    details.append("a text block was shortened")
    shortened = shorten_text(text, share)
    return {**block, "text": shortened}, {"result": shortened}


def _shorten_value(value: Any, share: int, details: list[str], what: str, item_markers: bool = False) -> Any:
    shortened, said = shorten_to_fit(value, share, item_markers=item_markers)
    details.append(f"{what}: " + (", ".join(said) if said else "shortened"))
    return shortened


def _parse_object_or_array(text: str) -> Any:
    stripped = text.lstrip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _mime(block: dict) -> str:
    mime = block.get("mimeType") or (block.get("resource") or {}).get("mimeType")
    return f" ({mime})" if isinstance(mime, str) else ""
