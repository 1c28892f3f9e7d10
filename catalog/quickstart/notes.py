"""A tiny offline notes service for the quick start: typed functions become MCP tools.

Everything lives in memory (seeded from notes.json), so the quick start needs no network.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field

__all__ = ["search_notes", "get_note", "add_note", "notes_by_tag"]


class Note(BaseModel):
    id: int
    title: str
    body: str
    tags: list[str] = []
    created: date
    author: dict[str, str] = {}
    links: list[str] = []


_NOTES: dict[int, Note] = {
    item["id"]: Note.model_validate(item)
    for item in json.loads((Path(__file__).with_name("notes.json")).read_text(encoding="utf-8"))
}


def search_notes(
    query: Annotated[str, Field(description="Words to look for in titles and bodies.")],
    limit: Annotated[int, Field(ge=1, le=50)] = 10,
) -> list[Note]:
    """Search notes by words; returns the best matches first.

    Args:
        query: Words to look for in titles and bodies.
        limit: Most notes to return.
    """
    words = [w for w in query.lower().split() if w]
    scored = []
    for note in _NOTES.values():
        text = f"{note.title} {note.body}".lower()
        score = sum(text.count(w) for w in words)
        if score:
            scored.append((score, note.id, note))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [note for _, _, note in scored[:limit]]


def get_note(note_id: int) -> Note:
    """Read one note by its id."""
    if note_id not in _NOTES:
        raise LookupError(f"no note with id {note_id}; search_notes finds ids")
    return _NOTES[note_id]


def add_note(title: str, body: str, tags: list[str] | None = None) -> Note:
    """Add a note (kept in memory while the server runs)."""
    note = Note(id=max(_NOTES, default=0) + 1, title=title, body=body, tags=tags or [], created=date.today())
    _NOTES[note.id] = note
    return note


def notes_by_tag(tag: str, order: Literal["newest", "oldest"] = "newest") -> list[Note]:
    """List the notes carrying a tag."""
    found = [n for n in _NOTES.values() if tag in n.tags]
    return sorted(found, key=lambda n: n.created, reverse=order == "newest")
