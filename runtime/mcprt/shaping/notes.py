"""The trailing `Note: …` block: how shaping tells the model what it omitted or changed.

Every note a shaping step adds (shortened, left out, prune matched nothing) becomes one line of one
text block appended after the result's content, so a JSON text block stays valid JSON. The block is
part of what the model receives, so the size limits count it (`notes_size`, `wire.result_wire_size`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .limits import utf8_length


def notes_text(notes: Iterable[str]) -> str:
    """The notes block's text: one `Note: <note>` line per distinct note, in order."""
    return "\n".join(f"Note: {note}" for note in dict.fromkeys(notes))


def notes_block(notes: Iterable[str]) -> dict[str, Any] | None:
    """The notes block (an MCP text block) for `notes`, or None when there are none."""
    text = notes_text(notes)
    return {"type": "text", "text": text} if text else None


def notes_size(notes: Iterable[str]) -> int:
    """UTF-8 bytes of the notes block's text (0 for no notes)."""
    return utf8_length(notes_text(notes))
