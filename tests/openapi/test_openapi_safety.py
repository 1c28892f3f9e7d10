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
    "a/b": "/v1/files/a%2Fb",
    "http://evil.example/x": "/v1/files/http%3A%2F%2Fevil.example%2Fx",
    "a\\b": "/v1/files/a%5Cb",
}  # with `name` listed in the source's `path_slashes`; refused otherwise (SEPARATORS)
ONE_SEGMENT = {
    "...": "/v1/files/...",
    ".github": "/v1/files/.github",
    "x?admin=1#frag": "/v1/files/x%3Fadmin%3D1%23frag",
    # what some servers strip or read as a segment's parameters, none of them a step up once decoded
    # (http.server, Starlette): `..;` is Tomcat's `..` only when `;` arrives raw, and it is sent as `%3B`
    "..;": "/v1/files/..%3B",
    "..%3B": "/v1/files/..%253B",
    "..%20": "/v1/files/..%2520",
    ".. ": "/v1/files/..%20",
    "@evil.example": "/v1/files/%40evil.example",
    "ünï": "/v1/files/%C3%BCn%C3%AF",
}
# Dot segments in any form a server may decode them to. Encoding them (`%2E%2E`, `..%2Fadmin`) was
# the old answer; Python's http.server and nginx decode, then remove dot segments, so they climbed
# out anyway (tests/openapi/test_openapi_safety.py::test_a_dot_segment_argument_cannot_read_beside_its_path).
DOT_SEGMENTS = ["..", ".", "../admin", "a/../b", "..%2Fadmin", "%2e%2e", "%2E", "..\\admin", "．．／etc", "‥"]


# A separator in any form a server may decode to one: Starlette (so FastAPI) and http.server route on
# the decoded path, so `1%2Ftokens` sent for `/users/{id}` reached `/users/{id}/tokens`.
SEPARATORS = ["a/b", "http://evil.example/x", "a\\b", "a%2Fb", "a%5cb", "a／b"]


@pytest.mark.parametrize("value", sorted(INJECTIONS) + sorted(ONE_SEGMENT))
def test_path_values_stay_in_their_segment(value: str) -> None:
    op = by_key(compile_inline(SPEC))["getFile"]
    request = op.plan.build({"name": value}, path_slashes=frozenset({"name"}) if value in INJECTIONS else frozenset())
    assert request.url == "https://api.example.com" + {**INJECTIONS, **ONE_SEGMENT}[value]
    # What an HTTP client makes of it: same host, same number of segments, nothing normalized away.
    url = httpx.URL(request.url)
    assert url.host == "api.example.com"
    assert url.raw_path.decode().count("/") == 3
    assert urlsplit(request.url).query == ""


@pytest.mark.parametrize("value", SEPARATORS)
def test_path_values_with_a_separator_are_refused_naming_the_argument_and_the_setting(value: str) -> None:
    op = by_key(compile_inline(SPEC))["getFile"]
    with pytest.raises(ToolCallError, match=r"Argument `name` is one segment of the URL path and must not contain "
                                            r"'/' or '\\'.*list it under the source's `path_slashes`"):
        op.plan.build({"name": value})
    with pytest.raises(ToolCallError, match=r"Argument `name` is one segment"):  # each item of an array, too
        op.plan.build({"name": ["x", value]})


def object_path_op(explode: bool):  # type: ignore[no-untyped-def]
    """`GET /users/{filter}`, `filter` an object path parameter (simple style)."""
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "https://api.example.com"}],
            "paths": {"/users/{filter}": {"get": {"operationId": "users", "parameters": [
                {"name": "filter", "in": "path", "required": True, "explode": explode,
                 "schema": {"type": "object", "additionalProperties": {"type": "string"}}}]}}}}
    return by_key(compile_inline(spec))["users"]


@pytest.mark.parametrize("explode", [False, True])
@pytest.mark.parametrize("value", SEPARATORS)
def test_an_object_path_values_keys_are_checked_like_its_values(value: str, explode: bool) -> None:
    """Only an object's values were checked: `{"a/b": "c"}` was sent as `/users/a%2Fb=c`, which servers
    that decode the path read as `/users/a/b=c`. Keys and values alike are refused now."""
    op = object_path_op(explode)
    for filter_ in ({value: "c"}, {"c": value}):
        with pytest.raises(ToolCallError, match=r"Argument `filter` is one segment of the URL path"):
            op.plan.build({"filter": filter_})
    assert op.plan.build({"filter": {"role": "admin"}}).url == (
        "https://api.example.com/users/role=admin" if explode else "https://api.example.com/users/role,admin")
    assert op.plan.build({"filter": {value: "c"}}, path_slashes=frozenset({"filter"})).url.startswith(
        "https://api.example.com/users/")


