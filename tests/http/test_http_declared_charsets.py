"""A response is decoded by the charset its Content-Type declares; bytes that change on the way are told, not hidden.

The i18n trial: `application/json; charset=iso-8859-1` (`{"name": "Müller Größe café"}` in Latin-1) and
`charset=Shift_JIS` JSON were refused as "invalid JSON" and shown as mojibake, while the same bytes as `text/plain`
were decoded right; `text/plain` without a charset and with Latin-1 bytes reached the model with U+FFFD and no word
about it. Through `mcprt up` (streamable HTTP, SDK client) to a real upstream (`tests/support/i18n_upstream.py`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import types

from tests.support.i18n_upstream import i18n_app, write_project
from tests.support.served import UpProcess, child_env, http_client, mcprt_http, text_of
from tests.support.upstream import serve_app


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    with serve_app(i18n_app()) as upstream:
        manifest = write_project(tmp_path_factory.mktemp("charsets"), upstream)
        with mcprt_http(manifest, "--no-reload", env=child_env()) as up:
            yield up


def call(up: UpProcess, tool: str) -> types.CallToolResult:
    async def called() -> types.CallToolResult:
        async with http_client(up.url) as client:
            return await client.call_tool(tool, {})

    return anyio.run(called)


@pytest.mark.parametrize(("tool", "value"), [
    ("fixed_latin1", {"name": "Müller Größe café"}),
    ("fixed_sjis", {"name": "東京都 日本語"}),
    ("fixed_cp1252", {"price": "€ 5 – “quoted”"}),
    ("fixed_utf8", {"name": "Größe 東京"}),
])
def test_json_in_its_declared_charset_is_the_value_it_encodes(served: UpProcess, tool: str,
                                                              value: dict[str, str]) -> None:
    result = call(served, tool)
    assert not result.is_error, text_of(result)
    assert json.loads(text_of(result)) == value


@pytest.mark.parametrize(("tool", "text"), [
    ("fixed_l1text", "Müller Größe café"),
    ("fixed_sjistext", "東京都 日本語"),
    ("fixed_nocharset", "Größe – 東京 🎉"),  # no charset, valid UTF-8: as it is, no note
])
def test_text_in_its_declared_charset_is_unchanged(served: UpProcess, tool: str, text: str) -> None:
    result = call(served, tool)
    assert not result.is_error and text_of(result) == text


def test_text_without_a_charset_that_is_not_utf8_says_what_was_replaced(served: UpProcess) -> None:
    said = text_of(call(served, "fixed_badtext"))
    assert said.startswith("caf\ufffd ok \ufffd end")
    assert ("the upstream's text declares no charset and is not valid UTF-8: 2 bad byte sequence(s) were replaced "
            "with U+FFFD, the first byte 0xe9 at offset 3") in said


def test_json_without_a_charset_that_is_not_utf8_is_named_so(served: UpProcess) -> None:
    result = call(served, "fixed_badjson")
    assert result.is_error
    assert "upstream sent JSON that is not UTF-8 text (byte 0xff at offset 13; 21 bytes) and declares no other charset" \
        in text_of(result)


def test_json_not_valid_in_its_declared_charset_but_utf8_is_read_as_utf8_with_a_note(served: UpProcess) -> None:
    said = text_of(call(served, "fixed_lyingjson"))
    assert '"東京"' in said
    assert ("the upstream's Content-Type declares charset us-ascii, but its body is UTF-8 (valid UTF-8 JSON that reads "
            "differently as us-ascii); it was read as UTF-8, the charset of JSON (RFC 8259 §8.1)") in said


@pytest.mark.parametrize(("tool", "value", "charset"), [
    ("fixed_mislabel", {"name": "Müller 東京"}, "ISO-8859-1"),  # a servlet container's default label on UTF-8 JSON
    ("fixed_utf16ascii", {"a": 1}, "utf-16"),
])
def test_utf8_json_under_another_label_is_read_as_utf8_with_a_note(served: UpProcess, tool: str,
                                                                 value: dict[str, object], charset: str) -> None:
    """Review of fixi1, problem 1: trusting the label gave `{"name": "MÃ¼ller æ±äº¬"}` with no note, and the UTF-16
    label "upstream sent invalid JSON: ≻≡›紱"; the base read both right. RFC 8259 §8.1: valid UTF-8 JSON is UTF-8."""
    result = call(served, tool)
    assert not result.is_error, text_of(result)
    assert result.structured_content == value
    assert (f"the upstream's Content-Type declares charset {charset}, but its body is UTF-8"
            in text_of(result))


def test_ascii_json_under_an_ascii_compatible_label_has_no_note(served: UpProcess) -> None:
    result = call(served, "fixed_asciilatin1")
    assert result.structured_content == {"a": "plain"}
    assert "charset" not in text_of(result)


def test_json_not_utf8_is_decoded_by_its_declared_charset_even_without_a_bom(served: UpProcess) -> None:
    result = call(served, "fixed_utf16nobom")
    assert not result.is_error, text_of(result)
    assert result.structured_content == {"a": "é"}


def test_an_unknown_charset_is_read_as_utf8_with_a_note(served: UpProcess) -> None:
    said = text_of(call(served, "fixed_unknowncharset"))
    assert '"plain"' in said and "the charset 'x-no-such-charset', which mcprt does not know" in said


@pytest.mark.parametrize(("tool", "value"), [
    ("fixed_rot13json", {"a": 1}),
    ("fixed_rot13text", "plain words"),
    ("fixed_zlibtext", "plain words"),
])
def test_a_codec_that_is_no_text_encoding_is_an_unknown_charset(served: UpProcess, tool: str,
                                                                 value: object) -> None:
    """Review of fixi1, problem 2: `charset=rot13` on JSON was "internal error in mcprt … LookupError" with an ERROR
    traceback; on text `rot13` was a TypeError and `zlib` an AssertionError. Now each is read as UTF-8 with a note."""
    result = call(served, tool)
    assert not result.is_error, text_of(result)
    said = text_of(result)
    if isinstance(value, dict):
        assert result.structured_content == value
    else:
        assert said.startswith(value)
    charset = tool.removeprefix("fixed_").removesuffix("json").removesuffix("text")
    assert f"the upstream declared the charset {charset!r}, which mcprt does not know as a text encoding" in said
    assert not call(served, "fixed_utf8").is_error  # and it serves on


def test_json_holding_a_lone_surrogate_escape_is_the_upstreams_error_naming_where(served: UpProcess) -> None:
    """`{"files": ["ok", "caf\\udce9.txt"]}` is valid JSON (RFC 8259 §7 allows an unpaired escape) that no Unicode
    text can carry: it crashed `mcprt call` with "internal error: UnicodeEncodeError". Now a tool error naming it,
    and the server serves on."""
    result = call(served, "fixed_surrogatejson")
    assert result.is_error
    assert ("upstream sent JSON whose result['files'][1] holds the lone surrogate U+DCE9 at character 3, which no "
            "Unicode text can carry") in text_of(result)
    assert not call(served, "fixed_utf8").is_error
