"""The per-call log line's `status` says how a call ended when no HTTP status does: `rejected` for a
call refused before running (bad arguments), `upstream_error` for a function that timed out, `error`
for a function's own ToolCallError (a new-user trial saw `status=rejected` for both), through the
real `mcprt call`."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import mcprt_cli

TOOLS = '''
import time

from mcprt.errors import ToolCallError


def nap(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return "rested"


def pick(n: int) -> int:
    """Refuse big numbers with the tool's own message."""
    if n > 10:
        raise ToolCallError("please give a number up to 10")
    return n
'''


def test_the_log_line_tells_a_timeout_from_a_refusal(tmp_path: Path) -> None:
    (tmp_path / "nap_tools.py").write_text(TOOLS, encoding="utf-8")
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  t:\n    python: nap_tools\n    timeout: 200ms\n",
                                       encoding="utf-8")
    late = mcprt_cli("call", "mcp.yaml", "nap", "--args", '{"seconds": 1}', cwd=tmp_path)
    assert late.returncode == 1
    assert "nap did not finish within 0.2s" in late.stdout
    assert "call tool=nap source=t status=timeout" in late.stderr, late.stderr

    refused = mcprt_cli("call", "mcp.yaml", "nap", "--args", '{"seconds": "long"}', cwd=tmp_path)
    assert refused.returncode == 1
    assert "call tool=nap source=t status=rejected" in refused.stderr, refused.stderr


def test_a_functions_own_tool_call_error_is_its_answer_not_a_refusal(tmp_path: Path) -> None:
    """README: raise `mcprt.errors.ToolCallError` to send your own message as is. It is the tool's answer
    (outcome tool_error, status=error), not mcprt refusing the call (a trial saw status=rejected)."""
    (tmp_path / "nap_tools.py").write_text(TOOLS, encoding="utf-8")
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  t: {python: nap_tools}\n", encoding="utf-8")
    picked = mcprt_cli("call", "mcp.yaml", "pick", "--args", '{"n": 11}', cwd=tmp_path)
    assert picked.returncode == 1
    assert '"text": "please give a number up to 10"' in picked.stdout
    assert "call tool=pick source=t status=tool_error " in picked.stderr, picked.stderr
