"""The result size limit (`max_result_bytes`) over a whole proxied result: what the model sees, each thing once.

A proxied MCP result can carry several blocks of any type, each with fields besides its payload, a
structuredContent, and a `_meta`. The size bounded is `wire.limited_size`: the result object as
JSON, every field, the escaping of each text and the notes block, with a structuredContent a text
block repeats counted once, as that block (MCP 2025-06-18 server/tools "Structured Content": the
text is the same content for clients that do not read structuredContent; HTTP and Python tools
count it once too). Bounding only each block's payload let a resource link's 1.1 MB `description`,
or the framing of 25,000 one-character blocks, past the SDK client's 1 MiB SSE limit; with the
repeated copy on the wire a result reaches about twice the limit (the 100 KB default stays far
below that 1 MiB).

Over the limit, in this order:
  0. The result's own `_meta`, when larger than a quarter of the limit, is left out with a note
     (it is data for the client, with no rule for shortening it).
  1. Each block has text fields that can be shortened — a text block's `text`, an embedded resource's
     `text`, a resource link's `title` and `description` — and a fixed part: the rest (its
     framing, `uri`, a link's `name`, `mimeType`, `annotations`, `_meta`, image and audio `data`, a
     resource's `blob`). A URI or a link's `name` (an identifier, MCP `BaseMetadata`) is never cut (cut,
     it names another thing). Blocks are kept in order while their fixed parts fit in the limit less
     what the text fields are owed (their size, at most half the limit); a block past that with texts of
     its own is still kept while its fixed part fits with `_MIN_SHARE` for every text (a long URI that
     fits: its text is shortened instead); any other is left out, and one counted note says which. When the text block that
     repeats structuredContent is left out (its own `_meta` too large), structuredContent is no
     longer repeated: it becomes a part of its own, counted and shortened.
  2. The budget left is shared among the text fields and a structuredContent no text block repeats,
     smallest first (one that fits an equal share of what is left stays whole, so the largest shrink
     most): JSON text blocks shortened by structure, other text at a line or word boundary, with
     `limits`' markers. When the texts are too many for each to get `_MIN_SHARE` bytes, whole blocks
     are kept in order instead (the first past the budget shortened if it is large and can be, the
     rest left out with one counted note). structuredContent is shortened with no marker item in its arrays (a
     string among objects would break the tool's outputSchema; the note counts what was dropped),
     and a repeated one is rebuilt from its shortened text block (`{"result": <text>}`, or the
     shortened JSON value); either is then made to conform to the tool's outputSchema again
     (`conform`: a `required` key dropped with the end of a wide object is put back).
  3. The result is measured again as it will be sent (escaping and notes included); while it is over,
     steps 1–2 run again on a budget lowered by the excess (at most `_ROUNDS` times; what `conform`
     puts back is capped at the first round's budget, so later rounds shrink the rest around it).
     Still over: blocks are left out from the end (measured again with the counted note as it reads),
     then structuredContent is shortened to what is left, or left out, with a note. So the bound is
     exact for `limited_size`; the server's framing around it is the tolerance `wire` documents.
"""

from __future__ import annotations

from typing import Any

from .conform import CannotConform, conform
from .limits import compact_json, json_size, parse_json_container, shorten_text, shorten_to_fit, utf8_length
from .sent import mirrored_block
from .wire import block_wire_size, limited_size, result_wire_size
from mcprt.wording import byte_count

_STRUCTURED = -1  # the part key of structuredContent
# The smallest share worth shortening a part to: below it a cut marker ("… (N more characters omitted)")
# is all that is left, so whole blocks are kept in order and the rest left out instead.
_MIN_SHARE = 64
_NOTES_GUESS = 300  # bytes the notes of a fitting usually take ("left out: …", "result shortened …")
_ROUNDS = 4  # measuring again after shortening: escaping and notes are estimated, then corrected
# A resource link's text fields (MCP `Resource`); its `name` is an identifier ("intended for programmatic
# use", MCP 2025-06-18 schema `BaseMetadata`), so it is part of the fixed part and never cut.
_LINK_TEXTS = ("description", "title")
_STRUCTURED_KEY = len(',"structuredContent":')
_SHOWN = 80  # characters of a URI or media type shown in a note (they may be as large as the result)

