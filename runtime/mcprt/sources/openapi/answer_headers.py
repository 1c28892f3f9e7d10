"""What of an answer's headers the model is told: the next page and a created resource's location.

Two headers carry what a model needs to go on and a body often lacks: `Link` with `rel="next"`
(RFC 8288 §3; GitHub, GitLab and most REST APIs page this way) and `Location` of a 201 Created or
202 Accepted (RFC 9110 §15.3.2, §15.3.3: the new resource, or where to check a job). Each becomes one
`Note:` line of the result (`UpstreamResult.notes`, README "Calls and results"), so the JSON block
and structuredContent keep their shape and the tool list grows by nothing:

- `next page: call again with the same arguments and {"page": 2}` when the next link is this
  operation's own URL and every query parameter that changed maps to one of its arguments (typed
  by the argument's schema: `"2"` becomes `2` for an integer);
  else `next page (Link rel="next"): <URL>` — the URL with the source's credential parameter redacted.
- `Location of the created resource: <URL>` (201) or `Location to check on the accepted request: <URL>` (202).

A 404 also gets a note naming the method and URL path tried (`not_found_note`; no query, so no
argument values or query credential): a wrong `base_url` or server variable 404s every call, and the
body of a 404 rarely says which URL it refused.

No other header is passed on (cookies, auth challenges, rate-limit headers stay out); the executor
keeps only these two (`HttpUpstream.send`), with configured secrets scrubbed by value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from mcprt.contracts import UpstreamResult

from .plan import RequestPlan

MAX_URL_CHARS = 500  # a longer next link or location is cut: a note stays a line
_LINK = re.compile(r'<([^<>]*)>\s*((?:;\s*[^;,=\s]+\s*(?:=\s*(?:"[^"]*"|[^;,]*))?\s*)*)')
_REL = re.compile(r';\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]+))', re.IGNORECASE)
_PURPOSE = {201: "Location of the created resource", 202: "Location to check on the accepted request"}


def next_link(value: str) -> str | None:
    """The target of the first `rel="next"` link of a `Link` header value (RFC 8288 §3), else None."""
    for match in _LINK.finditer(value):
        for rel in _REL.finditer(match.group(2)):
            if "next" in (rel.group(1) or rel.group(2) or "").lower().split():
                return match.group(1).strip()
    return None


def header_notes(result: UpstreamResult, url: str, plan: RequestPlan, properties: dict[str, Any],
                 redact: Callable[[str], str]) -> list[str]:
    """The notes for `result.headers` of a call to `url` by `plan`; `properties` are the tool's input
    schema properties (to type arguments), `redact` removes the source's credential from a URL."""
    notes: list[str] = []
    if result.is_error:
        return notes
    link = result.headers.get("link")
    target = next_link(link) if link else None
    if target:
        absolute = urljoin(url, target)
        arguments = _as_arguments(absolute, url, plan, properties)
        if arguments:
            notes.append("next page: call again with the same arguments and "
                         + json.dumps(arguments, ensure_ascii=False, separators=(", ", ": ")))
        else:
            notes.append(f'next page (Link rel="next"): {_cut(redact(absolute))}')
    location = result.headers.get("location")
    if location and result.status in _PURPOSE:
        notes.append(f"{_PURPOSE[result.status]}: {_cut(redact(location.strip()))}")
    return notes


def _as_arguments(target: str, current: str, plan: RequestPlan, properties: dict[str, Any]) -> dict[str, Any] | None:
    """The query arguments that take this operation from `current` to `target`, or None when the link
    leaves the operation (another origin or path) or changes a query parameter no argument sets."""
    to, now = urlsplit(target), urlsplit(current)
    if (to.scheme, to.netloc, to.path) != (now.scheme, now.netloc, now.path):
        return None
    by_wire = {p.name: p.arg for p in plan.params if p.location == "query"}
    wanted: dict[str, list[str]] = {}
    for name, value in parse_qsl(to.query, keep_blank_values=True):
        wanted.setdefault(name, []).append(value)
    had: dict[str, list[str]] = {}
    for name, value in parse_qsl(now.query, keep_blank_values=True):
        had.setdefault(name, []).append(value)
    changed = {name: values for name, values in wanted.items() if had.get(name) != values}
    if not changed or any(name not in by_wire for name in changed):
        return None
    return {by_wire[name]: _typed(values, properties.get(by_wire[name])) for name, values in changed.items()}


def _typed(values: list[str], schema: Any) -> Any:
    """A query value as its argument's schema types it (`"2"` → 2 for an integer); text otherwise."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, list):  # OpenAPI 3.1: `[integer, "null"]`
        kind = next((k for k in kind if k != "null"), None)
    if kind == "array":
        return values
    value = values[-1]
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def _cut(url: str) -> str:
    return url if len(url) <= MAX_URL_CHARS else url[:MAX_URL_CHARS] + "…"


def not_found_note(method: str, url: str) -> str:
    """The note of a 404: the method and URL path tried (the query left out) and what to check when
    every call gets one."""
    path = urlsplit(url).path or "/"
    return (f"the upstream has nothing at {method} {_cut(path)} (the URL path tried); if every call of this "
            "source gets 404, its base URL is wrong: check the source's `base_url` or `server_variables`")
