"""What comes back: decoding by Content-Type, error statuses, size limits, against a real upstream."""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections.abc import AsyncIterator

import pytest
from tests.http.http_support import BIG_BODY_BYTES, PNG, Upstream, gzip_bomb

from mcprt.errors import ToolCallError
from mcprt.sources.http import BuiltRequest, HttpUpstream
from mcprt.toolset.operation import CallContext


def ctx(timeout: float = 5.0, limit: int = 10_000_000) -> CallContext:
    return CallContext(tool="t", timeout=timeout, max_response_bytes=limit)


def get(url: str) -> BuiltRequest:
    return BuiltRequest(method="GET", url=url, idempotent=True)


@pytest.fixture
async def client() -> AsyncIterator[HttpUpstream]:
    http = HttpUpstream(source="test", auth=None, headers={}, retries=2)
    yield http
    await http.aclose()


async def test_json_body_is_parsed_with_meta(upstream: Upstream, client: HttpUpstream) -> None:
    result = await client.send(get(upstream.url("/echo?a=1")), ctx())
    assert result.kind == "json" and result.status == 200 and not result.is_error
    assert result.body["method"] == "GET" and result.body["query"] == "a=1"
    assert result.body["headers"]["user-agent"].startswith("mcprt/")
    assert result.raw_bytes == len(json.dumps(result.body, separators=(",", ":")).encode())
    assert result.meta["url"] == upstream.url("/echo?a=1")
    assert result.meta["attempts"] == 1 and result.meta["latency_ms"] > 0
    assert result.media_type == "application/json" and not result.truncated


async def test_post_body_and_content_type_are_sent(upstream: Upstream, client: HttpUpstream) -> None:
    request = BuiltRequest(
        method="POST", url=upstream.url("/echo"), body=b'{"x": 1}', content_type="application/json",
        headers=[("X-Trace", "abc")], cookies=[("session_hint", "v1")],
    )
    seen = (await client.send(request, ctx())).body
    assert seen["method"] == "POST" and seen["body"] == '{"x": 1}'
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["headers"]["x-trace"] == "abc"
    assert seen["cookies"] == {"session_hint": "v1"}


async def test_default_headers_are_overridden_by_request_headers(upstream: Upstream) -> None:
    http = HttpUpstream(source="s", auth=None, headers={"X-Team": "a", "Accept": "text/csv"}, retries=0)
    try:
        request = BuiltRequest(method="GET", url=upstream.url("/echo"), headers=[("X-Team", "b")])
        seen = (await http.send(request, ctx())).body["headers"]
        assert seen["x-team"] == "b" and seen["accept"] == "text/csv"
    finally:
        await http.aclose()


async def test_server_error_is_an_error_result_with_the_parsed_body(upstream: Upstream, client: HttpUpstream) -> None:
    result = await client.send(get(upstream.url("/status/500")), ctx())
    assert result.is_error and result.status == 500 and result.kind == "json"
    assert result.body == {"error": "status 500", "code": 500}
    assert result.meta["attempts"] == 1  # 500 is not retried
    assert (await client.send(get(upstream.url("/echo")), ctx())).status == 200


async def test_not_found_is_an_error_result(upstream: Upstream, client: HttpUpstream) -> None:
    result = await client.send(get(upstream.url("/status/404")), ctx())
    assert result.is_error and result.status == 404 and result.body["code"] == 404


async def test_invalid_json_is_an_error_result_saying_so(upstream: Upstream, client: HttpUpstream) -> None:
    result = await client.send(get(upstream.url("/invalid-json")), ctx())
    assert result.is_error and result.kind == "text" and result.status == 200
    assert result.body == "upstream sent invalid JSON (9 bytes): {not json"
    assert (await client.send(get(upstream.url("/echo")), ctx())).kind == "json"


async def test_text_body_honours_its_charset(upstream: Upstream, client: HttpUpstream) -> None:
    result = await client.send(get(upstream.url("/text")), ctx())
    assert result.kind == "text" and result.body == "café au lait"
    assert result.media_type == "text/plain" and result.raw_bytes == len("café au lait")


async def test_xml_is_text(upstream: Upstream, client: HttpUpstream) -> None:
    result = await client.send(get(upstream.url("/xml")), ctx())
    assert result.kind == "text" and result.body == "<a>ünï</a>" and result.media_type == "application/xml"


