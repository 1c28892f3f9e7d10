"""A reload that changes a server setting `mcprt up` read once at start says the setting needs a restart.

Found by an operator trial: moving the audit log (`server.observability.audit`) in a hot-reloaded
manifest was applied without a word, and the records kept going to the old file; the warning named
only server.name/instructions/http/auth. `state` and `public_url` were as silent."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.support.served import http_client, mcprt_http

TOOLS = '__all__ = ["echo"]\n\n\ndef echo(text: str) -> str:\n    """Say it back."""\n    return text\n'
MANIFEST = """\
version: 1
server:
  observability: {{audit: {audit}}}
  public_url: {public_url}
sources:
  tools:
    python: restart_tools
"""


async def test_startup_only_server_settings_are_named_on_reload(tmp_path: Path) -> None:
    (tmp_path / "restart_tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(MANIFEST.format(audit="first.jsonl", public_url="https://mcp.example.com"))
    with mcprt_http(manifest, "--no-reload") as up:
        manifest.write_text(MANIFEST.format(audit="second.jsonl", public_url="https://tools.example.com"))
        up.signal(signal.SIGHUP)
        log = up.wait_log("apply only after a restart")
        (line,) = [entry for entry in log.splitlines() if "apply only after a restart" in entry]
        assert line.endswith("keys=server.observability,server.public_url"), line
        async with http_client(up.url) as client:  # the running server still writes where it started
            assert not (await client.call_tool("echo", {"text": "hi"})).is_error
        assert up.stop() == 0
    assert [json.loads(r)["tool"] for r in (tmp_path / "first.jsonl").read_text().splitlines()] == ["echo"]
    assert not (tmp_path / "second.jsonl").exists()
