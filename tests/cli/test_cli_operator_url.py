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


def test_a_malformed_server_url_is_bad_input_for_every_command_that_takes_one(tmp_path: Path) -> None:
    """Found by the same trial: `mcprt status http://[::1` (and approvals, pause, resume) ended in
    "internal error: ValueError: Invalid IPv6 URL", exit 1; `status ftp://x` tried to connect and
    advised starting the server there; `call --url` said "UnsupportedProtocol"; and `approvals --url
    host:8765` was refused while `status host:8765` was taken. One check now serves all five."""
    commands = (("status", "{url}"), ("approvals", "list", "--url", "{url}"), ("pause", "echo", "--url", "{url}"),
                ("resume", "echo", "--url", "{url}"), ("call", "--url", "{url}", "echo"))
    cases = {"http://[::1": "is not a valid URL (Invalid IPv6 URL)", "ftp://x/mcp": "is not an http(s) URL",
             "http://127.0.0.1:99999": "is not a valid URL (Port out of range", "http://": "names no host"}
    for url, said in cases.items():
        for command in commands:
            done = mcprt_cli(*(part.format(url=url) for part in command))
            assert done.returncode == 2, (command, url, done.stdout, done.stderr)
            assert f"error: {url} {said}" in done.stderr and "internal error" not in done.stderr, done.stderr
    from_env = mcprt_cli("approvals", "list", env={"MCPRT_URL": "http://[::1"})
    assert from_env.returncode == 2 and "MCPRT_URL=http://[::1 is not a valid URL" in from_env.stderr, from_env.stderr
    (tmp_path / "op_tools.py").write_text(TOOLS)
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    with mcprt_http(tmp_path / "mcp.yaml", "--no-reload") as up:
        bare = up.base.removeprefix("http://")  # host:port, as `mcprt status host:8765` always took it
        listed = mcprt_cli("approvals", "list", "--url", bare, "--json")
        assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed.stderr
        called = mcprt_cli("call", "--url", f"{bare}/mcp", "echo", "--args", '{"text": "hi"}')
        assert called.returncode == 0 and '"hi"' in called.stdout, called.stderr
