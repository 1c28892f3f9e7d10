"""A path one trailing slash away from a route is redirected to the route with a relative Location
(server/slashes.py), so the URL the client used keeps its scheme, host and (behind a prefix-stripping proxy,
`public_url: https://gw.example.com/tools`) its path prefix. Starlette's own redirect answered
`http://<the Host mcprt received>/status` for `/status/`: no prefix, and the backend's scheme. The proxied
case is in tests/identity/test_identity_behind_proxy.py; here mcprt straight, with no prefix."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.adder import adder_manifest
from tests.support.served import http_client, mcprt_http


async def test_a_trailing_slash_is_redirected_relatively_and_the_sdk_client_follows(tmp_path: Path) -> None:
    with mcprt_http(adder_manifest(tmp_path), "--no-reload") as up:
        for asked, moved in (("/status/", "/status"), ("/status.json/?x=1", "/status.json?x=1"), ("/mcp/", "/mcp")):
            answer = httpx.get(up.base + asked, timeout=30)
            assert (answer.status_code, answer.headers.get("location")) == (307, moved), (asked, answer.headers)
        for missing in ("/nothing/", "//status/", "//status"):  # no route either way; never another host
            answer = httpx.get(up.base + missing, timeout=30)
            assert (answer.status_code, answer.headers.get("location")) == (404, None), (missing, answer.headers)
        async with http_client(up.url + "/") as client:  # the SDK client, given the endpoint with a slash
            assert [tool.name for tool in (await client.list_tools()).tools]
