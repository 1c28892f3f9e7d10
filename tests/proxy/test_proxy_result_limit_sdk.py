"""The result size limit on results an SDK (`MCPServer`) server really sends, through `mcprt up` and
the SDK client (which checks structuredContent against the tool's outputSchema and refuses an SSE
event over 1 MiB). A review of the whole-result limit found both tools below broken by it, though
they worked before: the limit must shorten a result, never make it bigger or invalid."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.served import http_client, mcprt_http, text_of
from tests.support.zygote import script_command_yaml

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

SERVER = Path(__file__).with_name("shaped_sdk_server.py")
LIMIT = 16_000
# What the server adds to the result object the limit bounds (`shaping/wire.py`): `"isError":false,"resultType":"complete"`
FRAMING = 38


def _wire_size(result: object) -> int:
    """The result as the SDK client received it, serialized again: every field of every block."""
    return len(result.model_dump_json(by_alias=True, exclude_none=True).encode())  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    manifest = tmp_path_factory.mktemp("shaped") / "mcp.yaml"
    manifest.write_text(f'version: 1\nsources:\n  sdk:\n    command: {script_command_yaml(SERVER)}\n'
                        f"    tools:\n      grid: {{max_result_bytes: {LIMIT}}}\n"
                        f"      counts: {{max_result_bytes: {LIMIT}}}\n"
                        f"      link: {{max_result_bytes: {LIMIT}}}\n"
                        f"      ledger: {{max_result_bytes: {LIMIT}}}\n"
                        f"      embedded: {{max_result_bytes: {LIMIT}}}\n"
                        f"      pair: {{max_result_bytes: {LIMIT}}}\n"
                        f"      bigreq: {{max_result_bytes: {LIMIT}}}\n", encoding="utf-8")
    with mcprt_http(manifest, "--no-reload") as up:
        yield up.url


def _limited_size(result: object) -> int:
    """The figure the limit bounds: the whole result with a structuredContent a text block repeats
    counted once (README "Size limits")."""
    size = _wire_size(result)
    structured = result.structured_content  # type: ignore[attr-defined]
    for block in result.content:  # type: ignore[attr-defined]
        if structured is not None and getattr(block, "type", "") == "text" and _parses(block.text) == structured:
            return size - len(json.dumps(structured, separators=(",", ":"), ensure_ascii=False).encode()) - len(',"structuredContent":')
    return size


def _parses(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _notes(result: object) -> list[str]:
    return [block.text for block in result.content  # type: ignore[attr-defined]
            if getattr(block, "text", "").startswith("Note: ")]


async def test_many_small_text_blocks_are_kept_whole_not_each_cut_to_a_marker(served: str) -> None:
    """`grid(500)` is 25,000 one-character text blocks. Each got `limit/N` bytes, less than a cut marker,
    so every block became the marker: the result grew past 1 MiB (`MCPError: SSE stream failed`).
    Now whole blocks are kept in order and the rest left out with one counted note."""
    async with http_client(served) as client:
        await client.list_tools()
        result = await client.call_tool("grid", {"n": 500})
        assert not result.is_error
        texts = [block.text for block in result.content if not block.text.startswith("Note: ")]  # type: ignore[union-attr]
        assert texts == [str(j % 50) for j in range(len(texts))]  # whole blocks, in order
        # the whole result, framing included: 25,000 blocks' `{"type":"text","text":"7"}` counted too
        assert _wire_size(result) <= LIMIT + FRAMING
        notes = _notes(result)
        assert len(notes) == 1 and notes[0].count("left out:") == 1  # one counted note, not one per block
        assert f"left out: {25_000 - len(texts):,} text blocks" in notes[0]


async def test_a_shortened_structured_object_still_matches_the_output_schema(served: str) -> None:
    """`counts(5000)` (`dict[str, int]`, schema `additionalProperties: {type: integer}`): shortening
    added a `"…": "N more keys omitted"` entry, and the SDK client refused the result
    (`Invalid structured content … is not of type 'integer'`). Now no marker key; the note counts."""
    async with http_client(served) as client:
        await client.list_tools()  # the client learns the outputSchema it validates against
        result = await client.call_tool("counts", {"n": 5000})
        assert not result.is_error
        structured = result.structured_content
        assert structured and all(isinstance(value, int) for value in structured.values())
        assert list(structured) == [f"word{i:06d}" for i in range(len(structured))]
        assert len(json.dumps(structured, separators=(",", ":")).encode()) <= LIMIT
        assert "of 5000 keys omitted" in " ".join(_notes(result))
        assert text_of(result)


async def test_a_resource_links_long_description_is_shortened_and_the_whole_result_fits(served: str) -> None:
    """A resource link with a 1.1 MB `description`: the limit counted only its `uri`, so the result went
    out whole and the SDK client failed on its 1 MiB SSE event limit. Now the description (text) is
    shortened with a marker, the URI kept exactly, and the whole result fits the limit."""
    async with http_client(served) as client:
        await client.list_tools()
        result = await client.call_tool("link", {"description_bytes": 1_100_000})
        assert not result.is_error
        link, text = result.content[:2]
        assert link.type == "resource_link" and link.uri == "file:///reports/q3.csv" and link.name == "q3.csv"
        assert link.description.startswith("This file holds the quarterly figures.")  # type: ignore[union-attr]
        assert "more chars)" in link.description  # type: ignore[operator]
        assert text.text == "one report found"  # type: ignore[union-attr]
        assert "the description of resource link file:///reports/q3.csv was shortened" in " ".join(_notes(result))
        assert LIMIT // 2 < _wire_size(result) <= LIMIT + FRAMING


async def test_a_block_whose_uri_does_not_fit_is_left_out_never_cut(served: str) -> None:
    """A URI cut short names another resource: a link whose URI alone is past the limit is left out,
    with a counted note, and the rest of the result is kept."""
    async with http_client(served) as client:
        await client.list_tools()
        result = await client.call_tool("link", {"description_bytes": 10, "uri_bytes": 40_000})
        assert not result.is_error
        assert [block.type for block in result.content] == ["text", "text"]
        assert result.content[0].text == "one report found"  # type: ignore[union-attr]
        assert "left out: 1 resource_link block, 40," in " ".join(_notes(result))
        assert _wire_size(result) <= LIMIT + FRAMING


async def test_a_large_result_meta_is_left_out_with_a_note(served: str) -> None:
    """The result's own `_meta` is sent too: one past a quarter of the limit is left out (there is no rule to
    shorten a client's metadata), said in a note; the content stays whole."""
    async with http_client(served) as client:
        await client.list_tools()
        result = await client.call_tool("link", {"description_bytes": 100, "meta_bytes": 50_000})
        assert not result.is_error and not (result.meta or {}).get("trace")
        assert len(result.content[0].description) == 100  # type: ignore[union-attr, arg-type]
        assert "the result's _meta (50,012 bytes) was left out" in " ".join(_notes(result))
        small = await client.call_tool("link", {"description_bytes": 100, "meta_bytes": 1_000})
        assert small.meta == {"trace": "x" * 1_000} and not _notes(small)  # within the limit: unchanged


