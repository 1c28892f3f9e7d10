"""`validate --strict` counts every warning, those a "… and N more warnings of this kind" line stands for too.

A trial's `init` manifest had 34 warnings of one kind (5 printed, "… and 29 more"), and `--strict` said
"6 warnings treated as errors": the printed lines were counted. Through a real `python -m mcprt`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import mcprt_process

OPERATIONS = 8  # one kind of warning each: 5 printed, then "… and 3 more warnings of this kind"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    ok = {"200": {"description": "ok", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}}}}}
    spec = {"openapi": "3.0.3", "info": {"title": "Things", "version": "1"}, "servers": [{"url": "http://127.0.0.1:9"}],
            "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}}},
            "paths": {f"/things{i}": {"get": {"operationId": f"listThings{i}", "security": [{"key": []}],
                                              "responses": ok}} for i in range(OPERATIONS)}}
    (tmp_path / "api.json").write_text(json.dumps(spec))
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  t:\n    openapi: api.json\n")
    return tmp_path


def test_strict_counts_the_warnings_a_summary_line_stands_for(folder: Path) -> None:
    done = mcprt_process("validate", "--strict", "mcp.yaml", cwd=folder, forked=True)
    assert done.returncode == 2, done.stderr
    assert "mcp.yaml:4:14: source 't': … and 3 more warnings of this kind" in done.stderr
    assert f"mcp.yaml: {OPERATIONS} warnings treated as errors (--strict)" in done.stderr, done.stderr


def test_the_error_count_beside_a_compile_error_counts_them_too(folder: Path) -> None:
    (folder / "mcp.yaml").write_text("version: 1\nsources:\n  t:\n    openapi: api.json\n    tools:\n      listThings0:\n"
                                     "        prune: '{id: id, nmae: nmae}'\n")
    strict = mcprt_process("validate", "--strict", "mcp.yaml", cwd=folder, forked=True)
    assert strict.returncode == 2
    assert "mcp.yaml:7:32: prune: field 'nmae' cannot exist here" in strict.stderr
    assert strict.stderr.rstrip().endswith(f"\n{OPERATIONS + 1} errors"), strict.stderr
    relaxed = mcprt_process("validate", "mcp.yaml", cwd=folder, forked=True)  # the warnings stay warnings: one error
    assert relaxed.returncode == 2 and relaxed.stderr.rstrip().endswith("\n1 error"), relaxed.stderr
