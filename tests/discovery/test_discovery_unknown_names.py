"""Where an unknown tool name's message sends a person in discovery mode: to the search meta-tool by its
name (whatever the server named it and whatever extra tools come before it), not to a listing without it."""

from __future__ import annotations

import asyncio
import dataclasses
import textwrap
from pathlib import Path

from mcprt.cli.call_cmd import unknown_tool
from mcprt.policy.http import unknown_target
from mcprt.toolset.toolset import ToolSet
from tests.cli.test_cli_first_steps import TOOLS


def _compiled(tmp_path: Path, expose: str) -> ToolSet:
    from mcprt.cli.common import compile_once

    (tmp_path / "first_tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(textwrap.dedent(f"""\
        version: 1
        server: {{expose: {expose}}}
        sources:
          notes:
            python: first_tools
        """))

    async def compile_it() -> ToolSet:
        runtime, compiled = await compile_once(manifest)
        await runtime.aclose()
        return compiled.toolset

    return asyncio.run(compile_it())


def test_the_hint_names_the_search_meta_tool_after_other_extra_tools(tmp_path: Path) -> None:
    """Found by review: `mcprt call`'s hint took the first extra tool for the search one, but the
    meta-tools come after any extra tool the toolset already had."""
    served = _compiled(tmp_path, "discovery")
    note = served.tools["get_note"]
    other = dataclasses.replace(note, name="pinned_note")
    toolset = ToolSet(list(served), extra=[other, *served.extra.values()])
    message = str(unknown_tool(toolset, None, "delete_everything"))
    assert "which `search_tools` finds (e.g. `mcprt call search_tools --args" in message, message
    assert "pinned_note" not in message


def test_pausing_an_unknown_tool_in_discovery_mode_does_not_send_to_the_listing(tmp_path: Path) -> None:
    """Found by review: the kill switch's refusal of an unknown tool said "`mcprt tools` lists the tools it
    serves", which in discovery mode lists only the meta-tools."""
    served = _compiled(tmp_path, "discovery")
    assert unknown_target(served.tools, "tool:delete_everything") == (
        "nothing paused: this server has no tool 'delete_everything'; `mcprt tools` lists the meta-tools of "
        "discovery mode and counts the tools it serves, which its search meta-tool finds")
    listed = _compiled(tmp_path, "tools")
    assert unknown_target(listed.tools, "tool:delete_everything", paused=False) == (
        "nothing resumed: this server has no tool 'delete_everything'; `mcprt tools` lists the tools it serves")
