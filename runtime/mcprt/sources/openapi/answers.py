"""An upstream answer checked against the media types its operation documents.

A successful status with a body of another kind than every documented one is not the data asked
for: the usual case is an HTML page (a single sign-on "session expired" page, a proxy's error page)
sent with 200 where the description promises `application/json`. Passed on as a success it reads
as the answer (`isError: false`, the page as text, an empty structuredContent, the prune skipped)
or breaks the operator's `output` template, which then blames the server's configuration.

The documented types are those of the status received when the operation documents it (`200`,
else its range `2XX`), else those of every success response and `default` together.

The rule (`mismatch`): only when *every* documented media type is JSON (`application/json`,
`text/json`, a `+json` suffix; parameters such as `charset` ignored) and the answer is 2xx, not
already an error, has a body, and was not read as JSON. A body that *parses* as JSON is JSON
whatever its label (many APIs send JSON as `text/plain` or `application/octet-stream`): it becomes
the JSON result, so prune and output apply. Newline-delimited JSON (`application/x-ndjson`,
`application/jsonl`, …) whose every non-empty line parses becomes the list of those values: each
line is one record of the documented JSON, and a list is the shape prune/output can walk.

An operation documenting no content, a `text/*`, `*/*` or any other non-JSON type, accepts what
comes. `application/problem+json` is JSON (RFC 9457): read as JSON as before. An empty
body is not a representation of another type: it keeps the "(empty body)" success note.
"""

from __future__ import annotations

from collections.abc import Mapping

from mcprt.contracts import UpstreamResult
from mcprt.scrubbing import SECRETS
from mcprt.outbound.decoding import html_to_text, is_json_type, looks_like_html, parse_json

from .media import base_type

EXCERPT_CHARS = 200


def json_only(documented: tuple[str, ...]) -> bool:
    """Whether the documented success media types are all JSON (and there is one)."""
    return bool(documented) and all(is_json_type(base_type(t)) for t in documented)


def documented_for(answer_types: Mapping[str, tuple[str, ...]], status: int) -> tuple[str, ...]:
    """The media types documented for `status`: its own code's, else its range's (`2XX`), else all
    codes' together (OAS 3.1 §4.8.16: an exact code wins over a range)."""
    code = str(status)
    if code in answer_types:
        return answer_types[code]
    for key, types in answer_types.items():
        if key.upper() == f"{code[0]}XX":
            return types
    return tuple(dict.fromkeys(t for types in answer_types.values() for t in types))


def mismatch(answer_types: Mapping[str, tuple[str, ...]], result: UpstreamResult) -> UpstreamResult | None:
    """For a 2xx answer where only JSON is documented (see the module docstring), a replacement
    result: the JSON result when the body parses as JSON under another label, else a tool error
    saying what came; None when the answer stands as it is. `answer_types` maps a status code
    (`"200"`, `"2XX"`, `"default"`) to its documented media types. The excerpt comes from the body
    the executor has already scrubbed of configured secrets."""
    if result.is_error or result.kind == "json" or result.status is None or not 200 <= result.status < 300:
        return None
    documented = documented_for(answer_types, result.status)
    if not json_only(documented) or not result.body:
        return None
    value = _as_json(result)
    if value is not _NOT_JSON:
        # decoded here, so scrubbed here: the text's scrub saw a line's `\u003d` escapes, not the secret they spell
        return UpstreamResult(kind="json", body=SECRETS.scrub_parsed(value), status=result.status, media_type=result.media_type,
                              type_guessed=result.type_guessed, raw_bytes=result.raw_bytes, meta=result.meta,
                              scrubbed=result.scrubbed)
    received = f"without a Content-Type (its body reads as {result.media_type})" if result.type_guessed \
        else f"with {result.media_type or 'no Content-Type'}"
    promised = " or ".join(dict.fromkeys(base_type(t) for t in documented))
    message = (f"the upstream answered {received} where this operation documents {promised}, so the "
               f"answer is not the data asked for and was not used.")
    if isinstance(result.body, str):
        text = result.body
        page = looks_like_html(text, result.media_type)
        if page:
            text = html_to_text(text)
            message += (" An HTML page in a successful answer is usually a login or \"session expired\" page"
                        " from a sign-on or proxy in front of the API: the upstream may need re-authentication"
                        " (its credentials in the server's configuration), which repeating the call will not"
                        " fix; tell the user.")
        text = " ".join(text.split())
        if len(text) > EXCERPT_CHARS:
            text = text[:EXCERPT_CHARS].rstrip() + "…"
        if text:
            message += f" It began: {text!r}"
    else:
        message += f" It was {len(result.body):,} bytes of binary data."
    return UpstreamResult(kind="text", body=message, status=result.status, is_error=True,
                          media_type="text/plain", raw_bytes=result.raw_bytes, meta=result.meta,
                          scrubbed=result.scrubbed)


