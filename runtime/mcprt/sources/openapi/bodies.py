"""Request bodies from tool arguments: JSON, form-urlencoded, multipart, text and raw bytes.

Files: a model can only send text, so a file argument is either plain text (sent as UTF-8) or a
`data:` URL (RFC 2397): `data:image/png;base64,iVBOR…` is decoded to bytes and its media type is
used for the part. A `;name=photo.png` (or `filename=`) parameter in the data URL sets the file
name; otherwise the property name is used. Parameter values are URL-encoded (RFC 2397 §3), so the
name is percent-decoded (`my%20cat.png` → `my cat.png`, UTF-8) and otherwise sent as written, directory
parts too (`reports/2026/q1.pdf`: an upstream may key uploads by a relative name; what a path means on
its disk is the receiver's to decide, RFC 7578 §4.2); a quote, CR or LF it decodes
to is written percent-encoded again in the part's header (`_quote_header`), so a name cannot add a
header or end the quoted string.

Multipart boundaries are derived from the content (a hash), so the same arguments always build the
same bytes: requests are reproducible and testable.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, unquote, unquote_to_bytes

from mcprt.errors import ToolCallError

from .model import PropertyEncoding
from . import styles
from .styles import atom


@dataclass(slots=True)
class FileValue:
    """A file argument's bytes, with the media type and file name a `data:` URL may carry."""

    data: bytes
    media_type: str | None
    filename: str | None