async def test_binary_body_keeps_bytes_and_media_type(upstream: Upstream, client: HttpUpstream) -> None:
    result = await client.send(get(upstream.url("/binary")), ctx())
    assert result.kind == "binary" and result.body == PNG and result.media_type == "image/png"
    assert result.raw_bytes == len(PNG)


async def test_no_content_is_empty_text(upstream: Upstream, client: HttpUpstream) -> None:
    result = await client.send(BuiltRequest(method="DELETE", url=upstream.url("/empty")), ctx())
    assert result.kind == "text" and result.body == "" and result.status == 204
    assert not result.is_error and result.raw_bytes == 0


async def test_fifty_megabytes_are_cut_while_streaming(upstream: Upstream, client: HttpUpstream) -> None:
    limit = 1_000_000
    tracemalloc.start()
    try:
        result = await client.send(get(upstream.url("/big")), ctx(limit=limit))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # An incomplete answer is an error (#13 finding 9): the model must not take it for the whole.
    assert result.truncated and result.kind == "text" and result.is_error
    assert result.body.startswith('["xxxxxxxxxxxxxx","xxx')
    assert result.body.endswith("Ask for less (filters, fields, pagination).]")
    assert "larger than 1,000,000 bytes" in result.body
    assert limit <= result.raw_bytes < limit + 1_000_000
    # The reader stopped: the server could push at most socket buffers' worth past our limit.
    await asyncio.sleep(0.2)
    assert not upstream.recorder.big_finished
    assert upstream.recorder.big_bytes_sent < BIG_BODY_BYTES // 3
    assert peak < 12 * limit, f"peak traced memory {peak:,} bytes"
    # The pool survives a connection closed mid-body.
    assert (await client.send(get(upstream.url("/echo")), ctx())).status == 200


async def test_truncated_text_drops_a_half_character_and_is_marked(upstream: Upstream, client: HttpUpstream) -> None:
    result = await client.send(get(upstream.url("/xml")), ctx(limit=5))  # "<a>ü" is 5 bytes: "<a>" + 2 of ü
    assert result.truncated and result.kind == "text"
    assert result.body.startswith("<a>ü[") is False and result.body.startswith("<a>ü\n\n[mcprt:")


async def test_truncated_binary_is_cut_to_the_limit(upstream: Upstream, client: HttpUpstream) -> None:
    result = await client.send(get(upstream.url("/binary")), ctx(limit=100))
    assert result.kind == "binary" and result.truncated and result.body == PNG[:100]


async def test_body_exactly_at_the_limit_is_not_truncated(upstream: Upstream, client: HttpUpstream) -> None:
    result = await client.send(get(upstream.url("/binary")), ctx(limit=len(PNG)))
    assert not result.truncated and result.body == PNG


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
async def test_compressed_bodies_are_decoded(upstream: Upstream, client: HttpUpstream, encoding: str) -> None:
    result = await client.send(get(upstream.url(f"/compressed?enc={encoding}")), ctx())
    assert result.kind == "json" and result.body["compressed"] is True and len(result.body["pad"]) == 5000
    assert result.raw_bytes > 5000  # decoded size: what the model would have to read


async def test_we_ask_for_compression(upstream: Upstream, client: HttpUpstream) -> None:
    seen = (await client.send(get(upstream.url("/echo")), ctx())).body["headers"]
    assert seen["accept-encoding"] == "gzip, deflate"


async def test_a_gzip_bomb_is_cut_without_inflating_it(upstream: Upstream, client: HttpUpstream) -> None:
    limit = 1_000_000
    gzip_bomb()  # built before measuring: the server shares this process
    tracemalloc.start()
    try:
        result = await client.send(get(upstream.url("/compressed?enc=gzip&bomb=1")), ctx(limit=limit))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.truncated and result.kind == "text" and result.body.startswith("0" * limit + "\n\n[mcprt:")
    assert result.raw_bytes <= limit + 1  # inflated no further than one byte past the limit
    assert peak < 8 * limit, f"peak traced memory {peak:,} bytes"


@pytest.mark.parametrize(
    ("encoding", "message"),
    [("br", "encoded as br, which mcprt cannot decode"), ("broken", "could not be decompressed")],
)
async def test_undecodable_bodies_are_clear_errors(
    upstream: Upstream, client: HttpUpstream, encoding: str, message: str
) -> None:
    with pytest.raises(ToolCallError, match=message):
        await client.send(get(upstream.url(f"/compressed?enc={encoding}")), ctx())
    assert (await client.send(get(upstream.url("/echo")), ctx())).status == 200
