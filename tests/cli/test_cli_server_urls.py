"""Which server base `mcprt status`, `approvals`, `pause` and `resume` reach from the URL a user has at hand: the
server's base, its MCP endpoint (`/mcp` or a custom `server.http.path`) or its status page — under a proxy's path
prefix too (`server.public_url: https://gw.example.com/tools`).

Found: `mcprt status https://gw.example.com/tools` asked `https://gw.example.com/status.json` (a one-segment path
was taken for the MCP endpoint), outside the prefix the proxy forwards; then, with any path kept as a prefix,
`mcprt status http://h:p/rpc` (`server.http.path: /rpc`) asked `/rpc/status.json`, a 404. No URL tells a prefix
from a custom endpoint, so the candidates are asked for `/healthz` (`status_cmd.located_base`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mcprt.cli.policy_cmd import admin_base
from mcprt.cli.status_cmd import base_path, located_base
from tests.support.adder import adder_manifest
from tests.support.cli import mcprt_cli
from tests.support.served import mcprt_http

# the path left once a known tail is dropped: a prefix or a custom endpoint, which `located_base` then asks
CASES = [
    ("", ""), ("/", ""), ("/mcp", ""), ("/status", ""), ("/status.json/", ""),
    ("/tools", "/tools"), ("/tools/", "/tools"), ("/tools/mcp", "/tools"), ("/tools/status", "/tools"),
    ("/tools/status.json", "/tools"), ("/a/b", "/a/b"), ("/rpc", "/rpc"),
]


@pytest.mark.parametrize(("given", "left"), CASES)
def test_a_known_tail_is_dropped(given: str, left: str) -> None:
    assert base_path(given) == left


@contextmanager
def gateway(prefix: str) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 standing in for a gateway that serves a mcprt under `prefix` only: its
    `/healthz` answers 200 there, every other path 404 (the gateway's own root included)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            found = self.path == f"{prefix}/healthz"
            body = json.dumps({"status": "ok"} if found else {"error": "not found"}).encode()
            self.send_response(200 if found else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("tail", ["", "/", "/mcp", "/status", "/status.json"])
def test_a_prefix_is_kept(tail: str) -> None:
    with gateway("/tools") as origin:
        assert located_base(f"{origin}/tools{tail}") == f"{origin}/tools"
        assert admin_base(f"{origin}/tools{tail}")[0] == f"{origin}/tools"


@pytest.mark.parametrize("endpoint", ["/rpc", "/api/mcp", "/v1/tools/rpc"])
def test_a_custom_endpoint_path_finds_its_servers_base(endpoint: str, tmp_path: Path) -> None:
    manifest = adder_manifest(tmp_path)
    manifest.write_text(manifest.read_text() + f"server:\n  http: {{path: {endpoint}}}\n")
    with mcprt_http(manifest, "--no-reload") as up:
        given = up.base + endpoint
        assert located_base(given) == up.base and admin_base(given)[0] == up.base
        status = mcprt_cli("status", given, "--json")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["server"]["endpoint"] == given


def test_an_unreachable_server_is_reported_at_the_url_given(tmp_path: Path) -> None:
    """No candidate answers: the first is kept, and the command's own request says it cannot reach it."""
    with gateway("/elsewhere") as origin:
        assert located_base(f"{origin}/tools/mcp") == f"{origin}/tools"
    failed = mcprt_cli("status", "http://127.0.0.1:9/tools/mcp")
    assert failed.returncode == 2 and "cannot reach the server at http://127.0.0.1:9/tools/status.json" in failed.stderr
