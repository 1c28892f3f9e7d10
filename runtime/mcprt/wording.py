"""Words in the messages people read: one place for a count's noun (`1 tool`, `2 tools`), a value's JSON
excerpt and joining a message's parts (`clause`), a size in bytes (`byte_count`: `10,000,001 bytes`) and a
preview of text that may be no text (`readable`: `binary data (NUL bytes), not shown`).

A new-user trial read `mcprt init`'s "(1 tools, …)"; each message had spelled its plural on its own,
and most never checked for one. Lowest layer: imports nothing of mcprt's."""

from __future__ import annotations

from typing import Any


def noun(count: int, singular: str, plural: str | None = None) -> str:
    """`singular` for a count of exactly 1 (English: 0 takes the plural), else `plural` (default
    `singular + "s"`). Only the word: callers format the number as their message does (`1,234`)."""
    return singular if count == 1 else (plural if plural is not None else singular + "s")


def json_excerpt(value: Any, limit: int | None = 160) -> str:
    """`value` as compact JSON (keys sorted, non-ASCII kept, no spaces after `,`/`:`) in at most `limit`
    characters (None: no limit), ending in `…` when cut; None is `(none)`. For reports that show a
    setting's, a schema keyword's or a policy rule's value before and after (`mcprt diff`)."""
    import json

    text = "(none)" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str,
                                                     separators=(",", ":"))
    return text if limit is None else excerpt(text, limit)


def excerpt(text: str, limit: int = 160) -> str:
    """`text` in at most `limit` characters, ending in `…` when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clause(text: str) -> str:
    """`text` as a part of a longer message that goes on after `; ` or `. `: without its own trailing
    sentence punctuation and whitespace. Libraries end their messages as they like (redis-py's
    "Connection refused.") and a message joined to one read "Connection refused.; try again shortly"."""
    return text.rstrip().rstrip(".;:,").rstrip()


def byte_count(size: int) -> str:
    """`10,000,001 bytes` (`1 byte`): a size with the thousands separators every message uses."""
    return f"{size:,} {noun(size, 'byte')}"


def readable(text: str, limit: int = 160) -> str:
    """At most `limit` characters of `text` to show a person, or, when it is no text — more than a tenth
    of those characters are control characters (a gzip bomb's zeros, an image sent as JSON) — what it is
    instead: `binary data (NUL bytes), not shown` (`binary data (control characters), not shown`), never
    hundreds of `\\u0000` escapes once the message is JSON-encoded."""
    head = text[:limit]
    unreadable = sum(1 for char in head if not (char.isprintable() or char in "\t\n\r"))
    if unreadable * 10 > len(head):
        return f"binary data ({'NUL bytes' if chr(0) in head else 'control characters'}), not shown"
    return head
