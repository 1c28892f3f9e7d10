"""Words in the messages people read: one place for a count's noun (`1 tool`, `2 tools`) and for
joining a message's parts (`clause`).

A new-user trial read `mcprt init`'s "(1 tools, …)"; each message had spelled its plural on its own,
and most never checked for one. Lowest layer: imports nothing of mcprt's."""

from __future__ import annotations


def noun(count: int, singular: str, plural: str | None = None) -> str:
    """`singular` for a count of exactly 1 (English: 0 takes the plural), else `plural` (default
    `singular + "s"`). Only the word: callers format the number as their message does (`1,234`)."""
    return singular if count == 1 else (plural if plural is not None else singular + "s")


def clause(text: str) -> str:
    """`text` as a part of a longer message that goes on after `; ` or `. `: without its own trailing
    sentence punctuation and whitespace. Libraries end their messages as they like (redis-py's
    "Connection refused.") and a message joined to one read "Connection refused.; try again shortly"."""
    return text.rstrip().rstrip(".;:,").rstrip()