_Key = tuple[int, tuple[str, ...]] | int  # (block index, path to a text field), or _STRUCTURED


def fit_result(blocks: list[dict], structured: dict | None, limit: int, notes: list[str],
               meta: dict | None = None, schema: dict[str, Any] | None = None) -> tuple[list[dict], dict | None, dict | None]:
    """`blocks` (MCP content blocks, wire format), `structured` and `meta` (the result's `_meta`) with
    `wire.limited_size` of them and of `notes` at most `limit` bytes (UTF-8; a repeated structuredContent
    counted once; see the module docstring for how), plus a note per change in `notes`. A shortened structuredContent is made to
    conform to `schema` (the tool's outputSchema) again (`conform`: what it refuses shortened, such as a
    `required` key, is restored; `CannotConform` when that cannot fit). Unchanged when already within
    the limit; inputs are never mutated."""
    if limited_size(blocks, structured, meta, notes) <= limit:
        return blocks, structured, meta
    given = list(notes)
    if meta and json_size(meta) > limit // 4:
        given.append(f"the result's _meta ({json_size(meta):,} bytes) was left out: it did not fit the result "
                     f"limit of {byte_count(limit)}")
        meta = None
    budget = limit - result_wire_size([], None, meta, given) - (_STRUCTURED_KEY if structured is not None else 0)
    budget -= min(_NOTES_GUESS, limit // 8)  # the notes fitting adds: one round is then the rule, not two
    out, out_structured, trial = blocks, structured, given
    sizes = [block_wire_size(block) for block in blocks]  # measured once for every round
    found = mirrored_block(blocks, structured) if structured is not None else None
    mirror = (found.index, found.wrapped) if found is not None else (None, False)
    restore_cap = max(budget, 0)  # what parts may take at most: a required key put back is at most that
    for _ in range(_ROUNDS):
        trial = list(given)
        out, out_structured = _fit_parts(blocks, sizes, mirror, structured, max(budget, 0), trial, limit,
                                         schema, restore_cap)
        over = limited_size(out, out_structured, meta, trial) - limit
        if over <= 0:
            break
        budget -= over + budget // 50
    else:
        out, out_structured = _leave_out_from_end(out, out_structured, meta, trial, limit, schema)
    notes[:] = trial
    return out, out_structured, meta


def _fit_parts(blocks: list[dict], sizes: list[int], repeated: tuple[int | None, bool], structured: dict | None, budget: int, notes: list[str],
               limit: int, schema: dict[str, Any] | None, restore_cap: int) -> tuple[list[dict], dict | None]:
    """Steps 1–2 of the module docstring on `budget` bytes (what the blocks and structuredContent may take;
    `restore_cap`: what `conform` may put back, the first round's budget, as the rest shrinks in later rounds);
    `sizes`: each block's wire bytes; `repeated`: the index of the text block structuredContent repeats, and
    whether it wraps it (`sent.Mirror`)."""
    mirror, wrapped = repeated
    parts: dict[_Key, tuple[int, int]] = {}  # wire bytes (escaped; a repeated copy counts once), UTF-8 bytes
    fixed: list[int] = []
    for index, block in enumerate(blocks):
        texts = 0
        for path in _text_fields(block):
            text = _get(block, path)
            escaped = json_size(text) - 2
            texts += escaped
            parts[(index, path)] = (escaped, utf8_length(text))
        fixed.append(sizes[index] - texts)
    if structured is not None and mirror is None:
        parts[_STRUCTURED] = (json_size(structured),) * 2
    kept: list[dict | None] = list(blocks)
    left_out: dict[tuple[str, str], list[int]] = {}  # (type, media type) → [blocks, bytes]: one counted note
    details: list[str] = []
    if mirror is not None and fixed[mirror] + _MIN_SHARE > budget:
        # The repeating text block's own fields (a large `_meta`) leave no room for its text: it is left
        # out, and structuredContent, no longer repeated, is a part counted and shortened like any other.
        _leave_out(mirror, blocks, sizes[mirror], kept, parts, left_out)
        parts[_STRUCTURED] = (json_size(structured),) * 2
        mirror, wrapped = None, False
    many = sum(1 for key in parts if key != _STRUCTURED and key[0] != mirror) * _MIN_SHARE > budget
    if many:
        # Too many texts for each to keep a useful share (a share below a cut marker's size turns every
        # block into the marker alone, and the result grows): keep whole blocks in order instead.
        room = _keep_whole_blocks(blocks, sizes, kept, parts, fixed, budget, mirror, left_out, details)
    else:
        # Blocks are kept in order while their fixed parts fit beside what the texts are owed (their size, at
        # most half the budget). A block past that which has texts of its own gets a second chance: its fixed
        # part (a long URI) may fit with `_MIN_SHARE` for each text part, its own shortened instead of it
        # left out whole.
        owed = min(sum(wire for wire, _ in parts.values()), budget // 2)
        used = 0
        past: list[int] = []
        for index in range(len(blocks)):
            if kept[index] is None:
                continue
            if used + fixed[index] > budget - owed:
                past.append(index)
            else:
                used += fixed[index]
        floor = len(parts) * _MIN_SHARE
        for index in past:
            if any(key != _STRUCTURED and key[0] == index for key in parts) and used + fixed[index] + floor <= budget:
                used += fixed[index]
                continue
            _leave_out(index, blocks, sizes[index], kept, parts, left_out)
            floor = len(parts) * _MIN_SHARE
            if index == mirror:  # structuredContent, no longer repeated, counts and is shortened
                parts[_STRUCTURED] = (json_size(structured),) * 2
                mirror, wrapped = None, False
        room = budget - used
    shares = _water_fill({key: wire for key, (wire, _) in parts.items()}, room)
    shortened = _apply(shares, parts, blocks, kept, structured, mirror, wrapped, details)
    if schema is not None and shortened is not structured and structured is not None and not wrapped:
        # Shortening drops keys and items from the end: put back what the outputSchema needs (a late
        # `required` key), or the client refuses the whole result. A repeated pair's text follows it.
        # What is put back is capped at the room the limit leaves for parts (not the whole limit: a required
        # key larger than that cannot fit, and later rounds shrink the rest around what was put back).
        shortened, restored = conform(shortened, structured, schema, restore_cap=restore_cap)
        details.extend(restored)
        if mirror is not None and restored:
            kept[mirror] = {**blocks[mirror], "text": compact_json(shortened)}
    structured = shortened
    if left_out:
        listed = ", ".join(f"{n:,} {kind} block{'s' if n != 1 else ''}{mime}, {size:,} bytes"
                           for (kind, mime), (n, size) in left_out.items())
        notes.append(f"left out: {listed}; they did not fit the result limit of {byte_count(limit)}")
    if details:
        notes.append(f"result shortened to fit {byte_count(limit)} (all content blocks and "
                     f"structuredContent together): " + "; ".join(details))
    return [block for block in kept if block is not None], structured


def _keep_whole_blocks(blocks: list[dict], sizes: list[int], kept: list[dict | None], parts: dict[_Key, tuple[int, int]],
                       fixed: list[int], budget: int, mirror: int | None,
                       left_out: dict[tuple[str, str], list[int]], details: list[str]) -> int:
    """Keep blocks whole, in order, while they fit `budget` less what structuredContent and the block
    repeating it are owed (their size, at most half); the first one past that is shortened if at least
    `_MIN_SHARE` bytes are left for its texts and they are large (cutting a small block to a part of
    it and a marker shows little more than leaving it out), the rest are left out. Leaves in `parts` only the
    reserved parts; returns the budget left for them."""
    reserved = {key for key in parts if key == _STRUCTURED or key[0] == mirror}
    owed = min(sum(parts[key][0] for key in reserved), budget // 2)
    room = budget - owed - (fixed[mirror] if mirror is not None else 0)
    dropping = False
    for index, block in enumerate(blocks):
        if index == mirror:
            continue
        own = {(index, path): parts.pop((index, path)) for path in _text_fields(block)}
        whole = fixed[index] + sum(wire for wire, _ in own.values())
        if not dropping and whole <= room:
            room -= whole
        elif not dropping and whole - fixed[index] >= 4 * _MIN_SHARE and room - fixed[index] >= _MIN_SHARE:
            shares = _water_fill({key: wire for key, (wire, _) in own.items()}, room - fixed[index])
            _apply(shares, own, blocks, kept, None, None, False, details)
            room, dropping = 0, True
        else:
            kept[index] = None
            _count(block, sizes[index], left_out)
            dropping = True
    return max(room, 0) + owed


def _leave_out_from_end(blocks: list[dict], structured: dict | None, meta: dict | None, notes: list[str],
                        limit: int, schema: dict[str, Any] | None) -> tuple[list[dict], dict | None]:
    """The last resort when shortening did not converge: blocks left out from the end until it fits (sizes
    subtracted, then measured again with the real counted note, which names types and media types), then
    structuredContent shortened to what is left, or left out when even that cannot fit."""
    kept = list(blocks)
    left_out: dict[tuple[str, str], list[int]] = {}
    note = f"left out: {len(blocks):,} blocks of several types; they did not fit the result limit of {byte_count(limit)}"
    size = limited_size(kept, structured, meta, [*notes, note])
    while kept and size > limit:
        while kept and size > limit:
            block = kept.pop()
            block_size = block_wire_size(block)
            size -= block_size
            _count(block, block_size, left_out)
        # measured again: the real note may be longer than the one reserved, and a text block that
        # repeated structuredContent, once left out, no longer stands for it
        size = limited_size(kept, structured, meta, [*notes, _left_out_note(left_out, limit)])
    if left_out:
        notes.append(_left_out_note(left_out, limit))
    if structured is not None and size > limit:
        structured = _last_structured(kept, structured, meta, notes, limit, schema)
    return kept, structured


def _left_out_note(left_out: dict[tuple[str, str], list[int]], limit: int) -> str:
    listed = ", ".join(f"{n:,} {kind} block{'s' if n != 1 else ''}{mime}" for (kind, mime), (n, _) in left_out.items())
    return f"left out: {listed}; they did not fit the result limit of {byte_count(limit)}"


def _last_structured(blocks: list[dict], structured: dict, meta: dict | None, notes: list[str], limit: int,
                     schema: dict[str, Any] | None) -> dict | None:
    """structuredContent shortened to the bytes the rest of the result leaves (made to conform to `schema`
    again), or None with a note when it cannot fit."""
    dropped = f"structuredContent ({json_size(structured):,} bytes) was left out: it did not fit the result limit of {byte_count(limit)}"
    shortened_note = f"result shortened to fit {byte_count(limit)}: structuredContent was shortened"
    share = limit - result_wire_size(blocks, None, meta, [*notes, shortened_note]) - _STRUCTURED_KEY
    if share >= _MIN_SHARE:
        shortened, _ = shorten_to_fit(structured, share)
        try:
            if schema is not None:
                shortened, _ = conform(shortened, structured, schema, restore_cap=share)
        except CannotConform:
            shortened = None
        if shortened is not None and limited_size(blocks, shortened, meta, [*notes, shortened_note]) <= limit:
            notes.append(shortened_note)
            return shortened
    notes.append(dropped)
    return None


def _leave_out(index: int, blocks: list[dict], size: int, kept: list[dict | None], parts: dict[_Key, tuple[int, int]],
               left_out: dict[tuple[str, str], list[int]]) -> None:
    kept[index] = None
    for path in _text_fields(blocks[index]):
        del parts[(index, path)]
    _count(blocks[index], size, left_out)


def _count(block: dict, size: int, left_out: dict[tuple[str, str], list[int]]) -> None:
    """Count a block left out (`size`: its wire bytes, the comma before it included) under its type."""
    counts = left_out.setdefault((_shown(str(block.get("type"))), _mime(block)), [0, 0])
    counts[0], counts[1] = counts[0] + 1, counts[1] + size - 1


def _apply(shares: dict[_Key, int], parts: dict[_Key, tuple[int, int]], blocks: list[dict],
           kept: list[dict | None], structured: dict | None, mirror: int | None, wrapped: bool,
           details: list[str]) -> dict | None:
    """Shorten each part in `shares` to its share (wire bytes, turned into UTF-8 bytes of its text by the
    part's own ratio: escaping and a repeated copy shrink with it); returns the structuredContent."""
    for key, share in shares.items():
        if key == _STRUCTURED:
            structured = _shorten_value(structured, share, details, "structuredContent")
            continue
        index, path = key
        wire, payload = parts[key]
        target = share * payload // max(wire, 1)
        block = kept[index]
        assert block is not None
        if path == ("text",):
            kept[index], value = _shorten_text_block(block, target, details, index == mirror, wrapped)
            if index == mirror:
                structured = value
        elif path == ("resource", "text"):
            resource = block["resource"]
            details.append(f"the text of embedded resource {_shown(resource.get('uri', ''))} was shortened")
            kept[index] = {**block, "resource": {**resource, "text": shorten_text(resource["text"], target)}}
        else:
            details.append(f"the {path[0]} of resource link {_shown(block.get('uri', ''))} was shortened")
            kept[index] = {**block, path[0]: shorten_text(block[path[0]], target)}
    return structured


def _water_fill(sizes: dict[_Key, int], budget: int) -> dict[_Key, int]:
    """The parts that must shrink, each with its share of `budget`: smallest first, a part that fits an
    equal share of what is left keeps its size, so small parts stay whole and the largest shrink most."""
    shares: dict[_Key, int] = {}
    ordered = sorted(sizes.items(), key=lambda item: item[1])
    for position, (key, size) in enumerate(ordered):
        share = max(budget, 0) // (len(ordered) - position)
        if size <= share:
            budget -= size
        else:
            shares[key] = share
            budget -= share
    return shares


def _text_fields(block: dict) -> list[tuple[str, ...]]:
    """Paths to a block's text fields that may be shortened (its fixed part is everything else)."""
    kind = block.get("type")
    if kind == "text":
        return [("text",)] if isinstance(block.get("text"), str) else []
    if kind == "resource":
        resource = block.get("resource")
        return [("resource", "text")] if isinstance(resource, dict) and isinstance(resource.get("text"), str) else []
    if kind == "resource_link":
        return [(name,) for name in _LINK_TEXTS if isinstance(block.get(name), str)]
    return []


def _get(block: dict, path: tuple[str, ...]) -> str:
    value: Any = block
    for step in path:
        value = value[step]
    return value


def _shorten_text_block(block: dict, share: int, details: list[str], as_pair: bool,
                        wrapped: bool) -> tuple[dict, Any]:
    """The text block shortened to `share` bytes, and (for a block repeated as structuredContent,
    `as_pair`; `wrapped`: as `{"result": <text>}`) the structuredContent that repeats the shortened text."""
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
    return f" ({_shown(mime)})" if isinstance(mime, str) else ""


def _shown(text: Any) -> str:
    """A URI or media type as a note shows it: at most `_SHOWN` characters (the note must stay small)."""
    text = str(text)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"
