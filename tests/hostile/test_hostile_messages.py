"""Small messages a pentest trial found wrong, each through a real `mcprt up`.

- Refusing to serve on 0.0.0.0 without authentication suggested YAML with backslash-escaped quotes
  (`bearer_tokens: [\\"${MCPRT_TOKEN}\\"]`): its `"` and `=` made the text log line a quoted logfmt field.
- An upstream answering with 500 header fields (valid HTTP; curl reads it) was "upstream sent a malformed
  HTTP response": the cause is more header fields than mcprt reads, and the message now says so and the limit.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

from mcp import Client
from mcp.client.stdio import stdio_client

from mcprt.outbound.transport import MAX_HEADER_FIELDS
from tests.hostile.hostile_support import run_cli
from tests.support.held_client import held
from tests.support.served import child_env, stdio_up, text_of
from tests.support.upstream import read_request_head, serve_tcp

SPEC = {"openapi": "3.0.3", "info": {"title": "h", "version": "1"}, "paths": {"/fields/{n}": {"get": {
    "operationId": "fields", "parameters": [{"name": "n", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "a response with n header fields"}}}}}}


def test_the_no_auth_refusal_suggests_yaml_that_can_be_copied(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nserver:\n  http: {host: 0.0.0.0}\nsources:\n  a:\n    openapi: spec.json\n"
                        "    base_url: http://127.0.0.1:9\n")
    run = run_cli("up", "mcp.yaml", "--transport", "http", "--port", "0", cwd=tmp_path)
    assert run.returncode != 0 and "refusing to serve on 0.0.0.0 without authentication" in run.stderr, run.stderr
    assert "\\" not in run.stderr and 'msg="' not in run.stderr, run.stderr
    suggested = run.stderr.split("Add `", 1)[1].split("`", 1)[0]
    assert suggested == "server.auth.bearer_tokens: ['${MCPRT_TOKEN}']"
    # what it suggests works as written
    value = suggested.partition(": ")[2]
    manifest.write_text(manifest.read_text().replace("  http: {host: 0.0.0.0}\n",
                                                     f"  http: {{host: 0.0.0.0}}\n  auth: {{bearer_tokens: {value}}}\n"))
    checked = run_cli("validate", "mcp.yaml", cwd=tmp_path,
                      env=child_env(MCPRT_TOKEN="a-long-enough-token-1234"))
    assert checked.returncode == 0, checked.stderr


async def test_too_many_header_fields_are_named_with_the_limit(tmp_path: Path) -> None:
    def handler(conn: socket.socket) -> None:
        count = int(read_request_head(conn).split(b" ")[1].rsplit(b"/", 1)[1])
        fields = b"".join(b"X-Field-%d: v\r\n" % i for i in range(count))
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n" + fields +
                     b"\r\n{\"ok\":true}")
        conn.close()

    with serve_tcp(handler) as (host, port):
        (tmp_path / "spec.json").write_text(json.dumps(SPEC))
        (tmp_path / "mcp.yaml").write_text(f"version: 1\nsources:\n  a:\n    openapi: spec.json\n"
                                           f"    base_url: http://{host}:{port}\n")
        log = tmp_path / "server.log"
        with open(log, "w") as errlog:
            opening = Client(stdio_client(stdio_up(tmp_path / "mcp.yaml"), errlog=errlog), mode="legacy")  # type: ignore[arg-type]
            async with held(opening) as client:
                fine = await client.call_tool("fields", {"n": 100})
                assert not fine.is_error and json.loads(text_of(fine)) == {"ok": True}, fine
                many = await client.call_tool("fields", {"n": 500})
                assert many.is_error
                assert text_of(many) == (f"upstream sent too many header fields (limit {MAX_HEADER_FIELDS}); the "
                                         f"response was not read (GET {host}:{port}/fields/500)"), text_of(many)
                assert not (await client.call_tool("fields", {"n": 3})).is_error  # and keeps serving
    # the operator's log line says why too; its `reason` holds no path (it may hold an argument's value), and
    # the call's error text beside it (`error_message`) has argument values taken out by `scrubbing.given`
    (line,) = [line for line in log.read_text().splitlines() if "status=upstream_error" in line]
    assert f'reason="upstream sent too many header fields (limit {MAX_HEADER_FIELDS}); the response was not read"' \
        in line, line
