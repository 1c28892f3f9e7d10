"""Tools a model cannot tell apart, or whose names clients may refuse.

Tools of one source that end up with one description get what tells them apart (method and path), and a warning (an error under `validate --strict`) asks for better descriptions.

Found by a new-user trial: readme's `parameters-common` gave `get_anything`, `get_anything_2` and
`get_anything_3` the one description "[get] Summary. [get] Description."; a model cannot choose among them.
Compiled in-process (no server: what is checked is the tools/list the compile gives)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from openapi_support import SPECS

from mcprt.pipeline import compile_once
from mcprt.settings import Settings


def test_alike_descriptions_get_method_and_path_and_a_warning(tmp_path: Path) -> None:
    (tmp_path / "mcp.yaml").write_text(
        f"version: 1\nsources:\n  common:\n    openapi: {SPECS / 'readme/3.0/parameters-common.json'}\n"
        "    base_url: http://127.0.0.1:9\n")

    async def compile_it() -> tuple[dict[str, str], list[str]]:
        runtime, compiled = await compile_once(tmp_path / "mcp.yaml", Settings(cache_dir=tmp_path / "cache"))
        try:
            return ({tool.name: tool.description for tool in compiled.toolset.listed},
                    [warning.message for warning in compiled.warnings])
        finally:
            await runtime.aclose()

    descriptions, warnings = asyncio.run(compile_it())
    # (`init` names them `get_anything`, `_2`, `_3`; without an operationId the name is method and path)
    assert descriptions["get_anything_id"] == "[get] Summary. [get] Description. (GET /anything/{id})"
    assert descriptions["get_anything_id_action"] == "[get] Summary. [get] Description. (GET /anything/{id}/{action})"
    assert descriptions["get_anything_id_action_id"].endswith("(GET /anything/{id}/{action}/{id})")
    assert descriptions["post_anything_id"] == "[post] Summary. [post] Description."  # unique: left as it was
    assert len(set(descriptions.values())) == len(descriptions)
    assert ("tools 'get_anything_id', 'get_anything_id_action', 'get_anything_id_action_id' have the same description, so a model "
            "cannot tell them apart: their method and path were added to it; give each a `description` that says "
            "how they differ") in warnings, warnings


def test_names_longer_than_the_practical_bound_are_a_warning(tmp_path: Path) -> None:
    """MCP allows 64 characters, but clients prefix the server's name (Claude Code: `mcp__<server>__`): a
    49-character name is a warning naming the override that fixes it; 48 is not."""
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
        "/a": {"get": {"operationId": "a" * 49, "responses": {"204": {"description": "ok"}}}},
        "/b": {"get": {"operationId": "b" * 48, "responses": {"204": {"description": "ok"}}}}}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  long:\n    openapi: spec.json\n"
                                       "    base_url: http://127.0.0.1:9\n")

    async def compile_it() -> list[str]:
        runtime, compiled = await compile_once(tmp_path / "mcp.yaml", Settings(cache_dir=tmp_path / "cache"))
        await runtime.aclose()
        return [warning.message for warning in compiled.warnings]

    warnings = [w for w in asyncio.run(compile_it()) if "longer than" in w]
    assert warnings == [
        f"1 tool name(s) longer than 48 characters: '{'a' * 49}' (49); clients prefix the server's name (Claude "
        "Code: `mcp__<server>__`) and many cap the whole at 64, so such a tool may be renamed or refused: give it a "
        "shorter `name:` under `tools:`"], warnings
