"""Response shapes computed after the first tools/list (`compiler.PendingShapes`) are the shapes the
serial compile computes, and the compile-cache entry written after them holds them.

`mcprt up` over stdio compiles inside `cache.writes_deferred()`: the tools/list is answered before the
response shapes exist, and the deferred cache write fills them in first. Every corpus document and
GitHub's description are compiled that way here and compared with the digests the serial compile
pinned (`compile_digests.json`, see `test_openapi_compile_digests.py`): the tools/list text before
the flush, every tool's definition and shapes after it, and the warm compile from the entry written.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from openapi_support import CORPUS, SPECS, digest_manifest

from mcprt.errors import ManifestError
from mcprt.manifest.loader import load_manifest
from mcprt.pipeline import Runtime, compile_once
from mcprt.reload import reloader_for
from mcprt.reload.baseline import record_baseline
from mcprt.settings import Settings
from mcprt.sources.openapi.cache import writes_deferred
from mcprt.sources.openapi.loader import digests_recorded
from tests.support.github_spec import SpecUnavailable, github_spec_path

DIGESTS = Path(__file__).with_name("compile_digests.json")


def _digest(text: str, length: int = 64) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _per_tool(toolset: Any) -> dict[str, str]:
    """As the digest test computes it: each tool's definition and its two response shapes."""
    out = {}
    for tool in toolset.listed:
        shapes = [tool.operation.response_schema, tool.operation.default_response_schema]
        blob = json.dumps([tool.definition(), shapes], separators=(",", ":"), ensure_ascii=False)
        out[tool.name] = _digest(blob, 10)
    return out


def _deferred(manifest: Path, cache_dir: Path) -> dict[str, Any]:
    """Compile as `mcprt up` over stdio does: the list text before the flush, the tools after it."""
    settings = Settings(cache_dir=cache_dir)

    async def run() -> dict[str, Any]:
        with writes_deferred() as writes:
            try:
                runtime, compiled = await compile_once(manifest, settings, transport="stdio")
            except BaseException:
                writes.flush()
                raise
        try:
            text = compiled.toolset.list_result_json()
            pending = [t.name for t in compiled.toolset.listed if t.operation.response_schema is not None]
            writes.flush()
            return {"tools_list": _digest(text), "bytes": len(text.encode()),
                    "tools": _per_tool(compiled.toolset), "shaped_before_flush": pending}
        finally:
            await runtime.aclose()

    try:
        return asyncio.run(run())
    except ManifestError as exc:
        return {"error": str(exc).replace(str(manifest.parent), "<dir>")}


def _warm(manifest: Path, cache_dir: Path) -> dict[str, Any]:
    settings = Settings(cache_dir=cache_dir)

    async def run() -> dict[str, Any]:
        runtime, compiled = await compile_once(manifest, settings, transport="stdio")
        try:
            text = compiled.toolset.list_result_json()
            return {"tools_list": _digest(text), "bytes": len(text.encode()), "tools": _per_tool(compiled.toolset)}
        finally:
            await runtime.aclose()

    return asyncio.run(run())


def _check(case: str, found: dict[str, Any]) -> None:
    expected = json.loads(DIGESTS.read_text())[case]
    if "error" in expected or "error" in found:
        assert found == expected
        return
    assert (found["tools_list"], found["bytes"]) == (expected["tools_list"], expected["bytes"])
    changed = sorted(n for n in expected["tools"].keys() | found["tools"].keys()
                     if expected["tools"].get(n) != found["tools"].get(n))
    assert changed == [], f"{case}: shapes or definitions differ from the serial compile: {changed[:20]}"


