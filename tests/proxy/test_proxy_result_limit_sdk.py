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


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    manifest = tmp_path_factory.mktemp("shaped") / "mcp.yaml"
    manifest.write_text(f'version: 1\nsources:\n  sdk:\n    command: {script_command_yaml(SERVER)}\n'
                        f"    tools:\n      grid: {{max_result_bytes: {LIMIT}}}\n"
                        f"      counts: {{max_result_bytes: {LIMIT}}}\n", encoding="utf-8")
    with mcprt_http(manifest, "--no-reload") as up:
        yield up.url


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
        size = sum(len(text.encode()) for text in texts) + len(json.dumps(
            result.structured_content, separators=(",", ":")).encode())
        assert size <= LIMIT
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
