"""No argument adds a query parameter or changes another's value, in any serialisation style.

Trial of untidy REST APIs, fault 2: an `allowReserved: true` query argument was sent with `&`, `=` and `+`
unencoded, so `raw: "x&enc=tenant-666#frag"` became a second `enc` parameter sent *ahead of* the `fixed`
one (Flask's `request.args.get` and Go's `Query().Get` read the first), and `"C++ & more"` reached the
server as `{'raw': ['C   '], ' more': ['']}`. OpenAPI 3.1.1 §4.8.12.4 (allowReserved): characters with a
special meaning in the query must still be percent-encoded. Each style below is given a value built to
inject (`&enc=…`, `=`, `+`, `#`, `;`, its own item delimiter); the real upstream parses what it received
and must read back exactly the value the model gave, and `enc` only as the manifest fixed it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tests.support.served import child_env, http_client, mcprt_http, text_of
from tests.support.upstream import serve_app

INJECT = "x&enc=tenant-666+y=1;enc=2#frag"

SPEC: dict[str, Any] = {
    "openapi": "3.0.3", "info": {"title": "inject", "version": "1"},
    "paths": {"/echo/{pl}/{pm}": {"get": {"operationId": "params", "parameters": [
        {"name": "pl", "in": "path", "required": True, "style": "label", "explode": False,
         "schema": {"type": "array", "items": {"type": "string"}}},
        {"name": "pm", "in": "path", "required": True, "style": "matrix", "explode": True,
         "schema": {"type": "object", "additionalProperties": {"type": "string"}}},
        {"name": "raw", "in": "query", "allowReserved": True, "schema": {"type": "string"}},
        {"name": "rawlist", "in": "query", "allowReserved": True, "explode": False,
         "schema": {"type": "array", "items": {"type": "string"}}},
        {"name": "sd", "in": "query", "style": "spaceDelimited", "explode": False,
         "schema": {"type": "array", "items": {"type": "string"}}},
        {"name": "pd", "in": "query", "style": "pipeDelimited", "explode": False, "allowReserved": True,
         "schema": {"type": "array", "items": {"type": "string"}}},
        {"name": "filter", "in": "query", "style": "deepObject", "explode": True, "allowReserved": True,
         "schema": {"type": "object", "additionalProperties": {"type": "string"}}},
        {"name": "fx", "in": "query", "style": "form", "explode": True,
         "schema": {"type": "array", "items": {"type": "string"}}},
        {"name": "obj", "in": "query", "style": "form", "explode": True,
         "schema": {"type": "object", "additionalProperties": {"type": "string"}}},
        {"name": "enc", "in": "query", "schema": {"type": "string"}},
        {"name": "X-Ids", "in": "header", "schema": {"type": "array", "items": {"type": "string"}}},
        {"name": "pref", "in": "cookie", "schema": {"type": "string"}},
        {"name": "prefs", "in": "cookie", "explode": True,
         "schema": {"type": "object", "additionalProperties": {"type": "string"}}},
    ], "responses": {"200": {"description": "what arrived",
                             "content": {"application/json": {"schema": {"type": "object"}}}}}}}},
}


def _app():  # type: ignore[no-untyped-def]
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"query": [list(pair) for pair in request.query_params.multi_items()],
                             "raw_query": request.url.query, "raw_path": request.scope["raw_path"].decode(),
                             "cookies": request.cookies})

    return Starlette(routes=[Route("/echo/{pl}/{pm}", echo)])


def _values(seen: dict[str, Any], name: str) -> list[str]:
    return [value for key, value in seen["query"] if key == name]


def test_no_argument_adds_a_query_parameter_or_changes_another(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    with serve_app(_app()) as base:
        (tmp_path / "mcp.yaml").write_text(
            f"version: 1\nsources:\n  api:\n    openapi: spec.json\n    base_url: {base}\n"
            "    tools:\n      params:\n        args:\n          enc: {fixed: tenant-42}\n")
        calls = {
            "raw": {"raw": INJECT},
            "plain data": {"raw": "C++ & more"},
            "reserved kept": {"raw": "a/b:c,d?e@f!$'()*[x]"},
            "list": {"rawlist": ["a,b", INJECT]},
            "space": {"sd": ["a b", INJECT]},
            "pipe": {"pd": ["a|b", INJECT]},
            "deep": {"filter": {"status": INJECT, "a&enc=1": "v"}},
            "form array": {"fx": [INJECT, "z"]},
            "form object": {"obj": {"k": INJECT, "k&enc=1": "v"}},
            "object naming enc": {"obj": {"enc": "tenant-666"}},
            "cookie": {"pref": "v; enc=1", "prefs": {"a=b": INJECT}},
        }
        path = {"pl": ["a.b", "c,d"], "pm": {"x": "1;enc=2", "y=z": "w"}}
        seen: dict[str, Any] = {}
        errors: dict[str, str] = {}
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload", env=child_env()) as up:
            async def run() -> None:
                async with http_client(up.url) as client:
                    for case, args in calls.items():
                        result = await asyncio.wait_for(client.call_tool("params", {**path, **args}), 30)
                        if result.is_error:
                            errors[case] = text_of(result)
                        else:
                            seen[case] = result.structured_content

            asyncio.run(run())
    assert set(errors) == {"object naming enc"}, errors
    assert "key `enc`" in errors["object naming enc"], errors
    for case, got in seen.items():
        assert _values(got, "enc") == ["tenant-42"], (case, got)  # the fixed value, once, whatever was given
    assert _values(seen["raw"], "raw") == [INJECT]
    assert _values(seen["plain data"], "raw") == ["C++ & more"]
    assert "raw=a/b:c,d?e@f!$'()*[x]" in seen["reserved kept"]["raw_query"]  # allowReserved still keeps these
    assert _values(seen["list"], "rawlist") == ["a,b," + INJECT], seen["list"]
    assert "rawlist=a%2Cb,x" in seen["list"]["raw_query"], seen["list"]  # an item's `,` is no delimiter
    assert _values(seen["space"], "sd") == ["a b " + INJECT]
    assert _values(seen["pipe"], "pd") == ["a|b|" + INJECT]  # (`|` is sent as %7C, an item's and the delimiter)
    assert _values(seen["deep"], "filter[status]") == [INJECT]
    assert _values(seen["deep"], "filter[a&enc=1]") == ["v"]
    assert _values(seen["form array"], "fx") == [INJECT, "z"]
    assert _values(seen["form object"], "k") == [INJECT] and _values(seen["form object"], "k&enc=1") == ["v"]
    cookies = seen["cookie"]["cookies"]
    assert unquote(cookies["pref"]) == "v; enc=1" and "enc" not in cookies, cookies
    assert "a=b" not in cookies and unquote(cookies["a%3Db"]) == INJECT, cookies
    # label: `.` and `,` of a value stay inside its item; matrix: `;` and `=` stay inside its value
    assert seen["raw"]["raw_path"] == "/echo/.a%2Eb,c%2Cd/;x=1%3Benc%3D2;y%3Dz=w", seen["raw"]["raw_path"]