@pytest.mark.parametrize("value", DOT_SEGMENTS)
def test_path_values_with_a_dot_segment_are_refused_naming_the_argument(value: str) -> None:
    op = by_key(compile_inline(SPEC))["getFile"]
    with pytest.raises(ToolCallError, match=r"Argument `name` is part of the URL path and must not contain '\.' or"):
        op.plan.build({"name": value})


def test_label_style_cannot_make_a_dot_segment() -> None:
    op = by_key(compile_inline(SPEC))["labelled"]
    # `.` + ``: the style's own prefix makes the dot segment; `.` + `.` is refused as a value.
    with pytest.raises(ToolCallError, match=r"Arguments `id` would make a '\.' or '\.\.' segment"):
        op.plan.build({"id": ""})
    with pytest.raises(ToolCallError, match=r"Argument `id` is part of the URL path"):
        op.plan.build({"id": "."})
    assert op.plan.build({"id": "x"}).url == "https://api.example.com/v1/items/.x/label"


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
    request = op.plan.build({"name": "a/b?x#y"}, base_url="http://127.0.0.1:9/api/", path_slashes=frozenset({"name"}))
    assert request.url == "http://127.0.0.1:9/api/files/a%2Fb%3Fx%23y"
    with pytest.raises(ToolCallError, match="must not contain '.' or '..' as a segment"):
        op.plan.build({"name": "../../x"}, base_url="http://127.0.0.1:9/api/")


def test_github_path_argument_with_slashes_is_one_segment() -> None:
    op = by_name(compile_spec("github-subset.json"))["repos_get-content"]
    slashes = frozenset({"owner", "path"})
    request = op.plan.build({"owner": "a/b", "repo": "x", "path": "docs/.github/README.md"}, path_slashes=slashes)
    assert request.url == "https://api.github.com/repos/a%2Fb/x/contents/docs%2F.github%2FREADME.md"
    for owner, path in (("../../orgs", "README.md"), ("o", "../../../admin")):
        with pytest.raises(ToolCallError, match="must not contain '.' or '..' as a segment"):
            op.plan.build({"owner": owner, "repo": "x", "path": path}, path_slashes=slashes)
    with pytest.raises(ToolCallError, match="Argument `repo` is one segment"):  # only the ones listed
        op.plan.build({"owner": "o", "repo": "x/y", "path": "README.md"}, path_slashes=slashes)


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


