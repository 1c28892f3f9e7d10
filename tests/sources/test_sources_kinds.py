"""The source-kind seam (issue 14): every registered kind satisfies the `SourceKind` contract (an
interface guard), one filter serves every kind, and criteria a kind cannot honour are manifest errors.

Fault examples from the issue, each with its right value:
- `include: {tags: [...]}` on a `python:` source selected every function → `mcprt validate` exits 2
  with `file:line:col:` at the `tags` key (real CLI subprocess);
- editing `include` of a `command:` source restarted its subprocess → the reload keeps the same
  process (same pid from the real subprocess server) and only the listing changes.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from sources_support import MCP_SERVER, call, json_of, running, script_command, write_manifest

from mcprt.contracts import OperationMeta
from mcprt.errors import ManifestError
from mcprt.manifest.model import SOURCE_KINDS, SOURCE_MODELS, OperationFilter, SourceBase
from mcprt.pipeline import Runtime
from mcprt.reload import reloader_for
from mcprt.settings import Settings
from mcprt.sources.base import RunningSource, SourceContext
from mcprt.sources.filters import selected
from mcprt.sources.kind import SourceKind, kind_of

from tests.support.cli import mcprt_cli

FILTER_CRITERIA = set(OperationFilter.model_fields)


@pytest.mark.parametrize("key", SOURCE_KINDS)
def test_every_registered_kind_satisfies_the_contract(key: str) -> None:
    """Interface guard: a registered model resolves to a SourceKind that fits it."""
    model = SOURCE_MODELS[key]
    assert issubclass(model, SourceBase) and model.kind_key == key
    kind = kind_of(model.model_construct())
    assert isinstance(kind, SourceKind)
    assert kind.key == key and kind.model is model
    assert kind.criteria and set(kind.criteria) <= FILTER_CRITERIA, kind.criteria
    assert "operations" in kind.criteria  # every kind's operations have names
    assert set(kind.build_only) <= set(model.model_fields), set(kind.build_only) - set(model.model_fields)
    assert {"tools", "prefix", "expose", "timeout"} <= set(kind.build_only)
    # its opener is its own, an async function taking a SourceContext
    assert type(kind).open is not SourceKind.open, f"{key}: open() not implemented"
    assert inspect.iscoroutinefunction(kind.open)
    assert list(inspect.signature(kind.open).parameters) == ["ctx"]
    # the same instance every time (one object per kind)
    assert kind_of(model.model_construct()) is kind


def test_the_running_source_protocol_names_what_the_pool_and_reload_use() -> None:
    members = {name for name in dir(RunningSource) if not name.startswith("_")}
    assert {"operations", "local_files", "aclose"} <= members
    assert set(SourceContext.__dataclass_fields__) >= {"name", "config", "base_dir", "settings", "defaults"}


def test_one_filter_reads_typed_metadata() -> None:
    meta = OperationMeta(summary="List pets", tags=("Pets",), method="GET", path="/pets", operation_id="listPets")
    include = OperationFilter(tags=["pets"], methods=["get"])
    assert selected(include, None, "listPets", "listPets", meta)
    assert not selected(include, OperationFilter(paths=["/pe*"]), "listPets", "listPets", meta)
    assert selected(OperationFilter(operations=["list*"]), None, "GET /pets", "list_pets", meta)
    assert not selected(OperationFilter(deprecated=True), None, "k", "k", meta)


def _typed_tools_project(folder: Path, include: str) -> Path:
    (folder / "typed_tools.py").write_text((Path(__file__).parent / "fixtures" / "typed_tools.py").read_text())
    return write_manifest(folder, f"""
        version: 1
        sources:
          notes:
            python: typed_tools
            include: {include}
    """)


async def test_python_source_operations_glob_still_selects(tmp_path: Path) -> None:
    manifest = _typed_tools_project(tmp_path, "{operations: [add, 'search_*']}")
    async with running(manifest) as (_, compiled):
        assert sorted(compiled.toolset.tools) == ["add", "search_notes"]


async def test_tags_on_a_python_source_is_an_error_not_every_function(tmp_path: Path) -> None:
    manifest = _typed_tools_project(tmp_path, "{tags: [notes]}")
    with pytest.raises(ManifestError) as caught:
        async with running(manifest):
            pass
    [diagnostic] = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert (Path(diagnostic.file).name, diagnostic.line, diagnostic.col) == ("mcp.yaml", 5, 15)  # the `tags` key inside `include: {tags: [notes]}`
    assert "`include.tags` cannot select operations of a `python:` source" in diagnostic.message
    assert "supports `operations`" in diagnostic.message


def test_cli_validate_rejects_tags_on_a_python_source(tmp_path: Path) -> None:
    _typed_tools_project(tmp_path, "\n              tags: [notes]")
    result = mcprt_cli("validate", "mcp.yaml", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0].startswith("mcp.yaml:6:7: `include.tags` cannot select operations of a "
                                                    "`python:` source"), result.stderr
    assert result.stderr.splitlines()[-1] == "1 error"


def _command_manifest(folder: Path, include: dict | None) -> Path:
    source: dict = {"command": script_command(MCP_SERVER), "cwd": "."}
    if include is not None:
        source["include"] = include
    return write_manifest(folder, json.dumps({"version": 1, "sources": {"fx": source}}, indent=2))


async def test_editing_include_of_a_command_source_keeps_its_subprocess(tmp_path: Path) -> None:
    manifest = _command_manifest(tmp_path, {"operations": ["whoami", "echo", "add"]})
    runtime = Runtime(manifest, Settings(cache_dir=tmp_path / "cache"))
    await runtime.start()
    try:
        reloader = reloader_for(runtime)
        assert sorted(runtime.holder.current.tools) == ["add", "echo", "whoami"]
        source = runtime.pool.running["fx"]
        pid = json_of(await call(SimpleNamespace(toolset=runtime.holder.current), "whoami"))["pid"]

        _command_manifest(tmp_path, {"operations": ["whoami"]})
        outcome = await reloader.reload()

        assert outcome.ok, outcome.errors
        assert outcome.reused == ["fx"] and outcome.opened == []
        assert outcome.changes.removed == ["add", "echo"]
        assert runtime.pool.running["fx"] is source
        assert json_of(await call(SimpleNamespace(toolset=runtime.holder.current), "whoami"))["pid"] == pid  # the same subprocess answers

        _command_manifest(tmp_path, None)  # dropping the filter brings every tool back, still no restart
        outcome = await reloader.reload()
        assert outcome.ok and outcome.reused == ["fx"], outcome
        assert {"add", "echo", "whoami", "items_list"} <= set(runtime.holder.current.tools)
        assert json_of(await call(SimpleNamespace(toolset=runtime.holder.current), "whoami"))["pid"] == pid
    finally:
        await runtime.aclose()


async def test_a_command_source_rejects_paths_at_their_line(tmp_path: Path) -> None:
    manifest = _command_manifest(tmp_path, {"paths": ["/x"]})
    with pytest.raises(ManifestError) as caught:
        async with running(manifest):
            pass
    [diagnostic] = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert "`include.paths` cannot select operations of a `command:` source" in diagnostic.message
    paths_line = next(n for n, line in enumerate(manifest.read_text().splitlines(), 1) if '"paths"' in line)
    assert (diagnostic.line, diagnostic.col) == (paths_line, 9), diagnostic  # the "paths" key
