"""Turn an upstream HTTP body into an UpstreamResult by its Content-Type.

JSON is parsed, text and XML decoded with their charset, anything else stays bytes. A body that was
cut at `max_response_bytes` cannot be parsed as JSON, so it comes back as *text* with a marker at the
end: the model still sees the beginning (often enough to act on, e.g. to narrow its request), and
the marker says plainly that the rest is missing. The result is an error whatever the status
(#13: an incomplete answer reported as success is taken as the whole truth); `truncated=True` tells
shaping what happened.

Charsets (the Content-Type's `charset` parameter, RFC 9110 §8.3.2; any text encoding Python's `codecs` knows —
`rot13`, `zlib`… are no text encoding and count as unknown):
- JSON: RFC 8259 §8.1 says JSON exchanged between systems is UTF-8, so a body that is valid UTF-8 and parses so is
  read as UTF-8 whatever its label (UTF-16/32 with a BOM too, which §8.1 lets a parser accept): servers add
  `charset=ISO-8859-1` to UTF-8 JSON as a default, and Latin-1 decodes any byte. When the declared charset would
  read it differently the result carries a note. A body that is not UTF-8 JSON and declares another charset
  (`iso-8859-1`, `Shift_JIS`: a legacy ERP, a government API; UTF-16 without a BOM) is decoded by it; one valid in
  neither, or one without a charset that is not UTF-8, is a tool error saying so (where the first bad byte is),
  not "invalid JSON". An unknown charset is read as UTF-8, with a note naming it.
- text: decoded by its declared charset, else UTF-8. Bytes that are not valid in it are replaced with U+FFFD
  and the result carries a note saying how many and where the first was: the data changed, and the model and
  the user are told (no silent Latin-1 guess either: a guess that reads Shift_JIS as Latin-1 is mojibake no
  one is told about). An unknown charset is read as UTF-8, with a note naming it.

JSON is parsed with a depth limit (`MAX_JSON_DEPTH`, the limit of pydantic-core's parser): deeper
values would break recursive shaping and the JSON-RPC serializer, so they are a tool error here.
"""

from __future__ import annotations

import codecs
import html
import json
import math
import re
import sys
from collections.abc import Iterator
from email.message import Message
from functools import lru_cache

from pydantic_core import from_json

from ..contracts import UpstreamResult
from ..wording import byte_count, readable

INVALID_JSON_PREVIEW_CHARS = 200

_TEXT_TYPES = frozenset(
    {
        "application/xml",
        "application/javascript",
        "application/ecmascript",
        "application/yaml",
        "application/x-yaml",
        "application/x-ndjson",
        "application/graphql",
        "application/sql",
        "application/x-www-form-urlencoded",
    }
)


def truncation_marker(limit: int) -> str:
    return (
        f"\n\n[mcprt: the upstream response was larger than {limit:,} bytes and was cut there; "
        "the text above is incomplete. Ask for less (filters, fields, pagination).]"
    )


@lru_cache(maxsize=512)  # an upstream sends the same few values; parsing one costs ~40 µs
def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """(media type in lower case, charset) from a Content-Type header value."""
    if not value or not value.strip():
        return None, None
    message = Message()
    message["Content-Type"] = value
    media_type = message.get_content_type().lower()
    charset = message.get_param("charset")
    return media_type, (charset if isinstance(charset, str) else None)


_HTML_DROP = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<[^>]+>")


def looks_like_html(text: str, media_type: str | None) -> bool:
    """Whether a body is an HTML page: by its media type, else by how it begins."""
    if media_type and "html" in media_type.lower():
        return True
    head = text.lstrip()[:100].lower()
    return head.startswith("<!doctype html") or head.startswith("<html")


def html_to_text(text: str) -> str:
    """An HTML page's visible text on one line (scripts, styles and the head dropped): what a model
    can read of an error or login page."""
    text = _HTML_DROP.sub(" ", text)
    text = _HTML_TAG.sub(" ", text)
    return " ".join(html.unescape(text).split())


def is_json_type(media_type: str) -> bool:
    return media_type in ("application/json", "text/json") or media_type.endswith("+json")


def is_text_type(media_type: str) -> bool:
    return media_type.startswith("text/") or media_type.endswith("+xml") or media_type in _TEXT_TYPES


def decode_body(
    status: int, content_type: str | None, data: bytes, *, truncated: bool, limit: int
) -> UpstreamResult:
    """The UpstreamResult for one response body (`data` is at most `limit` bytes when truncated)."""
    media_type, charset = parse_content_type(content_type)
    failed = status >= 400
    if not data:
        return UpstreamResult(kind="text", body="", status=status, is_error=failed, media_type=media_type)
    failed = failed or truncated
    guessed = media_type is None
    if media_type is None:
        media_type = _sniff(data)
    result = _typed_result(status, media_type, charset, data, failed=failed, truncated=truncated, limit=limit)
    result.type_guessed = guessed
    return result


