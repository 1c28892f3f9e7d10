"""`mcprt record` / `mcprt test` on a `python:` source, through the real CLI: a function that raises is
the tool's own answer and is recorded like any other (a new-user trial was told "the call failed
before reaching upstream"), while a call mcprt refuses (bad arguments) records nothing."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import mcprt_cli

TOOLS = '''
def greet(name: str) -> str:
    """Greet someone."""
    return f"hello {name}"


def boom(message: str = "bad thing") -> str:
    """Always raises."""
    raise ValueError(message)
'''


def test_a_raising_function_is_recorded_and_replayed_and_a_refused_call_is_not(tmp_path: Path) -> None:
    (tmp_path / "rec_tools.py").write_text(TOOLS, encoding="utf-8")
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  t: {python: rec_tools}\n", encoding="utf-8")

    raised = mcprt_cli("record", "mcp.yaml", "boom", "--args", '{"message": "no luck"}', cwd=tmp_path)
    assert raised.returncode == 0, raised.stderr
    assert "recorded boom/" in raised.stdout
    assert "the tool answered with an error; the case records it: ValueError: no luck" in raised.stderr
    [snapshot] = (tmp_path / "cases" / "__snapshots__" / "boom").iterdir()
    text = snapshot.read_text(encoding="utf-8")
    assert "isError: true" in text and "ValueError: no luck" in text

    refused = mcprt_cli("record", "mcp.yaml", "greet", "--args", '{"nme": "x"}', cwd=tmp_path)
    assert refused.returncode == 2
    assert "nothing recorded: the call failed before reaching upstream" in refused.stderr
    assert "unknown argument 'nme' (did you mean 'name'?)" in refused.stderr
    assert not (tmp_path / "cases" / "greet").exists()

    replayed = mcprt_cli("test", "mcp.yaml", cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "1 passed, 0 failed" in replayed.stdout
    assert "Traceback" not in raised.stderr + refused.stderr + replayed.stderr


COUNTING = '''
from pathlib import Path


def bump(label: str) -> str:
    """Count the calls in calls.txt beside this module."""
    calls = Path(__file__).with_name("calls.txt")
    calls.write_text(calls.read_text() + label + "\\n" if calls.exists() else label + "\\n")
    return f"bumped {label}"
'''


def test_recording_a_python_tool_calls_it_once_and_its_snapshot_passes(tmp_path: Path) -> None:
    # `mcprt record` used to replay the new case to write its snapshot, which ran the function a second time
    # (two side effects, two audit records); the snapshot now comes from the one live call.
    (tmp_path / "count_tools.py").write_text(COUNTING, encoding="utf-8")
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  t: {python: count_tools}\n", encoding="utf-8")

    recorded = mcprt_cli("record", "mcp.yaml", "bump", "--args", '{"label": "first"}', cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stderr
    assert (tmp_path / "calls.txt").read_text(encoding="utf-8") == "first\n"
    [snapshot] = (tmp_path / "cases" / "__snapshots__" / "bump").iterdir()
    assert "bumped first" in snapshot.read_text(encoding="utf-8")

    replayed = mcprt_cli("test", "mcp.yaml", cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "1 passed, 0 failed" in replayed.stdout
    # `mcprt test` calls a python case live, once
    assert (tmp_path / "calls.txt").read_text(encoding="utf-8") == "first\nfirst\n"
