"""The sweep: every document of tests/fixtures/specs (and GitHub's full REST description, when it can
be had) compiled through a real manifest, and every tool called twice — with arguments generated
from its input schema and with hostile ones (nulls, reserved characters, huge numbers) — against a
catch-all upstream on 127.0.0.1. No call may end in "internal error": a bad schema, pattern or
argument is a tool error the model can act on, never a crash.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from openapi_support import CORPUS, SPECS

from mcprt.cli.common import compile_once
from mcprt.toolset.invoke import call_tool
from tests.support.catchall import catch_all
from tests.support.github_spec import SpecUnavailable, github_spec_path
from tests.support.schema_values import example, hostile


def _manifest(folder: Path, documents: list[Path], base: str) -> Path:
    lines = ["version: 1", "server: {name: sweep}", "sources:"]
    for i, document in enumerate(documents):
        lines.append(f"  s{i}: {{openapi: '{document}', base_url: '{base}', prefix: s{i}_}}")
    path = folder / "mcp.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def _sweep(manifest: Path) -> tuple[int, int, list[str]]:
    runtime, compiled = await compile_once(manifest)
    calls = accepted = 0
    crashes: list[str] = []
    try:
        for tool in compiled.toolset:
            for arguments in (example(tool.input_schema), hostile(tool.input_schema)):
                result = await call_tool(tool, arguments)
                calls += 1
                accepted += not result.is_error
                text = " ".join(str(c.get("text", "")) for c in result.content)
                if "internal error" in text:
                    crashes.append(f"{tool.name} {arguments!r}: {text}")
    finally:
        await runtime.aclose()
    return calls, accepted, crashes


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, documents: list[Path]) -> tuple[int, int, list[str]]:
    monkeypatch.setenv("MCPRT_CACHE_DIR", str(tmp_path / "cache"))
    with catch_all() as upstream:
        return asyncio.run(_sweep(_manifest(tmp_path, documents, upstream.base)))


@pytest.mark.slow
def test_every_tool_of_the_corpus_survives_generated_and_hostile_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.perf_counter()
    monkeypatch.setenv("MCPRT_INCLUDE_PATHS", str(SPECS))  # petstore-separate $refs ../common (reach.py)
    calls, accepted, crashes = _run(tmp_path, monkeypatch, [SPECS / location for location in CORPUS])
    assert crashes == []
    assert calls > 1000  # every tool of ~40 documents, twice
    assert accepted > calls // 3  # the generated arguments mostly pass the check and reach the upstream
    assert time.perf_counter() - started < 120  # a bound on hangs, not a speed target


@pytest.mark.slow
def test_every_tool_of_githubs_full_description_survives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        spec = github_spec_path()
    except SpecUnavailable as exc:
        pytest.skip(str(exc))
    calls, accepted, crashes = _run(tmp_path, monkeypatch, [spec])
    assert crashes == []
    assert calls == 2 * 1223
    assert accepted > calls // 3
