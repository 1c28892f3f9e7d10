"""Helpers for the OpenAPI compiler tests: the corpus and compile-by-name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcprt.manifest.model import Defaults, OpenAPISource
from mcprt.sources.openapi import CompiledOpenAPI, CompiledOperation, compile_openapi, document_from_bytes, load_document

_REPO_ROOT = Path(__file__).resolve().parents[2]

SPECS = _REPO_ROOT / "tests" / "fixtures" / "specs"

# Every root document of the corpus (files only referenced by others are not roots).
CORPUS = sorted(
    str(p.relative_to(SPECS))
    for p in SPECS.rglob("*")
    if p.suffix in (".json", ".yaml", ".yml")
    and not any(part in ("common", "paths", "schemas") for part in p.relative_to(SPECS).parts)
    and p.name not in ("Pet.json", "NewPet.json", "parameters.json")
)


def compile_spec(location: str, **config: Any) -> CompiledOpenAPI:
    """Compile a corpus document (path relative to tests/fixtures/specs)."""
    doc = load_document(location, SPECS, None)
    return compile_openapi(doc, OpenAPISource(openapi=location, **config), Defaults(), cache_dir=None)


def compile_inline(spec: dict[str, Any] | str, **config: Any) -> CompiledOpenAPI:
    """Compile a document given in the test (for rules no corpus document happens to show)."""
    raw = spec.encode() if isinstance(spec, str) else json.dumps(spec).encode()
    doc = document_from_bytes(raw, "inline.json" if not isinstance(spec, str) else "inline.yaml")
    return compile_openapi(doc, OpenAPISource(openapi="inline", **config), Defaults(), cache_dir=None)


def by_name(compiled: CompiledOpenAPI) -> dict[str, CompiledOperation]:
    return {op.operation.name: op for op in compiled.operations}


def by_key(compiled: CompiledOpenAPI) -> dict[str, CompiledOperation]:
    return {op.operation.key: op for op in compiled.operations}


def digest_manifest(spec: Path, tmp: Path, style: str = "brief") -> Path:
    """`tmp/mcp.yaml` serving `spec` as one source, descriptions in `style`: the manifest the compile digests
    (`test_openapi_compile_digests.py`) were pinned with."""
    manifest = tmp / "mcp.yaml"
    manifest.write_text(
        "version: 1\n"
        "server: {name: digests}\n"
        f"defaults: {{descriptions: {{style: {style}}}}}\n"
        "sources:\n"
        "  api:\n"
        f"    openapi: {json.dumps(str(spec))}\n"
        "    base_url: http://127.0.0.1:9\n"
    )
    return manifest
