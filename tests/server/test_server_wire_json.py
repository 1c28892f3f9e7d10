"""The call path's JSON codec (server/wire_json.py): the SDK's parser, orjson's writing, never its differences."""

from __future__ import annotations

import json

import pydantic_core
import pytest

from mcprt.server import wire_json


@pytest.mark.parametrize("text", [
    b'{"id": 123456789012345678901234567890}',  # beyond 64 bits: orjson would make it a float
    b'{"a": [18446744073709551615, -9223372036854775808, 1.5e300, "\\u00e9"]}',
    b'{"nested": {"x": null, "y": true, "z": "12345678901234567890 inside a string"}}',
])
def test_loads_equals_the_standard_library(text: bytes) -> None:
    assert wire_json.loads(text) == json.loads(text)
    assert type(wire_json.loads(text)) is type(json.loads(text))


@pytest.mark.parametrize("text", [b'{"a": "\\ud800"}', b"{", b"", b'{"a": 1} trailing'])
def test_loads_refuses_what_the_sdks_transport_refuses(text: bytes) -> None:
    with pytest.raises(ValueError):
        wire_json.loads(text)
    with pytest.raises(ValueError):
        pydantic_core.from_json(text)


@pytest.mark.parametrize("value", [
    {"n": 2**70, "m": -(2**65)},  # orjson refuses integers beyond 64 bits
    {1: "non-str key"},  # orjson refuses non-str keys
    {"text": "é ✓", "list": [1, 2.5, None, True]},
    {"lone": "\ud800", "n": 2**70},  # `json.loads` lets a lone surrogate escape through
])
def test_dumps_writes_what_the_standard_library_reads_back(value: object) -> None:
    written = wire_json.dumps(value)
    assert isinstance(written, bytes)
    assert json.loads(written.decode("utf-8")) == json.loads(json.dumps(value))
