"""No argument can leave its place: path segments, hosts, headers and queries stay what they are."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from openapi_support import by_key, by_name, compile_inline, compile_spec

from mcprt.errors import ToolCallError

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "servers": [{"url": "https://api.example.com/v1"}],
    "paths": {
        "/files/{name}": {
            "get": {
                "operationId": "getFile",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "q", "in": "query", "schema": {"type": "string"}},
                    {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
                    {"name": "raw", "in": "query", "allowReserved": True, "schema": {"type": "string"}},
                ],
            }
        },
        "/items/{id}/label": {
            "get": {
                "operationId": "labelled",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "style": "label", "schema": {"type": "string"}}
                ],
            }
        },
    },
}

INJECTIONS = {
    "../admin": "/v1/files/..%2Fadmin",
    "a/b": "/v1/files/a%2Fb",
    "http://evil.example/x": "/v1/files/http%3A%2F%2Fevil.example%2Fx",
    "..": "/v1/files/%2E%2E",
    ".": "/v1/files/%2E",
    "...": "/v1/files/...",
    "x?admin=1#frag": "/v1/files/x%3Fadmin%3D1%23frag",
    "%2e%2e": "/v1/files/%252e%252e",
    "a\\b": "/v1/files/a%5Cb",
    "@evil.example": "/v1/files/%40evil.example",
    "ünï": "/v1/files/%C3%BCn%C3%AF",
}


@pytest.mark.parametrize("value", sorted(INJECTIONS))
def test_path_values_stay_in_their_segment(value: str) -> None:
    op = by_key(compile_inline(SPEC))["getFile"]
    request = op.plan.build({"name": value})
    assert request.url == "https://api.example.com" + INJECTIONS[value]
    # What an HTTP client makes of it: same host, same number of segments, nothing normalized away.
    url = httpx.URL(request.url)
    assert url.host == "api.example.com"
    assert url.raw_path.decode().count("/") == 3
    assert urlsplit(request.url).query == ""


def test_label_style_cannot_make_a_dot_segment() -> None:
    op = by_key(compile_inline(SPEC))["labelled"]
    assert op.plan.build({"id": ""}).url == "https://api.example.com/v1/items/%2E/label"
    assert op.plan.build({"id": "."}).url == "https://api.example.com/v1/items/%2E%2E/label"


def test_query_values_cannot_add_parameters() -> None:
    op = by_key(compile_inline(SPEC))["getFile"]
    request = op.plan.build({"name": "f", "q": "x&admin=true#y"})
    assert request.url == "https://api.example.com/v1/files/f?q=x%26admin%3Dtrue%23y"
    # allowReserved keeps reserved characters, but never `#` (it would cut the URL).
    reserved = op.plan.build({"name": "f", "raw": "a/b:c,d#e"})
    assert reserved.url == "https://api.example.com/v1/files/f?raw=a/b:c,d%23e"


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "nul\0"])
def test_header_values_cannot_inject_headers(value: str) -> None:
    op = by_key(compile_inline(SPEC))["getFile"]
    with pytest.raises(ToolCallError, match="line breaks"):
        op.plan.build({"name": "f", "X-Trace": value})


def test_missing_and_empty_path_values_are_refused_clearly() -> None:
    op = by_key(compile_inline(SPEC))["getFile"]
    with pytest.raises(ToolCallError, match="Missing required argument `name`"):
        op.plan.build({})
    with pytest.raises(ToolCallError, match="must not be empty"):
        op.plan.build({"name": ""})
    with pytest.raises(ToolCallError, match="JSON object"):
        op.plan.build(["not", "an", "object"])  # type: ignore[arg-type]


def test_other_base_url_keeps_injection_safety() -> None:
    op = by_key(compile_inline(SPEC))["getFile"]
    request = op.plan.build({"name": "../../x"}, base_url="http://127.0.0.1:9/api/")
    assert request.url == "http://127.0.0.1:9/api/files/..%2F..%2Fx"


def test_github_path_argument_with_slashes_is_one_segment() -> None:
    op = by_name(compile_spec("github-subset.json"))["repos_get-content"]
    request = op.plan.build({"owner": "../../orgs", "repo": "x", "path": "../../../admin"})
    assert request.url == "https://api.github.com/repos/..%2F..%2Forgs/x/contents/..%2F..%2F..%2Fadmin"


def test_cookie_values_cannot_add_cookies() -> None:
    ops = by_key(compile_spec("readme/3.0/parameters-cookies.json"))
    op = next(iter(ops.values()))
    arg = next(a for a in op.operation.input_schema["properties"])
    request = op.plan.build({arg: "a; admin=1, b"})
    assert all(";" not in v and "," not in v and " " not in v for _, v in request.cookies)


@pytest.mark.parametrize("value", ["café", "a\x01b", "tab\x7f", "nbsp\xa0"])
def test_header_values_http_cannot_carry_are_refused_naming_the_argument(value: str) -> None:
    op = by_key(compile_inline(SPEC))["getFile"]
    with pytest.raises(ToolCallError, match=r"Argument `X-Trace` is sent as an HTTP header, which carries only ASCII"):
        op.plan.build({"name": "f", "X-Trace": value})
    assert op.plan.build({"name": "f", "X-Trace": "tab\tand ~ visible"}).headers == [("X-Trace", "tab\tand ~ visible")]


def test_a_header_argument_http_cannot_carry_is_the_models_to_fix_not_an_upstream_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Served: `X-Trace: café` was an `upstream_error` saying "a header of the request is not ASCII"
    without naming the argument; now it is a rejected call naming it, and nothing is sent."""
    import asyncio
    import json

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tests.support.served import http_client, mcprt_http, text_of
    from tests.support.upstream import serve_app

    seen: list[str] = []

    async def files(request):  # type: ignore[no-untyped-def]
        seen.append(request.headers.get("x-trace", ""))
        return JSONResponse({"ok": True})

    spec = {**SPEC, "servers": [], "paths": {"/files/{name}": SPEC["paths"]["/files/{name}"]}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    with serve_app(Starlette(routes=[Route("/files/{name}", files)])) as base:
        (tmp_path / "mcp.yaml").write_text(f"version: 1\nsources:\n  f:\n    openapi: spec.json\n    base_url: {base}\n")
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload") as up:
            async def calls() -> tuple[str, str]:
                async with http_client(up.url) as client:
                    bad = await client.call_tool("getFile", {"name": "a", "X-Trace": "café"})
                    good = await client.call_tool("getFile", {"name": "a", "X-Trace": "cafe"})
                    assert bad.is_error and not good.is_error
                    return text_of(bad), text_of(good)

            bad, _ = asyncio.run(asyncio.wait_for(calls(), 60))
            assert "Argument `X-Trace`" in bad and "'é' (U+00E9)" in bad, bad
            assert seen == ["cafe"]
            assert "status=rejected" in up.wait_log("status=rejected")
