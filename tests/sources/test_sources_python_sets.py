"""A `python:` tool's `set`/`frozenset` parameters take an array with repeated items, as pydantic does.

pydantic describes a set as `{"type": "array", "uniqueItems": true}`, but its validation builds the set
from `["a", "a"]`; the published input schema drops `uniqueItems` for sets (at any depth), so mcprt's
argument check no longer refuses what the function would take. Driven over stdio by the SDK client
against a real `mcprt up`.
"""

from __future__ import annotations

import json
from pathlib import Path

from mcp import Client, StdioServerParameters

from tests.support.served import child_env, launch_command

MODULE = '''
from pydantic import BaseModel


class Filter(BaseModel):
    labels: frozenset[str]


def tag(tags: set[str], filter: Filter | None = None, ids: list[int] | None = None) -> dict:
    """Sorted distinct tags (and labels)."""
    return {"tags": sorted(tags), "labels": sorted(filter.labels) if filter else [],
            "kinds": [type(tags).__name__, type(filter.labels).__name__ if filter else None]}


def pick(choices: frozenset[int]) -> list[int]:
    """Sorted distinct choices."""
    return sorted(choices)
'''


def _params(folder: Path) -> StdioServerParameters:
    (folder / "set_tools.py").write_text(MODULE)
    (folder / "mcp.yaml").write_text("version: 1\nsources:\n  s:\n    python: set_tools\n")
    command = launch_command(folder / "mcp.yaml")
    return StdioServerParameters(command=command[0], args=command[1:], env=child_env(), cwd=str(folder))


def _text(result) -> str:  # type: ignore[no-untyped-def]
    return "".join(getattr(block, "text", "") for block in result.content)


async def test_repeated_items_reach_a_set_parameter(tmp_path: Path) -> None:
    async with Client(_params(tmp_path), mode="legacy") as client:
        result = await client.call_tool("tag", {"tags": ["b", "a", "a"], "filter": {"labels": ["x", "x"]}})
        assert not result.is_error, _text(result)
        assert json.loads(_text(result)) == {"tags": ["a", "b"], "labels": ["x"], "kinds": ["set", "frozenset"]}

        picked = await client.call_tool("pick", {"choices": [3, 1, 3]})
        assert not picked.is_error, _text(picked)
        assert json.loads(_text(picked)) == [1, 3]

        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        schema = json.dumps(tools["tag"].input_schema)
        assert "uniqueItems" not in schema and "uniqueItems" not in json.dumps(tools["pick"].input_schema)
        assert tools["tag"].input_schema["properties"]["tags"]["type"] == "array"

        wrong = await client.call_tool("tag", {"tags": ["a", 1]})  # the item type is still checked
        assert wrong.is_error and "tags" in _text(wrong)
