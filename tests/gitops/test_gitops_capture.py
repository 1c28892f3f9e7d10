"""The executor's opt-in capture (used by `mcprt record`): what it keeps, what it never keeps."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcprt.manifest.model import ApiKeyAuth, OutboundAuth
from mcprt.sources.http import BuiltRequest, HttpUpstream
from mcprt.sources.http.capture import capture_sink, capturing
from mcprt.toolset.operation import CallContext
from tests.support.upstream import serve_app


_SEEN: list[dict[str, str]] = []  # the query as the upstream received it


async def _echo(request: Request) -> JSONResponse:
    _SEEN.append(dict(request.query_params))
    return JSONResponse({"query": dict(request.query_params), "body": (await request.body()).decode()},
                        headers={"Set-Cookie": "session=s3cr3t"})


async def test_capture_records_the_exchange_without_credentials() -> None:
    auth = OutboundAuth(api_key=ApiKeyAuth.model_validate({"name": "api_key", "in": "query", "value": "top-secret-key"}))
    upstream = HttpUpstream(source="t", auth=auth, headers={"X-Team": "blue", "X-Auth-Token": "hdr-secret"},
                            retries=0)
    ctx = CallContext(tool="t", timeout=10, max_response_bytes=100_000)
    with serve_app(Starlette(routes=[Route("/echo", _echo, methods=["POST"])])) as base:
        request = BuiltRequest("POST", f"{base}/echo?q=1", body=b'{"a":1}', content_type="application/json")
        assert capture_sink() is None
        await upstream.send(request, ctx)  # nothing captured outside the context
        with capturing() as exchanges:
            result = await upstream.send(request, ctx)
        assert capture_sink() is None
    await upstream.aclose()
    assert _SEEN[-1] == {"q": "1", "api_key": "top-secret-key"}  # upstream did get the key
    assert result.body["query"] == {"q": "1", "api_key": "[redacted]"}  # and its echo of it is scrubbed
    [exchange] = exchanges
    assert exchange.method == "POST" and exchange.url == f"{base}/echo?q=1"
    assert exchange.request_body == b'{"a":1}' and exchange.status == 200
    headers = {name.lower(): value for name, value in exchange.request_headers}
    assert headers["x-team"] == "blue" and headers["x-auth-token"] == "[redacted]"
    # The body is upstream's, with configured secrets scrubbed: a case file must never hold one (#13).
    assert b'"api_key":"[redacted]"' in exchange.response_body and b"top-secret-key" not in exchange.response_body
    assert ("set-cookie", "[redacted]") in exchange.response_headers
    everything = repr(exchange.request_headers) + exchange.url + repr(exchange.response_headers)
    assert "top-secret-key" not in everything and "hdr-secret" not in everything and "s3cr3t" not in everything