def _typed_result(status: int, media_type: str, charset: str | None, data: bytes, *, failed: bool,
                  truncated: bool, limit: int) -> UpstreamResult:
    if is_json_type(media_type):
        return _json_result(status, media_type, charset, data, truncated=truncated, limit=limit)
    if is_text_type(media_type):
        text, note = _decode_text(data, charset, truncated=truncated)
        if truncated:
            text += truncation_marker(limit)
        result = UpstreamResult(
            kind="text", body=text, status=status, is_error=failed, media_type=media_type, truncated=truncated
        )
        if note is not None:
            result.notes.append(note)
        return result
    return UpstreamResult(
        kind="binary", body=data, status=status, is_error=failed, media_type=media_type, truncated=truncated
    )


def _json_result(status: int, media_type: str, charset: str | None, data: bytes, *, truncated: bool,
                 limit: int) -> UpstreamResult:
    if truncated:
        text = _decode_text(data, charset or "utf-8", truncated=True)[0] + truncation_marker(limit)
        return UpstreamResult(
            kind="text", body=text, status=status, is_error=True, media_type=media_type, truncated=True
        )
    declared = _codec(charset)
    if declared is not None and declared.name != "utf-8" and not _has_utf16_or_32_bom(data):
        return _json_declared(status, media_type, charset, declared, data)
    result = _parsed_json(status, media_type, data, len(data))
    if charset is not None and declared is None:
        result.notes.append(f"the upstream declared the charset {charset!r}, which mcprt does not know as a text "
                            "encoding; its body was read as UTF-8")
    return result


def _json_declared(status: int, media_type: str, charset: str | None, declared: codecs.CodecInfo,
                   data: bytes) -> UpstreamResult:
    """A JSON body whose Content-Type declares a charset other than UTF-8. RFC 8259 §8.1 first: a body that is
    valid UTF-8 and parses so is read as UTF-8 — many servers add `charset=ISO-8859-1` as a default label
    (servlet containers, proxies) to UTF-8 JSON, and Latin-1 decodes any byte, so trusting that label turned
    `Müller` into `MÃ¼ller` with no word (review of fixi1, problem 1) —, with a note when the declared charset would
    read it differently. Only a body that is not UTF-8 JSON (the trial's Latin-1 and Shift_JIS bodies, UTF-16
    without a BOM) is decoded by its declared charset."""
    if _bad_utf8(data) is None:
        result = _parsed_json(status, media_type, data, len(data))
        if result.kind == "json":
            if not data.isascii() or not _reads_ascii_as_ascii(declared.name):
                if data.decode(declared.name, errors="replace") != data.decode("utf-8"):
                    result.notes.append(
                        f"the upstream's Content-Type declares charset {charset}, but its body is UTF-8 (valid UTF-8 "
                        f"JSON that reads differently as {charset}); it was read as UTF-8, the charset of JSON "
                        "(RFC 8259 §8.1)")
            return result
    try:
        source = data.decode(declared.name)
    except UnicodeDecodeError as exc:
        message = (f"upstream sent a body that is not {charset} text, as its Content-Type declares, nor UTF-8 JSON "
                   f"({_first_bad_byte(exc)}; {byte_count(len(data))})")
        return UpstreamResult(kind="text", body=message, status=status, is_error=True, media_type=media_type)
    return _parsed_json(status, media_type, source, len(data))


_ASCII = bytes(range(0x80))


@lru_cache(maxsize=64)
def _reads_ascii_as_ascii(codec_name: str) -> bool:
    """Whether a charset reads every ASCII byte as that ASCII character (Latin-1, Shift_JIS, windows-1252… do;
    UTF-16, EBCDIC's cp500 do not): an ASCII body then means the same in it as in UTF-8, and needs no second
    decode to tell."""
    try:
        return _ASCII.decode(codec_name) == _ASCII.decode("ascii")
    except UnicodeDecodeError:
        return False


