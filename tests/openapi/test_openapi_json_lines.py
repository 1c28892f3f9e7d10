"""NDJSON and JSON text sequences become the list of their records' values, decided by the response's
Content-Type and the documented one; a prune that cannot apply is said at validate and at call time.

Trial of untidy REST APIs, fault 5: an operation documenting `application/x-ndjson` (or `*/*`) got
`{"a":1}\\n{"a":2}\\n` as raw text although the README says NDJSON becomes the list of its lines' values,
and its `prune: "[].a"` passed `mcprt validate` and did nothing, unsaid. Real upstream on 127.0.0.1,
the SDK client over `mcprt up` (streamable HTTP), `mcprt validate` as a user runs it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.cli import mcprt_cli
from tests.support.served import child_env, http_client, mcprt_http, text_of
from tests.support.upstream import serve_app

NDJSON = b'{"a":1}\n{"a":2}\n\n'
# path → (documented success type, body, Content-Type sent)
ROUTES: dict[str, tuple[str, bytes, str]] = {
    "/x_ndjson": ("application/x-ndjson", NDJSON, "application/x-ndjson"),
    "/jsonl": ("application/jsonl", NDJSON, "application/jsonl"),
    "/star": ("*/*", NDJSON, "application/x-ndjson"),
    "/documented_only": ("application/x-ndjson", NDJSON, "text/plain"),
    "/json_seq": ("application/json-seq", b'\x1e{"a":1}\n\x1e{"a":2}\n', "application/json-seq"),
    "/broken_lines": ("application/x-ndjson", b'{"a":1}\n{"a":\n', "application/x-ndjson"),
    "/csv": ("text/csv", b"a\n1\n2\n", "text/csv"),
}


async def _answer(request: Request) -> Response:
    _, body, content_type = ROUTES[request.url.path]
    return Response(body, headers={"Content-Type": content_type})


def _manifest(folder: Path, base: str) -> Path:
    paths = {path: {"get": {"operationId": path.strip("/"), "responses": {"200": {
        "description": "records", "content": {documented: {"schema": {"type": "object"}}}}}}}
        for path, (documented, _, _) in ROUTES.items()}
    (folder / "api.json").write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
                                                 "paths": paths}))
    tools = "".join(f'      {path.strip("/")}: {{prune: "[].a"}}\n' for path in ROUTES)
    (folder / "mcp.yaml").write_text(f"version: 1\nsources:\n  api:\n    openapi: api.json\n    base_url: {base}\n"
                                     f"    tools:\n{tools}")
    return folder / "mcp.yaml"


def test_json_lines_are_read_as_lists_and_a_prune_that_cannot_apply_is_said(tmp_path: Path) -> None:
    results = {}
    with serve_app(Starlette(routes=[Route("/{path:path}", _answer)])) as base:
        manifest = _manifest(tmp_path, base)
        validated = mcprt_cli("validate", str(manifest), cwd=tmp_path)
        with mcprt_http(manifest, "--no-reload", env=child_env()) as up:
            async def calls() -> None:
                async with http_client(up.url) as client:
                    for path in ROUTES:
                        results[path.strip("/")] = await asyncio.wait_for(client.call_tool(path.strip("/"), {}), 30)

            asyncio.run(calls())
    for tool in ("x_ndjson", "jsonl", "star", "documented_only", "json_seq"):
        assert results[tool].is_error is False and text_of(results[tool]) == "[1,2]", (tool, text_of(results[tool]))
    broken = text_of(results["broken_lines"])  # a record that does not parse: the text as it came, and why
    assert broken.startswith('{"a":1}\n{"a":') and "the prune '[].a' was not applied: the upstream answered " \
        "application/x-ndjson, which is not JSON" in broken, broken
    csv = text_of(results["csv"])
    assert csv.startswith("a\n1\n2") and "the prune '[].a' was not applied: the upstream answered text/csv" in csv, csv
    # validate: the csv tool's prune, at its line; none for the types that are (or may be) JSON
    out = validated.stdout + validated.stderr
    csv_line = next(i for i, line in enumerate(manifest.read_text().splitlines(), 1) if line.strip().startswith("csv:"))
    assert f"mcp.yaml:{csv_line}:" in out and "tool 'csv': its prune cannot apply: the operation documents only " \
        "text/csv answers, which are not JSON" in out, out
    assert out.count("its prune cannot apply") == 1, out
