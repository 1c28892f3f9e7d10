"""Paginated results that were shortened: the omitted items are not on the next page.

A page shortened to fit `max_result_bytes` lost items the upstream did send; its cursor (or next
link) continues after the last item the upstream sent, so a model following it silently skips
what shortening dropped. The note built here says so, and how to get them: the same call with a
smaller page size (the operation's own parameter by name when it has one). Only when items were
dropped: a page whose long strings alone were shortened is complete (`limits.Shortened`).

What counts as paginated, from what shaping can know: a cursor or next link at the top level of the
result (`next`, `cursor`, `nextPageToken`, `next_cursor`, `@odata.nextLink`, …), or one level down
in a pagination object (`links.next`, `paging.next`, Slack's `response_metadata.next_cursor`), or
an operation whose parameters include a page-size parameter (`limit`, `per_page`, `pageSize`, …).

A field named like a cursor is one only when its value can be one: a link (`https://…`, `/…`, `?…`)
in a next-link field, or a token — a non-empty string that is not a date or time (`after:
"2026-01-01T00:00:00Z"` is a time filter echoed back) or, with the operation's parameters known, a
number. Objects, lists and booleans never are (`marker: {…}`). With the operation's parameters
known (`cursor_parameters`: the tool's input schema lists properties) a token counts only when a
parameter can take it back: one of the field's own name (`nextMarker` -> `marker`, `next_page` ->
`page`) or a cursor parameter (`cursor`, `pageToken`, `page`, …). A parameter that takes a date or
time (`format: date-time`) or a number (other than a page number) takes no cursor back. `after`
and `marker` are too often a time filter or an object echoed back: they count only as text that is
no number, date or time (`1735689600`, `"Thu, 01 Jan 2026 00:00:00 GMT"` are not), and only when a
parameter of their own name takes them back. Without the parameters, conservatively, only names that
say cursor or token (`nextPageToken`, `next_cursor`) and `next` count.
"""

from __future__ import annotations

import re
from typing import Any

# Names compared lower-case with `_`, `-`, `.`, `@` and `$` removed.
_LINK_FIELDS = frozenset({"next", "nexturl", "nextlink", "odatanextlink", "nextpage", "nextpageurl", "nexthref"})
_TOKEN_FIELDS = frozenset({
    "next", "nextpage", "nextpagetoken", "pagetoken", "cursor", "nextcursor", "endcursor", "continuationtoken",
    "continuation", "nexttoken", "nextmarker", "scrollid", "after", "marker",
})
_AMBIGUOUS_FIELDS = frozenset({"after", "marker"})  # a time filter, an object: cursors only by the spec's word
_CURSOR_PARAMETERS = frozenset({
    "cursor", "after", "pagetoken", "page", "token", "marker", "continuationtoken", "continuation", "startingafter",
    "scrollid", "nextpagetoken", "nexttoken", "skiptoken", "starttoken", "pagecursor",
})
_PAGINATION_OBJECTS = frozenset({
    "links", "link", "paging", "pagination", "pageinfo", "responsemetadata", "meta", "cursor", "cursors",
})
_PAGE_SIZE_PARAMETERS = frozenset({
    "limit", "perpage", "pagesize", "pagelimit", "maxresults", "maxitems", "maxrecords", "count", "top", "first",
    "take", "numresults", "resultsperpage", "maxpagesize",
})
_LINK = re.compile(r"^(?:https?://|/|\?)\S*$", re.IGNORECASE)
_DATE_OR_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}|$)|^\d{2}:\d{2}(?::\d{2})?$"  # ISO 8601 / RFC 3339
    r"|^(?:[A-Za-z]{3},? )?\d{1,2}[ -][A-Za-z]{3}[ -]\d{2,4} \d{2}:\d{2}"  # RFC 1123 / RFC 850 (HTTP dates)
    r"|^[A-Za-z]{3} [A-Za-z]{3} +\d{1,2} \d{2}:\d{2}")  # asctime
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_TIME_FORMATS = frozenset({"date", "date-time", "time", "datetime", "timestamp", "unix-time"})
_PAGE_NUMBERS = frozenset({"page", "pagenumber", "pageno", "pagenum", "pageindex"})  # a number, and a cursor
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
        kinds = _kinds(schema)
        if _normal(name) in _PAGE_SIZE_PARAMETERS and kinds & {"integer", "number", None}:
            return name
    return None


