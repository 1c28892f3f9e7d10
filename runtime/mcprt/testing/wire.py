"""Comparing the request a replay sent with the one a case recorded.

The comparison targets argument mapping — method, path, query, body, and the headers a tool sets —
and ignores what legitimately varies between runs or machines: credentials (any header or query
parameter whose name looks sensitive), transport headers (Host, User-Agent, Content-Length,
Accept-Encoding, Connection), the host the request went to, parameter order, JSON whitespace and
multipart boundaries. Headers are compared only when the case lists `headers:`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..scrubbing import SECRETS
from ..sources.http import is_sensitive_name
from .cases import Body, RecordedRequest

# Headers that say how a request travelled, not what it asks for.
VOLATILE_HEADERS = frozenset(
    {"host", "user-agent", "content-length", "accept-encoding", "connection", "transfer-encoding", "te",
     "keep-alive", "expect", "date", "traceparent", "tracestate", "content-type"}
)
_BOUNDARY = re.compile(r"boundary=\"?([^\";]+)\"?", re.IGNORECASE)
_MISSING = object()


@dataclass(frozen=True, slots=True)
class WireRequest:
    """A request in the form both sides are compared in."""

    method: str
    segments: tuple[str, ...]  # path segments, percent-decoded one by one (so an encoded `/` still differs)
    raw_path: str
    query: tuple[tuple[str, str], ...]  # decoded, sorted, credentials dropped
    headers: tuple[tuple[str, str], ...]  # lower-cased names, sorted, volatile and sensitive dropped
    content_type: str | None  # media type only
    body: bytes | None

    @classmethod
    def build(
        cls, method: str, raw_path: str, raw_query: str, headers: list[tuple[str, str]], body: bytes | None,
        credentials: Iterable[str] = (),
    ) -> WireRequest:
        """`credentials`: the names the source's own `auth` puts a credential under (any name: an
        api key may travel as `project_id`); they are dropped like the usual credential names."""
        path = raw_path or "/"
        extra = tuple(credentials)
        query = tuple(sorted(
            (k, v) for k, v in parse_qsl(raw_query, keep_blank_values=True) if not is_sensitive_name(k, extra)
        ))
        kept = tuple(sorted(
            (n.lower(), v) for n, v in headers
            if n.lower() not in VOLATILE_HEADERS and not is_sensitive_name(n, extra)
        ))
        content_type = next((v for n, v in headers if n.lower() == "content-type"), None)
        return cls(
            method=method.upper(),
            segments=tuple(unquote(s) for s in path.split("/")),
            raw_path=path,
            query=query,
            headers=kept,
            content_type=content_type,
            body=body or None,
        )

    @classmethod
    def from_recorded(cls, recorded: RecordedRequest, credentials: Iterable[str] = ()) -> WireRequest:
        parts = urlsplit(recorded.url)
        body = recorded.body.to_bytes() if recorded.body is not None else None
        headers = list(recorded.headers or [])
        if recorded.body is not None and not any(n.lower() == "content-type" for n, _ in headers):
            headers.append(("content-type", _default_type(recorded.body)))
        return cls.build(recorded.method, parts.path, parts.query, headers, body, credentials)


def _default_type(body: Body) -> str:
    return {"json": "application/json", "text": "text/plain"}.get(body.kind, "application/octet-stream")


def compare_requests(expected: WireRequest, actual: WireRequest, *, check_headers: bool) -> list[str]:
    """Human-readable differences, one per line; empty when the requests match."""
    problems: list[str] = []
    if expected.method != actual.method:
        problems.append(f"method: recorded {expected.method}, sent {actual.method}")
    if expected.segments != actual.segments:
        problems.append(f"path: recorded {expected.raw_path}, sent {actual.raw_path}")
    if expected.query != actual.query:
        problems += _pairs_diff("query", expected.query, actual.query)
    if check_headers and expected.headers != actual.headers:
        problems += _pairs_diff("header", expected.headers, actual.headers)
    problems += _body_diff(expected, actual)
    return problems


def _pairs_diff(what: str, expected: tuple[tuple[str, str], ...], actual: tuple[tuple[str, str], ...]) -> list[str]:
    lines: list[str] = []
    exp, act = list(expected), list(actual)
    exp_names = {n for n, _ in exp}
    act_names = {n for n, _ in act}
    for name in sorted(exp_names | act_names):
        was = [v for n, v in exp if n == name]
        now = [v for n, v in act if n == name]
        if was == now:
            continue
        if not now:
            lines.append(f"{what} {name}: recorded {_show(was)}, not sent")
        elif not was:
            lines.append(f"{what} {name}: not recorded, sent {_show(now)}")
        else:
            lines.append(f"{what} {name}: recorded {_show(was)}, sent {_show(now)}")
    return lines


def _show(values: list[str]) -> str:
    return SECRETS.scrub_text(", ".join(json.dumps(v, ensure_ascii=False) for v in values))


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _body_diff(expected: WireRequest, actual: WireRequest) -> list[str]:
    if expected.body is None and actual.body is None:
        return []
    if expected.body is None:
        return [f"body: none recorded, sent {_preview(actual.body)}"]
    if actual.body is None:
        return [f"body: recorded {_preview(expected.body)}, none sent"]
    media = _media(actual.content_type) or _media(expected.content_type)
    if _media(expected.content_type) and _media(actual.content_type) and _media(expected.content_type) != media:
        return [f"body: recorded as {_media(expected.content_type)}, sent as {media}"]
    if media == "application/json" or media.endswith("+json"):
        try:
            was, now = json.loads(expected.body), json.loads(actual.body)
        except ValueError:
            pass
        else:
            return [f"body {line}" for line in json_differences(was, now)]
    if media == "application/x-www-form-urlencoded":
        was_pairs = tuple(sorted(parse_qsl(expected.body.decode(errors="replace"), keep_blank_values=True)))
        now_pairs = tuple(sorted(parse_qsl(actual.body.decode(errors="replace"), keep_blank_values=True)))
        return _pairs_diff("form field", was_pairs, now_pairs) if was_pairs != now_pairs else []
    if media.startswith("multipart/"):
        if _without_boundary(expected) != _without_boundary(actual):
            return ["body: the multipart body differs from the recorded one"]
        return []
    if expected.body != actual.body:
        return [f"body: recorded {_preview(expected.body)}, sent {_preview(actual.body)}"]
    return []


def _without_boundary(request: WireRequest) -> bytes:
    body = request.body or b""
    match = _BOUNDARY.search(request.content_type or "")
    return body.replace(match.group(1).encode(), b"BOUNDARY") if match else body


def _preview(data: bytes | None, limit: int = 120) -> str:
    text = SECRETS.scrub_text((data or b"").decode("utf-8", errors="replace"))
    return json.dumps(text if len(text) <= limit else text[:limit] + "…", ensure_ascii=False)


def json_differences(was: Any, now: Any, path: str = "$", limit: int = 20) -> list[str]:
    """Where two JSON values differ, as `$.a.b[0]: recorded X, sent Y` lines (at most `limit`)."""
    out: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in list(a) + [k for k in b if k not in a]:
                walk(a.get(key, _MISSING), b.get(key, _MISSING), f"{where}.{key}")
            return
        if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f"{where}[{i}]")
            return
        if a == b and type(a) is type(b):
            return
        if a is _MISSING:
            out.append(f"{where}: not recorded, sent {_short(b)}")
        elif b is _MISSING:
            out.append(f"{where}: recorded {_short(a)}, not sent")
        else:
            out.append(f"{where}: recorded {_short(a)}, sent {_short(b)}")

    walk(was, now, path)
    return out


def _short(value: Any, limit: int = 100) -> str:
    text = SECRETS.scrub_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return text if len(text) <= limit else text[:limit] + "…"