def _parsed_json(status: int, media_type: str, data: bytes | str, size: int) -> UpstreamResult:
    """The result of a JSON body (`data`: its bytes, or its text decoded by a declared charset; `size` in bytes)."""
    failed = status >= 400
    try:
        value = parse_json(data)
    except TooDeep:
        message = (f"upstream sent JSON nested more than {MAX_JSON_DEPTH} levels deep ({byte_count(size)}); "
                   "mcprt does not process results that deep")
        return UpstreamResult(kind="text", body=message, status=status, is_error=True, media_type=media_type)
    except TooManyDigits:
        message = (f"upstream sent a JSON number longer than {sys.get_int_max_str_digits():,} digits "
                   f"({byte_count(size)}): valid JSON, but past Python's limit on integer digits, so mcprt "
                   "does not process it")
        return UpstreamResult(kind="text", body=message, status=status, is_error=True, media_type=media_type)
    except (ValueError, UnicodeDecodeError):
        head = data[: INVALID_JSON_PREVIEW_CHARS * 4]
        preview = readable(head if isinstance(head, str) else head.decode("utf-8", errors="replace"),
                           INVALID_JSON_PREVIEW_CHARS)
        message = f"upstream sent invalid JSON ({byte_count(size)}): {preview}"
        # looked for only once parsing failed: a valid body pays no second pass
        bad = _bad_utf8(data) if isinstance(data, bytes) and not _has_utf16_or_32_bom(data) else None
        if bad is not None:
            message = (f"upstream sent JSON that is not UTF-8 text ({bad}; {byte_count(size)}) and declares no other "
                       "charset (RFC 8259 §8.1: JSON is UTF-8; an upstream sending another charset must say which, "
                       f"e.g. `Content-Type: application/json; charset=iso-8859-1`): {preview}")
        return UpstreamResult(kind="text", body=message, status=status, is_error=True, media_type=media_type)
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    if _MAY_HOLD_SURROGATE.search(raw):  # a cheap look first, as for non-finite numbers below
        found = next(lone_surrogates(value, "result"), None)
        if found is not None:
            message = f"upstream sent JSON whose {lone_surrogate_message(*found)}: an unpaired \\u escape"
            return UpstreamResult(kind="text", body=message, status=status, is_error=True, media_type=media_type)
    if _MAY_BE_NON_FINITE.search(raw):  # a cheap look first: the walk runs only when one may be there
        where = next(non_finite(value, "result"), None)
        if where is not None:
            message = non_finite_message("upstream sent", where, "; a number past about 1.8e308 reads as Infinity")
            return UpstreamResult(kind="text", body=message, status=status, is_error=True, media_type=media_type)
    return UpstreamResult(kind="json", body=value, status=status, is_error=failed, media_type=media_type)


