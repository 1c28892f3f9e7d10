"""Long work shows progress: plain stderr lines when stderr is not a terminal (rich bars on one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcprt.cli.common import counted

from tests.support.cli import mcprt_cli


def big_spec(operations: int) -> dict:
    paths = {f"/things{i}/{{id}}": {"get": {
        "operationId": f"getThing{i}", "summary": f"Thing {i}.",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok"}}}} for i in range(operations)}
    return {"openapi": "3.1.0", "info": {"title": "Big", "version": "1"}, "paths": paths}


def test_compiling_a_big_description_reports_progress_in_plain_lines(tmp_path: Path) -> None:
    (tmp_path / "big.json").write_text(json.dumps(big_spec(400)))
    (tmp_path / "mcp.yaml").write_text(
        "version: 1\nsources:\n  big:\n    openapi: big.json\n    base_url: http://127.0.0.1:9\n")
    done = mcprt_cli("tools", str(tmp_path / "mcp.yaml"), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["tools"]) == 400  # stdout stays the exact tools/list result
    lines = [line for line in done.stderr.splitlines() if line.startswith("compiling ")]
    assert [line.rsplit(" ", 1)[1] for line in lines] == ["100/400", "200/400", "300/400", "400/400"]
    assert "big.json: operations" in lines[0]


def test_small_descriptions_print_no_progress(tmp_path: Path) -> None:
    (tmp_path / "small.json").write_text(json.dumps(big_spec(20)))
    (tmp_path / "mcp.yaml").write_text(
        "version: 1\nsources:\n  small:\n    openapi: small.json\n    base_url: http://127.0.0.1:9\n")
    done = mcprt_cli("tools", str(tmp_path / "mcp.yaml"), cwd=tmp_path)
    assert done.returncode == 0 and "compiling" not in done.stderr


def test_counted_steps_print_about_every_tenth_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with counted("testing cases", 40) as advance:
        for i in range(40):
            advance(f"case-{i}")
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"testing cases: {n}/40" for n in range(4, 41, 4)]
    with counted("testing cases", 5) as advance:  # a few steps: no noise
        for i in range(5):
            advance(f"case-{i}")
    assert capsys.readouterr().err == ""
