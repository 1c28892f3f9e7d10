"""Every operator command (`status`, `approvals`, `pause`, `resume`) is pointed at a running server
the same way, `--url URL` (or MCPRT_URL).

Found by an operator trial: `mcprt status` took its server only as an argument, yet when it could not
reach one it advised "Point at it with --url URL", and `mcprt status --url …` failed with
"No such option: --url" (Typer's usage error)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.support.cli import mcprt_cli
from tests.support.served import mcprt_http

MANIFEST = """\
version: 1
sources:
  tools:
    python: op_tools
"""
TOOLS = '''\
__all__ = ["echo"]


def echo(text: str) -> str:
    """Say it back."""
    return text
'''


def test_status_takes_url_as_the_other_operator_commands_do(tmp_path: Path) -> None:
    (tmp_path / "op_tools.py").write_text(TOOLS)
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    with socket.socket() as holder:  # bound, never listening: a connect is refused
        holder.bind(("127.0.0.1", 0))
        refusing = f"http://127.0.0.1:{holder.getsockname()[1]}"
        unreachable = mcprt_cli("status", "--url", refusing)
    assert unreachable.returncode == 2 and "No such option" not in unreachable.stderr, unreachable.stderr
    assert f"cannot reach the server at {refusing}/status.json" in unreachable.stderr, unreachable.stderr
    assert "Point at it with --url URL" in unreachable.stderr and "Traceback" not in unreachable.stderr
    with mcprt_http(tmp_path / "mcp.yaml", "--no-reload") as up:
        via_option = mcprt_cli("status", "--url", up.url, "--json")
        assert via_option.returncode == 0, via_option.stderr
        assert "echo" in json.dumps(json.loads(via_option.stdout))
        both = mcprt_cli("status", up.url, "--url", up.url, "--json")  # the same server twice is fine
        assert both.returncode == 0, both.stderr
        clash = mcprt_cli("status", up.url, "--url", refusing)
        assert clash.returncode == 2 and "two servers given" in clash.stderr, clash.stderr
