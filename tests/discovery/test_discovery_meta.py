"""The meta-tools over real Python sources, compiled and called through the real pipeline.

Everything a direct call does (validation, fixed arguments, templates, logs) must happen the
same way through `call_tool`; names, pinning, several sources and reloads behave as documented.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from mcprt.pipeline import Compiled, Runtime
from mcprt.settings import Settings
from mcprt.toolset.invoke import call_tool
from mcprt.toolset.toolset import ToolSet

INVENTORY = '''
"""A small inventory."""

__all__ = ["list_items", "add_item", "remove_item", "count_items", "search_tools"]

ITEMS = {"apple": 3, "pear": 0}


def list_items(in_stock_only: bool = False) -> list:
    """List the items of the inventory with their quantities."""
    return [{"name": n, "quantity": q} for n, q in ITEMS.items() if q or not in_stock_only]


def add_item(name: str, quantity: int = 1) -> dict:
    """Add an item to the inventory."""
    ITEMS[name] = ITEMS.get(name, 0) + quantity
    return {"name": name, "quantity": ITEMS[name], "note": "restocked"}


def remove_item(name: str) -> dict:
    """Remove an item from the inventory."""
    return {"name": name, "removed": ITEMS.pop(name, None) is not None}


def count_items() -> int:
    """Count the items in the inventory."""
    return len(ITEMS)


def search_tools(text: str) -> str:
    """Look for garden tools in the shed (a real tool that happens to have a meta-tool's name)."""
    return f"shed: {text}"
'''

NOTES = '''
"""Team notes."""

__all__ = ["create_note", "delete_note", "list_notes"]


def create_note(title: str, body: str) -> dict:
    """Create a note with a title and a body."""
    return {"id": 1, "title": title}


def delete_note(note_id: int) -> dict:
    """Delete a note by its id."""
    return {"deleted": note_id}


def list_notes() -> list:
    """List every note."""
    return []
'''


def write_project(folder: Path, manifest: str) -> Path:
    (folder / "inventory.py").write_text(INVENTORY)
    (folder / "notes.py").write_text(NOTES)
    path = folder / "mcp.yaml"
    path.write_text(manifest)
    return path


@asynccontextmanager
async def compiled(path: Path) -> AsyncIterator[tuple[Runtime, Compiled]]:
    runtime = Runtime(path, Settings(cache_dir=path.parent / ".cache"))
    try:
        yield runtime, await runtime.compile()
    finally:
        await runtime.aclose()


async def call(toolset: ToolSet, name: str, arguments: dict) -> tuple[str, bool]:
    tool = toolset.get(name)
    assert tool is not None, name
    result = await call_tool(tool, arguments)
    return "\n".join(block["text"] for block in result.content if block["type"] == "text"), result.is_error


def listed_names(toolset: ToolSet) -> list[str]:
    return [tool["name"] for tool in toolset.list_tools()]


BOTH = """version: 1
server:
  name: inventory-and-notes
  expose: discovery
sources:
  inventory:
    python: inventory
    tools:
      search_tools: {enabled: false}
  notes:
    python: notes
"""


async def test_one_set_of_meta_tools_covers_every_discovery_source(tmp_path: Path) -> None:
    async with compiled(write_project(tmp_path, BOTH)) as (_, result):
        toolset = result.toolset
        assert listed_names(toolset) == ["search_tools", "describe_tools", "call_tool"]
        search = toolset.get("search_tools")
        assert search.input_schema["properties"]["source"]["enum"] == ["inventory", "notes"]
        assert "7 operations that are not listed as tools: 4 from inventory; 3 from notes." in search.description

        text, error = await call(toolset, "search_tools", {"query": "delete"})
        assert not error
        assert set(text.splitlines()[1:3]) == {"delete_note [notes]: Delete a note by its id.",
                                               "remove_item [inventory]: Remove an item from the inventory."}

        text, _ = await call(toolset, "search_tools", {"query": "delete", "source": "inventory"})
        assert "delete_note" not in text and "remove_item: Remove an item" in text

        text, error = await call(toolset, "search_tools", {"query": "x", "source": "nowhere"})
        assert error and "source" in text  # validated against the enum like any tool argument


async def test_a_listed_source_stays_listed_and_out_of_search(tmp_path: Path) -> None:
    manifest = BOTH.replace("  expose: discovery\n", "").replace("    python: notes\n",
                                                                  "    python: notes\n    expose: discovery\n")
    async with compiled(write_project(tmp_path, manifest)) as (_, result):
        toolset = result.toolset
        names = listed_names(toolset)
        assert names[:3] == ["search_tools", "describe_tools", "call_tool"]
        assert set(names[3:]) == {"list_items", "add_item", "remove_item", "count_items"}
        assert "3 notes operations" in toolset.get("search_tools").description
        assert "source" not in toolset.get("search_tools").input_schema["properties"]  # one source: no filter
        text, _ = await call(toolset, "search_tools", {"query": "remove delete"})
        assert "delete_note" in text and "remove_item" not in text


async def test_pinned_tools_stay_listed_beside_the_meta_tools(tmp_path: Path) -> None:
    manifest = BOTH.replace("  expose: discovery\n", "  expose: discovery\n  pinned: [list_notes]\n").replace(
        "      search_tools: {enabled: false}\n", "      search_tools: {enabled: false}\n      add_item: {pinned: true}\n")
    async with compiled(write_project(tmp_path, manifest)) as (_, result):
        toolset = result.toolset
        assert listed_names(toolset) == ["search_tools", "describe_tools", "call_tool", "add_item", "list_notes"]
        text, _ = await call(toolset, "search_tools", {"query": "add an item"})
        assert "add_item [inventory]: Add an item to the inventory. (also listed as a tool)" in text


async def test_meta_tools_step_aside_for_a_real_tool_with_their_name(tmp_path: Path) -> None:
    manifest = BOTH.replace("      search_tools: {enabled: false}\n", "      count_items: {}\n")
    async with compiled(write_project(tmp_path, manifest)) as (_, result):
        toolset = result.toolset
        assert listed_names(toolset) == ["mcprt_search_tools", "describe_tools", "call_tool"]
        meta = toolset.get("mcprt_search_tools")
        assert "1) call mcprt_search_tools with" in meta.description
        assert "mcprt_search_tools" in toolset.get("call_tool").description
        text, error = await call(toolset, "call_tool", {"name": "search_tools", "arguments": {"text": "rake"}})
        assert (text, error) == ("shed: rake", False)  # the real tool, reached through call_tool
        text, error = await call(toolset, "call_tool", {"name": "mcprt_search_tools", "arguments": {}})
        assert error and "call it directly" in text


OVERRIDES = BOTH.replace(
    "      search_tools: {enabled: false}\n",
    "      search_tools: {enabled: false}\n"
    "      add_item:\n"
    "        args: {quantity: {fixed: 5}}\n"
    "        output: 'added {{ result.quantity }} x {{ result.name }}'\n"
    "      list_items:\n"
    "        prune: '[].name'\n",
)


async def test_call_tool_applies_the_tools_overrides(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with compiled(write_project(tmp_path, OVERRIDES)) as (_, result):
        toolset = result.toolset
        text, _ = await call(toolset, "describe_tools", {"names": ["add_item"]})
        definition = json.loads(text)["tools"][0]
        assert definition["name"] == "add_item"
        assert list(definition["inputSchema"]["properties"]) == ["name"]  # quantity is fixed, so hidden

        caplog.clear()  # only this call's lines (a Python source's logging may have lowered the root level)
        with caplog.at_level(logging.INFO, logger="mcprt"):
            text, error = await call(toolset, "call_tool", {"name": "add_item", "arguments": {"name": "kiwi"}})
        assert (text, error) == ("added 5 x kiwi", False)  # fixed argument and output template applied
        logged = [getattr(r, "fields", {}).get("tool") for r in caplog.records if r.getMessage() == "call"]
        assert logged == ["add_item", "call_tool"]  # the operation's own call line, then the meta-tool's

        text, _ = await call(toolset, "call_tool", {"name": "list_items", "arguments": {}})
        assert json.loads(text) == ["apple", "pear", "kiwi"]  # the prune applied


async def test_call_tool_validates_exactly_like_a_direct_call(tmp_path: Path) -> None:
    async with compiled(write_project(tmp_path, BOTH)) as (_, result):
        toolset = result.toolset
        bad = {"name": 3, "colour": "red"}
        direct, direct_error = await call(toolset, "add_item", bad)
        through, through_error = await call(toolset, "call_tool", {"name": "add_item", "arguments": bad})
        assert direct_error and through_error
        assert through == direct
        assert "unknown argument 'colour'" in through

        text, error = await call(toolset, "call_tool", {"name": "add_itme", "arguments": {}})
        assert error
        assert text == ("no operation named 'add_itme'. Did you mean 'add_item'? Use search_tools to find "
                        "operation names.")
        text, error = await call(toolset, "call_tool", {"arguments": {}})
        assert error and "'name' is required" in text


async def test_describe_reports_unknown_names_and_keeps_to_the_result_limit(tmp_path: Path) -> None:
    manifest = BOTH.replace("version: 1\n", "version: 1\ndefaults: {max_result_bytes: 250}\n")
    async with compiled(write_project(tmp_path, manifest)) as (_, result):
        toolset = result.toolset
        text, error = await call(toolset, "describe_tools", {"names": ["nope"]})
        assert error and "no operation named 'nope'" in text
        text, error = await call(toolset, "describe_tools",
                                 {"names": ["create_note", "delete_note", "list_notes", "delete_nte"]})
        assert not error
        body = json.loads(text)
        assert [t["name"] for t in body["tools"]] == ["create_note"]  # the first is always shown
        assert body["not_shown"] == ["delete_note", "list_notes"]
        assert body["unknown"] == ["no operation named 'delete_nte'. Did you mean 'delete_note'? Use search_tools "
                                   "to find operation names."]


async def test_a_query_without_words_is_an_error_with_an_example(tmp_path: Path) -> None:
    async with compiled(write_project(tmp_path, BOTH)) as (_, result):
        text, error = await call(result.toolset, "search_tools", {"query": "the of"})
        assert error and "has no searchable words" in text
        text, error = await call(result.toolset, "search_tools", {"query": "zebra"})
        assert not error and text.startswith('No operation matches "zebra"')


async def test_a_long_query_or_name_is_refused_without_being_echoed(tmp_path: Path) -> None:
    """Found by a new-user trial: a 100,000-character query was taken and echoed (a 100,328-byte answer)."""
    async with compiled(write_project(tmp_path, BOTH)) as (_, result):
        for tool, arguments in (("search_tools", {"query": "list items " * 10_000}),
                                ("describe_tools", {"names": ["x" * 5_000]}),
                                ("call_tool", {"name": "x" * 5_000, "arguments": {}})):
            text, error = await call(result.toolset, tool, arguments)
            assert error and len(text) < 600, (tool, len(text), text[:300])
            assert "long" in text, text
        text, error = await call(result.toolset, "search_tools", {"query": "list the items " * 30})  # 450 characters
        assert not error and "list_items" in text


async def test_without_discovery_there_are_no_meta_tools(tmp_path: Path) -> None:
    manifest = BOTH.replace("  expose: discovery\n", "")
    async with compiled(write_project(tmp_path, manifest)) as (_, result):
        assert not result.toolset.extra
        assert "search_tools" not in listed_names(result.toolset)


async def test_a_reload_rebuilds_the_meta_tools(tmp_path: Path) -> None:
    path = write_project(tmp_path, BOTH)
    async with compiled(path) as (runtime, first):
        assert "7 operations" in first.toolset.get("search_tools").description
        path.write_text(BOTH.replace("      search_tools: {enabled: false}\n",
                                     "      search_tools: {enabled: false}\n      remove_item: {enabled: false}\n"))
        second = await runtime.compile()
        assert "6 operations that are not listed as tools: 3 from inventory" in second.toolset.get("search_tools").description
        assert first.toolset.fingerprint() != second.toolset.fingerprint()  # clients get list_changed
        text, _ = await call(second.toolset, "search_tools", {"query": "remove"})
        assert "remove_item" not in text
        text, _ = await call(first.toolset, "search_tools", {"query": "remove"})
        assert "remove_item" in text  # a set in use keeps working as it was


async def test_the_status_row_of_call_tool_shows_its_targets_raw_and_saving(tmp_path: Path) -> None:
    """The status page of a discovery server: the `call_tool` call showed ~0 % saved for a pruned target, its
    raw figure being the target's *shaped* result (what it relayed), while the target's own was right.
    Now the meta-tool's row uses the same rule: raw = what the upstream sent, sent = what the model got."""
    import httpx

    from tests.support.served import http_client, mcprt_http

    with mcprt_http(write_project(tmp_path, OVERRIDES), "--no-reload") as up:
        async with http_client(up.url) as client:
            result = await client.call_tool("call_tool", {"name": "list_items", "arguments": {}})
            assert not result.is_error and json.loads(result.content[0].text) == ["apple", "pear"]  # type: ignore[union-attr]
        status = httpx.get(f"{up.base}/status.json", timeout=30).json()
        page = httpx.get(f"{up.base}/status", timeout=30).text
        metrics = httpx.get(f"{up.base}/metrics", timeout=30).text
    target = next(row for row in status["tools"] if row["name"] == "list_items")
    calls = {call["tool"]: call for call in status["recent"]}  # the call's own line, then the meta-tool's
    raw = len(json.dumps([{"name": "apple", "quantity": 3}, {"name": "pear", "quantity": 0}],
                         separators=(",", ":")))
    assert (target["bytes_raw"], target["bytes_sent"]) == (raw, len('["apple","pear"]'))
    for row in (calls["list_items"], calls["call_tool"]):
        assert (row["bytes_raw"], row["bytes_sent"]) == (target["bytes_raw"], target["bytes_sent"]), row
    # One call's saving counted once: the hour's bytes saved and the raw/sent counters summed over tools
    # counted the relayed `call_tool` event too (88 B saved for a 44 B saving).
    saved = target["bytes_raw"] - target["bytes_sent"]
    assert f"line: bytes saved ({saved} B in the hour)" in page
    # and one call, as the metrics count it: the hour's calls counted the relay's event too (2 for 1 call)
    assert "bars: calls per minute (1 in the hour)" in page
    for stage, figure in (("raw", target["bytes_raw"]), ("sent", target["bytes_sent"])):
        summed = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                     if line.startswith("mcprt_tool_result_bytes_total{") and f'stage="{stage}"' in line)
        assert summed == figure, (stage, metrics)
