"""Tool names that every client accepts: `[A-Za-z0-9_-]`, at most 64 characters, stable.

Several popular clients reject names over 64 characters or with dots and slashes, and a source
prefix makes names longer, so every name passes through here. Shortening keeps a readable head and
appends a short hash of the full name, so it is deterministic and distinct names stay distinct.
"""

from __future__ import annotations

import hashlib
import re

MAX_TOOL_NAME = 64
_INVALID = re.compile(r"[^A-Za-z0-9_-]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def sanitize_tool_name(raw: str, *, snake: bool = False) -> str:
    """Replace characters clients refuse with `_` (optionally camelCase → snake_case)."""
    text = _CAMEL.sub("_", raw).lower() if snake else raw
    text = _INVALID.sub("_", text).strip("_")
    return re.sub(r"_{2,}", "_", text) or "tool"


def fit_tool_name(name: str, limit: int = MAX_TOOL_NAME) -> str:
    """Return `name` if short enough, else a deterministic `head_<hash>` of exactly `limit` chars."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:7]
    head = name[: limit - len(digest) - 1].rstrip("_-")
    return f"{head}_{digest}"


def dedupe_names(names: list[str], limit: int = MAX_TOOL_NAME) -> list[str]:
    """Make names unique deterministically: later duplicates get `_2`, `_3`… (fitted to `limit`)."""
    seen: set[str] = set()
    result: list[str] = []
    for name in names:
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            suffix = f"_{n}"
            candidate = fit_tool_name(name, limit - len(suffix)) + suffix
        seen.add(candidate)
        result.append(candidate)
    return result
