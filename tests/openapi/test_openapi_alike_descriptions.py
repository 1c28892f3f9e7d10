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


def _compiled(manifest: Path) -> tuple[dict[str, str], list[str]]:
    async def compile_it() -> tuple[dict[str, str], list[str]]:
        runtime, compiled = await compile_once(manifest, Settings(cache_dir=manifest.parent / "cache"))
        try:
            return ({tool.name: tool.description for tool in compiled.toolset.listed},
                    [warning.message for warning in compiled.warnings])
        finally:
            await runtime.aclose()
    return asyncio.run(compile_it())


def test_the_added_method_and_path_keep_the_description_within_max_chars(tmp_path: Path) -> None:
    """The suffix pushed a description that fitted `descriptions.max_chars` past it: the prose is cut, the suffix
    (what tells the tools apart) stays."""
    prose = "Lists the things of the account. Each thing is returned with its owner and its history."
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
        f"/things/{kind}": {"get": {"operationId": f"list_{kind}", "description": prose,
                                    "responses": {"204": {"description": "ok"}}}} for kind in ("red", "blue")}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  s:\n    openapi: spec.json\n"
                                       "    base_url: http://127.0.0.1:9\n    descriptions: {max_chars: 90}\n")
    descriptions, _ = _compiled(tmp_path / "mcp.yaml")
    assert descriptions == {"list_red": "Lists the things of the account. (GET /things/red)",
                            "list_blue": "Lists the things of the account. (GET /things/blue)"}, descriptions


def test_the_warning_says_nothing_was_added_when_tools_have_no_method_and_path(tmp_path: Path) -> None:
    (tmp_path / "alike.py").write_text('def one() -> str:\n    """Does it."""\n    return "1"\n\n\n'
                                       'def two() -> str:\n    """Does it."""\n    return "2"\n')
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  py:\n    python: [alike:one, alike:two]\n")
    descriptions, warnings = _compiled(tmp_path / "mcp.yaml")
    assert set(descriptions.values()) == {"Does it."}, descriptions
    alike = [w for w in warnings if "same description" in w]
    assert alike == [f"tools '{next(iter(descriptions))}', '{list(descriptions)[1]}' have the same description, so "
                     "a model cannot tell them apart: nothing was added to it (they have no method and path); give each a "
                     "`description` that says how they differ"], warnings
