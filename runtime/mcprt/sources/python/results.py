"""A Python return value as an `UpstreamResult`, so pruning and templates treat it like any other source.

- `None` → empty text; `str` → text; `bytes` → binary (PNG/JPEG/GIF/WebP recognised as images)
- a value whose JSON form is a string (`datetime`, `date`, `UUID`, `Decimal`, `Path`, an `Enum` of
  strings) → that string as text, unquoted, like a `str` result (not the JSON text `"2026-01-02"`)
- pydantic models, dataclasses, TypedDicts, enums, dates, lists and dicts of them → JSON (pydantic's
  JSON mode, fields by alias: what the return type's JSON Schema in serialization mode describes)
- anything pydantic cannot serialize → an error result saying which type it was
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_jsonable_python

from ...contracts import UpstreamResult

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def to_upstream(value: Any) -> UpstreamResult:
    """Serialize what a function returned."""
    if value is None:
        return UpstreamResult(kind="text", body="", raw_bytes=0)
    if isinstance(value, str):
        return UpstreamResult(kind="text", body=value, raw_bytes=len(value.encode("utf-8")))
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return UpstreamResult(kind="binary", body=data, raw_bytes=len(data), media_type=_sniff(data))
    try:
        if isinstance(value, BaseModel):
            plain = value.model_dump(mode="json", by_alias=True)  # as nested models and the schema have it
        else:
            plain = to_jsonable_python(value)
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        message = f"the function returned a {type(value).__name__}, which cannot be sent as JSON ({exc})"
        return UpstreamResult(kind="text", body=message, raw_bytes=len(message), is_error=True)
    if isinstance(plain, str):  # a datetime, date, UUID, Decimal, Path or Enum: its text, as a `str` result
        return UpstreamResult(kind="text", body=plain, raw_bytes=len(plain.encode("utf-8")))
    return UpstreamResult(kind="json", body=plain, raw_bytes=len(_ENCODE(plain).encode("utf-8")))


def _sniff(data: bytes) -> str:
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"