def _kinds(schema: Any) -> set[str | None]:
    """The JSON Schema `type`s of a parameter's `schema` ({None} when it says none)."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    return set(kind) if isinstance(kind, list) else {kind}


def cursor_parameters(input_schema: dict[str, Any] | None) -> frozenset[str] | None:
    """The names, normalized (lower-case, no `_-.@$`), of the tool's parameters that can take a cursor
    back, to tell a cursor field from a field named like one; None when `input_schema` (the tool's JSON
    Schema) lists no properties. A date or time (`format`, JSON Schema 2020-12 §7.3.1) takes none, nor a
    number unless it is a page number (`page`): `after: {type: integer}` is a time filter."""
    properties = (input_schema or {}).get("properties")
    if not isinstance(properties, dict) or not properties:
        return None
    takers = set()
    for name, schema in properties.items():
        normal = _normal(str(name))
        if isinstance(schema, dict) and str(schema.get("format", "")).lower() in _TIME_FORMATS:
            continue
        kinds = _kinds(schema) - {"null"}
        if kinds and kinds <= {"integer", "number"} and normal not in _PAGE_NUMBERS:
            continue
        takers.add(normal)
    return frozenset(takers)


def cursor_field(value: Any, parameters: frozenset[str] | None = None) -> str | None:
    """Where `value` (a pruned JSON result) carries a cursor or next link, as a path (`next`,
    `links.next`), else None. `parameters`: from `cursor_parameters` (None: not known; module doc)."""
    if not isinstance(value, dict):
        return None
    for key, field in value.items():
        name = _normal(str(key))
        if _is_cursor(name, field, parameters):
            return str(key)
        if name in _PAGINATION_OBJECTS and isinstance(field, dict):
            inner = cursor_field({k: v for k, v in field.items() if not isinstance(v, dict)}, parameters)
            if inner is not None:
                return f"{key}.{inner}"
    return None


def _is_cursor(name: str, value: Any, parameters: frozenset[str] | None) -> bool:
    """Whether field `name` (normalized) with `value` is a next link or a cursor token (module doc)."""
    if isinstance(value, str) and name in _LINK_FIELDS and _LINK.match(value):
        return True
    if name not in _TOKEN_FIELDS:
        return False
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return False  # null, an object (`marker: {…}`), a list: not a position to continue from
    if isinstance(value, str) and (not value.strip() or _DATE_OR_TIME.match(value.strip())):
        return False
    if name in _AMBIGUOUS_FIELDS:  # a time filter or an id echoed back, unless its own parameter takes it
        return (parameters is not None and name in parameters and isinstance(value, str)
                and not _NUMBER.match(value.strip()))
    if parameters is None:
        return isinstance(value, str)
    own = {name, name.removeprefix("next"), name.removesuffix("token")} - {""}
    return bool(parameters & (own | _CURSOR_PARAMETERS))


def shortened_page_note(
    value: Any, page_size: str | None, parameters: frozenset[str] | None = None
) -> str | None:
    """The note for a shortened result `value` (before shortening) when it is a page, else None;
    `page_size` from `page_size_parameter`, `parameters` from `cursor_parameters`. Add it only when
    the shortening dropped items (`limits.Shortened.items_omitted`)."""
    cursor = cursor_field(value, parameters)
    if cursor is None and page_size is None:
        return None
    # short: it counts against the limit it is about (review of shapefix, problem 5: this note and the shortening
    # note took ~330 of a 400-byte limit)
    where = f" (`{cursor}`)" if cursor else ""
    how = f"a smaller `{page_size}`" if page_size else "fewer items per page"
    return f"omitted items are NOT on the next page{where}; call again with {how}"