# What can parse to a lone surrogate: JSON's `\uXXXX` escape of one (RFC 8259 §7 allows an unpaired one; no Unicode
# text can carry it, so the result could not be sent). A pair (`\ud83d\ude00`, how Python's `json.dumps`, Java and
# many JS encoders write every emoji) does not match: one escaped emoji made every large body walked in Python
# (2.25 MB: 64 -> 132 ms; review of fixi1, problem 3). An escaped backslash before `u` may still match: the walk
# then finds none.
_MAY_HOLD_SURROGATE = re.compile(  # one branch beginning `\\u`: the engine skips to each backslash-u, not every byte
    rb"\\u[dD](?:[89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"  # a high surrogate no low one follows
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD])[c-fC-F][0-9a-fA-F]{2})"  # a low one no high one precedes
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogates(value: object, where: str) -> Iterator[tuple[str, int, str]]:
    """(where, character index, character) of each lone surrogate (U+D800–U+DFFF) in a JSON-able value's strings and
    keys (`result['files'][1]`, `result key 'na\\udc80me'`)."""
    if isinstance(value, str):
        for found in _SURROGATE.finditer(value):  # one compiled search per string, not a Python loop per character
            yield where, found.start(), found.group()
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from lone_surrogates(key, f"{where} key {key!r}")
            yield from lone_surrogates(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from lone_surrogates(item, f"{where}[{index}]")


def lone_surrogate_message(where: str, index: int, char: str) -> str:
    """The one phrase for a lone surrogate, whichever source kind produced it."""
    return (f"{where} holds the lone surrogate U+{ord(char):04X} at character {index}, which no Unicode text can carry "
            "(UTF-8 cannot encode it)")


# What can parse to a non-finite float: the NaN/Infinity literals JSON lacks, or an exponent of 3+ digits
# (a double overflows to infinity past about 1.8e308)
_MAY_BE_NON_FINITE = re.compile(rb"NaN|Infinity|[eE][+]?[0-9]{3}")


def non_finite(value: object, where: str) -> Iterator[str]:
    """`where = value` for each NaN or ±Infinity float in a parsed JSON-able value (`result['a'][0] = inf`).

    A plain look for one first: the walk that names places formats a path for every node, and most values
    checked hold none (a GitHub answer's hex SHAs like `…e123…` pass `_MAY_BE_NON_FINITE`'s cheap look)."""
    if _holds_non_finite(value):
        yield from _non_finite_at(value, where)


def _holds_non_finite(value: object) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def _non_finite_at(value: object, where: str) -> Iterator[str]:
    if isinstance(value, float) and not math.isfinite(value):
        yield f"{where} = {value}"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite_at(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _non_finite_at(item, f"{where}[{index}]")


def non_finite_message(who: str, where: str, note: str = "") -> str:
    """The one tool error for a value JSON cannot carry, whichever source kind produced it: the text and
    `structuredContent` of a result would otherwise disagree (`Infinity` in one, `null` in the other; found by
    a pentest trial with an upstream sending `1e999999` and `NaN`). `who`: "upstream sent", "the function
    returned"…; `where`: a `non_finite` item; `note` ends the parenthesis."""
    return f"{who} {where}, which JSON cannot carry (no NaN or Infinity in JSON, RFC 8259 §6{note})"


MAX_JSON_DEPTH = 200  # pydantic-core's parser refuses deeper documents


class TooDeep(ValueError):
    """A JSON document nests deeper than MAX_JSON_DEPTH."""


class TooManyDigits(ValueError):
    """A JSON number has more digits than Python converts to an int (`sys.get_int_max_str_digits()`,
    4,300 by default: CVE-2020-10735's guard). The JSON is valid (RFC 8259 §6 sets no length)."""


def parse_json(data: bytes | str) -> object:
    """Parse JSON bytes with a nesting limit: pydantic-core's parser (about twice as fast as the
    standard library's, and bounded in depth), falling back to `json.loads` for what it does not
    take (UTF-16/32 bodies, which RFC 8259 §8.1 lets a parser accept). Raises TooDeep or ValueError."""
    try:
        return from_json(data)
    except ValueError as exc:
        if "recursion limit" in str(exc):
            raise TooDeep(str(exc)) from None
    try:
        return json.loads(data)
    except RecursionError:
        raise TooDeep("nested too deeply") from None
    except ValueError as exc:
        if "integer string conversion" in str(exc):
            raise TooManyDigits(str(exc)) from None
        raise


def _codec(charset: str | None) -> codecs.CodecInfo | None:
    """The codec of a declared charset; None when none is declared, Python does not know it, or it is no text
    encoding: `rot13`, `hex`, `base64`, `zlib`… are codecs too, which `bytes.decode` refuses (LookupError) — an
    upstream's `charset=rot13` crashed the call (review of fixi1, problem 2); it is an unknown charset now."""
    if charset is None:
        return None
    try:
        codec = codecs.lookup(charset)
    except LookupError:
        return None
    return codec if getattr(codec, "_is_text_encoding", True) else None


def _decode_text(data: bytes, charset: str | None, *, truncated: bool) -> tuple[str, str | None]:
    """`data` decoded by `charset` (UTF-8 when none is declared or it is unknown), and a note when that changed
    the data: bytes not valid in it replaced with U+FFFD (how many, the first's offset), an unknown charset."""
    codec = _codec(charset) or codecs.lookup("utf-8")
    decoder = codec.incrementaldecoder(errors="replace")
    # A cut body may end inside a multi-byte character: leave that half character out.
    text = decoder.decode(data, final=not truncated)
    notes = []
    if charset is not None and _codec(charset) is None:
        notes.append(f"the upstream declared the charset {charset!r}, which mcprt does not know as a text encoding; "
                     "its text was read as UTF-8")
    if "\ufffd" in text:
        strict = codec.incrementaldecoder(errors="strict")
        try:
            strict.decode(data, final=not truncated)
        except UnicodeDecodeError as exc:
            replaced = text.count("\ufffd") - data.decode(codec.name, errors="ignore").count("\ufffd")
            declared = f"is not valid {charset} as declared" if _codec(charset) is not None else (
                "declares no charset and is not valid UTF-8" if charset is None else "is not valid UTF-8")
            notes.append(f"the upstream's text {declared}: {replaced} bad byte sequence(s) were replaced with "
                         f"U+FFFD, the first {_first_bad_byte(exc)}")
    return text, "; ".join(notes) or None


def _first_bad_byte(exc: UnicodeDecodeError) -> str:
    """Where decoding failed first: `byte 0xe9 at offset 3`."""
    return f"byte 0x{exc.object[exc.start]:02x} at offset {exc.start}"


def _bad_utf8(data: bytes) -> str | None:
    """Where `data` stops being UTF-8 (`_first_bad_byte`); None when it is UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _first_bad_byte(exc)
    return None


def _has_utf16_or_32_bom(data: bytes) -> bool:
    """Whether `data` starts with a UTF-16 or UTF-32 byte order mark (`json.loads` reads those, RFC 8259 §8.1)."""
    return data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE))


def _sniff(data: bytes) -> str:
    """A media type for a body sent without Content-Type: JSON if it parses, text if it is UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            json.loads(stripped)
        except ValueError:
            return "text/plain"
        return "application/json"
    return "text/plain"
