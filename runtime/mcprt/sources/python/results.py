"""A Python return value as an `UpstreamResult`, so pruning and templates treat it like any other source.

- `None` → empty text; `str` → text; `bytes` → binary (PNG/JPEG/GIF/WebP recognised as images)
- FastMCP's and the MCP SDK's `Image` (`to_image_content()`) → its bytes, with its media type (`frameworks.py`)
- a value whose JSON form is a string (`datetime`, `date`, `UUID`, `Decimal`, `Path`, an `Enum` of
  strings) → that string as text, unquoted, like a `str` result (not the JSON text `"2026-01-02"`)
- pydantic models, dataclasses, TypedDicts, enums, dates, lists and dicts of them → JSON (pydantic's
  JSON mode, fields by alias: what the return type's JSON Schema in serialization mode describes)
- anything pydantic cannot serialize → an error result saying which type it was
- a float JSON cannot carry (`nan`, `inf`, `-inf`: RFC 8259 §6 has no such numbers, and MCP results
  are JSON) → an error result naming where it is (`result['a']`), not the invalid JSON `NaN`/`Infinity`
  nor pydantic's silent `null`, which would change what the function said (and may not fit its schema)
- text that UTF-8 cannot encode (a lone surrogate, U+D800–U+DFFF: from `os.fsdecode` of a bad file name, the
  `surrogateescape` error handler, JSON decoded from JavaScript) anywhere in the value, keys included → an error
  result naming the tool, where (`result['a'][2]`, the character's index) and the code point, and a WARNING line
  without a traceback: the function's output is at fault, not mcprt (it was "internal error in mcprt …
  UnicodeEncodeError" with an ERROR traceback)
- with the function's declared return type (`returns`, only when an outputSchema is declared): the
  value is validated (pydantic's lax mode: `"2"` fits an `int`, unlike an argument, which the input
  schema checks strictly first) and dumped through that type, so
  structuredContent fits the outputSchema a client checks it against (MCP 2025-11-25 §server/tools
  "Output Schema"); a value that does not fit is an error result naming the mismatch
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError, to_jsonable_python

from ...contracts import UpstreamResult
from .frameworks import image_of
from .raised import exception_message, exception_text
from .signature import validation_problems

log = logging.getLogger(__name__)
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def to_upstream(value: Any, returns: TypeAdapter[Any] | None = None, *, tool: str | None = None) -> UpstreamResult:
    """Serialize what a function returned (`returns`: its declared return type, see the module docstring; `tool`: the
    tool's name, for the error about text UTF-8 cannot encode).

    Converting the value runs the user's code (a model's serializer or validator, an enum's `value`): whatever
    that raises is the function's error result, with its type (`raised.exception_text`), not mcprt's "internal
    error", and its traceback is logged at debug for the operator. Only that conversion is caught so: a fault of
    mcprt's own code here still raises (an internal error, logged), never blamed on the value. A value nested too
    deep to walk raises RecursionError, which the call answers as such."""
    if value is None:
        return UpstreamResult(kind="text", body="", raw_bytes=0)
    if isinstance(value, str):
        return _text(value, tool)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return UpstreamResult(kind="binary", body=data, raw_bytes=len(data), media_type=_sniff(data))
    try:
        # FastMCP's or the MCP SDK's `Image`: its bytes, as an image (frameworks.py); its conversion is its code
        image = image_of(value)
        if image is not None:
            data, media_type = image
            return UpstreamResult(kind="binary", body=data, raw_bytes=len(data), media_type=media_type)
        if returns is not None:
            plain = returns.dump_python(returns.validate_python(value), mode="json", by_alias=True)
        elif isinstance(value, BaseModel):
            plain = value.model_dump(mode="json", by_alias=True)  # as nested models and the schema have it
        else:
            plain = to_jsonable_python(value)
    except ValidationError as exc:
        return _error(f"the function returned {_a_type(value)} that does not fit its declared return "
                      "type (the tool's outputSchema): " + "; ".join(validation_problems(exc)))
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        from ...outbound.decoding import lone_surrogates  # (not at import: see non_finite below)

        surrogate = next(lone_surrogates(value, "result"), None)  # pydantic refuses one in a key (a dict's)
        if surrogate is not None:
            return _unencodable(tool, *surrogate)
        message = exception_message(exc)
        return _error(f"the function returned {_a_type(value)}, which cannot be sent as JSON "
                      f"({exception_text(exc) if message is None else message})")
    except RecursionError:
        raise
    except Exception as exc:  # noqa: BLE001 — the value's own code failed (see the docstring)
        log.debug("converting a %s returned by a function raised %s", type(value).__name__, type(exc).__name__,
                  exc_info=exc)
        return _error(f"the function returned {_a_type(value)}, whose conversion to a result raised "
                      f"{exception_text(exc)}")
    if isinstance(plain, str):  # a datetime, date, UUID, Decimal, Path or Enum: its text, as a `str` result
        return _text(plain, tool)
    try:
        encoded = _ENCODE(plain)
    except ValueError:  # allow_nan=False: a nan or infinity somewhere in it
        # imported here: validating a python manifest must not load the HTTP executor (`outbound`)
        from ...outbound.decoding import non_finite, non_finite_message

        where = next(non_finite(plain, "result"), "result")
        return _error(non_finite_message("the function returned", where) + "; return None or a string for it instead")
    try:
        size = len(encoded.encode("utf-8"))
    except UnicodeEncodeError:  # found by the encoding every result needs anyway; the walk runs only then
        from ...outbound.decoding import lone_surrogates

        return _unencodable(tool, *next(lone_surrogates(plain, "result")))
    return UpstreamResult(kind="json", body=plain, raw_bytes=size)


def _text(text: str, tool: str | None) -> UpstreamResult:
    try:
        return UpstreamResult(kind="text", body=text, raw_bytes=len(text.encode("utf-8")))
    except UnicodeEncodeError as exc:
        return _unencodable(tool, "result", exc.start, text[exc.start])


def visible_text(text: str) -> str:
    """`text` with each lone surrogate written as its escape (`\\ud800`): an error message quoting what a function
    said can be sent (UTF-8 cannot encode the surrogate itself), and still shows where it was."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _unencodable(tool: str | None, where: str, index: int, char: str) -> UpstreamResult:
    name = f"tool {tool}" if tool else "the function"
    from ...outbound.decoding import lone_surrogate_message

    said = lone_surrogate_message(where, index, char) + (
        "; os.fsdecode or the surrogateescape handler make one of bytes that are not UTF-8, JSON of an unpaired "
        "\\ud800-style escape")
    log.warning("%s returned text that cannot be sent: %s", name, said)
    return _error(f"{name} returned text that cannot be sent: {said}; return text without it (decode bytes with "
                  "errors='replace', or remove the character)")


def _a_type(value: Any) -> str:
    """`a dict`, `an int`, `an async_generator`: the value's type with its article."""
    name = type(value).__name__
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


def _error(message: str) -> UpstreamResult:
    return UpstreamResult(kind="text", body=message, raw_bytes=len(message.encode("utf-8")), is_error=True)


def _sniff(data: bytes) -> str:
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"
