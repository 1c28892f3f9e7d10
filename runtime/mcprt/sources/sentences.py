"""Sentence-aware cutting of the descriptions every source kind writes (OpenAPI, Python, …).

One place for where a sentence ends, so a description cut to `max_chars` ends the same way whatever
source it came from; it imports nothing, so any source may use it without loading another's modules.
"""

from __future__ import annotations

import re

# A sentence ends at . ! or ? before whitespace, except after e.g, i.e, etc, vs, Ex, ex. The end mark is
# matched first and the exceptions looked behind it: the engine then tries the lookbehinds only at
# marks, not at every position (about 3× faster on descriptions, same matches).
SENTENCE_END = re.compile(r"[.!?](?<!\be\.g.)(?<!\bi\.e.)(?<!\betc.)(?<!\bvs.)(?<!\bEx.)(?<!\bex.)(?=\s|$)")


def fit(text: str, limit: int) -> str:
    """`text` if it has at most `limit` characters, else cut at the last sentence end within `limit`
    (or at a word, ending with …), so the result has at most `limit` characters."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    ends = [m.end() for m in SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= min(10, limit // 3):
        return head[: ends[-1]]
    cut = head[: limit - 1].rsplit(" ", 1)[0] if " " in head else head[: limit - 1]
    return cut.rstrip(",;:-— ") + "…"


def first_sentence(text: str) -> str:
    """`text` up to and including its first sentence end (all of it when it has none)."""
    match = SENTENCE_END.search(text)
    return text[: match.end()] if match else text
