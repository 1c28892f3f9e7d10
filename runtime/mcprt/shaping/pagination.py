"""Paginated results that were shortened: the omitted items are not on the next page.

A page shortened to fit `max_result_bytes` lost items the upstream did send; its cursor (or next
link) continues after the last item the upstream sent, so a model following it silently skips
what shortening dropped. The note built here says so, and how to get them: the same call with a
smaller page size (the operation's own parameter by name when it has one).

What counts as paginated, from what shaping can know: a cursor-like field at the top level of the
result (`next`, `cursor`, `nextPageToken`, `next_cursor`, `@odata.nextLink`, …), or one level down
in a pagination object (`links.next`, `paging.next`, Slack's `response_metadata.next_cursor`), or
an operation whose parameters include a page-size parameter (`limit`, `per_page`, `pageSize`, …).
"""

from __future__ import annotations

import re
from typing import Any

# Names compared lower-case with `_`, `-`, `.`, `@` and `$` removed.
_CURSOR_FIELDS = frozenset({
    "next", "nexturl", "nextlink", "odatanextlink", "nextpage", "nextpageurl", "nextpagetoken", "pagetoken",
    "cursor", "nextcursor", "endcursor", "continuationtoken", "continuation", "nexttoken", "marker", "nextmarker",
    "after", "scrollid",
})
_PAGINATION_OBJECTS = frozenset({
    "links", "link", "paging", "pagination", "pageinfo", "responsemetadata", "meta", "cursor", "cursors",
})
_PAGE_SIZE_PARAMETERS = frozenset({
    "limit", "perpage", "pagesize", "pagelimit", "maxresults", "maxitems", "maxrecords", "count", "top", "first",
    "take", "numresults", "resultsperpage", "maxpagesize",
})
_NOISE = re.compile(r"[_\-.@$]")


def _normal(name: str) -> str:
    return _NOISE.sub("", name).lower()


def page_size_parameter(input_schema: dict[str, Any] | None) -> str | None:
    """The name of the operation's page-size parameter (a number or integer argument named like
    `limit`, `per_page`, `pageSize`, `$top`), else None. `input_schema`: the tool's JSON Schema."""
    properties = (input_schema or {}).get("properties")
    if not isinstance(properties, dict):
        return None
    for name, schema in properties.items():
        kind = schema.get("type") if isinstance(schema, dict) else None
        kinds = set(kind) if isinstance(kind, list) else {kind}
        if _normal(name) in _PAGE_SIZE_PARAMETERS and kinds & {"integer", "number", None}:
            return name
    return None


def cursor_field(value: Any) -> str | None:
    """Where `value` (a pruned JSON result) carries a non-empty cursor or next link, as a path
    (`next`, `links.next`), else None."""
    if not isinstance(value, dict):
        return None
    for key, field in value.items():
        name = _normal(str(key))
        if name in _CURSOR_FIELDS and field not in (None, "", False, [], {}):
            return str(key)
        if name in _PAGINATION_OBJECTS and isinstance(field, dict):
            inner = cursor_field({k: v for k, v in field.items() if not isinstance(v, dict)})
            if inner is not None:
                return f"{key}.{inner}"
    return None


def shortened_page_note(value: Any, page_size: str | None) -> str | None:
    """The note for a shortened result `value` (before shortening) when it is a page, else None."""
    cursor = cursor_field(value)
    if cursor is None and page_size is None:
        return None
    where = f"`{cursor}`" if cursor else "the next page"
    how = f"a smaller `{page_size}`" if page_size else "fewer items per page (a narrower filter or page size)"
    return (f"this page was shortened: the omitted items are NOT on the next page ({where} continues after the last "
            f"item the upstream sent); to get them, call again with {how}")