async def test_a_wide_objects_required_keys_that_come_last_are_kept(served: str) -> None:
    """`ledger(2000)`: 2000 entries, then `total` and `status`, which its outputSchema requires. Shortened to
    its first keys, the object lost both and the SDK client refused the result (`'total' is a required
    property`). Now the outputSchema's required keys are put back (`conform`), and the note says so."""
    async with http_client(served) as client:
        await client.list_tools()  # the client learns the outputSchema it validates against
        result = await client.call_tool("ledger", {"n": 2000})
        assert not result.is_error
        structured = result.structured_content
        assert structured is not None and structured["total"] == 2000 and structured["status"] == "complete"
        assert 10 < len(structured) < 2000
        assert json.loads(result.content[0].text) == structured  # type: ignore[union-attr]  # the pair stays a pair
        assert "its required fields are kept" in " ".join(_notes(result))
        assert _limited_size(result) <= LIMIT + FRAMING  # the repeated copy counted once


async def test_a_repeating_text_blocks_large_meta_leaves_it_out_and_structured_content_is_shortened(served: str) -> None:
    """`pair(50000, meta_bytes=20000)`: the text block repeating structuredContent has a `_meta` larger than
    the limit. It was left out, and structuredContent (1.3 MB), counted only through that block, went out
    whole: the SDK client failed ("exceeded the 1048576 byte limit"). Now structuredContent, no longer
    repeated, is counted and shortened, and the left-out block is counted in a note."""
    async with http_client(served) as client:
        await client.list_tools()
        result = await client.call_tool("pair", {"n": 50_000, "meta_bytes": 20_000})
        assert not result.is_error
        structured = result.structured_content
        assert structured and list(structured) == [f"k{i:05d}" for i in range(len(structured))]
        assert "left out: 1 text block" in " ".join(_notes(result))
        assert LIMIT // 2 < _wire_size(result) <= LIMIT + FRAMING


