"""HTTP transport answers that name what was wrong and claim nothing that does not exist.

Found by a later pass, through `mcprt up --transport http` and raw HTTP:
- a handshake-era session's request whose `MCP-Protocol-Version` header is not a version that era
  knows was answered with the 2026-07-28 envelope message ("params._meta must be an object …"): the
  SDK routes any unknown header value to the stateless era. MCP 2025-06-18, Transports, "Protocol
  Version Header": an invalid or unsupported version gets 400; the answer names the header, the
  value and the supported versions (an `initialize` with such a header too);
- a 400 (or 406) answer to a request that opened no session (no `Mcp-Session-Id`, not a successful
  `initialize`) carried an `Mcp-Session-Id` header naming the session the SDK had just discarded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from tests.support.everything import command_source, write_manifest
from tests.support.served import UpProcess, mcprt_http

HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "raw", "version": "1"}}}


pytestmark = pytest.mark.xdist_group("test_server_http_answers")  # one started server per run, not one per worker


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    manifest = write_manifest(tmp_path_factory.mktemp("http-answers"), command_source("everything"))
    with mcprt_http(manifest, "--no-reload", startup_timeout=60) as served:
        yield served


def _session(url: str) -> str:
    opened = httpx.post(url, json=INITIALIZE, headers=HEADERS)
    assert opened.status_code == 200, opened.text
    session = opened.headers["mcp-session-id"]
    done = httpx.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                      headers={**HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18"})
    assert done.status_code == 202, done.text
    return session


def test_a_bad_protocol_version_header_on_a_session_is_named(up: UpProcess) -> None:
    session = _session(up.url)
    for value in ("1999-01-01", "2026-07-28", "x" * 300):
        answer = httpx.post(up.url, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                            headers={**HEADERS, "mcp-session-id": session, "mcp-protocol-version": value})
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["code"] == -32600
        message = error["message"]
        assert "MCP-Protocol-Version" in message and ", ".join(HANDSHAKE_PROTOCOL_VERSIONS) in message, message
        assert value[:64] in message and len(message) < 400, message  # a hostile value is shortened
        assert error["data"]["supported"] == list(HANDSHAKE_PROTOCOL_VERSIONS)
    # the session is unharmed: with its version the next request is served
    listed = httpx.post(up.url, json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"},
                        headers={**HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18"})
    assert listed.status_code == 200 and "tools" in listed.text, listed.text


def test_an_initialize_with_a_bad_protocol_version_header_is_told_so(up: UpProcess) -> None:
    """2026-07-28 has no initialize: one with a version header the handshake era does not know was answered
    with the 2026-07-28 envelope message too."""
    answer = httpx.post(up.url, json=INITIALIZE, headers={**HEADERS, "mcp-protocol-version": "1999-01-01"})
    assert answer.status_code == 400 and "mcp-session-id" not in answer.headers, answer.text
    reply = answer.json()
    assert reply["id"] == 1 and reply["error"]["code"] == -32600
    assert reply["error"]["message"] == (
        "Bad Request: unsupported protocol version '1999-01-01' in the MCP-Protocol-Version header; an initialize "
        f"asks for one of {', '.join(HANDSHAKE_PROTOCOL_VERSIONS)} (MCP 2025-06-18, Transports, Protocol Version "
        "Header)")
    # a 2026-07-28 request still gets the SDK's own checks (here: its envelope is missing)
    modern = httpx.post(up.url, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                        headers={**HEADERS, "mcp-protocol-version": "2026-07-28"})
    assert modern.status_code == 400 and "params._meta" in modern.json()["error"]["message"], modern.text


@pytest.mark.parametrize(("name", "body", "extra", "status"), [
    ("a request before initialize", {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, {}, 400),
    ("a notification before initialize", {"jsonrpc": "2.0", "method": "notifications/initialized"}, {}, 400),
    ("not JSON", b"{not json", {}, 400),
    ("not JSON-RPC", {"foo": 1}, {}, 400),
    ("a batch", [INITIALIZE], {}, 400),
    ("an initialize the client cannot read", INITIALIZE, {"accept": "text/plain"}, 406),
])
def test_a_refused_opening_request_names_no_session(up: UpProcess, name: str, body: object,
                                                   extra: dict[str, str], status: int) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = httpx.post(up.url, content=content, headers={**HEADERS, **extra})
    assert answer.status_code == status, (name, answer.text)
    assert "mcp-session-id" not in answer.headers, (name, answer.headers)
    # an initialize that succeeds still names its session
    assert httpx.post(up.url, json=INITIALIZE, headers=HEADERS).headers.get("mcp-session-id")


def test_a_stateless_initialize_with_a_bad_protocol_version_header_is_told_so(tmp_path) -> None:
    """Found by review: with `--stateless` the check was not installed, so a handshake-era initialize (a
    stateless server still answers one) with an unknown header got the 2026-07-28 envelope message."""
    manifest = write_manifest(tmp_path, command_source("everything"))
    with mcprt_http(manifest, "--no-reload", "--stateless", startup_timeout=60) as served:
        answer = httpx.post(served.url, json=INITIALIZE, headers={**HEADERS, "mcp-protocol-version": "1999-01-01"})
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["message"].startswith(
            "Bad Request: unsupported protocol version '1999-01-01' in the MCP-Protocol-Version header; an "
            "initialize asks for one of "), answer.text
        # with a known version it is served, and a 2026-07-28 request still gets the SDK's own checks
        opened = httpx.post(served.url, json=INITIALIZE, headers={**HEADERS, "mcp-protocol-version": "2025-06-18"})
        assert opened.status_code == 200 and "serverInfo" in opened.text, opened.text
        modern = httpx.post(served.url, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                            headers={**HEADERS, "mcp-protocol-version": "2026-07-28"})
        assert modern.status_code == 400 and "params._meta" in modern.json()["error"]["message"], modern.text


def test_an_initialize_under_the_2026_header_is_that_versions_removed_method(up: UpProcess) -> None:
    """Found by the 0.2 conformance suite (sep-2575-http-server-method-not-found-404-initialize): the version
    check took an `initialize` under `MCP-Protocol-Version: 2026-07-28` for an unknown version (400 / -32600);
    2026-07-28 removed `initialize`, and a removed method gets 404 / -32601 (SEP-2575)."""
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"}}
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"_meta": meta}}
    answer = httpx.post(up.url, json=body, headers={**HEADERS, "mcp-protocol-version": "2026-07-28",
                                                    "mcp-method": "initialize"})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == -32601, answer.text
