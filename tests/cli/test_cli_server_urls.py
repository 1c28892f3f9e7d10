"""Which URL `mcprt status`, `approvals`, `pause` and `resume` reach from the URL a user has at hand: the server's
base, its MCP endpoint or its status page — under a proxy's path prefix too (`server.public_url:
https://gw.example.com/tools`). `mcprt status https://gw.example.com/tools` asked `https://gw.example.com/status.json`
(a one-segment path was taken for the MCP endpoint), outside the prefix the proxy forwards."""

from __future__ import annotations

import pytest

from mcprt.cli.policy_cmd import admin_base
from mcprt.cli.status_cmd import status_url

CASES = [
    ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
    ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
    ("http://127.0.0.1:8765/mcp", "http://127.0.0.1:8765"),
    ("http://127.0.0.1:8765/status", "http://127.0.0.1:8765"),
    ("https://gw.example.com/tools", "https://gw.example.com/tools"),
    ("https://gw.example.com/tools/", "https://gw.example.com/tools"),
    ("https://gw.example.com/tools/mcp", "https://gw.example.com/tools"),
    ("https://gw.example.com/tools/status", "https://gw.example.com/tools"),
    ("https://gw.example.com/tools/status.json", "https://gw.example.com/tools"),
    ("https://gw.example.com/a/b", "https://gw.example.com/a/b"),
]


@pytest.mark.parametrize(("given", "base"), CASES)
def test_status_and_admin_commands_keep_a_path_prefix(given: str, base: str) -> None:
    assert status_url(given) == f"{base}/status.json"
    assert admin_base(given)[0] == base
