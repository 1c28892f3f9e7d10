"""What the 0.2 conformance suite's 2026-07-28 scenarios found through the proxy, with our own raw client.

Each test sends the JSON-RPC a 2026-07-28 client sends (httpx or http.client, no SDK in between)
to a real `mcprt up --transport http` proxying the everything fixture (a handshake-era stdio
server asking its client mid-call), and checks the wire answer:

- header values are compared without the whitespace around them (RFC 9110 §5.5; the suite's
  `Mcp-Name: "  test_simple_text  "`, and the other headers the server compares);
- a proxied tool's `x-mcp-header` annotation is served and enforced (SEP-2243), and a tool whose
  annotation breaks the rules is left out;
- a call needing a capability the client did not declare: -32021 with `requiredCapabilities`,
  HTTP 400 (SEP-2575), and an upstream that copes without it asks another way;
- an altered or unknown `requestState`: JSON-RPC error -32602, not a result;
- `prompts/get` and `resources/read` get `InputRequiredResult` rounds too;
- questions the upstream asks together come back in one round;
- an abandoned round does not stop the stdio source relaying the same principal's next call's
  questions, and a question never reaches another principal's call;
- a proxied server's tool and prompt list changes reach `subscriptions/listen` streams.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.everything import command_source, write_manifest
from tests.support.served import UpProcess, child_env, mcprt_http

MODERN = "2026-07-28"
META_KEYS = "io.modelcontextprotocol/"
NAME_ANSWER = {"action": "accept", "content": {"name": "Alice"}}


def meta(**capabilities: Any) -> dict[str, Any]:
    return {f"{META_KEYS}protocolVersion": MODERN, f"{META_KEYS}clientCapabilities": capabilities,
            f"{META_KEYS}clientInfo": {"name": "raw", "version": "1"}}


ALL = {"sampling": {}, "elicitation": {}, "roots": {}}


pytestmark = pytest.mark.xdist_group("test_proxy_2026_conformance")  # one started server per run, not one per worker


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    manifest = write_manifest(tmp_path_factory.mktemp("conf26"), command_source("everything"))
    with mcprt_http(manifest, "--no-reload", startup_timeout=60) as served:
        yield served


def headers_for(method: str, params: dict[str, Any]) -> dict[str, str]:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream",
               "mcp-protocol-version": MODERN, "mcp-method": method}
    if method in ("tools/call", "prompts/get") and "name" in params:
        headers["mcp-name"] = params["name"]
    if method == "resources/read":
        headers["mcp-name"] = params["uri"]
    return headers


def decoded(status: int, media_type: str, text: str) -> tuple[int, dict[str, Any]]:
    if media_type.startswith("text/event-stream"):
        messages = [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:") and line[5:].strip()]
        return status, next(m for m in messages if "id" in m and ("result" in m or "error" in m))
    return status, json.loads(text)


def rpc(up: UpProcess, method: str, params: dict[str, Any], capabilities: dict[str, Any] | None = None,
        request_id: int = 1, token: str | None = None) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON-RPC answer) of one 2026-07-28 request (with `Authorization: Bearer token`)."""
    body = {"jsonrpc": "2.0", "id": request_id, "method": method,
            "params": {**params, "_meta": meta(**(ALL if capabilities is None else capabilities))}}
    headers = headers_for(method, params) | ({"authorization": f"Bearer {token}"} if token else {})
    response = httpx.post(up.url, json=body, headers=headers, timeout=60)
    return decoded(response.status_code, response.headers.get("content-type", ""), response.text)


def result_of(answer: tuple[int, dict[str, Any]]) -> dict[str, Any]:
    status, message = answer
    assert status == 200 and "result" in message, message
    return message["result"]


def text_of(result: dict[str, Any]) -> str:
    return "".join(item.get("text", "") for item in result["content"])


# --- header field values (RFC 9110 §5.5) --------------------------------------------------------------


