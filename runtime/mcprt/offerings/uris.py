"""The reversible URI prefix that keeps resources of several sources apart.

A source's `prefix` becomes a URI scheme prefix joined with `+` (RFC 3986 §3.1 allows `+` in a
scheme): prefix `fs_` turns `file:///a.txt` into `fs+file:///a.txt` and back. Characters a scheme
cannot hold (`_`) become `-`; trailing separators are dropped. URI templates get the same prefix.
"""

from __future__ import annotations

import re
from functools import lru_cache


SCHEME_RULE = ("a scheme keeps letters, digits, `+`, `.` and `-`: every other character becomes `-`, `-`, `.` and `+` "
               "are stripped from both ends, and one not starting with a letter gets an `x` in front")


def scheme_prefix(prefix: str | None) -> str:
    """`fs_` → `fs` (empty when the source has no prefix): the rule is SCHEME_RULE (RFC 3986 §3.1's scheme
    characters, starting with a letter)."""
    if not prefix:
        return ""
    cleaned = re.sub(r"[^A-Za-z0-9+.-]", "-", prefix).strip("-.+")
    if cleaned and not cleaned[0].isalpha():
        cleaned = "x" + cleaned
    return cleaned


def add_prefix(uri: str, scheme: str) -> str:
    return f"{scheme}+{uri}" if scheme else uri


def strip_prefix(uri: str, scheme: str) -> str | None:
    """The upstream URI, or None when `uri` does not carry this prefix."""
    if not scheme:
        return uri
    head = f"{scheme}+"
    return uri[len(head):] if uri.startswith(head) else None


@lru_cache(maxsize=1024)  # a turned-off template is matched on every read of an unlisted URI
def template_pattern(uri_template: str) -> re.Pattern[str]:
    """A regex matching the URIs an RFC 6570 template expands to (simple `{var}` and `{+var}` forms)."""
    parts: list[str] = []
    position = 0
    for match in re.finditer(r"\{([^}]*)\}", uri_template):
        parts.append(re.escape(uri_template[position:match.start()]))
        expression = match.group(1)
        parts.append(".+" if expression.startswith(("+", "#")) else "[^/?#]+" if not expression.startswith("?")
                     else r"(?:\?.*)?")
        position = match.end()
    parts.append(re.escape(uri_template[position:]))
    return re.compile("".join(parts) + r"\Z")


def template_values(uri_template: str, uri: str) -> dict[str, str] | None:
    """The variable values of `uri` under a simple template (`{name}` segments), or None if it does not match."""
    names: list[str] = []
    parts: list[str] = []
    position = 0
    for match in re.finditer(r"\{([A-Za-z0-9_]+)\}", uri_template):
        parts.append(re.escape(uri_template[position:match.start()]))
        parts.append(r"([^/?#]+)")
        names.append(match.group(1))
        position = match.end()
    parts.append(re.escape(uri_template[position:]))
    found = re.fullmatch("".join(parts), uri)
    if found is None:
        return None
    from urllib.parse import unquote

    return {name: unquote(value) for name, value in zip(names, found.groups(), strict=True)}