@pytest.mark.parametrize("location", CORPUS)
def test_corpus_shapes_after_the_first_answer_equal_the_serial_ones(location: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCPRT_INCLUDE_PATHS", str(SPECS))  # petstore-separate $refs ../common (reach.py)
    manifest = digest_manifest(SPECS / location, tmp_path)
    found = _deferred(manifest, tmp_path / "cache")
    _check(f"corpus/{location}/brief", found)
    if "error" not in found:
        assert found["shaped_before_flush"] == []  # they really were left for later
        warm = _warm(manifest, tmp_path / "cache")
        assert {k: warm[k] for k in ("tools_list", "bytes", "tools")} == \
            {k: found[k] for k in ("tools_list", "bytes", "tools")}


def test_github_shapes_after_the_first_answer_equal_the_serial_ones(tmp_path: Path) -> None:
    try:
        github = github_spec_path()
    except SpecUnavailable as exc:
        pytest.skip(str(exc))
    manifest = digest_manifest(github, tmp_path)
    found = _deferred(manifest, tmp_path / "cache")
    assert len(found["tools"]) == 1223 and found["shaped_before_flush"] == []
    _check("github/brief", found)
    warm = _warm(manifest, tmp_path / "cache")
    assert warm == {k: found[k] for k in ("tools_list", "bytes", "tools")}


def test_a_tool_that_reads_shapes_at_build_gets_them_at_once(tmp_path: Path) -> None:
    """A `prune` is checked against the response shape when the tools are built: that source's
    shapes are computed in the compile, deferred writes or not (a wrong field is still an error)."""
    spec = tmp_path / "api.json"
    spec.write_text(json.dumps({
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
        "paths": {"/items": {"get": {"operationId": "list_items", "responses": {"200": {
            "description": "ok", "content": {"application/json": {"schema": {
                "type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "label": {"type": "string"}}}}}}}}}}},
    }))
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(
        "version: 1\nserver: {name: t}\nsources:\n  api:\n    openapi: api.json\n    base_url: http://127.0.0.1:9\n"
        "    tools:\n      list_items:\n        prune: '[].{id: id, text: lable}'\n"
    )
    settings = Settings(cache_dir=tmp_path / "cache")

    async def run() -> str:
        with writes_deferred() as writes:
            try:
                await compile_once(manifest, settings, transport="stdio")
            except ManifestError as exc:
                return str(exc)
            finally:
                writes.flush()
        return ""

    message = asyncio.run(run())
    assert "lable" in message and "label" in message  # the typo is an error at start, as without deferral


def test_a_file_only_a_response_references_is_cached_and_watched(tmp_path: Path) -> None:
    """A `$ref` that only a response schema reaches loads its file while the shapes are filled in:
    the cache entry records it (an edit to it is a cache miss, not stale shapes), the source lists
    it among its files, and the reloader takes it as it is then (its first sight is no edit)."""
    (tmp_path / "thing.json").write_text(json.dumps(
        {"type": "object", "properties": {"id": {"type": "integer"}, "label": {"type": "string"}}}))
    spec = tmp_path / "api.json"
    spec.write_text(json.dumps({
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
        "paths": {"/things/{id}": {"get": {
            "operationId": "get_thing",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {
                "schema": {"$ref": "thing.json"}}}}}}}},
    }))
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nserver: {name: t}\nsources:\n  api:\n    openapi: api.json\n"
                        "    base_url: http://127.0.0.1:9\n")
    settings = Settings(cache_dir=tmp_path / "cache")
    external = (tmp_path / "thing.json").resolve()

    async def cold() -> tuple[list[Path], list[Path], dict[str, Any] | None, bool, list]:
        runtime = Runtime(manifest, settings, "stdio")
        with writes_deferred() as writes, digests_recorded() as read:  # as `mcprt up` over stdio starts
            compiled = await runtime.start(load_manifest(manifest, transport="stdio"))
        try:
            source = runtime.pool.running["api"]
            before = [p.resolve() for p in source.local_files()]
            record_baseline(runtime, read)  # before the first answer, as `mcprt up` does
            writes.flush()  # after it: the pending shapes read thing.json
            after = [p.resolve() for p in source.local_files()]
            reloader = reloader_for(runtime)  # loaded after that, as `mcprt up` does (`_up_stdio`)
            tool = compiled.toolset.listed[0]
            requested: list[Any] = []
            reloader.request = lambda trigger, paths=None: requested.append((trigger, paths))  # type: ignore[method-assign]
            reloader.catch_up()
            quiet = not requested
            (tmp_path / "thing.json").write_text(json.dumps(
                {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}))
            reloader.catch_up()
            return before, after, tool.operation.response_schema, quiet, requested
        finally:
            await runtime.aclose()

    before, after, shape, quiet, edited = asyncio.run(cold())
    assert external not in before and external in after
    assert shape is not None and set(shape["properties"]) == {"id", "label"}
    assert quiet  # no reload for a file first seen after the baseline
    assert edited == [("files", {external})]  # a later edit to it is one
    (tmp_path / "thing.json").write_text(json.dumps(
        {"type": "object", "properties": {"id": {"type": "integer"}, "label": {"type": "string"}}}))

    async def warm_shape() -> dict[str, Any] | None:
        runtime, compiled = await compile_once(manifest, settings, transport="stdio")
        try:
            return compiled.toolset.listed[0].operation.response_schema
        finally:
            await runtime.aclose()

    assert asyncio.run(warm_shape()) == shape  # from the cache entry
    (tmp_path / "thing.json").write_text(json.dumps(
        {"type": "object", "properties": {"id": {"type": "integer"}, "title": {"type": "string"}}}))
    changed = asyncio.run(warm_shape())
    assert changed is not None and set(changed["properties"]) == {"id", "title"}  # the edit missed the cache
