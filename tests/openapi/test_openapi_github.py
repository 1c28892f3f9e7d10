"""GitHub's full REST description (1,223 operations).

Taken from MCPRT_GITHUB_SPEC, else fetched once with npm into bench/.cache/ (gitignored) by
tests.support.github_spec; skipped with the reason when neither works. Speed is measured by
tests/openapi/bench_github.py, never here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.support.github_spec import SpecUnavailable, github_spec_path

from mcprt.manifest.model import Defaults, OpenAPISource
from mcprt.sources.openapi import CompiledOpenAPI, compile_openapi, load_document

REPO = Path(__file__).resolve().parents[2]
TOOLS_LIST_LIMIT = 1_200_000


pytestmark = pytest.mark.xdist_group("test_openapi_github")  # one compile of GitHub's description per run, not one per worker


@pytest.fixture(scope="module")
def spec_path() -> Path:
    if os.environ.get("MCPRT_GITHUB_SPEC"):
        return Path(os.environ["MCPRT_GITHUB_SPEC"])
    try:
        return github_spec_path()
    except SpecUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def github_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gh-cache")


@pytest.fixture(scope="module")
def github(spec_path: Path, github_cache: Path) -> CompiledOpenAPI:
    """The module's one cold compile, into `github_cache` (which the warm-cache test then reads)."""
    doc = load_document(str(spec_path), REPO, github_cache)
    return compile_openapi(doc, OpenAPISource(openapi=str(spec_path)), Defaults(), cache_dir=github_cache)


def tools_list_bytes(compiled: CompiledOpenAPI) -> int:
    tools = [
        {"name": t.name, "description": t.description, "inputSchema": t.input_schema, "annotations": t.annotations}
        for t in (op.operation for op in compiled.operations)
    ]
    return len(json.dumps({"tools": tools}, separators=(",", ":"), ensure_ascii=False).encode())


def test_github_tools_list_fits_the_budget(github: CompiledOpenAPI) -> None:
    assert len(github.operations) == 1223
    size = tools_list_bytes(github)
    assert size <= TOOLS_LIST_LIMIT, f"tools/list is {size} bytes"
    names = [op.operation.name for op in github.operations]
    assert len(set(names)) == len(names)
    assert github.warnings == []


def test_github_schemas_are_valid(github: CompiledOpenAPI) -> None:
    for op in github.operations:
        Draft202012Validator.check_schema(op.operation.input_schema)


def test_github_warm_cache_gives_the_same_tools(github: CompiledOpenAPI, spec_path: Path, github_cache: Path) -> None:
    assert not github.from_cache  # the module's compile was the cold one, and wrote the cache read here
    config = OpenAPISource(openapi=str(spec_path))
    warm = compile_openapi(load_document(str(spec_path), REPO, github_cache), config, Defaults(),
                           cache_dir=github_cache)
    assert warm.from_cache
    assert tools_list_bytes(warm) == tools_list_bytes(github)
