"""A 2026-07-28-only upstream's URL-mode elicitation reaches a 2025-11-25 client as that era defines it.

MCP 2026-07-28 removed `elicitationId` from URL-mode `elicitation/create` (and the
`notifications/elicitation/complete` that named it); MCP 2025-11-25 requires it (schema
`ElicitRequestURLParams.elicitationId`). Relayed as the upstream wrote it, the older client refused the
request ("Invalid request parameters") and the tool call failed. The upstream is `modern_url_server.py`
(refuses `initialize`), the client the SDK's in `legacy` mode (handshake, 2025-11-25), over stdio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters

from tests.support.raw_stdio import RawStdio
from tests.support.served import child_env, launch_command, text_of
from tests.support.zygote import script_command_yaml

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

SERVER = Path(__file__).with_name("modern_url_server.py")


def _params(folder: Path) -> StdioServerParameters:
    manifest = folder / "mcp.yaml"
    manifest.write_text(f"version: 1\nsources:\n  modern:\n    command: {script_command_yaml(SERVER)}\n",
                        encoding="utf-8")
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
    "Capabilities"), and a server must not send a mode the client does not support: the call ends in a
    tool error naming the URL mode, and no `elicitation/create` reaches the client."""
    _params(tmp_path)  # writes the manifest
    served = RawStdio(tmp_path / "mcp.yaml", tmp_path)
    try:
        served.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "form-only", "version": "1"}}})
        assert served.read_until(1)["result"]["protocolVersion"] == "2025-11-25"
        served.send({"jsonrpc": "2.0", "method": "notifications/initialized"},
                    {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "connect", "arguments": {}}})
        seen = served.responses({2})
    finally:
        served.close()
    assert not [m for m in sum(seen.values(), []) if m.get("method") == "elicitation/create"]
    result = seen[2][-1]["result"]
    assert result["isError"] is True
    text = result["content"][0]["text"]
    assert "does not support URL-mode elicitation" in text and "https://auth.example/connect" in text, text