def raw_post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """POST with header values sent byte for byte (httpx refuses the whitespace we mean to send)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("POST", parts.path, body=json.dumps(body).encode(), headers=headers)
        response = connection.getresponse()
        return decoded(response.status, response.getheader("content-type", ""), response.read().decode())
    finally:
        connection.close()


@pytest.mark.parametrize(("header", "value"), [
    ("Mcp-Name", "  test_custom_header  "),  # the suite's case: SP both sides
    ("Mcp-Name", "test_custom_header\t"),
    ("Mcp-Method", "tools/call "),
    ("MCP-Protocol-Version", f"{MODERN} \t"),
    ("Mcp-Param-Region", " eu-west "),
])
def test_header_values_are_compared_without_surrounding_whitespace(up: UpProcess, header: str, value: str) -> None:
    params = {"name": "test_custom_header", "arguments": {"region": "eu-west"}}
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {**params, "_meta": meta(**ALL)}}
    headers = {**headers_for("tools/call", params), "mcp-param-region": "eu-west", header.lower(): value}
    status, message = raw_post(up.url, body, headers)
    assert status == 200, message
    assert text_of(message["result"]) == "region=eu-west"


def test_a_header_that_differs_inside_its_value_is_still_a_mismatch(up: UpProcess) -> None:
    params = {"name": "test_custom_header", "arguments": {"region": "eu-west"}}
    body = {"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {**params, "_meta": meta(**ALL)}}
    headers = {**headers_for("tools/call", params), "mcp-param-region": " eu west "}
    status, message = raw_post(up.url, body, headers)
    assert (status, message["error"]["code"]) == (400, -32020), message


def test_custom_header_annotations_pass_through_and_an_invalid_one_drops_its_tool(up: UpProcess) -> None:
    tools = {tool["name"]: tool for tool in result_of(rpc(up, "tools/list", {}))["tools"]}
    assert tools["test_custom_header"]["inputSchema"]["properties"]["region"] == {"type": "string",
                                                                                  "x-mcp-header": "Region"}
    assert "test_invalid_custom_header" not in tools  # 2026-07-28 clients must drop it: so is it not served
    up.wait_log("tool test_invalid_custom_header left out: its x-mcp-header annotation is invalid")
    missing = {"name": "test_custom_header", "arguments": {"region": "eu-west"}}  # no Mcp-Param-Region header
    status, message = rpc(up, "tools/call", missing, request_id=9)
    assert (status, message["error"]["code"]) == (400, -32020), message


# --- client capabilities (SEP-2575) ---------------------------------------------------------------------


def test_a_call_needing_an_undeclared_capability_is_a_32021_error(up: UpProcess) -> None:
    status, message = rpc(up, "tools/call", {"name": "test_missing_capability", "arguments": {}}, {}, request_id=401)
    assert status == 400, message
    assert message["id"] == 401
    assert message["error"]["code"] == -32021
    assert message["error"]["data"] == {"requiredCapabilities": {"sampling": {}}}
    # the source keeps serving, and a client that declares sampling is asked
    asked = result_of(rpc(up, "tools/call", {"name": "test_missing_capability", "arguments": {}}, {"sampling": {}}))
    assert asked["resultType"] == "input_required"
    assert [r["method"] for r in asked["inputRequests"].values()] == ["sampling/createMessage"]


def test_an_upstream_that_copes_without_the_capability_asks_another_way(up: UpProcess) -> None:
    asked = result_of(rpc(up, "tools/call", {"name": "test_input_required_result_capabilities", "arguments": {}},
                          {"sampling": {}}))
    assert [r["method"] for r in asked["inputRequests"].values()] == ["sampling/createMessage"]
    key = next(iter(asked["inputRequests"]))
    answer = {"role": "assistant", "content": {"type": "text", "text": "Ada"}, "model": "m", "stopReason": "endTurn"}
    done = result_of(rpc(up, "tools/call", {"name": "test_input_required_result_capabilities", "arguments": {},
                                            "inputResponses": {key: answer}, "requestState": asked["requestState"]},
                         {"sampling": {}}))
    assert text_of(done) == "sampled: Ada"


# --- requestState ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["altered", "unknown"])
def test_a_request_state_it_cannot_resume_is_a_32602_error(up: UpProcess, state: str) -> None:
    asked = result_of(rpc(up, "tools/call", {"name": "test_input_required_result_tampered_state", "arguments": {}}))
    key = next(iter(asked["inputRequests"]))
    sent = asked["requestState"] + "-TAMPERED" if state == "altered" else "never-issued"
    status, message = rpc(up, "tools/call", {"name": "test_input_required_result_tampered_state", "arguments": {},
                                             "inputResponses": {key: {"action": "accept", "content": {"ok": True}}},
                                             "requestState": sent}, request_id=12)
    assert (status, message["id"], message["error"]["code"]) == (400, 12, -32602), message
    assert "requestState" in message["error"]["message"]
    # the genuine state still resumes the call
    done = result_of(rpc(up, "tools/call", {"name": "test_input_required_result_tampered_state", "arguments": {},
                                            "inputResponses": {key: {"action": "accept", "content": {"ok": True}}},
                                            "requestState": asked["requestState"]}))
    assert text_of(done) == "state-ok: confirmed=True"


# --- rounds beyond tools/call, several questions, abandoned rounds ---------------------------------------------


def test_prompts_get_asks_through_input_required_rounds(up: UpProcess) -> None:
    asked = result_of(rpc(up, "prompts/get", {"name": "test_input_required_result_prompt"}))
    assert asked["resultType"] == "input_required"
    (key, request), = asked["inputRequests"].items()
    assert request["method"] == "elicitation/create"
    assert request["params"]["message"] == "What context should the prompt use?"
    done = result_of(rpc(up, "prompts/get", {"name": "test_input_required_result_prompt",
                                             "inputResponses": {key: {"action": "accept",
                                                                      "content": {"context": "test context"}}},
                                             "requestState": asked["requestState"]}))
    assert done["messages"] == [{"role": "user", "content": {"type": "text",
                                                             "text": "Use this context: test context"}}]


def test_questions_asked_together_come_back_in_one_round(up: UpProcess) -> None:
    asked = result_of(rpc(up, "tools/call", {"name": "test_input_required_result_multiple_inputs", "arguments": {}}))
    methods = {request["method"]: key for key, request in asked["inputRequests"].items()}
    assert set(methods) == {"elicitation/create", "sampling/createMessage", "roots/list"}
    answers = {methods["elicitation/create"]: NAME_ANSWER,
               methods["sampling/createMessage"]: {"role": "assistant", "content": {"type": "text", "text": "Hi!"},
                                                   "model": "m", "stopReason": "endTurn"},
               methods["roots/list"]: {"roots": [{"uri": "file:///test/root", "name": "Test Root"}]}}
    done = result_of(rpc(up, "tools/call", {"name": "test_input_required_result_multiple_inputs", "arguments": {},
                                            "inputResponses": answers, "requestState": asked["requestState"]}))
    assert json.loads(text_of(done)) == {"greeting": "Hi!", "name": "Alice", "roots": ["file:///test/root"]}


def test_an_abandoned_round_does_not_stop_the_next_call_from_asking(up: UpProcess) -> None:
    abandoned = result_of(rpc(up, "tools/call", {"name": "test_input_required_result_elicitation", "arguments": {}}))
    assert abandoned["resultType"] == "input_required"  # never answered: its upstream call waits on
    for round_ in range(2):
        asked = result_of(rpc(up, "tools/call", {"name": "test_input_required_result_multi_round", "arguments": {}}))
        assert asked["resultType"] == "input_required", asked
        key = next(iter(asked["inputRequests"]))
        second = result_of(rpc(up, "tools/call", {"name": "test_input_required_result_multi_round", "arguments": {},
                                                  "inputResponses": {key: NAME_ANSWER},
                                                  "requestState": asked["requestState"]}))
        assert second["requestState"] != asked["requestState"]
        key = next(iter(second["inputRequests"]))
        done = result_of(rpc(up, "tools/call", {"name": "test_input_required_result_multi_round", "arguments": {},
                                                "inputResponses": {key: {"action": "accept",
                                                                         "content": {"color": "blue"}}},
                                                "requestState": second["requestState"]}))
        assert text_of(done) == "Alice likes blue", round_


def test_a_question_never_reaches_another_principals_call(tmp_path: Path) -> None:
    """Over stdio a question names its call by its trace context (SEP-414): with alice's round parked, bob's
    question reaches bob's call, never alice's, and alice's round is untouched. (A question that names no call
    is refused, not guessed, while several run: `test_proxy_relay_stdio.py`.)"""
    alice, bob = "alice-token-0123456789", "bob-token-0123456789ab"
    manifest = write_manifest(tmp_path, command_source("everything"),
                              server='server:\n  auth:\n    tokens: {alice: "${ALICE_TOKEN}", bob: "${BOB_TOKEN}"}\n')
    with mcprt_http(manifest, "--no-reload", env=child_env(ALICE_TOKEN=alice, BOB_TOKEN=bob)) as served:
        parked = result_of(rpc(served, "tools/call", {"name": "test_input_required_result_elicitation",
                                                      "arguments": {}}, token=alice))
        assert parked["resultType"] == "input_required"
        beside = result_of(rpc(served, "tools/call", {"name": "test_input_required_result_sampling",
                                                      "arguments": {}}, token=bob))
        assert beside["resultType"] == "input_required", beside  # bob's own question, to bob
        assert [r["method"] for r in beside["inputRequests"].values()] == ["sampling/createMessage"]
        assert not set(beside["inputRequests"]) & set(parked["inputRequests"])
        key = next(iter(parked["inputRequests"]))  # alice's round is untouched and completes
        done = result_of(rpc(served, "tools/call", {"name": "test_input_required_result_elicitation",
                                                    "arguments": {}, "inputResponses": {key: NAME_ANSWER},
                                                    "requestState": parked["requestState"]}, token=alice))
        assert text_of(done) == "Hello, Alice!"
        # and with no round parked, bob is asked as usual
        asked = result_of(rpc(served, "tools/call", {"name": "test_input_required_result_sampling",
                                                     "arguments": {}}, token=bob))
        assert [r["method"] for r in asked["inputRequests"].values()] == ["sampling/createMessage"]


# --- list changes on subscription streams ------------------------------------------------------------------------


@pytest.mark.parametrize(("wanted", "trigger", "notification"), [
    ("toolsListChanged", "test_trigger_tool_change", "notifications/tools/list_changed"),
    ("promptsListChanged", "test_trigger_prompt_change", "notifications/prompts/list_changed"),
])
def test_a_proxied_servers_list_change_reaches_listen_streams(up: UpProcess, wanted: str, trigger: str,
                                                             notification: str) -> None:
    params = {"notifications": {wanted: True}}
    body = {"jsonrpc": "2.0", "id": 50, "method": "subscriptions/listen", "params": {**params, "_meta": meta(**ALL)}}
    frames: list[dict[str, Any]] = []
    acknowledged, arrived = threading.Event(), threading.Event()

    def listen() -> None:
        with httpx.stream("POST", up.url, json=body, headers=headers_for("subscriptions/listen", params),
                          timeout=httpx.Timeout(60, read=60)) as response:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                frames.append(json.loads(line[5:]))
                if frames[-1].get("method") == "notifications/subscriptions/acknowledged":
                    acknowledged.set()
                if frames[-1].get("method") == notification:
                    arrived.set()
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert acknowledged.wait(30), frames
    assert text_of(result_of(rpc(up, "tools/call", {"name": trigger, "arguments": {}}))).startswith("added ")
    assert arrived.wait(30), frames
    change = next(frame for frame in frames if frame.get("method") == notification)
    assert change["params"]["_meta"][f"{META_KEYS}subscriptionId"]
