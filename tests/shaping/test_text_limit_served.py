"""A long text shortened to the result limit keeps whole lines, through a real server (stdio SDK client) and a
real upstream: shaping trial, fault 8 — a 270-byte CSV at a 120-byte limit came back as `id,sta` (a corrupted
column name) and a marker, the marker and note taking ~100 of the 120 bytes."""

from __future__ import annotations

import json
from pathlib import Path

from mcp import Client
from mcp.client.stdio import stdio_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.support.served import child_env, stdio_up
from tests.support.upstream import serve_app

CSV = "id,status\n" + "\n".join(f"{i},{['open', 'paid', 'shipped'][i % 3]}" for i in range(1, 31))
SPEC = {"openapi": "3.1.0", "info": {"title": "Shop", "version": "1"}, "paths": {"/report.csv": {"get": {
    "operationId": "getReport",
    "responses": {"200": {"description": "ok", "content": {"text/csv": {"schema": {"type": "string"}}}}}}}}}


async def test_a_csv_over_the_limit_keeps_whole_rows_and_short_notes(tmp_path: Path) -> None:
    async def report(request: Request) -> PlainTextResponse:
        return PlainTextResponse(CSV, media_type="text/csv")

    (tmp_path / "shop.json").write_text(json.dumps(SPEC))
    manifest = tmp_path / "mcp.yaml"
    with serve_app(Starlette(routes=[Route("/report.csv", report)])) as base:
        manifest.write_text(f"version: 1\nsources:\n  shop:\n    openapi: shop.json\n    base_url: {base}\n"
                            "    tools: {getReport: {name: get_report, max_result_bytes: 120}}\n")
        async with Client(stdio_client(stdio_up(manifest, env=child_env())), mode="legacy") as client:  # type: ignore[arg-type]
            result = await client.call_tool("get_report", {})
    text, note = (block.text for block in result.content)  # type: ignore[union-attr]
    assert len(text.encode()) + len(note.encode()) <= 120
    kept, marker = text.rsplit("\n… (", 1)
    assert kept.startswith("id,status\n1,paid\n") and CSV.startswith(kept + "\n"), text  # whole rows only
    rows = kept.count("\n") + 1
    assert marker == f"{31 - rows} more lines, {len(CSV) - len(kept)} chars)"
    assert note == "Note: text shortened to fit 120 bytes"
