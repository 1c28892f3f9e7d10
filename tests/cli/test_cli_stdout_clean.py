"""A Python source's own output never lands on a command's stdout, whatever the mode: `mcprt show` and
`mcprt validate` in text mode printed a module's import-time `print()` there as their first line (a trial
p21 "stdio"), while `call`, `show --json` and `tools --json` sent it to stderr."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import mcprt_process

MODULE = 'print("noisy imported (print at import)")\n\n\ndef add(a: int, b: int) -> int:\n    """Add."""\n    return a + b\n'


@pytest.mark.parametrize("command", [("show", "add"), ("validate",), ("show", "--json", "add"), ("tools",)])
def test_a_modules_import_print_goes_to_stderr(tmp_path: Path, command: tuple[str, ...]) -> None:
    (tmp_path / "noisy.py").write_text(MODULE)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nserver:\n  name: noisy\nsources:\n  py:\n    python: noisy\n")
    verb, *rest = command
    done = mcprt_process(verb, str(manifest), *rest, cwd=Path("/"))  # from `/`, as a host or a script runs it
    assert done.returncode == 0, done.stderr
    assert "noisy imported" not in done.stdout and "noisy imported (print at import)" in done.stderr, done
    if verb in ("show", "tools"):
        assert "add" in done.stdout
