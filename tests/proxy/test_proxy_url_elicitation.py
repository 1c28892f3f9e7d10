"""A 2026-07-28-only upstream's URL-mode elicitation reaches a 2025-11-25 client as that era defines it.

MCP 2026-07-28 removed `elicitationId` from URL-mode `elicitation/create` (and the
`notifications/elicitation/complete` that named it); MCP 2025-11-25 requires it (schema
`ElicitRequestURLParams.elicitationId`). Relayed as the upstream wrote it, the older client refused the
request ("Invalid request parameters") and the tool call failed. The upstream is `modern_url_server.py`
(refuses `initialize`), the client the SDK's in `legacy` mode (handshake, 2025-11-25), over stdio."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters

from tests.support.modern_client import META
from tests.support.raw_stdio import RawStdio
from tests.support.served import child_env, launch_command, text_of
from tests.support.shared_up import ShareUps, shared_ups
from tests.support.zygote import script_command_yaml

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

SERVER = Path(__file__).with_name("modern_url_server.py")


def _manifest(folder: Path, mode: str = "url") -> Path:
    """The manifest proxying `modern_url_server.py`, asking in `mode` ("url" or "form")."""
    manifest = folder / "mcp.yaml"
    manifest.write_text(f"version: 1\nsources:\n  modern:\n    command: {script_command_yaml(SERVER, mode)}\n",
                        encoding="utf-8")
    return manifest


def _params(folder: Path) -> StdioServerParameters:
    manifest = _manifest(folder)
    command = launch_command(manifest, "--no-reload")
    return StdioServerParameters(command=command[0], args=command[1:], env=child_env(), cwd=str(folder))


async def test_url_elicitation_of_a_2026_upstream_reaches_a_2025_client_with_an_elicitation_id(tmp_path: Path) -> None:
    asked: list[Any] = []

    async def on_elicit(context: Any, params: Any) -> types.ElicitResult:
        asked.append(params)
        return types.ElicitResult(action="accept")

    async with Client(_params(tmp_path), mode="legacy", elicitation_callback=on_elicit) as client:  # type: ignore[arg-type]
        with anyio.fail_after(60):
            assert client.protocol_version == "2025-11-25"
            first = await client.call_tool("connect", {})
            second = await client.call_tool("connect", {})

    assert first.is_error is False, text_of(first)
    assert text_of(first) == "login: accept"  # the client's answer reached the upstream's retry
    assert text_of(second) == "login: accept"
    assert [(p.mode, p.url, p.message) for p in asked] == [("url", "https://auth.example/connect?state=abc",
                                                           "Sign in to continue")] * 2
    ids = [p.elicitation_id for p in asked]
    assert all(isinstance(i, str) and i for i in ids), ids
    assert ids[0] != ids[1]  # unique within mcprt's session (MCP 2025-11-25: unique within the server)


def test_url_elicitation_is_refused_to_a_client_that_declared_form_mode_only(tmp_path: Path) -> None:
    """An `elicitation: {}` capability means form mode only (MCP 2025-11-25 client/elicitation
    "Capabilities"), and a server must not send a mode the client does not support: the call ends in the
    upstream's JSON-RPC error naming the URL mode, and no `elicitation/create` reaches the client."""
    text = _handshake_call_refused(tmp_path, "url", {})
    assert "does not support URL-mode elicitation" in text and "https://auth.example/connect" in text, text


def test_form_elicitation_is_refused_to_a_handshake_client_that_declared_url_mode_only(tmp_path: Path) -> None:
    """`elicitation: {"url": {}}` declares URL mode and not form mode (MCP 2025-11-25 client/elicitation
    "Capabilities"): a form-mode question is refused as a URL-mode one is to a form-only client. Before,
    the form reached that client unchanged."""
    text = _handshake_call_refused(tmp_path, "form", {"url": {}})
    assert "does not support form-mode elicitation" in text and "Who are you?" in text, text


def _handshake_call_refused(folder: Path, mode: str, elicitation: dict[str, Any]) -> str:
    """A raw 2025-11-25 client declaring `elicitation` calls `connect` (asking in `mode`) over stdio: no
    `elicitation/create` reaches it, and the call ends in the upstream's JSON-RPC error, whose message is returned."""
    served = RawStdio(_manifest(folder, mode), folder)
    try:
        served.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {"elicitation": elicitation},
            "clientInfo": {"name": "one-mode", "version": "1"}}})
        assert served.read_until(1)["result"]["protocolVersion"] == "2025-11-25"
        served.send({"jsonrpc": "2.0", "method": "notifications/initialized"},
                    {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "connect", "arguments": {}}})
        seen = served.responses({2})
    finally:
        served.close()
    assert not [m for m in sum(seen.values(), []) if m.get("method") == "elicitation/create"]
    # the upstream fails its call with a JSON-RPC error quoting mcprt's refusal: the client gets that error
    # (server/upstream_errors.py), as a 2026-07-28 client gets -32021
    error = seen[2][-1]["error"]
    assert isinstance(error["code"], int), error
    return str(error["message"])


@pytest.fixture(scope="module")
def ups(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShareUps]:
    """One `mcprt up --transport http` per asking mode ("url", "form"), shared by the 2026-07-28 cases: each
    sends one request carrying its own declared capabilities (no session), so no case's answer depends on
    another's."""
    with shared_ups(tmp_path_factory, lambda mode, folder: _manifest(folder, mode)) as started:
        yield started


@pytest.mark.xdist_group("test_proxy_url_elicitation")  # the two shared servers start once per run
@pytest.mark.parametrize(("mode", "declared", "refused"), [
    ("url", {}, True), ("url", {"url": {}}, False), ("url", {"form": {}, "url": {}}, False),
    ("form", {"url": {}}, True), ("form", {}, False), ("form", {"form": {}}, False),
])
async def test_a_2026_client_is_asked_only_in_a_mode_it_declared(ups: ShareUps, mode: str,
                                                                 declared: dict[str, Any], refused: bool) -> None:
    """MCP 2026-07-28 over streamable HTTP (no handshake; `_meta` clientCapabilities on the request): a
    question in a mode the request did not declare never becomes an input request; the call ends in -32021
    naming the missing mode in `data.requiredCapabilities` (SEP-2575). Before, a client declaring
    `elicitation: {}` (form only) got `{"mode": "url", ...}` in `inputRequests`, and a URL-only client a
    form. A client that declared the mode gets it as an input request."""
    meta = {**META, "io.modelcontextprotocol/clientCapabilities": {"elicitation": declared}}
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream",
               "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "connect"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "connect", "arguments": {}, "_meta": meta}}
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(ups(mode).url, json=body, headers=headers)
    message = _json_of(response)
    if refused:
        error = message.get("error")
        assert error is not None and error["code"] == -32021, message
        assert error["data"] == {"requiredCapabilities": {"elicitation": {mode: {}}}}, error
    else:
        result = message["result"]
        assert result["resultType"] == "input_required", result
        [request] = result["inputRequests"].values()
        assert request["method"] == "elicitation/create" and request["params"]["mode"] == mode, request


def _json_of(response: httpx.Response) -> dict[str, Any]:
    """The one JSON-RPC message of a response, sent as JSON or as one SSE event."""
    text = response.text
    if response.headers["content-type"].startswith("text/event-stream"):
        return dict(json.loads(text[text.index("{"):].splitlines()[0]))
    return dict(response.json())
