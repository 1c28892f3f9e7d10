"""A Python source's results JSON or their own declared schema cannot carry, and prompt arguments the
JSON parser cannot read — over stdio with the SDK client against a real `mcprt up`:

- a NaN or infinity in a result is a tool error naming where it is (JSON has none: RFC 8259 §6); it
  went out as the invalid JSON text `Infinity`/`NaN` (a resource's value too: now a read error);
- a result that does not fit the return type that declared the tool's outputSchema (`-> dict[str,
  int]` returning `{"a": 1.5}`) is a tool error naming the mismatch; the SDK client raised
  "Invalid structured content returned by tool counts"; a value pydantic coerces to the type (`"2"`
  for an `int`) is sent as the type says; with `output_schema: false` no schema is declared and the
  result is sent as the function returned it;
- a prompt argument nested deeper than the JSON parser goes (`"[" * 200000`) is refused like any
  other bad argument (it was an unhandled RecursionError), and the server keeps serving.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.support.held_client import held
from tests.support.served import stdio_up, text_of

# One `mcprt up` over stdio for the module (its start is most of each test's cost): the tests only call
# stateless functions, read a resource and get a prompt, setting nothing on the session, so one session
# serves both; a refused call must leave the server serving, which the next test then sees too.
pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.xdist_group("test_sources_python_results_json")]

MODULE = '''
def ratio() -> float:
    """A ratio."""
    return float("inf")


def stats() -> dict:
    """Stats."""
    return {"mean": 1.0, "spread": [2.0, float("nan")]}


def stats_now() -> dict:
    """Stats now (the resource: a function the manifest names as a resource is no tool of the module)."""
    return stats()


def counts() -> dict[str, int]:
    """Counts, loosely computed."""
    return {"a": 1.5}


def coerced() -> dict[str, int]:
    """Counts as text."""
    return {"a": "2"}


def loose() -> dict[str, int]:
    """Counts, loosely computed, with the output schema turned off."""
    return {"a": 1.5}


def plan(tags: list[str]) -> str:
    """Plan for some tags."""
    return ", ".join(tags)
'''

MANIFEST = """\
version: 1
sources:
  s:
    python: results_tools
    tools: {loose: {output_schema: false}}
    resources:
      "stats://now": results_tools:stats_now
    prompts: [results_tools:plan]
"""


def _served(folder: Path) -> Client:
    (folder / "results_tools.py").write_text(MODULE)
    (folder / "mcp.yaml").write_text(MANIFEST)
    return Client(stdio_up(folder / "mcp.yaml"), mode="legacy")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    async with held(_served(tmp_path_factory.mktemp("results-json"))) as served:
        yield served


async def test_results_json_or_their_schema_cannot_carry_are_tool_errors(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert tools["counts"].output_schema is not None
    ratio = await client.call_tool("ratio", {})
    assert ratio.is_error and text_of(ratio) == (
        "the function returned result = inf, which JSON cannot carry (no NaN or Infinity in JSON, "
        "RFC 8259 §6); return None or a string for it instead")
    stats = await client.call_tool("stats", {})
    assert stats.is_error and text_of(stats).startswith("the function returned result['spread'][1] = nan,")
    counts = await client.call_tool("counts", {})
    assert counts.is_error and text_of(counts) == (
        "the function returned a dict that does not fit its declared return type (the tool's outputSchema): "
        "a: Input should be a valid integer, got a number with a fractional part")
    coerced = await client.call_tool("coerced", {})
    assert not coerced.is_error and coerced.structured_content == {"a": 2}
    # `output_schema: false` declares no schema, so nothing holds the result to the return type (it did)
    assert tools["loose"].output_schema is None
    loose = await client.call_tool("loose", {})
    assert not loose.is_error and text_of(loose) == '{"a":1.5}', text_of(loose)
    with pytest.raises(MCPError) as refused:  # a resource's value is serialized as a tool result is
        await client.read_resource("stats://now")
    assert str(refused.value).startswith(  # naming the resource, as a prompt's error names the prompt
        "resource 'stats://now' (results_tools:stats_now): the function returned result['spread'][1] = nan,")


async def test_a_prompt_argument_nested_too_deep_is_refused_and_the_server_keeps_serving(client: Client) -> None:
    with pytest.raises(MCPError) as refused:
        await client.get_prompt("plan", {"tags": "[" * 200_000})
    assert str(refused.value) == ("invalid arguments for prompt 'plan' (results_tools:plan): "
                                  "tags: Input should be a valid list")
    got = await client.get_prompt("plan", {"tags": '["a", "b"]'})
    assert got.messages[0].content.text == "a, b"  # type: ignore[union-attr]
