"""A real HTTP upstream for non-ASCII answers (the i18n trial's `upstream.py`, as a starlette app).

`/echo/{id}` answers JSON with the request's path and query as sent, decoded, and NFD/NFKD-normalised
(as an upstream on macOS or behind Java's `Normalizer` echoes them), and its `x-*`/`authorization`
headers (also reversed: a test reads a credential's value so); the other paths answer fixed bodies in a charset of their own (`BODIES`). `I18N_SPEC` is an
OpenAPI document of them, its `servers` filled with the base URL by `write_project`.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# path → (body, Content-Type): charsets the trial's user met (a legacy ERP's Latin-1, a Japanese API's Shift_JIS)
BODIES: dict[str, tuple[bytes, str]] = {
    "latin1": ('{"name": "Müller Größe café"}'.encode("latin-1"), "application/json; charset=iso-8859-1"),
    "sjis": ('{"name": "東京都 日本語"}'.encode("shift_jis"), "application/json; charset=Shift_JIS"),
    "cp1252": ('{"price": "€ 5 – “quoted”"}'.encode("cp1252"), "application/json; charset=windows-1252"),
    "utf8": ('{"name": "Größe 東京"}'.encode(), "application/json; charset=utf-8"),
    "l1text": ("Müller Größe café".encode("latin-1"), "text/plain; charset=iso-8859-1"),
    "sjistext": ("東京都 日本語".encode("shift_jis"), "text/plain; charset=Shift_JIS"),
    "badtext": (b"caf\xe9 ok \xff end", "text/plain"),
    "badjson": (b'{"name": "ok \xff\xfe bad"}', "application/json"),
    "lyingjson": ('{"name": "東京"}'.encode(), "application/json; charset=us-ascii"),
    "unknowncharset": (b'{"name": "plain"}', "application/json; charset=x-no-such-charset"),
    "nocharset": ("Größe – 東京 🎉".encode(), "text/plain"),
    "surrogatejson": (b'{"files": ["ok", "caf\\udce9.txt"]}', "application/json"),  # JSON's escape of a lone one
    # UTF-8 JSON under a servlet container's default label, and ASCII JSON labelled UTF-16: UTF-8 wins (RFC 8259 §8.1)
    "mislabel": ('{"name": "Müller 東京"}'.encode(), "application/json;charset=ISO-8859-1"),
    "utf16ascii": (b'{"a": 1}', "application/json; charset=utf-16"),
    "asciilatin1": (b'{"a": "plain"}', "application/json; charset=iso-8859-1"),  # the same text in both: no note
    "utf16nobom": ('{"a": "é"}'.encode("utf-16-le"), "application/json; charset=utf-16-le"),
    # codecs Python knows that are no text encoding (the upstream controls the label)
    "rot13json": (b'{"a": 1}', "application/json; charset=rot13"),
    "rot13text": (b"plain words", "text/plain; charset=rot13"),
    "zlibtext": (b"plain words", "text/plain; charset=zlib"),
}


async def _fixed(request: Request) -> Response:
    body, content_type = BODIES[request.path_params["name"]]
    return Response(body, headers={"content-type": content_type})


async def _echo(request: Request) -> Response:
    raw = request.scope["raw_path"].decode("ascii") + ("?" + request.scope["query_string"].decode("ascii")
                                                       if request.scope["query_string"] else "")
    decoded = unquote(raw)
    out = {
        "raw": raw, "decoded": decoded,
        "nfd": unicodedata.normalize("NFD", decoded), "nfkd": unicodedata.normalize("NFKD", decoded),
        "headers": {k: v for k, v in request.headers.items() if k.startswith("x-") or k == "authorization"},
    }
    out["reversed_headers"] = {k: v[::-1] for k, v in out["headers"].items()}  # what a credential's scrubbing leaves
    return Response(json.dumps(out, ensure_ascii=False).encode(), headers={"content-type": "application/json"})


def i18n_app() -> Starlette:
    return Starlette(routes=[Route("/echo/{id}", _echo), Route("/fixed/{name}", _fixed)])


def i18n_spec(base_url: str) -> dict[str, object]:
    """The OpenAPI document of `i18n_app` at `base_url`: `echo` (GET /echo/{id}) and one `fixed_<name>`
    operation per `BODIES` entry."""
    ok = {"200": {"description": "ok"}}
    paths: dict[str, object] = {
        "/echo/{id}": {"get": {"operationId": "echo", "summary": "Echo the request",
                               "parameters": [{"name": "id", "in": "path", "required": True,
                                               "schema": {"type": "string"}}], "responses": ok}},
    }
    for name in BODIES:
        paths[f"/fixed/{name}"] = {"get": {"operationId": f"fixed_{name}", "summary": f"The {name} body",
                                           "responses": ok}}
    return {"openapi": "3.0.3", "info": {"title": "i18n", "version": "1"}, "servers": [{"url": base_url}],
            "paths": paths}


def write_project(folder: Path, base_url: str, source_extra: str = "", server: str = "") -> Path:
    """`folder/mcp.yaml` with one source `api` (the spec at `base_url`) plus `source_extra` (YAML lines of the
    source, indented 4), and `server` (YAML lines of `server:`, indented 2); returns the manifest's path."""
    (folder / "api.json").write_text(json.dumps(i18n_spec(base_url)))
    manifest = folder / "mcp.yaml"
    manifest.write_text("version: 1\nserver:\n  name: i18n\n" + server
                        + "sources:\n  api:\n    openapi: api.json\n" + source_extra)
    return manifest
