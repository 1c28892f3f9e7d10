"""Wording a new-user trial tripped on: Python's `None` for JSON's `null`, "1 more warnings", and a
file argument's `;name=` (no upstream: `validate`, and the argument check, refuse before sending)."""

from __future__ import annotations

import json
from pathlib import Path

from mcprt.sources.openapi.bodies import decode_file
from tests.support.cli import mcprt_cli

OK = {"200": {"description": "ok"}}


def test_a_null_or_boolean_argument_is_named_as_json_spells_it(tmp_path: Path) -> None:
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "http://127.0.0.1:9"}],
            "paths": {"/items": {"get": {"operationId": "getItems", "responses": OK, "parameters": [
                {"name": "limit", "in": "query", "required": True, "schema": {"type": "integer"}},
                {"name": "q", "in": "query", "schema": {"type": "string"}}]}}}}
    (tmp_path / "api.json").write_text(json.dumps(spec))
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  s: {openapi: api.json}\n")
    done = mcprt_cli("call", str(tmp_path / "mcp.yaml"), "getItems", "--args", '{"limit": null, "q": true}')
    assert done.returncode == 1
    assert "limit: null is not of type 'integer'" in done.stdout, done.stdout
    assert "q: true is not of type 'string'" in done.stdout, done.stdout
    assert "None" not in done.stdout and "True" not in done.stdout


def test_one_more_warning_is_singular(tmp_path: Path) -> None:
    """Seven operations sharing an operationId: six warnings, five shown, then `… and 1 more warning`."""
    paths = {f"/p{i}": {"get": {"operationId": "same", "responses": OK}} for i in range(7)}
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "http://127.0.0.1:9"}],
            "paths": paths}
    (tmp_path / "api.json").write_text(json.dumps(spec))
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  s: {openapi: api.json}\n")
    checked = mcprt_cli("validate", str(tmp_path / "mcp.yaml"))
    assert "… and 1 more warning of this kind" in checked.stderr, checked.stderr


def test_a_data_url_takes_its_name_before_or_after_base64() -> None:
    """RFC 2397 puts `;base64` last; a `;name=` after it is still read (nothing lost), never as data."""
    for url in ("data:image/png;name=cat.png;base64,aGk=", "data:image/png;base64;name=cat.png,aGk="):
        file = decode_file("file", url)
        assert (file.data, file.media_type, file.filename) == (b"hi", "image/png", "cat.png"), url


def test_a_file_arguments_description_says_name_is_allowed() -> None:
    """The model only learns of `;name=` from the schema: it sent every upload as the property's name."""
    from openapi_support import by_key, compile_inline

    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "http://127.0.0.1:9"}],
            "paths": {"/upload": {"post": {"operationId": "upload", "responses": OK, "requestBody": {
                "required": True, "content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
                    "file": {"type": "string", "format": "binary"}}}}}}}},
                      "/blob": {"put": {"operationId": "putBlob", "responses": OK, "requestBody": {
                          "required": True, "content": {"application/octet-stream": {
                              "schema": {"type": "string", "format": "binary"}}}}}}}}
    ops = by_key(compile_inline(spec))
    for key, arg in (("upload", "file"), ("putBlob", "body")):
        described = ops[key].operation.input_schema["properties"][arg]["description"]
        assert "data:<type>[;name=<file>];base64,<data>" in described, described
