"""Validation reports every problem in one pass: a schema error in one part no longer hides what the
later stages (opening sources, checking tool overrides) find in the valid parts. Real CLI."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.cli import mcprt_cli

TOOLS = 'def search(q: str) -> str:\n    """Search."""\n    return q\n'


def _project(tmp_path: Path, manifest: str) -> Path:
    (tmp_path / "tools_all_stages.py").write_text(TOOLS)
    path = tmp_path / "mcp.yaml"
    path.write_text(textwrap.dedent(manifest))
    return path


@pytest.mark.parametrize("offline", [(), ("--offline",)], ids=["online", "offline"])
def test_an_override_typo_is_reported_with_the_schema_errors(tmp_path: Path, offline: tuple[str, ...]) -> None:
    """`--offline` too (found by a new-user trial: `validate --offline`, what CI runs, stopped at the schema
    errors: its loader ran before the stage that checks the valid rest)."""
    manifest = _project(tmp_path, """\
        version: 1
        server: {name: v, bogus_key: 1}
        sources:
          a:
            python: tools_all_stages
            retries: many
          b:
            python: tools_all_stages
            prefix: b_
            tools:
              serch: {description: typo}
        """)
    done = mcprt_cli("validate", str(manifest), *offline)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert any(line.startswith(f"{manifest}:2:") and "unknown key 'bogus_key'" in line for line in lines), lines
    assert any(":6:5: sources.a: unknown key 'retries'" in line for line in lines), lines
    assert any(":11:" in line and "source 'b' has no operation 'serch' (did you mean 'search'?)" in line
               for line in lines), lines
    assert "3 errors" in done.stderr


def test_a_source_that_cannot_open_is_reported_with_the_schema_errors(tmp_path: Path) -> None:
    manifest = _project(tmp_path, """\
        version: 1
        defaults: {timeout: soon}
        sources:
          a:
            python: no_such_module_anywhere
          b:
            openapi: missing.json
        """)
    done = mcprt_cli("validate", str(manifest))
    assert done.returncode == 2
    assert "defaults.timeout" in done.stderr or ":2:" in done.stderr, done.stderr
    assert "no_such_module_anywhere" in done.stderr, done.stderr
    assert "missing.json" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_broken_version_still_stops_at_the_schema(tmp_path: Path) -> None:
    manifest = _project(tmp_path, """\
        version: 7
        sources:
          b:
            python: tools_all_stages
            tools:
              serch: {description: typo}
        """)
    done = mcprt_cli("validate", str(manifest))
    assert done.returncode == 2
    assert "version" in done.stderr and "serch" not in done.stderr


def test_a_schema_error_in_one_override_leaves_the_sources_other_overrides_checked(tmp_path: Path) -> None:
    """Found by a new-user trial: a misspelt key in one tool's override (`output_schma`) left the whole source
    out of the later stages, so a misspelt operation key in the same source's next override went unreported."""
    manifest = _project(tmp_path, """\
        version: 1
        sources:
          a:
            python: tools_all_stages
            tools:
              search: {description: fine, output_schma: false}
              serch: {description: typo}
        """)
    for offline in ((), ("--offline",)):
        done = mcprt_cli("validate", str(manifest), *offline)
        assert done.returncode == 2
        lines = done.stderr.splitlines()
        assert any(":6:" in line and "unknown key 'output_schma' (did you mean 'output_schema'?)" in line
                   for line in lines), lines
        assert any(":7:" in line and "source 'a' has no operation 'serch' (did you mean 'search'?)" in line
                   for line in lines), (offline, lines)
        assert "2 errors" in done.stderr, done.stderr