_NOT_JSON = object()
_LINES_OF_JSON = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl",
                            "application/x-jsonlines", "application/jsonlines"})
JSON_SEQ = "application/json-seq"  # RFC 7464: each record begins with RS (U+001E)
# A documented type that says nothing of the body's kind: the response's own Content-Type decides
_ANY_TYPES = frozenset({"*/*", "application/*", "text/*"})


def is_lines_type(media_type: str) -> bool:
    """Whether `media_type` (its base type, any case) is a sequence of JSON texts: NDJSON/JSON Lines or
    RFC 7464 JSON text sequences."""
    base = base_type(media_type).lower()
    return base in _LINES_OF_JSON or base == JSON_SEQ


def may_be_json(documented: tuple[str, ...]) -> bool:
    """Whether any of the documented types can be a body a prune applies to: JSON, a sequence of JSON texts
    (read as the list of its values), or a wildcard (`*/*`); True when nothing is documented."""
    return not documented or any(is_json_type(base_type(t).lower()) or is_lines_type(t)
                                 or base_type(t).lower() in _ANY_TYPES for t in documented)


def lines_of_json(answer_types: Mapping[str, tuple[str, ...]], result: UpstreamResult) -> UpstreamResult | None:
    """A 2xx answer that is a sequence of JSON texts as the list of its values (the README's rule), or None.

    Decided by the response's Content-Type (`application/x-ndjson`, `application/jsonl`, … and
    `application/json-seq`), else by the documented types of its status when every one is such a type and
    the body came with no type or a generic one (`text/plain`, `application/octet-stream`); an operation that
    documents JSON only is left to `mismatch` (one JSON text under an NDJSON label stays one value). A body any of whose
    records does not parse stays as it came. Trial of untidy REST APIs, fault 5: an operation documenting
    `application/x-ndjson` (or `*/*`) got its NDJSON as raw text, and its `prune` did nothing, unsaid."""
    if result.is_error or result.kind == "json" or result.status is None or not 200 <= result.status < 300 \
            or not result.body:
        return None
    documented = documented_for(answer_types, result.status)
    if json_only(documented):  # JSON documented: `mismatch` reads it (one JSON text first, then lines)
        return None
    received = base_type(result.media_type or "").lower()
    if not is_lines_type(received):
        generic = result.type_guessed or received in ("text/plain", "application/octet-stream")
        if not (documented and generic and all(is_lines_type(t) for t in documented)):
            return None
        received = base_type(documented[0]).lower()
    value = _records(result.body, sequence=received == JSON_SEQ)
    if value is _NOT_JSON:
        return None
    # decoded here, so scrubbed here: the text's scrub saw a record's `\u003d` escapes, not what they spell
    return UpstreamResult(kind="json", body=SECRETS.scrub_parsed(value), status=result.status,
                          media_type=result.media_type, type_guessed=result.type_guessed, raw_bytes=result.raw_bytes,
                          meta=result.meta, scrubbed=result.scrubbed, headers=result.headers)


def _records(body: str | bytes, *, sequence: bool) -> object:
    """The values of NDJSON lines (blank lines skipped) or of RFC 7464 records; `_NOT_JSON` when one fails."""
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    pieces = data.split(b"\x1e") if sequence else data.splitlines()
    try:
        return [parse_json(piece) for piece in pieces if piece.strip()]
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


def _as_json(result: UpstreamResult) -> object:
    """The body's JSON value when it parses as JSON (a list of values for newline-delimited JSON);
    else `_NOT_JSON`."""
    data = result.body.encode("utf-8") if isinstance(result.body, str) else result.body
    try:
        return parse_json(data)
    except (ValueError, UnicodeDecodeError):
        pass
    if base_type(result.media_type or "") not in _LINES_OF_JSON:
        return _NOT_JSON
    try:
        return [parse_json(line) for line in data.splitlines() if line.strip()]
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON
