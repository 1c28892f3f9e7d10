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
     embedded resources' `text`, and a structuredContent no text block repeats. When the texts are too
     many for each to get `_MIN_SHARE` bytes, they are kept whole in order instead (the first past the
     budget shortened if it can be, the rest left out with one counted note). structuredContent is
     shortened with no marker item in its arrays (a string among objects would break the tool's
     outputSchema, which clients check it against; the note counts what was dropped), and a repeated
     one is rebuilt from its shortened text block (`{"result": <text>}`, or the shortened JSON value).
The notes block `shape_result` appends is not counted, as everywhere in shaping.
"""

from __future__ import annotations

from typing import Any

from .limits import compact_json, json_size, parse_json_container, shorten_text, shorten_to_fit, utf8_length
from .sent import mirrored_block, sent_size

_STRUCTURED = -1  # the part index of structuredContent
# The smallest share worth shortening a part to: below it a cut marker ("… (N more characters omitted)")
# is all that is left, so whole blocks are kept in order and the rest left out instead.
_MIN_SHARE = 64


def fit_result(blocks: list[dict], structured: dict | None, limit: int,
               notes: list[str]) -> tuple[list[dict], dict | None]:
    """`blocks` (MCP content blocks, wire format) and `structured` with `sent_size` at most `limit`
    bytes (UTF-8; see the module docstring for how), plus a note per change in `notes`. Unchanged
    when already within the limit; inputs are never mutated."""
    if sent_size(blocks, structured) <= limit:
        return blocks, structured
    found = mirrored_block(blocks, structured) if structured is not None else None
    mirror, wrapped = (found.index, found.wrapped) if found is not None else (None, False)
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
    budget = limit - used
    if sum(1 for index in shortenable if index not in (_STRUCTURED, mirror)) * _MIN_SHARE > budget:
        # Too many parts for each to keep a useful share (a share below a cut marker's size turns every
        # block into the marker alone, and the result grows): keep whole blocks in order instead.
        budget = _keep_whole_blocks(blocks, kept, shortenable, budget, {_STRUCTURED, mirror}, notes, limit)
    for index, share in _water_fill(shortenable, budget).items():
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


def _keep_whole_blocks(blocks: list[dict], kept: list[dict | None], shortenable: dict[int, int], budget: int,
                       reserved: set[int | None], notes: list[str], limit: int) -> int:
    """Keep shortenable blocks whole, in order, while they fit `budget` less what the `reserved` parts
    (structuredContent, its mirror block) are owed (their size, at most half); the first one past that is
    shortened if at least `_MIN_SHARE` bytes are left, the rest are left out with one counted note.
    Removes the handled blocks from `shortenable` and returns the budget left for the reserved parts."""
    owed = min(sum(size for index, size in shortenable.items() if index in reserved), budget // 2)
    room = budget - owed
    dropped = dropped_bytes = 0
    for index in [index for index in sorted(shortenable) if index not in reserved]:
        size = shortenable.pop(index)
        if size <= room and not dropped:
            room -= size
        elif room >= _MIN_SHARE and not dropped:
            said: list[str] = []
            kept[index] = _shorten_block(blocks[index], room, said, False, False)[0]
            room = 0
            notes.append(f"result shortened to fit {limit} bytes: " + "; ".join(said))
        else:
            kept[index] = None
            dropped, dropped_bytes = dropped + 1, dropped_bytes + size
    if dropped:
        notes.append(f"left out: {dropped:,} text block{'s' if dropped != 1 else ''}, {dropped_bytes:,} bytes; "
                     f"they did not fit the result limit of {limit} bytes")
    return room + owed


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
    value = None if wrapped else parse_json_container(text)
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


def _mime(block: dict) -> str:
    mime = block.get("mimeType") or (block.get("resource") or {}).get("mimeType")
    return f" ({mime})" if isinstance(mime, str) else ""
