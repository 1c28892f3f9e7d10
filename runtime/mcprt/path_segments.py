"""The one rule for a value that becomes part of a path: it must not step out of where it is put.

Two places put a client's (or a model's) value into a path: an OpenAPI path parameter
(`sources/openapi/plan.py`, sent to an upstream server) and a resource template variable
(`offerings/uris.py`, handed to a Python resource function or passed on to a proxied MCP server).
Both are read by code that may decode the value again and join it to a directory, so a value is
judged in every form such a reader may see (`readings`): as given, percent-decoded once more
(RFC 3986 §2.3 and §6.2.2.2 make `%2E` and `.` one character; many servers decode `%2F` too) and
compatibility-normalized (`．．／`, NFKC). `\\` separates segments too (Windows servers and paths).

- a *segment* (RFC 6570 §3.2.2 simple expansion `{var}`, an OpenAPI `simple` path parameter) holds
  no separator and is not `.` or `..`;
- a *path* (RFC 6570 §3.2.3 reserved expansion `{+var}`) may hold `/`, but no `.` or `..`
  segment, no `\\`, and does not start with a separator (an absolute path);
- neither holds NUL (C-level file APIs end the path there; Python's raise).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

SEPARATORS = re.compile(r"[/\\]")


def readings(text: str) -> set[str]:
    """`text` as a reader may see it: as given, percent-decoded, and NFKC-normalized after decoding."""
    decoded = unquote(text)
    return {text, decoded, unicodedata.normalize("NFKC", decoded)}


def has_separator(text: str) -> bool:
    """Whether `text` holds `/` or `\\` in any of its `readings` (`a%2Fb`, `a／b`, `a%5Cb`)."""
    return any(SEPARATORS.search(form) for form in readings(text))


def has_dot_segment(text: str) -> bool:
    """Whether `text` holds a `.` or `..` segment in any of its `readings`, `\\` a separator too."""
    return any(segment in (".", "..") for form in readings(text) for segment in SEPARATORS.split(form))


def has_nul(text: str) -> bool:
    """Whether `text` holds NUL, as given or percent-encoded (`%00`)."""
    return any("\x00" in form for form in readings(text))


def segment_problem(value: str) -> str | None:
    """What makes `value` unfit to be one path segment (None: fit): the module docstring's rule."""
    if has_nul(value):
        return "must not contain a NUL character"
    if has_separator(value):
        return "must not contain '/' or '\\' (it is one segment, even percent-encoded or as a look-alike)"
    if has_dot_segment(value):
        return "must not be '.' or '..' (a step up the path, even percent-encoded)"
    return None


def path_problem(value: str) -> str | None:
    """What makes `value` unfit to be a relative path of segments joined by `/` (None: fit): no NUL, no
    `\\`, no `.` or `..` segment, no leading separator (in any of its `readings`)."""
    if has_nul(value):
        return "must not contain a NUL character"
    forms = readings(value)
    if any("\\" in form for form in forms):
        return "must not contain '\\'"
    if any(form.startswith("/") for form in forms):
        return "must be a relative path (it starts with '/')"
    if has_dot_segment(value):
        return "must not contain '.' or '..' as a segment (a step up the path, even percent-encoded)"
    return None
