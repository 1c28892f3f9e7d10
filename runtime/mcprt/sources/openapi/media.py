"""Media types: which request body representation to use and how to write it."""

from __future__ import annotations

from typing import Literal

MediaKind = Literal["json", "form", "multipart", "text", "binary"]


def base_type(media_type: str) -> str:
    return media_type.split(";", 1)[0].strip().lower()


def media_kind(media_type: str) -> MediaKind:
    """How a body of this media type is written from tool arguments."""
    mt = base_type(media_type)
    if mt == "application/json" or mt.endswith("+json") or mt.endswith("/json") or mt in ("*/*", "application/*"):
        return "json"
    if mt == "application/x-www-form-urlencoded":
        return "form"
    if mt.startswith("multipart/"):
        return "multipart"
    if mt.startswith("text/") or mt.endswith("+xml") or mt in ("application/xml", "application/yaml",
                                                               "application/x-yaml", "application/graphql",
                                                               "application/javascript", "application/sql"):
        return "text"
    return "binary"


_PREFERENCE = {"json": 0, "form": 1, "multipart": 2, "text": 3, "binary": 4}


def choose_media_type(media_types: list[str]) -> str | None:
    """The representation models write best: JSON, then forms, multipart, text, anything else.

    Among JSON types the plain `application/json` wins over vendor `+json` types and wildcards.
    """
    best: tuple[int, int, int] | None = None
    chosen: str | None = None
    for index, mt in enumerate(media_types):
        kind = media_kind(mt)
        plain = 0 if base_type(mt) == "application/json" else (2 if "*" in mt else 1)
        rank = (_PREFERENCE[kind], plain, index)
        if best is None or rank < best:
            best, chosen = rank, mt
    return chosen


def wire_content_type(media_type: str) -> str:
    """The Content-Type to send for a declared media type (wildcards become concrete)."""
    mt = base_type(media_type)
    if "*" in mt:
        kind = media_kind(mt)
        return {"json": "application/json", "text": "text/plain"}.get(kind, "application/octet-stream")
    return media_type.strip()
