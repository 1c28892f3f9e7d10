"""Spans carry no configured secret: the upstream CLIENT span's `url.full` is scrubbed like a log line.

Found by an operator trial: a call whose argument held the source's API key (a model repeating what
it saw, or a key that is also a path segment) sent `GET …/notes/<the key>`; logs, errors, results and
the audit log showed `[redacted]`, but the span exported over OTLP carried the key in `url.full`."""

from __future__ import annotations

import json
from pathlib import Path

from otlp_receiver import Received, receiver_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.served import child_env, http_client, mcprt_http
from tests.support.upstream import serve_app

KEY = "notes-key-5e1d9c7b3a2f4e6d"
INBOUND = "inbound-token-2b4d6f8a0c1e3a5c"
CLIENT = 3  # opentelemetry.proto Span.SpanKind
SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Notes", "version": "1"},
    "paths": {"/notes/{slug}": {"get": {
        "operationId": "getNote",
        "parameters": [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}},
                       {"name": "q", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok"}}}}},
}
MANIFEST = """\
version: 1
server:
  auth: {tokens: {ops: "${INBOUND}"}}
  observability: {audit_arguments: true}  # argument values may be recorded: url.full carries them, scrubbed
sources:
  notes:
    openapi: notes.json
    base_url: {base}
    auth: {api_key: {in: header, name: X-Api-Key, value: "${NOTES_KEY}"}}
"""


def notes_app() -> Starlette:
    async def note(request: Request) -> JSONResponse:
        return JSONResponse({"slug": request.path_params["slug"]})

    return Starlette(routes=[Route("/notes/{slug}", note)])


async def test_the_upstream_span_url_is_scrubbed_of_secrets(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text(json.dumps(SPEC))
    received = Received()
    with serve_app(notes_app()) as base, serve_app(receiver_app(received)) as collector:
        (tmp_path / "mcp.yaml").write_text(MANIFEST.replace("{base}", base))
        env = child_env(NOTES_KEY=KEY, INBOUND=INBOUND, OTEL_EXPORTER_OTLP_ENDPOINT=collector,
                        OTEL_BSP_SCHEDULE_DELAY="50")
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload", env=env) as up:
            async with http_client(up.url, token=INBOUND) as client:
                result = await client.call_tool("getNote", {"slug": KEY, "q": f"x {KEY}"})
                assert not result.is_error and KEY not in result.content[0].text  # as results always were
            (span,) = received.wait_for(lambda s: s.kind == CLIENT and s.attributes.get("mcprt.source") == "notes")
            assert up.stop() == 0
    url = span.attributes["url.full"]
    assert url.startswith(f"{base}/notes/") and "[redacted]" in url and "REDACTED" not in url, url
    assert span.attributes["url.template"] == "/notes/{slug}" and span.attributes["server.address"] == "127.0.0.1"
    everything = json.dumps([[s.name, s.attributes, s.events, s.resource] for s in received.spans])
    assert KEY not in everything and INBOUND not in everything
