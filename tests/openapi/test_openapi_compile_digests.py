"""What the compiler produces stays byte-identical while the compile is made faster.

For every corpus document (three description styles), every catalog entry (as `mcprt tools --offline`
compiles it) and GitHub's full description (three styles, cold and warm compile cache), the exact
`mcprt tools --json` text and every tool's response shapes are reduced to digests and compared with
`compile_digests.json`: the whole tools/list text per case, and one digest per tool, so a failure
names the tools whose definition or shapes changed.

A change that is *meant* to change the output (a new compaction rule, a fixed conversion) updates
the file on purpose, and the diff shows which cases and tools it touched:

    MCPRT_UPDATE_COMPILE_DIGESTS=1 .venv/bin/python -m pytest -q -p no:randomly tests/openapi/test_openapi_compile_digests.py
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_support import CORPUS, SPECS, digest_manifest

from mcprt.errors import ManifestError
from mcprt.pipeline import compile_once
from mcprt.settings import Settings
from mcprt.testing.overrides import load_for_replay
from tests.support.github_spec import SpecUnavailable, github_spec_path

REPO = Path(__file__).resolve().parents[2]
CATALOG = REPO / "catalog"
ENTRIES = sorted(p.name for p in CATALOG.iterdir() if (p / "mcp.yaml").is_file())
DIGESTS = Path(__file__).with_name("compile_digests.json")
STYLES = ("brief", "summary", "full")
UPDATE = os.environ.get("MCPRT_UPDATE_COMPILE_DIGESTS") == "1"
_found: dict[str, Any] = {}


def _digest(text: str, length: int = 64) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _summary(tools_json: str, toolset: Any) -> dict[str, Any]:
    """The tools/list text's digest and, per tool, a digest of its definition and response shapes."""
    per_tool = {}
    for tool in toolset.listed:
        shapes = [tool.operation.response_schema, tool.operation.default_response_schema]
        blob = json.dumps([tool.definition(), shapes], separators=(",", ":"), ensure_ascii=False)
        per_tool[tool.name] = _digest(blob, 10)
    return {"tools_list": _digest(tools_json), "bytes": len(tools_json.encode()), "tools": per_tool}


def _compile(manifest: Path, cache_dir: Path, *, offline: bool = False) -> dict[str, Any]:
    settings = Settings(cache_dir=cache_dir, offline=offline)

    async def run() -> dict[str, Any]:
        load = (lambda s: load_for_replay(manifest, None, s)) if offline else None
        runtime, compiled = await compile_once(manifest, settings, load)
        try:
            return _summary(compiled.toolset.list_result_json(), compiled.toolset)
        finally:
            await runtime.aclose()

    try:
        return asyncio.run(run())
    except ManifestError as exc:  # a corpus document that is meant not to compile: its message is pinned
        return {"error": str(exc).replace(str(manifest.parent), "<dir>")}


def _expected(case: str) -> dict[str, Any] | None:
    if not DIGESTS.exists():
        return None
    return json.loads(DIGESTS.read_text()).get(case)


def _check(case: str, found: dict[str, Any]) -> None:
    """Compare with the pinned digests (or record them under MCPRT_UPDATE_COMPILE_DIGESTS=1)."""
    _found[case] = found
    if UPDATE:
        return
    expected = _expected(case)
    assert expected is not None, f"{case}: no pinned digests; run with MCPRT_UPDATE_COMPILE_DIGESTS=1 to record them"
    if "error" in expected or "error" in found:
        assert found == expected
        return
    changed = sorted(name for name in expected["tools"].keys() | found["tools"].keys()
                     if expected["tools"].get(name) != found["tools"].get(name))
    assert changed == [], f"{case}: {len(changed)} tools changed (definition or response shapes): {changed[:20]}"
    assert (found["tools_list"], found["bytes"]) == (expected["tools_list"], expected["bytes"]), (
        f"{case}: the tools/list text changed although every tool's definition is the same (order or envelope)")


@pytest.fixture(scope="module", autouse=True)
def record_when_updating() -> Any:
    yield
    if UPDATE and _found:
        pinned = json.loads(DIGESTS.read_text()) if DIGESTS.exists() else {}
        pinned.update(_found)
        lines = [f"{json.dumps(case)}: {json.dumps(value, separators=(',', ':'), sort_keys=True)}"
                 for case, value in sorted(pinned.items())]
        DIGESTS.write_text("{\n" + ",\n".join(lines) + "\n}\n")  # one line per case: diffs name the case


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("location", CORPUS)
def test_corpus_output_is_unchanged(location: str, style: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The corpus lives outside the temporary manifest's folder: its split descriptions' `$ref`s may
    # reach their neighbours only through MCPRT_INCLUDE_PATHS (reach.py), as an operator's would.
    monkeypatch.setenv("MCPRT_INCLUDE_PATHS", str(SPECS))
    manifest = digest_manifest(SPECS / location, tmp_path, style)
    _check(f"corpus/{location}/{style}", _compile(manifest, tmp_path / "cache"))


@pytest.mark.parametrize("entry", ENTRIES)
def test_catalog_output_is_unchanged(entry: str, tmp_path: Path) -> None:
    manifest = CATALOG / entry / "mcp.yaml"
    cold = _compile(manifest, tmp_path / "cache", offline=True)
    _check(f"catalog/{entry}", cold)
    assert _compile(manifest, tmp_path / "cache", offline=True) == cold  # from the compile cache


@pytest.fixture(scope="module")
def github() -> Path:
    try:
        return github_spec_path()
    except SpecUnavailable as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("style", STYLES)
def test_github_output_is_unchanged(github: Path, style: str, tmp_path: Path) -> None:
    manifest = digest_manifest(github, tmp_path, style)
    cold = _compile(manifest, tmp_path / "cache")
    assert len(cold["tools"]) == 1223
    _check(f"github/{style}", cold)
    assert _compile(manifest, tmp_path / "cache") == cold  # the warm start lists the same bytes


def test_cli_prints_the_pinned_tools_list(github: Path, tmp_path: Path) -> None:
    """`mcprt tools --json` itself (a real process, the CLI's fast paths included), cold then warm."""
    manifest = digest_manifest(github, tmp_path, "brief")
    env = {**os.environ, "MCPRT_CACHE_DIR": str(tmp_path / "cache")}
    expected = _expected("github/brief")
    for _ in ("cold", "warm"):
        out = subprocess.run([sys.executable, "-m", "mcprt", "tools", str(manifest), "--json"], env=env,
                             capture_output=True, timeout=300, check=True).stdout
        assert out.endswith(b"\n")
        if not UPDATE:
            assert expected is not None
            assert (_digest(out[:-1].decode()), len(out) - 1) == (expected["tools_list"], expected["bytes"])