async def test_a_large_required_key_put_back_still_fits_and_keeps_the_pair(served: str) -> None:
    """`bigreq(50000, blob_bytes=9000)`: the required 9 KB `blob` was put back with a cap of the whole limit
    and counted twice (text and copy), the next rounds' budget fell to 0 and the text block was left out.
    Now what is put back is capped at the room for parts, the pair stays a pair, and the result fits."""
    async with http_client(served) as client:
        await client.list_tools()
        result = await client.call_tool("bigreq", {"n": 50_000, "blob_bytes": 9_000})
        assert not result.is_error
        structured = result.structured_content
        assert structured is not None and structured["total"] == 50_000 and structured["blob"] == "b" * 9_000
        assert json.loads(result.content[0].text) == structured  # type: ignore[union-attr]
        assert "its required fields are kept" in " ".join(_notes(result))
        assert _limited_size(result) <= LIMIT + FRAMING


async def test_a_repeated_structured_content_counts_once(served: str) -> None:
    """One meaning of `max_result_bytes` for every source: a structuredContent its text block repeats counts
    once, as HTTP tools count it. `ledger(200)` (about 10 KB, sent twice: 20 KB on the wire) was cut at
    about half the limit; now it goes out whole, as it did before the limit counted the whole result."""
    async with http_client(served) as client:
        await client.list_tools()
        result = await client.call_tool("ledger", {"n": 200})
        assert not result.is_error and not _notes(result)
        structured = result.structured_content
        assert structured is not None and len(structured) == 202
        assert _wire_size(result) > LIMIT >= _limited_size(result)


async def test_a_resource_links_name_is_never_cut(served: str) -> None:
    """A resource link's `name` is an identifier (MCP: "intended for programmatic use"): cut, it named
    another thing. A link whose name does not fit is left out with a counted note, as for a URI."""
    async with http_client(served) as client:
        await client.list_tools()
        result = await client.call_tool("link", {"description_bytes": 10, "name_bytes": 40_000})
        assert not result.is_error
        assert all(block.type != "resource_link" for block in result.content)
        assert result.content[0].text == "one report found"  # type: ignore[union-attr]
        assert "left out: 1 resource_link block, 40," in " ".join(_notes(result))
        assert _wire_size(result) <= LIMIT + FRAMING


async def test_an_embedded_resource_whose_uri_fits_has_its_text_shortened(served: str) -> None:
    """An embedded resource with a 9 KB URI and 9 KB text was left out whole though its URI fits the
    limit: now its text is shortened and the URI kept exactly, and the short text block after it is kept."""
    async with http_client(served) as client:
        await client.list_tools()
        result = await client.call_tool("embedded", {"uri_bytes": 9_000, "text_bytes": 9_000})
        assert not result.is_error
        resource = result.content[0]
        assert resource.type == "resource"
        assert resource.resource.uri == "file:///notes/q3.txt" + "?v=1" * 2_250  # type: ignore[union-attr]
        text = resource.resource.text  # type: ignore[union-attr]
        assert text.startswith("Quarterly notes line.") and "more lines, " in text
        assert result.content[1].text == "one note found"  # type: ignore[union-attr]  # the block after it kept too
        assert _wire_size(result) <= LIMIT + FRAMING
