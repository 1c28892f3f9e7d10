"""The manifest's JSON Schema, generated from the models (what `mcprt schema` prints)."""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from .model import Manifest

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _ManifestSchema(GenerateJsonSchema):
    def generate(self, schema: Any, mode: Any = "validation") -> dict[str, Any]:
        result = super().generate(schema, mode=mode)
        return {"$schema": SCHEMA_DIALECT, **result}


def manifest_schema() -> dict[str, Any]:
    return Manifest.model_json_schema(schema_generator=_ManifestSchema, mode="validation")


def manifest_schema_text() -> str:
    return json.dumps(manifest_schema(), indent=2, ensure_ascii=False) + "\n"