def decode_file(arg: str, value: Any) -> FileValue:
    """Text, or a `data:` URL, as bytes (ToolCallError for a malformed data URL)."""
    if not isinstance(value, str):
        return FileValue(json.dumps(value, ensure_ascii=False).encode(), "application/json", None)
    if not value.startswith("data:") or "," not in value:
        return FileValue(value.encode("utf-8"), None, None)
    header, payload = value[5:].split(",", 1)
    params = header.split(";")
    media_type = params[0].strip() or None
    is_base64 = False
    filename = None
    for param in params[1:]:
        key, _, val = param.partition("=")
        key = key.strip().lower()
        if key == "base64" and not val:
            is_base64 = True
        elif key in ("name", "filename") and val:
            filename = _file_name(val) or filename
    if is_base64:
        try:
            data = base64.b64decode("".join(payload.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ToolCallError(f"Argument `{arg}` is a data: URL whose base64 content is invalid.") from None
    else:
        data = unquote_to_bytes(payload)
    return FileValue(data, media_type, filename)


def _file_name(written: str) -> str | None:
    """A data URL's `name=` value as a file name: percent-decoded (RFC 2397 §3; UTF-8, an invalid byte as
    U+FFFD), its directory parts kept (the receiver decides what they mean: RFC 7578 §4.2), None when
    nothing is left."""
    return unquote(written.strip(), errors="replace").strip() or None


def json_body(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def form_body(fields: dict[str, Any], encoding: dict[str, PropertyEncoding]) -> bytes:
    """application/x-www-form-urlencoded: arrays repeat (or join, per `explode`), objects use
    `deepObject` brackets unless the property's encoding asks for JSON or sets another `style`/`explode`
    (OpenAPI 3.x Encoding Object: serialized as a query parameter of that style, so `form` + `explode`
    spreads the object's properties as fields of their own, `a=1&b=2`)."""
    pieces: list[str] = []
    for name, value in fields.items():
        if value is None:
            continue
        enc = encoding.get(name)
        if enc is not None and enc.content_type and "json" in enc.content_type:
            pieces.append(f"{quote_plus(name)}={quote_plus(json.dumps(value, separators=(',', ':')))}")
            continue
        style = enc.style if enc else "form"
        explode = enc.explode if enc else True
        if isinstance(value, dict) and enc is not None and enc.styled and style != "deepObject":
            pieces.extend(styles.query_pieces(name, value, style, explode, enc.allow_reserved))
        elif isinstance(value, dict) or (isinstance(value, list) and style == "deepObject"):
            _deep(quote_plus(name), value, pieces)
        elif isinstance(value, list):
            if explode:
                pieces.extend(f"{quote_plus(name)}={quote_plus(_scalar(v))}" for v in value)
            else:
                sep = {"spaceDelimited": " ", "pipeDelimited": "|"}.get(style, ",")
                pieces.append(f"{quote_plus(name)}=" + quote_plus(sep.join(_scalar(v) for v in value)))
        else:
            pieces.append(f"{quote_plus(name)}={quote_plus(atom(value))}")
    return "&".join(pieces).encode("ascii")


def _scalar(value: Any) -> str:
    return atom(value)


def _deep(prefix: str, value: Any, pieces: list[str]) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _deep(f"{prefix}[{quote_plus(str(key))}]", sub, pieces)
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            _deep(f"{prefix}[{index}]", sub, pieces)
    elif value is not None:
        pieces.append(f"{prefix}={quote_plus(atom(value))}")


def multipart_body(
    fields: dict[str, Any], files: frozenset[str], encoding: dict[str, PropertyEncoding]
) -> tuple[bytes, str]:
    """multipart/form-data bytes and its Content-Type (with a content-derived boundary)."""
    parts: list[tuple[bytes, bytes]] = []  # (headers, data)
    for name, value in fields.items():
        if value is None:
            continue
        enc = encoding.get(name)
        values = value if isinstance(value, list) and not (enc and enc.content_type and "json" in enc.content_type) \
            else [value]
        for item in values:
            parts.append(_part(name, item, name in files, enc))
    digest = hashlib.sha256(b"".join(h + d for h, d in parts)).hexdigest()
    n = 0
    boundary = f"mcprt-{digest[:32]}"
    while any(boundary.encode() in d for _, d in parts):
        n += 1
        boundary = f"mcprt-{hashlib.sha256(f'{digest}{n}'.encode()).hexdigest()[:32]}"
    out = bytearray()
    for headers, data in parts:
        out += b"--" + boundary.encode() + b"\r\n" + headers + b"\r\n" + data + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def _quote_header(text: str) -> str:
    """`text` for a quoted header parameter: a backslash escaped, a quote and every control character (CR, LF,
    NUL, …: what a decoded file name may hold) percent-encoded, as HTML's form encoding writes them."""
    text = text.replace("\\", "\\\\").replace('"', "%22")
    return _CONTROL.sub(lambda m: f"%{ord(m.group()):02X}", text)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def part_type(declared: str | None) -> str | None:
    """The one media type to label a part with, from an Encoding Object's `contentType`: OAS 3.1 §4.8.15.1 lets
    it be a comma-separated list of acceptable types (`image/png, image/jpeg`) or a wildcard (`image/*`), neither
    of which is a Content-Type (trial of untidy REST APIs, fault 6: the list was sent as the part's header). The
    first listed type that is concrete; None when every one is a wildcard."""
    if not declared:
        return None
    return next((t for t in (piece.strip() for piece in declared.split(",")) if t and "*" not in t), None)


def _part(name: str, value: Any, is_file: bool, enc: PropertyEncoding | None) -> tuple[bytes, bytes]:
    listed = enc.content_type if enc and enc.content_type else None
    declared = part_type(listed)
    disposition = f'form-data; name="{_quote_header(name)}"'
    content_type: str | None = None
    is_data_url = isinstance(value, str) and value.startswith("data:")
    if is_file or is_data_url:
        file = decode_file(name, value)
        filename = file.filename or name
        disposition += f'; filename="{_quote_header(filename)}"'
        content_type = file.media_type or declared
        content_type = content_type or ("text/plain; charset=utf-8" if not is_data_url else "application/octet-stream")
        data = file.data
    elif isinstance(value, (dict, list)) or (declared and "json" in declared):
        data = json_body(value)
        content_type = "application/json"
    else:
        data = atom(value).encode("utf-8")
        if declared and declared != "text/plain":
            content_type = declared
    headers = f"Content-Disposition: {disposition}\r\n"
    if content_type:
        headers += f"Content-Type: {content_type}\r\n"
    return headers.encode("utf-8"), data


def text_body(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return json_body(value)
