"""What a new user meets first, through the real CLI: a busy port, no manifest, a mistyped tool name."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import pytest

from tests.support.cli import mcprt_process

TOOLS = '''
from pathlib import Path

Path(__file__).with_name("imported.marker").write_text("the source was opened")


def get_note(note_id: int) -> dict:
    """Read one note."""
    return {"id": note_id}


def add_note(title: str) -> dict:
    """Add a note."""
    return {"title": title}


def search_notes(query: str) -> list[dict]:
    """Search notes."""
    return []
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "first_tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(textwrap.dedent("""\
        version: 1
        sources:
          notes:
            python: first_tools
        """))
    return manifest


def test_up_on_a_busy_port_says_so_first_and_alone(project: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = mcprt_process("up", str(project), "--transport", "http", "--port", str(port), "--no-reload",
                        cwd=project.parent, timeout=120, forked=True)
    assert run.returncode == 2, run.stderr
    assert run.stderr.splitlines() == [
        f"error: port {port} on 127.0.0.1 is in use (another server listens there): stop it, or serve on another "
        "port with --port (0 picks a free one)"]
    assert not (project.parent / "imported.marker").exists()  # refused before any source was opened
    assert run.stdout == ""


def test_up_without_a_manifest_names_the_missing_file_and_how_to_create_one(tmp_path: Path) -> None:
    run = mcprt_process("up", "notes/mcp.yaml", cwd=tmp_path, forked=True)
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        f"error: notes/mcp.yaml does not exist (looked for {tmp_path.resolve() / 'notes' / 'mcp.yaml'}). Create one "
        "with `mcprt init --openapi SPEC --out notes/mcp.yaml` (from an API description) or `mcprt catalog init "
        "NAME` (a ready-made one)"]
    assert ":1:1" not in run.stderr


def _said(stderr: str, command: str, tool: str) -> list[str]:
    """stderr's lines but the call log line: a one-shot `mcprt call` is accounted for as a served call is
    (`mcprt.oneshot`), so a name no tool has writes its call line (status `unknown_tool`) beside the error;
    `mcprt show` calls nothing and writes none."""
    lines = stderr.splitlines()
    calls = [line for line in lines if " mcprt: call tool=" in line]
    if command == "call":
        assert len(calls) == 1 and f"tool={tool} " in calls[0] and "status=unknown_tool" in calls[0], lines
    else:
        assert calls == [], lines
    return [line for line in lines if line not in calls]


@pytest.mark.parametrize("command", ["show", "call"])
def test_an_unknown_tool_gets_only_close_suggestions(project: Path, command: str) -> None:
    typo = mcprt_process(command, str(project), "get_nte", cwd=project.parent, forked=True)
    assert typo.returncode == 2
    # `add_note` and `search_notes` share `_note` (difflib 0.53): not close enough to suggest
    assert _said(typo.stderr, command, "get_nte") == ["error: unknown tool 'get_nte'; did you mean 'get_note'?"]

    unlike = mcprt_process(command, str(project), "delete_everything", cwd=project.parent, forked=True)
    assert unlike.returncode == 2
    assert _said(unlike.stderr, command, "delete_everything") == [
        f"error: unknown tool 'delete_everything'; `mcprt tools {project}` lists the tools"]


@pytest.mark.parametrize("command", ["show", "call"])
def test_an_unknown_tool_in_discovery_mode_points_at_search_not_at_the_listing(project: Path, command: str) -> None:
    """Found by a later pass: in discovery mode `mcprt tools` lists only the meta-tools, so "`mcprt tools`
    lists the tools" sent a person to a list without the tool they looked for."""
    project.write_text(project.read_text().replace("version: 1\n", "version: 1\nserver: {expose: discovery}\n"))
    unlike = mcprt_process(command, str(project), "delete_everything", cwd=project.parent, forked=True)
    assert unlike.returncode == 2
    assert _said(unlike.stderr, command, "delete_everything") == [
        f"error: unknown tool 'delete_everything'; `mcprt tools {project}` lists the meta-tools of discovery mode "
        f"and counts the other tools, which `search_tools` finds (e.g. `mcprt call {project} search_tools --args "
        "'{\"query\": \"...\"}'`)"]
