"""A 2026-07-28 client speaking raw JSON-RPC over httpx, for tests and benches that follow each
request of an `InputRequiredResult` round (which replica took it: HAProxy's `X-Served-By`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

# The per-request `_meta` a 2026-07-28 client sends (no handshake): who it is, what it can answer.
META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw-2026", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}, "sampling": {}, "roots": {}}}


@dataclass
class Answer:
    result: dict[str, Any]  # empty when the server answered a JSON-RPC error
    served_by: str | None  # HAProxy's server name (tests/support/components.py), None without a balancer
    error: dict[str, Any] | None = None  # the JSON-RPC error (`code`, `message`, `data`), if one
    status: int = 200


async def post_call(http: httpx.AsyncClient, url: str, name: str, params: dict[str, Any],
                    token: str | None = None) -> Answer:
    """One `tools/call` (params: arguments, and for a retry inputResponses + requestState); its result,
    or the JSON-RPC error it was answered with (`Answer.error`, and the HTTP status)."""
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "MCP-Protocol-Version": "2026-07-28", "MCP-Method": "tools/call", "MCP-Name": name}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, **params, "_meta": META}}
    response = await http.post(url, json=body, headers=headers)
    text = response.text
    message = json.loads(text[text.index("{"):]) if response.headers["content-type"].startswith(
        "text/event-stream") else response.json()
    if "error" in message:
        return Answer({}, response.headers.get("x-served-by"), message["error"], response.status_code)
    assert response.status_code == 200, response.text
    assert "result" in message, message
    return Answer(message["result"], response.headers.get("x-served-by"))


def answering(request: dict[str, Any]) -> dict[str, Any]:
    """What the user (or the client's model) answers to each kind of question."""
    method, params = request["method"], request.get("params") or {}
    if method == "elicitation/create":
        return {"action": "accept", "content": {"username": "ada", "email": "ada@example.com"}}
    if method == "sampling/createMessage":
        asked = params["messages"][0]["content"]["text"]
        return {"role": "assistant", "model": "test-model", "content": {"type": "text", "text": f"answer to {asked}"}}
    assert method == "roots/list", request
    return {"roots": [{"uri": "file:///work/project", "name": "project"}]}


def responses_to(result: dict[str, Any]) -> dict[str, Any]:
    """The `inputResponses` answering every question of an InputRequiredResult."""
    return {key: answering(request) for key, request in result["inputRequests"].items()}