def test_a_dot_segment_argument_cannot_read_beside_its_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Against Python's own `http.server` (it percent-decodes the path, `%2F` included, then removes
    dot segments, as nginx does): `..%2Fprivate%2Fsecret.txt` and `%2E%2E` — what mcprt sent for
    `../private/secret.txt` and `..` — read the file beside the operation's folder. Now refused. So is
    `hidden/secret.txt`: sent as `hidden%2Fsecret.txt`, the server decoded it to a deeper path than the
    operation's one segment (Starlette routes on the decoded path alike: `/users/{id}/tokens`)."""
    import asyncio
    import functools
    import json
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from tests.support.served import http_client, mcprt_http, text_of

    root = tmp_path / "www"
    (root / "public").mkdir(parents=True)
    (root / "private").mkdir()
    (root / "public" / "note.txt").write_text("public note")
    (root / "private" / "secret.txt").write_text("PRIVATE-DATA")
    (root / "public" / "hidden").mkdir()
    (root / "public" / "hidden" / "secret.txt").write_text("PRIVATE-DATA")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    spec = {"openapi": "3.0.3", "info": {"title": "files", "version": "1"}, "paths": {"/public/{name}": {"get": {
        "operationId": "readPublic",
        "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "a public file", "content": {"text/plain": {}}}}}}}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    # `tree` names `name` under `path_slashes`: the operator's word that it holds a path
    (tmp_path / "mcp.yaml").write_text(f"version: 1\nsources:\n  files:\n    openapi: spec.json\n    base_url: {base}\n"
                                       f"  tree:\n    openapi: spec.json\n    base_url: {base}\n    prefix: tree_\n"
                                       "    path_slashes: [name, nmae]\n")
    climbing = ("../private/secret.txt", "..%2Fprivate%2Fsecret.txt", "..")
    deeper = ("hidden/secret.txt", "hidden\\secret.txt")
    try:
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload") as up:
            async def calls() -> dict[str, tuple[bool, str]]:
                async with http_client(up.url) as client:
                    out = {}
                    for name in ("note.txt", *climbing, *deeper):
                        result = await client.call_tool("readPublic", {"name": name})
                        out[name] = (result.is_error, text_of(result))
                    result = await client.call_tool("tree_readPublic", {"name": "hidden/secret.txt"})
                    out["tree"] = (result.is_error, text_of(result))
                    return out

            out = asyncio.run(asyncio.wait_for(calls(), 60))
            assert ("source 'tree': `path_slashes` names 'nmae', which is no path parameter of this source's "
                    "operations") in up.wait_log("nmae")
            # the operator sees each refusal once, on its call line, with why and what to set (not the value)
            refusals = [line for line in up.wait_log_beyond("not in path_slashes", len(deeper) - 1).splitlines() if "path_slashes" in line
                        and "nmae" not in line]
            assert len(refusals) == len(deeper), refusals
            for line in refusals:
                assert "call tool=readPublic source=files status=rejected" in line and (
                    "reason=\"path parameter 'name' got '/' or '\\\\' and is not in path_slashes\"") in line, line
                assert "secret.txt" not in line, line
    finally:
        server.shutdown()
    assert out["note.txt"] == (False, "public note")
    assert out["tree"] == (False, "PRIVATE-DATA")
    for name in (*climbing, *deeper):
        is_error, text = out[name]
        assert is_error and "PRIVATE-DATA" not in text, (name, text)
        assert ("Argument `name` is part of the URL path and must not contain '.' or '..'" if name in climbing
                else "Argument `name` is one segment of the URL path and must not contain '/'") in text, text


@pytest.mark.parametrize("server, variables", [
    ({"url": "http://alice:PASSWSECRET@127.0.0.1:9/v1"}, ""),
    ({"url": "http://{login}@127.0.0.1:9/v1", "variables": {"login": {"default": "bob"}}},
     "    server_variables: {login: \"alice:PASSWSECRET\"}\n"),
])
def test_a_server_url_with_a_password_is_refused_naming_the_description(tmp_path, server, variables) -> None:  # type: ignore[no-untyped-def]
    """The description's server URL passes the manifest's base_url check on userinfo: written in the
    description or filled in by `server_variables`, a password there was sent as an unredacted Basic
    header and echoed in results. Now a load error at the description's pointer, quoting no part of it."""
    import json

    from tests.support.cli import mcprt_cli

    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [server],
            "paths": {"/x": {"get": {"operationId": "getThing", "responses": {"200": {"description": "ok"}}}}}}
    (tmp_path / "api.json").write_text(json.dumps(spec))
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  api:\n    openapi: api.json\n" + variables)
    for command in (("validate", "--offline"), ("call", "--offline")):
        done = mcprt_cli(*command, str(tmp_path / "mcp.yaml"), *(("getThing",) if command[0] == "call" else ()))
        assert done.returncode == 2, done.stdout + done.stderr
        assert "api.json#/servers/0: server URL: a user name or password in the URL is not allowed" in done.stderr
        assert "PASSWSECRET" not in done.stdout + done.stderr and "alice" not in done.stdout + done.stderr


@pytest.mark.parametrize("value, said", [
    ("echo/../../x?y=1#", "holds a '?' (it would start the query)"),
    ("v1#frag", "holds a '#' (it would start a fragment)"),
    ("v1\\\\admin", "holds a backslash (read as '/')"),
    ("v1 beta", "holds the character U+0020"),
    ("v1/../admin", "holds a '.' or '..' path segment"),
])
def test_a_server_variable_that_would_change_the_url_is_an_error_at_its_key(tmp_path, value, said) -> None:  # type: ignore[no-untyped-def]
    """Trial of untidy REST APIs, fault 8: `server_variables: {base: "echo/../../x?y=1#"}` passed validate, and
    every call went to `/echo/../../x?y=1`, the operation's path lost after the `#`. Checked as `base_url` is:
    an error at the variable's key (file:line:col), exit 2, no traceback, the value (maybe a secret) not quoted;
    a value that only fills its place (`v2/beta`) still passes."""
    import json

    from tests.support.cli import mcprt_cli

    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "servers": [{"url": "http://127.0.0.1:9/{base}", "variables": {"base": {"default": "v1"}}}],
            "paths": {"/echo/x": {"get": {"operationId": "getThing", "responses": {"200": {"description": "ok"}}}}}}
    (tmp_path / "api.json").write_text(json.dumps(spec))
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  api:\n    openapi: api.json\n"
                        f"    server_variables:\n      base: {json.dumps(value)}\n")
    done = mcprt_cli("validate", "--offline", str(manifest), cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert f"mcp.yaml:6:13: source 'api': server variable 'base' {said}" in out, out
    assert "Traceback" not in out and value not in out, out
    manifest.write_text("version: 1\nsources:\n  api:\n    openapi: api.json\n    server_variables:\n      base: v2/beta\n")
    fine = mcprt_cli("validate", "--offline", str(manifest), cwd=tmp_path)
    assert fine.returncode == 0, fine.stdout + fine.stderr
