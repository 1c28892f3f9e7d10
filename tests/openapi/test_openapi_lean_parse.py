"""The lean JSON parse gives exactly what json.loads gives, minus sections no tool uses."""

from __future__ import annotations

import json
from pathlib import Path

from openapi_support import SPECS

from mcprt.manifest.model import Defaults, OpenAPISource
from mcprt.sources.openapi import compile_openapi, load_document

DOC = {
    "openapi": "3.0.3",
    "info": {"title": "Café 🪲 API", "version": "1"},
    "servers": [{"url": "https://x.test"}],
    "x-webhooks": {"big": {"post": {"description": "dropped " * 50}}},
    "paths": {"/ünï/{id}": {"post": {
        "operationId": "größe",
        "summary": "Grüße “quoted” 🪲",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"$ref": "#/components/schemas/Id"}}],
        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"},
                                                         "examples": {"e": {"$ref": "#/components/examples/E"}}}}},
    }}},
    "components": {
        "examples": {"E": {"value": {"name": "x" * 100}}},
        "schemas": {
            "Id": {"type": "string", "enum": ["ä", "😀", "plain"]},
            "Thing": {"type": "object", "properties": {"name": {"type": "string", "description": "Nom ✓"},
                                                       "tags": {"type": "array", "items": {"type": "string"},
                                                                "default": ["é", "ü"]}}},
            "Unused": {"type": "object", "description": "never parsed"},
        },
    },
}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "api.json"
    path.write_bytes(text.encode("utf-8"))
    return path


def test_lean_parse_equals_json_loads_for_what_it_keeps(tmp_path: Path) -> None:
    _write(tmp_path, json.dumps(DOC, ensure_ascii=False, indent=1))
    doc = load_document("api.json", tmp_path, None)
    data = doc.data
    expected = json.loads(json.dumps(DOC))
    del expected["x-webhooks"], expected["components"]["examples"]
    assert data["paths"] == expected["paths"] and data["info"] == expected["info"]
    assert dict(data["components"]["schemas"].items()) == expected["components"]["schemas"]
    assert doc.raw_bytes == (tmp_path / "api.json").read_bytes()
    compiled = compile_openapi(doc, OpenAPISource(openapi="api.json"), Defaults())
    op = compiled.operations[0].operation
    assert op.key == "größe" and op.name == "gr_e"
    assert op.title == "Grüße “quoted” 🪲"
    assert op.input_schema["properties"]["id"]["enum"] == ["ä", "😀", "plain"]
    assert op.input_schema["properties"]["tags"]["default"] == ["é", "ü"]
    request = compiled.operations[0].plan.build({"id": "😀", "name": "é"})
    assert request.url == "https://x.test/%C3%BCn%C3%AF/%F0%9F%98%80"
    assert request.body == '{"name":"é"}'.encode()


def test_escaped_non_ascii_takes_the_plain_path(tmp_path: Path) -> None:
    _write(tmp_path, json.dumps(DOC, ensure_ascii=True))  # \\u00e9 escapes: Latin-1 text could not be repaired
    doc = load_document("api.json", tmp_path, None)
    compiled = compile_openapi(doc, OpenAPISource(openapi="api.json"), Defaults())
    assert compiled.operations[0].operation.title == "Grüße “quoted” 🪲"


def test_a_ref_into_a_left_out_section_still_resolves(tmp_path: Path) -> None:
    doc_json = json.loads(json.dumps(DOC))
    doc_json["components"]["examples"]["S"] = {"type": "string"}
    doc_json["paths"]["/ünï/{id}"]["post"]["parameters"].append(
        {"name": "odd", "in": "query", "schema": {"$ref": "#/components/examples/S"}}
    )
    _write(tmp_path, json.dumps(doc_json, ensure_ascii=False))
    doc = load_document("api.json", tmp_path, None)
    compiled = compile_openapi(doc, OpenAPISource(openapi="api.json"), Defaults())
    assert compiled.operations[0].operation.input_schema["properties"]["odd"] == {"type": "string"}


def test_corpus_documents_parse_identically(tmp_path: Path) -> None:
    for name in ("readme/3.1/readme.json", "vendors/rclone.json", "github-subset.json"):
        raw = (SPECS / name).read_bytes()
        plain = json.loads(raw)
        lean = load_document(name, SPECS, None).data
        plain.pop("x-webhooks", None), plain.pop("webhooks", None)
        plain.get("components", {}).pop("examples", None)
        schemas = lean.get("components", {}).get("schemas")
        if schemas is not None:
            lean["components"]["schemas"] = dict(schemas.items())
        assert lean == plain, name
