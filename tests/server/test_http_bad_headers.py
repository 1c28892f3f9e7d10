"""Every refused POST to the MCP endpoint is answered with a JSON-RPC error (id null), of either era,
stateful or stateless (server/post_headers.py, server/invalid_messages.py).

Found by the last pass: a `Content-Type` of `text/plain` (or none) got the SDK's plain-text 400 "Invalid
Content-Type header" on both eras' entries, while `application/jsonx` got a 415 with a JSON-RPC body; a
2026-07-28 POST with a bad `Accept` got 406 with an empty body. Then (server/empty_refusals.py): a 2026-07-28
GET, DELETE or PUT got 405 with an empty body, and a `subscriptions/listen` not accepting `text/event-stream`
under `--json-response` got 406 with an empty body. Each over a real `mcprt up`, raw HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.adder import adder_manifest
from tests.support.served import UpProcess, mcprt_http

BOTH = "application/json, text/event-stream"
LEGACY = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
MODERN = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {}}}}
MODERN_HEADERS = {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list"}
ERAS = {"2025-06-18": (LEGACY, {}), "2026-07-28": (MODERN, MODERN_HEADERS)}


pytestmark = pytest.mark.xdist_group("test_http_bad_headers")  # one started servers per run, not one per worker


@pytest.fixture(scope="module", params=["stateful", "stateless"])
def up(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    flags = ("--stateless",) if request.param == "stateless" else ()
    with mcprt_http(adder_manifest(tmp_path_factory.mktemp("headers")), "--no-reload", *flags) as served:
        yield served


def _post(up: UpProcess, era: str, headers: dict[str, str], body: bytes | None = None) -> tuple[int, str, Any]:
    message, era_headers = ERAS[era]
    response = httpx.post(up.url, headers={**era_headers, **headers}, timeout=30,
                          content=body if body is not None else httpx.Request("POST", "/", json=message).content)
    return response.status_code, response.headers.get("content-type", ""), response.json()


def _refused(answer: tuple[int, str, Any], status: int, code: int = -32600) -> str:
    got, content_type, body = answer
    assert (got, content_type, body["jsonrpc"], body["id"], body["error"]["code"]) == (
        status, "application/json", "2.0", None, code), answer
    return body["error"]["message"]


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "",
                                          "application/jsonx", "text/json", "application/json-seq"])
def test_a_body_not_sent_as_json_is_415_and_json_rpc(up: UpProcess, era: str, content_type: str | None) -> None:
    headers = {"accept": BOTH} if content_type is None else {"accept": BOTH, "content-type": content_type}
    message = _refused(_post(up, era, headers), 415)
    assert "Content-Type: application/json" in message and ("none" if content_type is None else repr(content_type)) in message


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("accept", ["text/html", "", "application/json", "text/event-stream"])
def test_an_accept_without_both_types_is_406_and_json_rpc(up: UpProcess, era: str, accept: str) -> None:
    message = _refused(_post(up, era, {"accept": accept, "content-type": "application/json"}), 406)
    assert "application/json and text/event-stream" in message


@pytest.mark.parametrize("era", ERAS)
def test_a_post_without_an_accept_header_is_406_and_says_what_to_send(up: UpProcess, era: str) -> None:
    """MCP basic/transports: "The client MUST include an Accept header, listing both application/json and
    text/event-stream". RFC 9110 §12.5.1 reads a missing Accept as "anything", but a client that omits it
    breaks the transport's MUST and is told at once what to send, instead of failing later on a stream
    it did not expect. (A trial read `curl`'s default `Accept: */*` as "no Accept": that one is served.)"""
    message, era_headers = ERAS[era]
    request = httpx.Request("POST", up.url, json=message, headers={**era_headers, "content-type": "application/json"})
    assert "accept" not in request.headers
    with httpx.Client(timeout=30) as client:
        response = client.send(request)  # `send` adds none of the client's default headers (Accept: */*)
    answer = _refused((response.status_code, response.headers.get("content-type", ""), response.json()), 406)
    assert "both application/json and text/event-stream (the Accept header lists nothing)" in answer, answer


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("accept", ["*/*", "application/*, text/*", "text/event-stream, application/json;q=0.9"])
def test_an_accept_listing_both_by_wildcard_is_served(up: UpProcess, era: str, accept: str) -> None:
    """RFC 9110 §12.5.1: `*/*` and `type/*` list every type (of that type); curl and httpx send `*/*`."""
    status, _, body = _post(up, era, {"accept": accept, "content-type": "application/json"})
    assert status == 200 and "result" in body, body


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize(("body", "status", "code"), [(b"{nope", 400, -32700), (b"", 400, -32700),
                                                       (b'{"a": 1}', 400, -32600), (b"[]", 400, -32600)])
def test_a_body_that_is_not_json_rpc_is_400_and_json_rpc(up: UpProcess, era: str, body: bytes, status: int,
                                                          code: int) -> None:
    _refused(_post(up, era, {"accept": BOTH, "content-type": "application/json"}, body), status, code)


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"])
def test_json_with_parameters_or_any_case_is_served(up: UpProcess, era: str, content_type: str) -> None:
    status, _, body = _post(up, era, {"accept": BOTH, "content-type": content_type})
    assert status == 200 and "result" in body, body


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
def test_a_2026_request_not_posted_is_405_with_allow_and_json_rpc(up: UpProcess, method: str) -> None:
    response = httpx.request(method, up.url, timeout=30, headers={**MODERN_HEADERS, "accept": BOTH})
    assert response.headers["allow"] == "POST"
    message = _refused((response.status_code, response.headers.get("content-type", ""), response.json()), 405)
    assert message.startswith(f"Method Not Allowed: {method}; an MCP 2026-07-28 request is one POST"), message


@pytest.fixture(scope="module")
def json_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    manifest = adder_manifest(tmp_path_factory.mktemp("json"))
    manifest.write_text("version: 1\nserver: {http: {json_response: true}}\n" + manifest.read_text().split("\n", 1)[1])
    with mcprt_http(manifest, "--no-reload") as served:
        yield served


def test_a_listen_request_not_accepting_a_stream_is_406_and_json_rpc(json_up: UpProcess) -> None:
    """With `--json-response` a client need not accept `text/event-stream`, except for a listen request (its
    answer is always a stream): the SDK refused that one with an empty 406."""
    listen = {**MODERN, "method": "subscriptions/listen"}
    response = httpx.post(json_up.url, timeout=30, json=listen, headers={
        **MODERN_HEADERS, "mcp-method": "subscriptions/listen", "accept": "application/json"})
    message = _refused((response.status_code, response.headers.get("content-type", ""), response.json()), 406)
    assert "must accept text/event-stream (the Accept header lists 'application/json')" in message, message
