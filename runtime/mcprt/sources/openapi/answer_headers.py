"""What of an answer's headers the model is told: the next page and a created resource's location.

Two headers carry what a model needs to go on and a body often lacks: `Link` with `rel="next"`
(RFC 8288 §3; GitHub, GitLab and most REST APIs page this way) and `Location` of a 201 Created or
202 Accepted (RFC 9110 §15.3.2, §15.3.3: the new resource, or where to check a job). Each becomes one
`Note:` line of the result (`UpstreamResult.notes`, README "Calls and results"), so the JSON block
and structuredContent keep their shape and the tool list grows by nothing:

- `next page: call again with the same arguments and {"page": 2}` when the next link stays on the
  call's origin and each query parameter it adds or changes maps to an argument the tool shows (typed
  by the argument's schema: `"2"` becomes `2` for an integer, `ids=4,5,6` the array `[4, 5, 6]`); a
  link that drops a parameter of the call, or sets one the model cannot (a `hidden`/`fixed` argument,
  no argument at all), or has a value no argument can say, gets the URL form instead:
  `next page (Link rel="next"): <URL>` — the credential parameter redacted, the URL percent-encoded
  and without control characters (it is upstream text: it must not read as an instruction), ≤ 500 chars.
- `Location of the created resource: <URL>` (201) or `Location to check on the accepted request: <URL>` (202).

A 404 also gets a note naming the method and URL path tried (`not_found_note`; no query, so no
argument values or query credential): a wrong `base_url` or server variable 404s every call, and the
body of a 404 rarely says which URL it refused.

No other header is passed on (cookies, auth challenges, rate-limit headers stay out); the executor
keeps only these two (`HttpUpstream.send`; several `Link` field lines joined, RFC 8288 §3 and RFC 9110
§5.3), with configured secrets scrubbed by value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

from mcprt.contracts import UpstreamResult

from .plan import ParamPlan, RequestPlan
from .styles import array_delimiter

MAX_URL_CHARS = 500  # a longer next link or location is cut: a note stays a line
_LINK = re.compile(r'<([^<>]*)>\s*((?:;\s*[^;,=\s]+\s*(?:=\s*(?:"[^"]*"|[^;,]*))?\s*)*)')
_REL = re.compile(r';\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]+))', re.IGNORECASE)
_URL_SAFE = ":/?#[]@!$&()*+,;=%~"  # RFC 3986 reserved characters and `%`: a URL's own escapes kept as they are
_UNFIT = object()  # a next link's value that no argument value can say
_PURPOSE = {201: "Location of the created resource", 202: "Location to check on the accepted request"}


def next_link(value: str) -> str | None:
    """The target of the first `rel="next"` link of a `Link` header value (RFC 8288 §3), else None."""
    for match in _LINK.finditer(value):
        for rel in _REL.finditer(match.group(2)):
            if "next" in (rel.group(1) or rel.group(2) or "").lower().split():
                return match.group(1).strip()
    return None


def header_notes(result: UpstreamResult, url: str, plan: RequestPlan, shown: dict[str, Any],
                 redact: Callable[[str], str], secret: Callable[[str], bool]) -> list[str]:
    """The notes for `result.headers` of a call to `url` by `plan`; `shown` are the input schema
    properties the model sees (the manifest's `hidden`/`fixed` arguments left out: a next page is
    never put as an argument the model cannot set), `redact` removes the source's credential from
    a URL, `secret` says whether a query parameter name carries one (it is not compared)."""
    notes: list[str] = []
    if result.is_error:
        return notes
    link = result.headers.get("link")
    target = next_link(link) if link else None
    if target:
        absolute = urljoin(url, target)
        arguments = _as_arguments(absolute, url, plan, shown, secret)
        if arguments:
            # ASCII JSON: a cursor value's control or look-alike characters reach the model escaped
            notes.append(_cut("next page: call again with the same arguments and "
                              + json.dumps(arguments, separators=(", ", ": "))))
        else:
            notes.append(f'next page (Link rel="next"): {_cut(safe_url(redact(absolute)))}')
    location = result.headers.get("location")
    if location and result.status in _PURPOSE:
        notes.append(f"{_PURPOSE[result.status]}: {_cut(safe_url(redact(location.strip())))}")
    return notes


def safe_url(url: str) -> str:
    """`url` as one token of a note: C0/C1 control characters (U+0000–U+001F, U+007F–U+009F, e.g. U+0085
    NEL, a line break to some readers) dropped, and spaces, quotes and non-ASCII percent-encoded
    (RFC 3986 §2.1), so upstream text cannot pose as a further line or sentence of the note."""
    kept = "".join(ch for ch in url if not (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F))
    return quote(kept, safe=_URL_SAFE)


def _as_arguments(target: str, current: str, plan: RequestPlan, shown: dict[str, Any],
                  secret: Callable[[str], bool]) -> dict[str, Any] | None:
    """The query arguments that take this operation from `current` to `target`, or None (the URL form)
    when the link leaves the origin, or a query parameter it adds, changes or drops is not one the
    model can set, or its value cannot be put as that argument. A link to another path of the same
    origin qualifies when the query alone differs in shown arguments: GitHub's next links name
    `/repositories/<id>/…` for `/repos/<owner>/<repo>/…` (the same resource, octokit/octokit.js#150).
    The source's credential parameter is not compared (an API may echo the key in its links)."""
    to, now = urlsplit(target), urlsplit(current)
    if (to.scheme, to.netloc) != (now.scheme, now.netloc):
        return None
    by_wire = {p.name: p for p in plan.params if p.location == "query" and p.arg in shown}
    wanted, had = _query(to.query, secret, by_wire), _query(now.query, secret, by_wire)
    changed = {name for name in {*wanted, *had} if had.get(name) != wanted.get(name)}
    if not changed or any(name not in by_wire or name not in wanted for name in changed):
        return None  # a dropped parameter cannot be unset by "the same arguments and …"
    arguments: dict[str, Any] = {}
    for name in (name for name in wanted if name in changed):  # the link's order: a set's differs per process
        param = by_wire[name]
        value = _typed(wanted[name], shown[param.arg], param)
        if value is _UNFIT:
            return None
        arguments[param.arg] = value
    return arguments


def _query(query: str, secret: Callable[[str], bool], arguments: dict[str, Any]) -> dict[str, list[str]]:
    """A query's values by name; a credential-named parameter no argument sets is left out."""
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in arguments or not secret(name):
            values.setdefault(name, []).append(value)
    return values


def _typed(values: list[str], schema: Any, param: ParamPlan) -> Any:
    """A query value as its argument's schema types it (`"2"` → 2 for an integer; an array split by
    its style's delimiter and each item typed by `items`); `_UNFIT` when it cannot be put so (an
    object, a repeated scalar, an array style not read back): the URL form is given instead."""
    kind = _kind(schema)
    if kind == "array":
        delimiter = array_delimiter(param.style, param.explode, param.delimiter)
        if param.style == "deepObject" or (delimiter is not None and len(values) != 1):
            return _UNFIT
        items = values if delimiter is None else values[0].split(delimiter) if values[0] else []
        item_schema = schema.get("items") if isinstance(schema, dict) else None
        typed = [_scalar(item, _kind(item_schema)) for item in items]
        return _UNFIT if _UNFIT in typed else typed
    if kind == "object" or len(values) != 1:
        return _UNFIT
    return _scalar(values[0], kind)


def _kind(schema: Any) -> Any:
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, list):  # OpenAPI 3.1: `[integer, "null"]`
        kind = next((k for k in kind if k != "null"), None)
    return kind


def _scalar(value: str, kind: Any) -> Any:
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return _UNFIT
    if kind == "boolean":
        return value == "true" if value in ("true", "false") else _UNFIT
    if kind in ("array", "object"):
        return _UNFIT
    return value


def _cut(text: str) -> str:
    return text if len(text) <= MAX_URL_CHARS else text[:MAX_URL_CHARS] + "…"


def not_found_note(method: str, url: str) -> str:
    """The note of a 404: the method and URL path tried (the query left out) and what to check when
    every call gets one."""
    path = urlsplit(url).path or "/"
    return (f"the upstream has nothing at {method} {_cut(path)} (the URL path tried); if every call of this "
            "source gets 404, its base URL is wrong: check the source's `base_url` or `server_variables`")
