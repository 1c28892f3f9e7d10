"""Bodies a person cannot read as they are, through `mcprt call` against a real upstream on 127.0.0.1.

Found by a security reviewer's trial: a JSON number of 1,000,000 digits (valid JSON) was called "invalid
JSON"; a gzip bomb's error showed ~200 `\\u0000` after "It began with:"; the cut note printed `10000001
bytes` where every other message writes `10,000,001`. The kind: any non-text preview, any byte count."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.cli import mcprt_cli
from tests.support.upstream import serve_app

BODIES: dict[str, tuple[bytes, str, dict[str, str]]] = {
    "/bignum": (b'{"n":' + b"9" * 1_000_000 + b"}", "application/json", {}),
    "/nul-json": (b"\0" * 5_000, "application/json", {}),
    "/control-json": (bytes(range(1, 32)) * 100, "application/json", {}),
    "/bomb": (gzip.compress(b"\0" * 3_000_000), "application/json", {"Content-Encoding": "gzip"}),
    "/long-text": (b"a" * 1_200_000, "text/plain", {}),
}


async def _body(request: Request) -> Response:
    body, media_type, headers = BODIES[request.url.path]
    return Response(body, media_type=media_type, headers=headers)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("unreadable")
    paths = {path: {"get": {"operationId": path.strip("/").replace("-", "_"),
                            "responses": {"200": {"description": "ok"}}}} for path in BODIES}
    (folder / "api.json").write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
                                                 "paths": paths}))
    with serve_app(Starlette(routes=[Route("/{path:path}", _body)])) as url:
        (folder / "mcp.yaml").write_text(f"version: 1\ndefaults: {{max_response_bytes: 1100000}}\nsources:\n"
                                         f"  a:\n    openapi: api.json\n    base_url: {url}\n")
        yield folder / "mcp.yaml"


def _text(manifest: Path, tool: str) -> str:
    run = mcprt_cli("call", str(manifest), tool, cwd=manifest.parent)
    return "\n".join(block["text"] for block in json.loads(run.stdout)["content"])


def test_a_number_past_python_s_digit_limit_is_named_not_called_invalid(manifest: Path) -> None:
    text = _text(manifest, "bignum")
    assert text.startswith("HTTP 200 OK: upstream sent a JSON number longer than 4,300 digits (1,000,006 bytes): valid JSON, "
                           "but past Python's limit on integer digits"), text
    assert "invalid JSON" not in text


@pytest.mark.parametrize(("tool", "kind"), [("nul_json", "NUL bytes"), ("control_json", "control characters"),
                                            ("bomb", "NUL bytes")])
def test_a_body_that_is_no_text_is_described_not_shown(manifest: Path, tool: str, kind: str) -> None:
    text = _text(manifest, tool)
    assert f"binary data ({kind}), not shown" in text, text
    if tool == "bomb":  # cut at max_response_bytes: what it began with is described too
        assert "It began with: binary data (NUL bytes), not shown" in text, text
    assert "\0" not in text and "\\u0000" not in text and "\x01" not in text


def test_byte_counts_carry_thousands_separators(manifest: Path) -> None:
    assert "upstream sent invalid JSON (5,000 bytes): binary data (NUL bytes)" in _text(manifest, "nul_json")
    cut = re.search(r"was cut after ([\d,]+) bytes", _text(manifest, "long_text"))
    assert cut is not None and re.fullmatch(r"\d{1,3}(,\d{3})+", cut[1]), cut
